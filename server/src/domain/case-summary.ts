import type { FhirResource, R4ResourceType } from '../../../shared/src/fhir.ts';

/**
 * What the ROOM STATE carries of a big case: a case conference needs the
 * latest and recent values per code, active problems, allergies, medications,
 * recent encounters, procedures, reports and imaging, the Patient, and the
 * supporting resources those refer to (practitioners, organizations,
 * locations, medications) for display. Everything else stays in PostgreSQL and
 * is fetched on demand (`GET /api/cases/:id/resources`) under the same scopes.
 * Pure: the same input gives the same selection (the Patient first, then newest first).
 */
export interface SummaryLimits {
  /** Observations kept per code (the latest ones). */
  perCode: number;
  /** Most recent resources kept per "recent" type (encounters, procedures, …). */
  recent: number;
  /** Hard cap on the resources selected (Patient and supporting resources included). */
  maxResources: number;
  /**
   * Resources whose JSON is longer stay out of the room state (on demand only):
   * Colyseus corrupts a synced string longer than its encoder buffer, and
   * bulky ones (claims, reports with attached notes) are not what a case
   * conference looks at first.
   */
  maxResourceBytes: number;
  /** Budget for the JSON of all selected resources (the de-identified copies are smaller, so the room state stays under about twice this). */
  maxTotalBytes: number;
}

export const DEFAULT_SUMMARY_LIMITS: SummaryLimits = { perCode: 5, recent: 10, maxResources: 600, maxResourceBytes: 32 * 1024, maxTotalBytes: 768 * 1024 };

/**
 * Size Colyseus' `Encoder.BUFFER_SIZE` to this: it exceeds the largest room
 * state the summary allows (≈ 2 × maxTotalBytes with keys) and by far the
 * largest single string in it (a synced string longer than the buffer is
 * corrupted on the client — measured with a 46 KB ExplanationOfBenefit).
 */
export const ROOM_STATE_BUFFER_BYTES = 2 * 1024 * 1024;

export interface CaseSummary {
  /** The Patient first, then newest first (undated last): a de-identified view, dated by year only, keeps this order for ties. */
  resources: FhirResource[];
  /** Resources left for on-demand reads, by type. */
  omitted: Record<string, number>;
  /** How many resources of each type the whole record holds (what "10 of 32" counts). */
  totals: Record<string, number>;
}

const RECENT_TYPES: ReadonlySet<string> = new Set(['Encounter', 'Procedure', 'ImagingStudy', 'DiagnosticReport', 'DocumentReference', 'Immunization']);
const SUPPORTING_TYPES: ReadonlySet<string> = new Set(['Practitioner', 'PractitionerRole', 'Organization', 'Location', 'Medication']);
const ACTIVE_CLINICAL = new Set(['active', 'recurrence', 'relapse']);
const ACTIVE_MEDICATION = new Set(['active', 'intended', 'on-hold', 'draft']);

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The date fields a resource is "about", by type (effective, onset, performed, period start…), in order of preference. */
function clinicalDateFields(r: FhirResource): unknown[] {
  return [
    r['effectiveDateTime'], r['effectiveInstant'], isObj(r['effectivePeriod']) ? r['effectivePeriod']['start'] : undefined,
    r['onsetDateTime'], r['recordedDate'], r['performedDateTime'], isObj(r['performedPeriod']) ? r['performedPeriod']['start'] : undefined,
    isObj(r['period']) ? r['period']['start'] : undefined, r['occurrenceDateTime'], r['authoredOn'], r['started'], r['date'], r['issued'],
    isObj(r['billablePeriod']) ? r['billablePeriod']['start'] : undefined, r['created'],
  ];
}

/** The year of a resource's clinical date as written (its local year, whatever the offset), or null. */
export function clinicalYear(r: FhirResource): number | null {
  for (const c of clinicalDateFields(r)) if (typeof c === 'string' && /^\d{4}/.test(c)) return Number(c.slice(0, 4));
  return null;
}

/** The date a resource is "about", as ms since epoch, or null. */
export function clinicalTime(r: FhirResource): number | null {
  for (const c of clinicalDateFields(r)) {
    if (typeof c !== 'string') continue;
    const t = Date.parse(/^\d{4}$/.test(c) ? `${c}-01-01` : /^\d{4}-\d{2}$/.test(c) ? `${c}-01` : c);
    if (Number.isFinite(t)) return t;
  }
  return null;
}

