import type { CaseResourceType } from '../../../../shared/src/fhir.ts';
import { conceptText, formatWhen, medicationName, observationRows, parseWhen, quantityText, whenOf, type FhirWhen, type ObservationRow } from './format.ts';

/**
 * The clinical summary as a clinician reads it in chart review, built from
 * exactly the resources this participant holds (room state plus what was
 * fetched on demand). Socket-free and DOM-free: the case panel renders it.
 * Every list is newest first; the server sends resources newest first, so
 * de-identified copies (dated by year only) keep that order within a year.
 */
type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : undefined);
const code = (v: unknown): string => str(v) ?? str(obj(arr(obj(v)?.['coding'])[0])?.['code']) ?? '';

export type SectionKey = 'allergies' | 'medications' | 'problems' | 'encounters' | 'immunizations' | 'reports' | 'procedures' | 'imaging' | 'documents';

export interface SummaryItem {
  title: string;
  /** Short facts after the title: dose, prescriber, dates. */
  detail: string[];
  /** Status words a clinician must not miss ("unconfirmed", "high criticality", "on hold"). */
  marks: string[];
  /** Lines under the item: each allergy reaction with its severity, each report result. */
  lines: string[];
  alert: boolean;
}

export interface SummaryGroup {
  /** '' for a section with one list. */
  label: string;
  items: SummaryItem[];
}

export interface SummarySection {
  key: SectionKey;
  title: string;
  types: CaseResourceType[];
  groups: SummaryGroup[];
  /** Resources of the section's types this participant holds, and how many the record has (≥ loaded). */
  loaded: number;
  total: number;
  /** "Not on file": readable, and the record has none (known as none, not "not recorded"). */
  empty: boolean;
}

export interface SummaryContext {
  /** Resource types this participant may read (a type outside it is hidden, not "not on file"). */
  readable: (type: CaseResourceType) => boolean;
  /** Resources per type in the whole record, as the room says (CaseEntryState.ofType); missing = what is loaded. */
  totals: Partial<Record<string, number>>;
}

const ACTIVE_MED = new Set(['active', 'on-hold', 'intended', 'draft']);
const ACTIVE_PROBLEM = new Set(['active', 'recurrence', 'relapse']);
const time = (r: Json) => whenOf(r)?.ms ?? -Infinity;
/**
 * Newest first, stable (ties keep the server's newest-first order). `order` breaks ties before
 * that order (higher = newer): a de-identified copy dated by its year alone ties with its whole
 * year, and the room's state lists a resource that arrived live after those it loaded (roomOrder).
 */
export const newestFirst = <T extends Json>(list: T[], order?: (r: T) => number): T[] =>
  list.map((r, i) => ({ r, i, t: time(r), o: order?.(r) ?? 0 })).sort((a, b) => b.t - a.t || b.o - a.o || a.i - b.i).map((x) => x.r);

/** The room's order of its case resources by real clinical time (CaseEntryState.order, oldest 0), looked up by type and id. */
export function roomOrder(entries: Iterable<{ key: string; order: number }>): (r: Json) => number {
  const byRef = new Map<string, number>();
  // Keys are `<variant>:<Type>/<id>`; a participant holds one copy of each resource.
  for (const e of entries) byRef.set(e.key.slice(e.key.indexOf(':') + 1), e.order);
  return (r) => byRef.get(`${String(r['resourceType'])}/${String(r['id'])}`) ?? 0;
}
const when = (r: Json) => formatWhen(whenOf(r));

/** A reference's target among the resources held ("Practitioner/abc"), or undefined. */
function resolver(resources: Json[]): (ref: unknown) => Json | undefined {
  const byRef = new Map<string, Json>();
  for (const r of resources) byRef.set(`${String(r['resourceType'])}/${String(r['id'])}`, r);
  return (ref) => {
    const s = str(obj(ref)?.['reference']);
    return s ? byRef.get(s) : undefined;
  };
}

function personName(p: Json | undefined): string | undefined {
  const n = obj(arr(p?.['name'])[0]);
  if (!n) return undefined;
  return str(n['text']) ?? ([...arr(n['prefix']), ...arr(n['given']), n['family']].filter((x) => typeof x === 'string').join(' ') || undefined);
}

/** Dose as prescribed: the written instruction, else what the structured dose says (de-identified copies keep only that). */
export function doseText(r: Json): string {
  const d = obj(arr(r['dosageInstruction'] ?? r['dosage'])[0]);
  if (!d) return '';
  const text = str(d['text']);
  if (text) return text;
  const rate = obj(arr(d['doseAndRate'])[0]);
  const q = quantityText(rate?.['doseQuantity']);
  const range = obj(rate?.['doseRange']);
  const dose = q || (range ? `${quantityText(range['low'])}–${quantityText(range['high'])}` : '');
  // FHIR nests it in timing.repeat; the de-identified copy keeps only those fields, in timing itself.
  const rep = obj(obj(d['timing'])?.['repeat']) ?? obj(d['timing']);
  const freq = rep && typeof rep['frequency'] === 'number' ? `${rep['frequency']}×/${rep['period'] && rep['period'] !== 1 ? `${String(rep['period'])} ` : ''}${String(rep['periodUnit'] ?? 'd')}` : '';
  return [dose, conceptText(d['route']), freq].filter(Boolean).join(' · ');
}

