import { createHmac } from 'node:crypto';
import { AGE_BAND_URL, PATIENT_REFERENCE_FIELD, type CaseResourceType, type FhirResource } from '../../../shared/src/fhir.ts';

/**
 * HIPAA Safe Harbor de-identification by allowlist: for each resource type
 * only fields known to carry no identifier are copied; everything else —
 * names, identifiers, addresses, telecom, narrative text, notes, free-text
 * `text` of codes, attachments, provider references, DICOM UIDs — is dropped
 * because it is not copied. Dates are shifted by a per-case secret offset,
 * ages become 10-year bands (90+ collapsed), ids become keyed pseudonyms.
 */
export interface DeidentifyKey {
  /** Secret per case (HMAC key for pseudonymous ids). */
  pseudonymKey: string;
  /** Secret per case, applied to every date. */
  dateShiftDays: number;
  /** Reference time for ages. */
  now: Date;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function pseudonym(key: DeidentifyKey, type: string, id: string): string {
  return createHmac('sha256', key.pseudonymKey).update(`${type}/${id}`).digest('hex').slice(0, 32);
}

/** Shift a FHIR date/dateTime by whole days, keeping its precision; years-only stay years (shift ≤ 1 year could cross, so we shift the year too). */
export function shiftDate(value: unknown, days: number): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d] = m;
  const date = new Date(Date.UTC(Number(y), mo ? Number(mo) - 1 : 6, d ? Number(d) : 15));
  date.setUTCDate(date.getUTCDate() + days);
  const iso = date.toISOString();
  if (!mo) return iso.slice(0, 4);
  if (!d) return iso.slice(0, 7);
  return iso.slice(0, 10); // times of day are dropped: they add precision, not meaning
}

export function ageBand(birthDate: unknown, now: Date): string | undefined {
  if (typeof birthDate !== 'string' || !/^\d{4}/.test(birthDate)) return undefined;
  const [y, m = '07', d = '01'] = birthDate.split('-');
  const born = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d)));
  let age = now.getUTCFullYear() - born.getUTCFullYear();
  if (now.getUTCMonth() < born.getUTCMonth() || (now.getUTCMonth() === born.getUTCMonth() && now.getUTCDate() < born.getUTCDate())) age--;
  if (age >= 90) return '90+';
  if (age < 0) return undefined;
  const low = Math.floor(age / 10) * 10;
  return `${low}-${low + 9}`;
}

/** Codings only (system, code, display); the free-text `text` of a CodeableConcept is dropped. */
function concept(v: unknown): Json | undefined {
  if (!isObj(v)) return undefined;
  const coding = arr(v['coding']).filter(isObj).map((c) => pick(c, ['system', 'code', 'display']));
  return coding.length ? { coding } : undefined;
}
const concepts = (v: unknown) => arr(v).map(concept).filter((c): c is Json => c !== undefined);
function quantity(v: unknown): Json | undefined {
  return isObj(v) ? pick(v, ['value', 'comparator', 'unit', 'system', 'code']) : undefined;
}
function pick(o: Json, keys: string[]): Json {
  const out: Json = {};
  for (const k of keys) if (o[k] !== undefined && (typeof o[k] !== 'object' || o[k] === null)) out[k] = o[k];
  return out;
}
function clean(o: Json): Json {
  for (const k of Object.keys(o)) if (o[k] === undefined || (Array.isArray(o[k]) && (o[k] as unknown[]).length === 0)) delete o[k];
  return o;
}

type Rule = (r: Json, shift: (v: unknown) => string | undefined) => Json;

