import type { FhirResource } from '../../../shared/src/fhir.ts';

/**
 * The "identity withheld" copy of a resource: what an identified participant
 * receives when their access does not include the Patient resource. Identity
 * (names, identifiers, telecom, address, birth date) follows the Patient scope
 * wherever it is written, so the copy is the stored resource walked in full:
 * - narratives (`text` with a `div`, at any depth) are dropped: generated or
 *   not, they restate the record in prose that cannot be scrubbed reliably;
 * - contained Patient, RelatedPerson and Person resources are dropped;
 * - a Reference to the patient (or a relative / person) keeps its `reference`
 *   and loses `display` and `identifier`;
 * - extensions that carry identity are dropped: by value type (HumanName,
 *   Address, ContactPoint, Identifier) or by URL (mother's maiden name, birth
 *   place and time, geolocation), nested ones included;
 * - inline content (`data` of an Attachment, Binary or Signature) is dropped —
 *   only SampledData's `data` (numbers) stays;
 * - inline content (`data`, or a `data:` URL) is dropped;
 * - every other string that contains one of the patient's identity strings
 *   (whole words, compared without case or accents; name parts split at
 *   spaces, hyphens and apostrophes; names in scripts written without spaces
 *   found anywhere; the birth date in its usual written forms) is replaced by
 *   `[withheld]`, and a date or dateTime on the birth date keeps only its year.
 * The copy is marked with the HL7 security label REDACTED. Pure.
 */
export const WITHHELD = '[withheld]';
export const REDACTED_LABEL = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'REDACTED', display: 'redacted' } as const;

/** What identifies the case's patient, read from their Patient resource. */
export interface PatientIdentity {
  /** Matcher of every identity string over `foldText` of a value; null when there is none. */
  matcher: RegExp | null;
  /** The birth date as written (YYYY, YYYY-MM or YYYY-MM-DD); null when unknown. */
  birthDate: string | null;
}

/** Resource types that are themselves a person's identity: never contained in a withheld copy. */
export const IDENTITY_TYPES: ReadonlySet<string> = new Set(['Patient', 'RelatedPerson', 'Person']);

const IDENTITY_EXTENSIONS: ReadonlySet<string> = new Set([
  'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName',
  'http://hl7.org/fhir/StructureDefinition/patient-birthPlace',
  'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
  'http://hl7.org/fhir/StructureDefinition/geolocation',
]);
const IDENTITY_VALUE_KEYS = ['valueHumanName', 'valueAddress', 'valueContactPoint', 'valueIdentifier'];

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strs = (...vs: unknown[]): string[] => vs.flat().filter((v): v is string => typeof v === 'string' && v.trim().length >= 2);

/**
 * Text as it is compared: compatibility-normalised, accents removed, lower
 * case — "García", "Garcia" and "GARCÍA" (in either Unicode encoding) are one.
 */
export function foldText(s: string): string {
  return s.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase();
}