function medicationItem(r: Json, ref: (v: unknown) => Json | undefined): SummaryItem {
  const referenced = ref(r['medicationReference']);
  const name = referenced && !conceptText(r['medicationCodeableConcept']) && !str(obj(r['medicationReference'])?.['reference'])?.startsWith('#') ? conceptText(referenced['code']) || medicationName(r) : medicationName(r);
  const by = r['requester'] ?? r['informationSource'];
  const source = ref(by);
  const prescriber = source?.['resourceType'] === 'Patient' ? 'the patient' : personName(source) ?? str(obj(by)?.['display']);
  const status = String(r['status'] ?? '');
  const kind = r['resourceType'] === 'MedicationRequest' ? 'ordered' : 'reported';
  return {
    title: name,
    detail: [doseText(r), prescriber ? `by ${prescriber}` : '', when(r) ? `${kind} ${when(r)}` : ''].filter(Boolean),
    marks: status && status !== 'active' ? [status.replace('-', ' ')] : [],
    lines: [],
    alert: false,
  };
}

function allergyItem(a: Json): SummaryItem {
  const verification = code(a['verificationStatus']);
  const clinical = code(a['clinicalStatus']);
  const high = a['criticality'] === 'high';
  const reactions = arr(a['reaction']).map(obj).filter((x): x is Json => !!x);
  const recorded = formatWhen(parseWhen(a['recordedDate']));
  return {
    title: conceptText(a['code']) || 'Allergy',
    detail: [str(arr(a['category'])[0]) ?? '', recorded ? `recorded ${recorded}` : ''].filter(Boolean),
    marks: [high ? 'high criticality' : '', verification && verification !== 'confirmed' ? verification.replace('-', ' ') : '', clinical && clinical !== 'active' ? clinical : ''].filter(Boolean),
    lines: reactions.map((x) => {
      const what = arr(x['manifestation']).map(conceptText).filter(Boolean).join(', ') || 'Reaction';
      return `${what} — ${str(x['severity']) ?? 'severity not recorded'}`;
    }),
    alert: high && clinical !== 'inactive' && clinical !== 'resolved' && verification !== 'refuted' && verification !== 'entered-in-error',
  };
}

function problemItem(c: Json): SummaryItem {
  const ended = formatWhen(whenOf({ date: c['abatementDateTime'] }));
  const verification = code(c['verificationStatus']);
  return {
    title: conceptText(c['code']) || 'Problem',
    detail: [when(c) ? `since ${when(c)}` : '', ended ? `resolved ${ended}` : ''].filter(Boolean),
    marks: verification && !['confirmed', 'unconfirmed'].includes(verification) ? [verification] : verification === 'unconfirmed' ? ['unconfirmed'] : [],
    lines: [],
    alert: false,
  };
}

/** Results of a report, as short lines ("Hemoglobin 8.1 g/dL L"), from the Observations held. */
function reportItem(r: Json, ref: (v: unknown) => Json | undefined): SummaryItem {
  const results = arr(r['result']);
  const rows = results.map(ref).filter((o): o is Json => !!o).flatMap(observationRows);
  const missing = results.length - results.map(ref).filter(Boolean).length;
  return {
    title: conceptText(r['code']) || 'Report',
    detail: [when(r), String(r['status'] ?? '') === 'final' ? '' : String(r['status'] ?? '')].filter(Boolean),
    marks: rows.some((x) => x.flag && x.flag !== 'N') ? ['abnormal results'] : [],
    lines: [...rows.map((x) => `${x.name} ${x.value}${x.flag && x.flag !== 'N' ? ` ${x.flag}` : ''}`), missing > 0 ? `${missing} result${missing === 1 ? '' : 's'} not loaded` : ''].filter(Boolean),
    alert: false,
  };
}

const plain = (r: Json, title: string, extra: string[] = []): SummaryItem => ({ title, detail: [when(r) || 'date unknown', ...extra].filter(Boolean), marks: [], lines: [], alert: false });

