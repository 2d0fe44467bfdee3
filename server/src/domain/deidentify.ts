import { createHmac } from 'node:crypto';
import { AGE_BAND_URL, isCaseResourceType, PATIENT_REFERENCE_FIELD, type CaseResourceType, type FhirResource } from '../../../shared/src/fhir.ts';

/**
 * HIPAA Safe Harbor de-identification by allowlist: for each resource type
 * only fields known to carry no identifier are copied; everything else —
 * names, identifiers, addresses, telecom, narrative text, notes, free-text
 * `text` of codes, attachments, provider references, DICOM UIDs, lot numbers —
 * is dropped because it is not copied. Every date keeps only its year (no
 * shift: a shifted date next to a live sample's arrival time gives the shift
 * away), ages become 10-year bands from years alone (90+ collapsed), ids
 * become keyed pseudonyms. A type without a rule here has no de-identified
 * copy at all.
 */
export interface DeidentifyKey {
  /** Secret per case (HMAC key for pseudonymous ids). */
  pseudonymKey: string;
  /** Reference time for age bands (only its year is used). */
  now: Date;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export function pseudonym(key: DeidentifyKey, type: string, id: string): string {
  return createHmac('sha256', key.pseudonymKey).update(`${type}/${id}`).digest('hex').slice(0, 32);
}

/** The year of a FHIR date/dateTime/instant, and nothing finer (Safe Harbor keeps years only). */
export function yearOf(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const m = /^(\d{4})(?:$|-)/.exec(value);
  return m ? m[1] : undefined;
}

function period(v: unknown): Json | undefined {
  return isObj(v) ? clean({ start: yearOf(v['start']), end: yearOf(v['end']) }) : undefined;
}

/**
 * Ten-year age band from the birth YEAR and the current year only: a band
 * computed from the full birth date would change on the birthday and so give
 * the birthday away to anyone watching. 90 and over collapse (Safe Harbor).
 */
export function ageBand(birthDate: unknown, now: Date): string | undefined {
  const y = yearOf(birthDate);
  if (!y) return undefined;
  const age = now.getUTCFullYear() - Number(y);
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
const coding = (v: unknown) => (isObj(v) ? pick(v, ['system', 'code', 'display']) : undefined);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
const referenceRange = (v: unknown) => arr(v).filter(isObj).map((rr) => clean({ low: quantity(rr['low']), high: quantity(rr['high']), type: concept(rr['type']) }));
function pick(o: Json, keys: string[]): Json {
  const out: Json = {};
  for (const k of keys) if (o[k] !== undefined && (typeof o[k] !== 'object' || o[k] === null)) out[k] = o[k];
  return out;
}
function clean(o: Json): Json {
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (v === undefined || (Array.isArray(v) && v.length === 0) || (isObj(v) && Object.keys(v).length === 0)) delete o[k];
  }
  return o;
}

/** What a rule may use besides the resource: pseudonyms for references it keeps. */
interface RuleContext {
  ref: (type: CaseResourceType, reference: unknown) => Json | undefined;
}
type Rule = (r: Json, ctx: RuleContext) => Json;

/** medication[x] of a de-identified copy: the code (also from a contained Medication), or a pseudonymous Medication reference. */
function medication(r: Json, ctx: RuleContext): Json {
  const direct = concept(r['medicationCodeableConcept']);
  if (direct) return { medicationCodeableConcept: direct };
  const ref = isObj(r['medicationReference']) ? r['medicationReference']['reference'] : undefined;
  if (typeof ref === 'string' && ref.startsWith('#')) {
    const med = arr(r['contained']).filter(isObj).find((c) => c['resourceType'] === 'Medication' && `#${String(c['id'])}` === ref);
    const code = med ? concept(med['code']) : undefined;
    return code ? { medicationCodeableConcept: code } : {};
  }
  const pseudo = ctx.ref('Medication', ref);
  return pseudo ? { medicationReference: pseudo } : {};
}

const dosage = (v: unknown) =>
  arr(v)
    .filter(isObj)
    .map((d) =>
      clean({
        route: concept(d['route']),
        timing: isObj(d['timing']) && isObj(d['timing']['repeat']) ? clean(pick(d['timing']['repeat'], ['frequency', 'period', 'periodUnit'])) : undefined,
        doseAndRate: arr(d['doseAndRate']).filter(isObj).map((x) => clean({ doseQuantity: quantity(x['doseQuantity']) })),
      }),
    );

const RULES: Record<Exclude<CaseResourceType, 'Patient'>, Rule> = {
  Observation: (r) => ({
    status: r['status'],
    category: concepts(r['category']),
    code: concept(r['code']),
    effectiveDateTime: yearOf(r['effectiveDateTime']),
    effectivePeriod: period(r['effectivePeriod']),
    valueQuantity: quantity(r['valueQuantity']),
    valueCodeableConcept: concept(r['valueCodeableConcept']),
    valueBoolean: typeof r['valueBoolean'] === 'boolean' ? r['valueBoolean'] : undefined,
    valueInteger: num(r['valueInteger']),
    // valueString is free text: never part of a de-identified view.
    interpretation: concepts(r['interpretation']),
    referenceRange: referenceRange(r['referenceRange']),
    component: arr(r['component'])
      .filter(isObj)
      .map((c) => clean({ code: concept(c['code']), valueQuantity: quantity(c['valueQuantity']), valueCodeableConcept: concept(c['valueCodeableConcept']), interpretation: concepts(c['interpretation']), referenceRange: referenceRange(c['referenceRange']) })),
  }),
  Condition: (r) => ({
    clinicalStatus: concept(r['clinicalStatus']),
    verificationStatus: concept(r['verificationStatus']),
    category: concepts(r['category']),
    severity: concept(r['severity']),
    code: concept(r['code']),
    bodySite: concepts(r['bodySite']),
    onsetDateTime: yearOf(r['onsetDateTime']),
    abatementDateTime: yearOf(r['abatementDateTime']),
    recordedDate: yearOf(r['recordedDate']),
  }),
  AllergyIntolerance: (r) => ({
    clinicalStatus: concept(r['clinicalStatus']),
    verificationStatus: concept(r['verificationStatus']),
    type: str(r['type']),
    category: arr(r['category']).filter((c) => typeof c === 'string'),
    criticality: str(r['criticality']),
    code: concept(r['code']),
    onsetDateTime: yearOf(r['onsetDateTime']),
    recordedDate: yearOf(r['recordedDate']),
    reaction: arr(r['reaction']).filter(isObj).map((x) => clean({ substance: concept(x['substance']), manifestation: concepts(x['manifestation']), severity: str(x['severity']) })),
  }),
  MedicationStatement: (r, ctx) => ({
    status: r['status'],
    category: concept(r['category']),
    ...medication(r, ctx),
    effectiveDateTime: yearOf(r['effectiveDateTime']),
    effectivePeriod: period(r['effectivePeriod']),
    reasonCode: concepts(r['reasonCode']),
    dosage: dosage(r['dosage']),
  }),
  MedicationRequest: (r, ctx) => ({
    status: r['status'],
    intent: r['intent'],
    ...medication(r, ctx),
    authoredOn: yearOf(r['authoredOn']),
    reasonCode: concepts(r['reasonCode']),
    dosageInstruction: dosage(r['dosageInstruction']),
  }),
  Medication: (r) => ({
    code: concept(r['code']),
    form: concept(r['form']),
    ingredient: arr(r['ingredient'])
      .filter(isObj)
      .map((i) => clean({ itemCodeableConcept: concept(i['itemCodeableConcept']), strength: isObj(i['strength']) ? clean({ numerator: quantity(i['strength']['numerator']), denominator: quantity(i['strength']['denominator']) }) : undefined })),
    // batch (lot number, expiry) identifies a physical product: dropped.
  }),
  Procedure: (r) => ({
    status: r['status'],
    code: concept(r['code']),
    bodySite: concepts(r['bodySite']),
    performedDateTime: yearOf(r['performedDateTime']),
    performedPeriod: period(r['performedPeriod']),
    reasonCode: concepts(r['reasonCode']),
    outcome: concept(r['outcome']),
  }),
  ImagingStudy: (r) => ({
    status: r['status'],
    modality: arr(r['modality']).map(coding).filter((c) => c !== undefined),
    started: yearOf(r['started']),
    numberOfSeries: num(r['numberOfSeries']),
    numberOfInstances: num(r['numberOfInstances']),
    procedureCode: concepts(r['procedureCode']),
    series: arr(r['series']).filter(isObj).map((s) => clean({ modality: coding(s['modality']), bodySite: coding(s['bodySite']), numberOfInstances: num(s['numberOfInstances']) })),
  }),
  DocumentReference: (r) => ({
    status: r['status'],
    type: concept(r['type']),
    category: concepts(r['category']),
    date: yearOf(r['date']),
    // content (the document itself) is free text or a binary: never part of a de-identified view.
  }),
  Encounter: (r) => ({
    status: r['status'],
    class: coding(r['class']),
    type: concepts(r['type']),
    priority: concept(r['priority']),
    period: period(r['period']),
    reasonCode: concepts(r['reasonCode']),
    // participant, location, serviceProvider name people and places: dropped.
  }),
  Immunization: (r) => ({
    status: r['status'],
    vaccineCode: concept(r['vaccineCode']),
    occurrenceDateTime: yearOf(r['occurrenceDateTime']),
    // lotNumber, performer, location: dropped.
  }),
  DiagnosticReport: (r, ctx) => ({
    status: r['status'],
    category: concepts(r['category']),
    code: concept(r['code']),
    effectiveDateTime: yearOf(r['effectiveDateTime']),
    effectivePeriod: period(r['effectivePeriod']),
    result: arr(r['result']).map((x) => ctx.ref('Observation', isObj(x) ? x['reference'] : undefined)).filter((x) => x !== undefined),
    conclusionCode: concepts(r['conclusionCode']),
    // presentedForm (the report's text, e.g. clinical notes) and conclusion are free text: dropped.
  }),
};

/** Types with a de-identification rule: only these ever have a de-identified copy. */
export const DEIDENTIFIABLE_TYPES: ReadonlySet<string> = new Set(['Patient', ...Object.keys(RULES)]);

/**
 * The de-identified copy of a resource, or null when its type has no rule
 * (no allowlist → no copy; never de-identified by guesswork).
 */
export function deidentifyResource(resource: FhirResource, patientId: string, key: DeidentifyKey): FhirResource | null {
  const type = resource.resourceType;
  if (!isCaseResourceType(type)) return null;
  const id = pseudonym(key, type, resource.id);
  if (type === 'Patient') {
    const band = ageBand(resource['birthDate'], key.now);
    return clean({
      resourceType: 'Patient',
      id,
      gender: str(resource['gender']),
      extension: band ? [{ url: AGE_BAND_URL, valueString: band }] : undefined,
    }) as FhirResource;
  }
  // Only references to resources of the same case, by type and server id, become pseudonyms; anything else is dropped.
  const ref = (target: CaseResourceType, reference: unknown): Json | undefined => {
    const m = typeof reference === 'string' ? /^([A-Za-z]+)\/([0-9a-f-]{36})$/.exec(reference) : null;
    return m && m[1] === target ? { reference: `${target}/${pseudonym(key, target, m[2]!)}` } : undefined;
  };
  const body = clean(RULES[type](resource, { ref }));
  const field = PATIENT_REFERENCE_FIELD[type];
  const subject = field ? { [field]: { reference: `Patient/${pseudonym(key, 'Patient', patientId)}` } } : {};
  return { resourceType: type, id, ...body, ...subject } as FhirResource;
}
