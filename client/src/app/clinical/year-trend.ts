import type { FhirWhen, ObservationRow } from './format.ts';

/**
 * Trends for a de-identified view. Its copies keep only the year of every date (Safe Harbor,
 * server/src/domain/deidentify.ts) and arrive newest first; nothing finer exists on the client. So a
 * reading is placed by its year and by its order within that year — never at an invented month, day
 * or time — and ranges count whole years back from the newest reading's year.
 */
export type YearRange = 'year' | '5y' | 'all';
export const YEAR_TREND_RANGES: { value: YearRange; label: string; title: string }[] = [
  { value: 'year', label: 'Newest year', title: 'Readings from the year of the newest reading' },
  { value: '5y', label: '5 years', title: 'Readings from the newest reading’s year and the four before it' },
  { value: 'all', label: 'All', title: 'Every reading in your view' },
];
/** A de-identified record has no week to open on: its finest unit is the year, so the chart opens on everything. */
export const DEFAULT_YEAR_RANGE: YearRange = 'all';
const YEARS_BACK: Record<YearRange, number> = { year: 0, '5y': 4, all: Infinity };

export interface YearPoint {
  row: ObservationRow & { when: FhirWhen; numeric: number };
  year: number;
  /**
   * Position on a year axis: `year + (k + 0.5) / n` for the k-th oldest of the n readings of its
   * series in that year — evenly spread by order, since the time within the year is withheld.
   */
  at: number;
}

/** The year as written ("2019", or the first four digits of a finer date). */
const yearOf = (w: FhirWhen) => Number(w.raw.slice(0, 4));

/**
 * The numeric readings of a range, placed on a year axis. `rows` must be newest first with ties in
 * the room's order (summary-model.ts roomOrder); that order is the only order within a year a
 * de-identified reader has, and the newest of a series is the last point.
 */
export function yearTrend(rows: ObservationRow[], range: YearRange): YearPoint[] {
  const dated = rows.filter((r): r is YearPoint['row'] => r.numeric !== undefined && r.when !== null && Number.isFinite(yearOf(r.when)));
  const newest = Math.max(-Infinity, ...dated.map((r) => yearOf(r.when)));
  const kept = dated.filter((r) => yearOf(r.when) >= newest - YEARS_BACK[range]);
  const groups = new Map<string, YearPoint['row'][]>();
  for (const r of kept) {
    const key = `${r.code || r.name}|${yearOf(r.when)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const at = new Map<YearPoint['row'], number>();
  for (const list of groups.values()) list.forEach((r, i) => at.set(r, yearOf(r.when) + (list.length - i - 0.5) / list.length));
  return kept.map((row) => ({ row, year: yearOf(row.when), at: at.get(row)! }));
}
