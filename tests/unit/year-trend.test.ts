import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { defaultScopes, parseScopes, readerOf } from '../../server/src/auth/policy.ts';
import { selectCaseSummary } from '../../server/src/domain/case-summary.ts';
import { caseViewFor, preparedCase } from '../../server/src/domain/case-view.ts';
import { importBundle } from '../../server/src/domain/fhir-bundle.ts';
import { observationRows, type ObservationRow } from '../../client/src/app/clinical/format.ts';
import { newestFirst, roomOrder, trendRows } from '../../client/src/app/clinical/summary-model.ts';
import { yearTrend } from '../../client/src/app/clinical/year-trend.ts';
import { syntheaCarroll, syntheaMargie, type Bundle } from '../fixtures/real-fhir.ts';

type Json = Record<string, unknown>;

/** The vital-sign rows a clinician (identified) and a student (de-identified) get for the same room summary, as the panel builds them. */
function bothViews(bundle: Bundle) {
  const r = importBundle(bundle, randomUUID);
  if (!r.ok) throw new Error('import failed');
  const all = [r.patient, ...r.resources];
  const summary = selectCaseSummary(all);
  const prepared = preparedCase({ id: randomUUID(), patientId: r.patient.id, pseudonymKey: 'k'.repeat(32), resources: all });
  const rows = (role: 'clinician' | 'observer') => {
    const { view } = caseViewFor(prepared, summary.resources, readerOf(parseScopes(defaultScopes(role))));
    expect(view.deidentified).toBe(role === 'observer');
    const obs = (view.resources as unknown as Json[]).filter((x) => x['resourceType'] === 'Observation');
    return newestFirst(obs).flatMap(observationRows).filter((x) => x.category === 'vital');
  };
  return { identified: rows('clinician'), deidentified: rows('observer') };
}

/** Per series, its values oldest → newest as the chart draws them. */
function clockSeries(rows: ObservationRow[]): Map<string, number[]> {
  const out = new Map<string, { t: number; v: number }[]>();
  for (const r of trendRows(rows, 'all')) out.set(r.code, [...(out.get(r.code) ?? []), { t: r.when!.ms, v: r.numeric! }]);
  return new Map([...out].map(([k, pts]) => [k, pts.sort((a, b) => a.t - b.t).map((p) => p.v)]));
}
function yearSeries(rows: ObservationRow[]): Map<string, number[]> {
  const out = new Map<string, { t: number; v: number }[]>();
  for (const p of yearTrend(rows, 'all')) out.set(p.row.code, [...(out.get(p.row.code) ?? []), { t: p.at, v: p.row.numeric }]);
  return new Map([...out].map(([k, pts]) => [k, pts.sort((a, b) => a.t - b.t).map((p) => p.v)]));
}

describe('de-identified vital-sign trends on the published Synthea patients', () => {
  for (const [name, load] of [['Margie619', syntheaMargie], ['Carroll471', syntheaCarroll]] as const) {
    it(`${name}: every series in the clinician's order, the latest value the clinician's latest, each reading in its true year`, () => {
      const { identified, deidentified } = bothViews(load());
      expect(deidentified.every((r) => r.when?.precision === 'year')).toBe(true); // nothing finer reaches the student
      const truth = clockSeries(identified);
      const shown = yearSeries(deidentified);
      expect(truth.size).toBeGreaterThan(4);
      expect([...shown.keys()].sort()).toEqual([...truth.keys()].sort());
      for (const [code, values] of truth) {
        expect(shown.get(code), code).toEqual(values);
        expect(shown.get(code)!.at(-1), `latest ${code}`).toBe(values.at(-1));
      }
      // Placed within its own year: never before or after it (no invented month or day either: the position is an order).
      const years = new Map(identified.map((r) => [r.numeric + '|' + r.code + '|' + r.when!.raw.slice(0, 4), true]));
      for (const p of yearTrend(deidentified, 'all')) {
        expect(p.at).toBeGreaterThan(p.year);
        expect(p.at).toBeLessThan(p.year + 1);
        expect(years.has(`${p.row.numeric}|${p.row.code}|${p.year}`), `${p.row.code} ${p.row.numeric} in ${p.year}`).toBe(true);
      }
    });
  }

  it('the old reading of the same rows on the clock put the oldest value of a year last (what the student saw)', () => {
    // Why the clock basis is wrong for year-only copies: ties sort stable, newest-first input → the oldest lands last.
    const { identified, deidentified } = bothViews(syntheaMargie());
    const truth = clockSeries(identified);
    const onClock = clockSeries(deidentified);
    const wrong = [...truth].filter(([code, values]) => onClock.get(code)!.at(-1) !== values.at(-1));
    expect(wrong.length).toBeGreaterThan(0);
  });

  it('ranges count whole years back from the newest reading’s year', () => {
    const { deidentified } = bothViews(syntheaMargie());
    const years = (range: 'year' | '5y' | 'all') => [...new Set(yearTrend(deidentified, range).map((p) => p.year))].sort();
    const all = years('all');
    const newest = all.at(-1)!;
    expect(all[0]).toBeLessThan(newest - 4); // the room summary spans more than five years for Margie
    expect(years('year')).toEqual([newest]);
    expect(years('5y')).toEqual(all.filter((y) => y >= newest - 4));
    expect(yearTrend([], 'all')).toEqual([]);
  });
});

describe('a reading that arrives live in a de-identified view is the newest of its year', () => {
  const hr = (id: string, value: number): Json => ({
    resourceType: 'Observation', id, category: [{ coding: [{ code: 'vital-signs' }] }], code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, effectiveDateTime: '2026', valueQuantity: { value, unit: '/min' },
  });
  const entry = (id: string, order: number) => ({ key: `deidentified:Observation/${id}`, order });
  const series = (list: Json[]) => yearTrend(list.flatMap(observationRows), 'all').sort((x, y) => x.at - y.at).map((p) => p.row.numeric);

  it('loaded newest first, the live one appended last by the state: the room’s order puts it last on the chart', () => {
    const inState = [hr('a', 104), hr('b', 96), hr('c', 88), hr('d', 131)]; // a…c as loaded (newest first), d arrived live
    const order = roomOrder([entry('a', 2), entry('b', 1), entry('c', 0), entry('d', 3)]);
    expect(series(newestFirst(inState, order))).toEqual([88, 96, 104, 131]);
    expect(series(newestFirst(inState)).at(-1)).toBe(104); // the state's order alone: the reading that just came looks oldest
  });

  it('a resource the room does not hold has no order (it keeps the order it came in)', () => {
    const order = roomOrder([entry('a', 7)]);
    expect(order(hr('a', 1))).toBe(7);
    expect(order(hr('zz', 1))).toBe(0);
    expect(order({ ...hr('a', 1), resourceType: 'Condition' })).toBe(0);
  });
});