export function summaryModel(resources: Json[], ctx: SummaryContext): SummarySection[] {
  const of = (t: CaseResourceType) => newestFirst(resources.filter((r) => r['resourceType'] === t));
  const ref = resolver(resources);
  const sections: SummarySection[] = [];
  const add = (key: SectionKey, title: string, types: CaseResourceType[], groups: SummaryGroup[]) => {
    if (!types.some(ctx.readable)) return;
    const loaded = types.reduce((n, t) => n + resources.filter((r) => r['resourceType'] === t).length, 0);
    const total = Math.max(loaded, types.reduce((n, t) => n + (ctx.totals[t] ?? 0), 0));
    sections.push({ key, title, types, groups: groups.filter((g) => g.items.length), loaded, total, empty: total === 0 });
  };

  // Allergies: active ones first, high criticality first; every reaction with its severity.
  const allergies = of('AllergyIntolerance');
  const inactive = (a: Json) => ['inactive', 'resolved'].includes(code(a['clinicalStatus'])) || ['refuted', 'entered-in-error'].includes(code(a['verificationStatus']));
  const allergyOrder = (list: Json[]) => [...list].sort((a, b) => Number(b['criticality'] === 'high') - Number(a['criticality'] === 'high'));
  add('allergies', 'Allergies', ['AllergyIntolerance'], [
    { label: '', items: allergyOrder(allergies.filter((a) => !inactive(a))).map(allergyItem) },
    { label: 'Inactive or refuted', items: allergies.filter(inactive).map(allergyItem) },
  ]);

  // Medications: orders (MedicationRequest — what Synthea and Epic send) and statements, active first.
  const meds = newestFirst([...of('MedicationRequest'), ...of('MedicationStatement')]);
  const activeMed = (m: Json) => ACTIVE_MED.has(String(m['status'] ?? 'active'));
  add('medications', 'Medications', ['MedicationRequest', 'MedicationStatement'], [
    { label: 'Active', items: meds.filter(activeMed).map((m) => medicationItem(m, ref)) },
    { label: 'Past', items: meds.filter((m) => !activeMed(m)).map((m) => medicationItem(m, ref)) },
  ]);

  const problems = of('Condition');
  const activeProblem = (c: Json) => ACTIVE_PROBLEM.has(code(c['clinicalStatus']) || 'active');
  add('problems', 'Problems', ['Condition'], [
    { label: 'Active', items: problems.filter(activeProblem).map(problemItem) },
    { label: 'Resolved', items: problems.filter((c) => !activeProblem(c)).map(problemItem) },
  ]);

  add('encounters', 'Encounters', ['Encounter'], [{
    label: '',
    items: of('Encounter').map((e) => {
      const reason = arr(e['reasonCode']).map(conceptText).filter(Boolean)[0];
      return plain(e, arr(e['type']).map(conceptText).filter(Boolean)[0] || conceptText(e['class']) || str(obj(e['class'])?.['code']) || 'Encounter', [reason ? `for ${reason}` : '']);
    }),
  }]);
  add('immunizations', 'Immunizations', ['Immunization'], [{
    label: '',
    items: of('Immunization').map((i) => ({ ...plain(i, conceptText(i['vaccineCode']) || 'Immunization'), marks: i['status'] && i['status'] !== 'completed' ? [String(i['status'])] : [] })),
  }]);
  add('reports', 'Diagnostic reports', ['DiagnosticReport'], [{ label: '', items: of('DiagnosticReport').map((r) => reportItem(r, ref)) }]);
  add('procedures', 'Procedures', ['Procedure'], [{ label: '', items: of('Procedure').map((p) => plain(p, conceptText(p['code']) || 'Procedure')) }]);
  add('imaging', 'Imaging', ['ImagingStudy'], []); // rendered by the panel's imaging view (series, viewer link)
  add('documents', 'Documents', ['DocumentReference'], [{
    label: '',
    items: of('DocumentReference').map((d) => plain(d, conceptText(d['type']) || str(d['description']) || 'Document', [conceptText(arr(d['category'])[0])])),
  }]);
  return sections;
}

// ---- trends --------------------------------------------------------------------------

export type TrendRange = '24h' | '7d' | 'all';
export const TREND_RANGES: { value: TrendRange; label: string }[] = [{ value: '24h', label: '24 h' }, { value: '7d', label: '7 d' }, { value: 'all', label: 'All' }];
const RANGE_MS: Record<TrendRange, number> = { '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000, all: Infinity };

/** The numeric readings a trend chart shows for a range, ending at the newest reading (not at "now": a record may be old). */
export function trendRows(rows: ObservationRow[], range: TrendRange): ObservationRow[] {
  const timed = rows.filter((r): r is ObservationRow & { when: FhirWhen } => r.numeric !== undefined && r.when !== null && (range === 'all' || r.when.precision === 'time'));
  const newest = Math.max(-Infinity, ...timed.map((r) => r.when.ms));
  return timed.filter((r) => r.when.ms >= newest - RANGE_MS[range]);
}

/** Charts open on a week: a day hides a rise over days (88→124 over 6 days looked flat on a 24-hour chart). */
export const DEFAULT_TREND_RANGE: TrendRange = '7d';