/** Name parts whole, and their words of four letters or more, split at spaces, hyphens and apostrophes ("García-López" → also "López"; "van de Heuvel" → also "Heuvel"). */
function nameStrings(name: unknown): string[] {
  if (!isObj(name)) return [];
  const parts = strs(name['text'], name['family'], arr(name['given']));
  return [...parts, ...parts.flatMap((p) => p.split(/[\s\-\u2010-\u2015'\u2019]+/u).filter((w) => w.length >= 4))];
}
function addressStrings(a: unknown): string[] {
  return isObj(a) ? strs(a['text'], arr(a['line']), a['postalCode']) : [];
}
const telecomStrings = (t: unknown) => (isObj(t) ? strs(t['value']) : []);

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/** A full birth date as people write it: ISO and compact, day/month/year and month/day/year with / . - and with two- or four-digit years, and with the month's English name. */
function birthDateForms(iso: string): string[] {
  const [y, m, d] = iso.split('-') as [string, string, string];
  const years = [y, y.slice(2)];
  const days = [...new Set([d, String(Number(d))])];
  const months = [...new Set([m, String(Number(m))])];
  const forms = [iso, `${y}${m}${d}`, `${y}/${m}/${d}`, `${y}.${m}.${d}`];
  for (const sep of ['/', '.', '-']) for (const yy of years) for (const dd of days) for (const mm of months) forms.push(`${dd}${sep}${mm}${sep}${yy}`, `${mm}${sep}${dd}${sep}${yy}`);
  const month = MONTHS[Number(m) - 1];
  if (month) for (const name of [month, month.slice(0, 3)]) for (const dd of days) forms.push(`${dd} ${name} ${y}`, `${name} ${dd}, ${y}`, `${name} ${dd} ${y}`, `${dd}-${name}-${y}`);
  return forms;
}

/** Scripts written without spaces between words: a name there is found as it stands, not as a whole word. */
const UNSPACED = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Thai}\p{Script=Lao}\p{Script=Khmer}\p{Script=Myanmar}\p{Script=Tibetan}]/u;

/** The identity of the patient as written in their Patient resource (and their contacts': relatives identify them too). */
export function patientIdentity(patient: FhirResource | null | undefined): PatientIdentity {
  if (!patient) return { matcher: null, birthDate: null };
  const p = patient as Json;
  const found = [
    ...arr(p['name']).flatMap(nameStrings),
    ...strs(arr(p['identifier']).map((i) => (isObj(i) ? i['value'] : undefined))),
    ...arr(p['telecom']).flatMap(telecomStrings),
    ...arr(p['address']).flatMap(addressStrings),
    ...arr(p['contact']).flatMap((c) => (isObj(c) ? [...nameStrings(c['name']), ...arr(c['telecom']).flatMap(telecomStrings), ...addressStrings(c['address'])] : [])),
    ...arr(p['extension']).flatMap((e) => (isObj(e) && e['url'] === 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName' ? nameStrings({ text: e['valueString'] }) : [])),
  ];
  const birthDate = typeof p['birthDate'] === 'string' && /^\d{4}(-\d{2}(-\d{2})?)?$/.test(p['birthDate']) ? p['birthDate'] : null;
  // A year or month alone identifies nobody; a full date does, however it is written.
  const dates = birthDate && birthDate.length === 10 ? birthDateForms(birthDate) : [];
  const tokens = [...new Set([...found, ...dates].map((s) => foldText(s.trim())).filter((s) => s.length >= 2))].sort((a, b) => b.length - a.length);
  // Whole words: a letter or digit may not continue the token on either side ("Pieter" is not in "Pieters"),
  // except in scripts written without spaces, where a name stands inside the sentence.
  const pattern = tokens.map((t) => (UNSPACED.test(t) ? escape(t) : `(?<![\\p{L}\\p{N}])${escape(t)}(?![\\p{L}\\p{N}])`)).join('|');
  return { matcher: tokens.length ? new RegExp(pattern, 'u') : null, birthDate: birthDate && birthDate.length === 10 ? birthDate : null };
}

const DATE_RE = /^\d{4}(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** One string without the patient's identity: a string naming them is withheld whole; a date on the birth date keeps its year. */
export function withholdText(s: string, identity: PatientIdentity): string {
  if (identity.birthDate && DATE_RE.test(s) && s.startsWith(identity.birthDate)) return s.slice(0, 4);
  return identity.matcher?.test(foldText(s)) ? WITHHELD : s;
}
const IDENTITY_REF_RE = /(?:^|\/)(Patient|RelatedPerson|Person)(?:\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?$|\?)/;

/** The copy of `resource` without the patient's identity (see the module comment). */
export function withholdIdentity(resource: FhirResource, identity: PatientIdentity): FhirResource {
  const containedIdentity = new Set(
    arr((resource as Json)['contained'])
      .filter((c) => isObj(c) && IDENTITY_TYPES.has(String(c['resourceType'])))
      .map((c) => `#${String((c as Json)['id'])}`),
  );

  const isIdentityReference = (o: Json): boolean => {
    const ref = o['reference'];
    if (typeof ref === 'string' && (IDENTITY_REF_RE.test(ref) || containedIdentity.has(ref))) return true;
    return typeof o['type'] === 'string' && IDENTITY_TYPES.has(o['type']);
  };

  const identityExtension = (e: unknown): boolean =>
    isObj(e) && (IDENTITY_EXTENSIONS.has(String(e['url'])) || IDENTITY_VALUE_KEYS.some((k) => k in e) || arr(e['extension']).some(identityExtension));

  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (typeof v === 'string') return withholdText(v, identity);
    if (!isObj(v)) return v;
    const toPatient = isIdentityReference(v);
    const out: Json = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'text' && isObj(x)) continue; // narrative
      if (toPatient && (k === 'display' || k === 'identifier')) continue;
      if (k === 'data' && typeof x === 'string' && !('origin' in v)) continue; // inline content; SampledData keeps its numbers
      if (k === 'url' && typeof x === 'string' && /^data:/i.test(x)) continue; // inline content written as a data: URL
      if (k === 'contained' && Array.isArray(x)) out[k] = x.filter((c) => !(isObj(c) && IDENTITY_TYPES.has(String(c['resourceType'])))).map(walk);
      else if ((k === 'extension' || k === 'modifierExtension') && Array.isArray(x)) out[k] = x.filter((e) => !identityExtension(e)).map(walk);
      else out[k] = walk(x);
      if (Array.isArray(out[k]) && (out[k] as unknown[]).length === 0) delete out[k];
    }
    return out;
  };

  const copy = walk(resource) as Json;
  const meta = isObj(copy['meta']) ? copy['meta'] : {};
  copy['meta'] = { ...meta, security: [...arr(meta['security']), { ...REDACTED_LABEL }] };
  // Server ids and types are not identity; keep them as stored.
  return { ...copy, resourceType: resource.resourceType, id: resource.id } as FhirResource;
}