const RULES: Record<Exclude<CaseResourceType, 'Patient'>, Rule> = {
  Observation: (r, shift) => ({
    status: r['status'],
    category: concepts(r['category']),
    code: concept(r['code']),
    effectiveDateTime: shift(r['effectiveDateTime']),
    valueQuantity: quantity(r['valueQuantity']),
    valueCodeableConcept: concept(r['valueCodeableConcept']),
    interpretation: concepts(r['interpretation']),
    referenceRange: arr(r['referenceRange']).filter(isObj).map((rr) => clean({ low: quantity(rr['low']), high: quantity(rr['high']) })),
    component: arr(r['component']).filter(isObj).map((c) => clean({ code: concept(c['code']), valueQuantity: quantity(c['valueQuantity']) })),
  }),
  Condition: (r, shift) => ({
    clinicalStatus: concept(r['clinicalStatus']),
    verificationStatus: concept(r['verificationStatus']),
    category: concepts(r['category']),
    severity: concept(r['severity']),
    code: concept(r['code']),
    bodySite: concepts(r['bodySite']),
    onsetDateTime: shift(r['onsetDateTime']),
    recordedDate: shift(r['recordedDate']),
  }),
  AllergyIntolerance: (r, shift) => ({
    clinicalStatus: concept(r['clinicalStatus']),
    verificationStatus: concept(r['verificationStatus']),
    type: typeof r['type'] === 'string' ? r['type'] : undefined,
    category: arr(r['category']).filter((c) => typeof c === 'string'),
    criticality: typeof r['criticality'] === 'string' ? r['criticality'] : undefined,
    code: concept(r['code']),
    onsetDateTime: shift(r['onsetDateTime']),
    reaction: arr(r['reaction']).filter(isObj).map((x) => clean({ substance: concept(x['substance']), manifestation: concepts(x['manifestation']), severity: typeof x['severity'] === 'string' ? x['severity'] : undefined })),
  }),
  MedicationStatement: (r, shift) => ({
    status: r['status'],
    medicationCodeableConcept: concept(r['medicationCodeableConcept']),
    effectiveDateTime: shift(r['effectiveDateTime']),
    effectivePeriod: isObj(r['effectivePeriod']) ? clean({ start: shift(r['effectivePeriod']['start']), end: shift(r['effectivePeriod']['end']) }) : undefined,
    dosage: arr(r['dosage']).filter(isObj).map((d) => clean({ route: concept(d['route']), doseAndRate: arr(d['doseAndRate']).filter(isObj).map((x) => clean({ doseQuantity: quantity(x['doseQuantity']) })) })),
  }),
  Procedure: (r, shift) => ({
    status: r['status'],
    code: concept(r['code']),
    bodySite: concepts(r['bodySite']),
    performedDateTime: shift(r['performedDateTime']),
    performedPeriod: isObj(r['performedPeriod']) ? clean({ start: shift(r['performedPeriod']['start']), end: shift(r['performedPeriod']['end']) }) : undefined,
    outcome: concept(r['outcome']),
  }),
  ImagingStudy: (r, shift) => ({
    status: r['status'],
    modality: arr(r['modality']).filter(isObj).map((c) => pick(c, ['system', 'code', 'display'])),
    started: shift(r['started']),
    numberOfSeries: typeof r['numberOfSeries'] === 'number' ? r['numberOfSeries'] : undefined,
    numberOfInstances: typeof r['numberOfInstances'] === 'number' ? r['numberOfInstances'] : undefined,
    procedureCode: concepts(r['procedureCode']),
    series: arr(r['series']).filter(isObj).map((s) => clean({ modality: isObj(s['modality']) ? pick(s['modality'], ['system', 'code', 'display']) : undefined, bodySite: isObj(s['bodySite']) ? pick(s['bodySite'], ['system', 'code', 'display']) : undefined, numberOfInstances: typeof s['numberOfInstances'] === 'number' ? s['numberOfInstances'] : undefined })),
  }),
  DocumentReference: (r, shift) => ({
    status: r['status'],
    type: concept(r['type']),
    category: concepts(r['category']),
    date: shift(r['date']),
    // content (the document itself) is free text or a binary: never part of a de-identified view.
  }),
};

export function deidentifyResource(resource: FhirResource, patientId: string, key: DeidentifyKey): FhirResource {
  const shift = (v: unknown) => shiftDate(v, key.dateShiftDays);
  const id = pseudonym(key, resource.resourceType, resource.id);
  const subjectRef = { reference: `Patient/${pseudonym(key, 'Patient', patientId)}` };
  if (resource.resourceType === 'Patient') {
    const band = ageBand(resource['birthDate'], key.now);
    return clean({
      resourceType: 'Patient',
      id,
      gender: typeof resource['gender'] === 'string' ? resource['gender'] : undefined,
      extension: band ? [{ url: AGE_BAND_URL, valueString: band }] : undefined,
    }) as FhirResource;
  }
  const body = clean(RULES[resource.resourceType](resource, shift));
  return { resourceType: resource.resourceType, id, ...body, [PATIENT_REFERENCE_FIELD[resource.resourceType]]: subjectRef } as FhirResource;
}