/** `system|code` of the resource's main code (code, vaccineCode, medication code), or null. */
export function primaryCode(r: FhirResource): string | null {
  const concept = r['code'] ?? r['vaccineCode'] ?? r['medicationCodeableConcept'];
  const coding = isObj(concept) && Array.isArray(concept['coding']) ? concept['coding'].find(isObj) : undefined;
  if (!coding || typeof coding['code'] !== 'string') return null;
  return `${typeof coding['system'] === 'string' ? coding['system'] : ''}|${coding['code']}`;
}

const statusCode = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v;
  const c = isObj(v) && Array.isArray(v['coding']) ? v['coding'].find(isObj) : undefined;
  return typeof c?.['code'] === 'string' ? c['code'] : undefined;
};

/** Newest first; undated last; ties keep input order. */
function newestFirst(list: FhirResource[]): FhirResource[] {
  return list
    .map((r, i) => ({ r, i, t: clinicalTime(r) }))
    .sort((a, b) => (b.t ?? -Infinity) - (a.t ?? -Infinity) || a.i - b.i)
    .map((x) => x.r);
}

export function selectCaseSummary(all: FhirResource[], limits: SummaryLimits = DEFAULT_SUMMARY_LIMITS): CaseSummary {
  const byType = new Map<string, FhirResource[]>();
  for (const r of all) {
    const list = byType.get(r.resourceType);
    if (list) list.push(r);
    else byType.set(r.resourceType, [r]);
  }
  const chosen = new Set<FhirResource>();
  let bytes = 0;
  const take = (rs: Iterable<FhirResource>) => {
    for (const r of rs) {
      if (chosen.has(r) || chosen.size >= limits.maxResources) continue;
      const size = JSON.stringify(r).length;
      if (r.resourceType !== 'Patient' && (size > limits.maxResourceBytes || bytes + size > limits.maxTotalBytes)) continue;
      chosen.add(r);
      bytes += size;
    }
  };

  take(byType.get('Patient') ?? []);
  // Problems, allergies, current medications: what is true now.
  take((byType.get('Condition') ?? []).filter((r) => ACTIVE_CLINICAL.has(statusCode(r['clinicalStatus']) ?? '')));
  take((byType.get('AllergyIntolerance') ?? []).filter((r) => statusCode(r['clinicalStatus']) !== 'inactive' && statusCode(r['clinicalStatus']) !== 'resolved'));
  for (const t of ['MedicationStatement', 'MedicationRequest']) take((byType.get(t) ?? []).filter((r) => ACTIVE_MEDICATION.has(statusCode(r['status']) ?? '')));
  // Latest values per code (vital signs, labs).
  const perCode = new Map<string, FhirResource[]>();
  for (const r of newestFirst(byType.get('Observation') ?? [])) {
    const code = primaryCode(r) ?? `uncoded:${r.id}`;
    const list = perCode.get(code);
    if (!list) perCode.set(code, [r]);
    else if (list.length < limits.perCode) list.push(r);
  }
  take([...perCode.values()].flat());
  for (const t of RECENT_TYPES) take(newestFirst(byType.get(t) ?? []).slice(0, limits.recent));
  // Recently ended problems and medications give context too.
  for (const t of ['Condition', 'MedicationStatement', 'MedicationRequest']) take(newestFirst(byType.get(t) ?? []).slice(0, limits.recent));

  // Supporting resources referenced by what was chosen, for display ("Dr. X").
  const wanted = new Set<string>();
  const collect = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (isObj(v)) for (const [k, x] of Object.entries(v)) k === 'reference' && typeof x === 'string' ? wanted.add(x) : collect(x);
  };
  chosen.forEach(collect);
  // A chosen report's results are read with it.
  take((byType.get('Observation') ?? []).filter((r) => wanted.has(`Observation/${r.id}`)));
  for (const t of SUPPORTING_TYPES) take((byType.get(t) ?? []).filter((r) => wanted.has(`${t}/${r.id}`)));

  const omitted: Record<string, number> = {};
  const totals: Record<string, number> = {};
  for (const r of all) {
    totals[r.resourceType] = (totals[r.resourceType] ?? 0) + 1;
    if (!chosen.has(r)) omitted[r.resourceType] = (omitted[r.resourceType] ?? 0) + 1;
  }
  const patients = all.filter((r) => chosen.has(r) && r.resourceType === 'Patient');
  return { resources: [...patients, ...newestFirst(all.filter((r) => chosen.has(r) && r.resourceType !== 'Patient'))], omitted, totals };
}

export type { R4ResourceType };
