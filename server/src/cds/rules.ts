import type { FhirResource } from '../../../shared/src/fhir.ts';
import type { CdsIndicator } from '../../../shared/src/cds.ts';

/**
 * Consilium's built-in decision-support RULES — fixed, published checks over
 * the data a participant may see, not clinical advice. Each fires only on
 * coded or named data it can read, says why (the values and their times) and
 * cites the resources it used; where it cannot tell, it stays silent.
 *
 * 1. allergy-medication: an active (not refuted) allergy and an active
 *    medication sharing an ingredient or a drug class (e.g. a penicillin
 *    allergy and amoxicillin). Critical when the allergy's criticality is high.
 * 2. hyperkalaemia-raas: the latest potassium above its reference range (or
 *    above 5.0 mmol/L when none is given) while an ACE inhibitor, ARB or
 *    potassium-sparing diuretic is active. Critical at 6.5 mmol/L or more.
 * 3. inr-warfarin: the latest INR above 3.0 (the upper end of the usual
 *    warfarin target 2.0–3.0) while warfarin is active. Critical at 5.0 or more.
 * 4. critical-value: an Observation (or a component) interpreted HH or LL, or
 *    outside a reference range whose type is "critical".
 * Pure: the same input gives the same cards.
 */
export interface RuleInput {
  observations: FhirResource[];
  medications: FhirResource[]; // MedicationStatement and MedicationRequest
  allergies: FhirResource[];
}

export interface RuleCard {
  /** Which rule, and what it is about (stable across calls: the card's uuid derives from it). */
  key: string;
  rule: 'allergy-medication' | 'hyperkalaemia-raas' | 'inr-warfarin' | 'critical-value';
  summary: string;
  detail: string;
  indicator: CdsIndicator;
  /** The resources the card says something about (type and id, as given). */
  cites: { resourceType: string; id: string }[];
  suggestions: string[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

// ---- what a medication or allergy names ------------------------------------------

interface DrugClass {
  label: string;
  names: RegExp;
  rxnorm: readonly string[];
}

/** Drug classes by ingredient name (any coding display or text) or RxNorm ingredient code. */
const CLASSES = {
  penicillin: {
    label: 'penicillin',
    names: /\b(penicillins?|benzylpenicillin|phenoxymethylpenicillin|amoxicillin|(p-)?hydroxyampicillin|ampicillin|piperacillin|flucloxacillin|cloxacillin|dicloxacillin|nafcillin|oxacillin|ticarcillin|temocillin|(piv)?mecillinam|co-amoxiclav|augmentin)\b/i,
    rxnorm: ['7980', '7984', '723', '733', '8339', '7773', '10591'],
  },
  aceInhibitor: { label: 'ACE inhibitor', names: /\b(benazepril|captopril|cilazapril|enalapril(at)?|fosinopril|imidapril|lisinopril|moexipril|perindopril|quinapril|ramipril|trandolapril|zofenopril)\b/i, rxnorm: ['18867', '1998', '3827', '50166', '29046', '30131', '54552', '35208', '35296', '38454'] },
  arb: { label: 'angiotensin receptor blocker', names: /\b(azilsartan|candesartan|eprosartan|irbesartan|losartan|olmesartan|telmisartan|valsartan)\b/i, rxnorm: ['1091643', '214354', '83515', '83818', '52175', '321064', '73494', '69749'] },
  potassiumSparing: { label: 'potassium-sparing diuretic', names: /\b(spironolactone|eplerenone|amiloride|triamterene|finerenone)\b/i, rxnorm: ['9997', '298869', '644', '10763', '2562811'] },
  warfarin: { label: 'warfarin', names: /\bwarfarin\b/i, rxnorm: ['11289', '114194'] },
} as const satisfies Record<string, DrugClass>;

/** Every coding and text of a concept (and of a contained Medication's code and ingredients). */
function conceptTexts(concept: unknown): { texts: string[]; rxnorm: string[] } {
  const texts: string[] = [];
  const rxnorm: string[] = [];
  if (!isObj(concept)) return { texts, rxnorm };
  if (typeof concept['text'] === 'string') texts.push(concept['text']);
  for (const c of arr(concept['coding'])) {
    if (!isObj(c)) continue;
    if (typeof c['display'] === 'string') texts.push(c['display']);
    if (typeof c['code'] === 'string' && typeof c['system'] === 'string' && /rxnorm/i.test(c['system'])) rxnorm.push(c['code']);
  }
  return { texts, rxnorm };
}

function medicationConcepts(r: FhirResource): unknown[] {
  const out: unknown[] = [r['medicationCodeableConcept']];
  const ref = isObj(r['medicationReference']) ? r['medicationReference']['reference'] : undefined;
  if (typeof ref === 'string' && ref.startsWith('#')) {
    const contained = arr(r['contained']).find((c) => isObj(c) && c['resourceType'] === 'Medication' && `#${String(c['id'])}` === ref);
    if (isObj(contained)) {
      out.push(contained['code']);
      for (const ing of arr(contained['ingredient'])) if (isObj(ing)) out.push(ing['itemCodeableConcept']);
    }
  }
  if (isObj(r['medicationReference']) && typeof r['medicationReference']['display'] === 'string') out.push({ text: r['medicationReference']['display'] });
  return out;
}

interface Named {
  texts: string[];
  rxnorm: string[];
}

const named = (concepts: unknown[]): Named => {
  const all = concepts.map(conceptTexts);
  return { texts: all.flatMap((c) => c.texts), rxnorm: all.flatMap((c) => c.rxnorm) };
};

const inClass = (n: Named, c: DrugClass) => n.rxnorm.some((code) => c.rxnorm.includes(code)) || n.texts.some((t) => c.names.test(t));

const nameOf = (n: Named, fallback: string) => n.texts[0] ?? fallback;

// ---- status, values, times ---------------------------------------------------------

const code = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v;
  const c = isObj(v) ? arr(v['coding']).find(isObj) : undefined;
  return typeof c?.['code'] === 'string' ? c['code'] : undefined;
};

const ACTIVE_STATEMENT = new Set(['active', 'intended', 'on-hold']);
const ACTIVE_REQUEST = new Set(['active', 'on-hold', 'draft']);

function activeMedication(r: FhirResource): boolean {
  const s = code(r['status']) ?? '';
  return r.resourceType === 'MedicationRequest' ? ACTIVE_REQUEST.has(s) : ACTIVE_STATEMENT.has(s);
}

function activeAllergy(r: FhirResource): boolean {
  const clinical = code(r['clinicalStatus']);
  const verification = code(r['verificationStatus']);
  return clinical !== 'inactive' && clinical !== 'resolved' && verification !== 'refuted' && verification !== 'entered-in-error';
}

const usableObservation = (r: FhirResource) => !['entered-in-error', 'cancelled', 'preliminary'].includes(code(r['status']) ?? '');

/** A date as written (a de-identified copy carries only the year); null when none. */
function when(r: FhirResource): string | null {
  const period = isObj(r['effectivePeriod']) ? r['effectivePeriod']['start'] : undefined;
  const v = r['effectiveDateTime'] ?? r['effectiveInstant'] ?? period ?? r['issued'] ?? r['authoredOn'] ?? r['dateAsserted'] ?? r['recordedDate'] ?? r['onsetDateTime'];
  if (typeof v !== 'string') {
    const ed = r['effectiveDateTime'];
    return typeof ed === 'number' ? String(ed) : null;
  }
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(v);
  if (!m) return v;
  // Shown in UTC: the room's participants may sit in different time zones.
  const d = new Date(v);
  return Number.isFinite(d.getTime()) ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : `${m[1]} ${m[2]}`;
}

const timeOf = (r: FhirResource): number => {
  const w = r['effectiveDateTime'] ?? r['effectiveInstant'] ?? r['issued'];
  const t = typeof w === 'string' ? Date.parse(w.length === 4 ? `${w}-01-01` : w) : NaN;
  return Number.isFinite(t) ? t : -Infinity;
};

interface Quantity {
  value: number;
  unit: string;
}
const quantity = (v: unknown): Quantity | null =>
  isObj(v) && typeof v['value'] === 'number' ? { value: v['value'], unit: typeof v['unit'] === 'string' ? v['unit'] : typeof v['code'] === 'string' ? v['code'] : '' } : null;

const fmt = (q: Quantity) => `${q.value}${q.unit && !q.unit.startsWith('{') ? ` ${q.unit}` : ''}`;

function range(obs: Json, type?: (t: string | undefined) => boolean): { low: number | null; high: number | null } | null {
  for (const rr of arr(obs['referenceRange'])) {
    if (!isObj(rr)) continue;
    const t = code(rr['type']) ?? (isObj(rr['type']) && typeof rr['type']['text'] === 'string' ? rr['type']['text'].toLowerCase() : undefined);
    if (type && !type(t)) continue;
    if (!type && t && /critical/i.test(t)) continue;
    const low = quantity(rr['low'])?.value ?? null;
    const high = quantity(rr['high'])?.value ?? null;
    if (low !== null || high !== null) return { low, high };
  }
  return null;
}

const codings = (r: Json) => arr(isObj(r['code']) ? r['code']['coding'] : undefined).filter(isObj);
const hasLoinc = (r: FhirResource, codes: readonly string[]) => codings(r).some((c) => /loinc/i.test(String(c['system'] ?? '')) && codes.includes(String(c['code'])));
const obsName = (r: Json, fallback: string) => (isObj(r['code']) && typeof r['code']['text'] === 'string' ? r['code']['text'] : undefined) ?? (codings(r).find((c) => typeof c['display'] === 'string')?.['display'] as string | undefined) ?? fallback;

/** The latest usable Observation with one of these LOINC codes and a numeric value. */
function latest(obs: FhirResource[], loinc: readonly string[]): { r: FhirResource; q: Quantity } | null {
  const found = obs
    .filter((r) => usableObservation(r) && hasLoinc(r, loinc))
    .map((r) => ({ r, q: quantity(r['valueQuantity']) }))
    .filter((x): x is { r: FhirResource; q: Quantity } => x.q !== null)
    .sort((a, b) => timeOf(b.r) - timeOf(a.r));
  return found[0] ?? null;
}

const POTASSIUM = ['2823-3', '6298-4', '39789-3', '77142-8'];
const INR = ['6301-6', '34714-6', '38875-1', '46418-0'];
const cite = (r: FhirResource) => ({ resourceType: r.resourceType, id: r.id });
const since = (r: FhirResource) => {
  const w = when(r);
  return w ? ` (recorded ${w})` : '';
};

// ---- the rules ------------------------------------------------------------------------

function allergyMedication(input: RuleInput): RuleCard[] {
  const cards: RuleCard[] = [];
  const meds = input.medications.filter(activeMedication).map((r) => ({ r, n: named(medicationConcepts(r)) }));
  for (const allergy of input.allergies.filter(activeAllergy)) {
    const a = named([allergy['code'], ...arr(allergy['reaction']).map((x) => (isObj(x) ? x['substance'] : undefined))]);
    if (a.texts.length === 0 && a.rxnorm.length === 0) continue;
    const classes = Object.values(CLASSES).filter((c) => inClass(a, c));
    // The allergen's own name as an ingredient (e.g. "Ibuprofen" in "Ibuprofen 400 MG Oral Tablet").
    const words = a.texts.map((t) => t.toLowerCase().replace(/\(.*?\)|allergy to|allergic to/g, '').trim()).filter((t) => t.length >= 4 && !/\s/.test(t));
    for (const m of meds) {
      const byClass = classes.find((c) => inClass(m.n, c));
      const byName = !byClass && words.some((w) => m.n.texts.some((t) => new RegExp(`\\b${w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`, 'i').test(t)));
      if (!byClass && !byName && !m.n.rxnorm.some((c) => a.rxnorm.includes(c))) continue;
      const allergen = nameOf(a, 'an allergen');
      const drug = nameOf(m.n, 'a medication');
      const high = allergy['criticality'] === 'high';
      const verification = code(allergy['verificationStatus']);
      cards.push({
        key: `allergy-medication:${allergy.id}:${m.r.id}`,
        rule: 'allergy-medication',
        summary: `Allergy to ${allergen} and active ${drug}`.slice(0, 140),
        detail:
          `Recorded allergy: ${allergen}${byClass ? ` (${byClass.label})` : ''}` +
          `${high ? ', criticality high' : ''}${verification ? `, ${verification}` : ''}${since(allergy)}.\n` +
          `Active ${m.r.resourceType === 'MedicationRequest' ? 'order' : 'medication'}: ${drug}${byClass ? ` — a ${byClass.label}` : ''}${since(m.r)}.\n` +
          `Rule: an active allergy and an active medication share an ingredient or drug class.`,
        indicator: high ? 'critical' : 'warning',
        cites: [cite(allergy), cite(m.r)],
        suggestions: [`Review ${drug} against the recorded ${allergen} allergy`],
      });
    }
  }
  return cards;
}

function hyperkalaemia(input: RuleInput): RuleCard[] {
  const k = latest(input.observations, POTASSIUM);
  if (!k) return [];
  const ref = range(k.r);
  const limit = ref?.high ?? 5.0;
  if (!(k.q.value > limit)) return [];
  const raas = [CLASSES.aceInhibitor, CLASSES.arb, CLASSES.potassiumSparing];
  const drugs = input.medications
    .filter(activeMedication)
    .map((r) => ({ r, n: named(medicationConcepts(r)) }))
    .map((m) => ({ ...m, cls: raas.find((c) => inClass(m.n, c)) }))
    .filter((m): m is typeof m & { cls: DrugClass } => m.cls !== undefined);
  if (drugs.length === 0) return [];
  const list = drugs.map((d) => `${nameOf(d.n, 'a medication')} (${d.cls.label})${since(d.r)}`);
  return [
    {
      key: `hyperkalaemia-raas:${k.r.id}`,
      rule: 'hyperkalaemia-raas',
      summary: `Potassium ${fmt(k.q)} above range while on ${drugs.map((d) => nameOf(d.n, d.cls.label)).join(', ')}`.slice(0, 140),
      detail:
        `Latest potassium: ${fmt(k.q)}${when(k.r) ? ` at ${when(k.r)}` : ''}; ${ref?.high != null ? `reference range ${ref.low ?? '–'}–${ref.high}` : 'no reference range given, limit 5.0'}.\n` +
        `Active: ${list.join('; ')}.\n` +
        `Rule: potassium above its reference range with an ACE inhibitor, angiotensin receptor blocker or potassium-sparing diuretic.`,
      indicator: k.q.value >= 6.5 ? 'critical' : 'warning',
      cites: [cite(k.r), ...drugs.map((d) => cite(d.r))],
      suggestions: ['Review the ACE inhibitor / ARB / potassium-sparing diuretic and repeat the potassium'],
    },
  ];
}

function inrOnWarfarin(input: RuleInput): RuleCard[] {
  const inr = latest(input.observations, INR);
  if (!inr || !(inr.q.value > 3.0)) return [];
  const warfarin = input.medications.filter(activeMedication).filter((r) => inClass(named(medicationConcepts(r)), CLASSES.warfarin));
  if (warfarin.length === 0) return [];
  return [
    {
      key: `inr-warfarin:${inr.r.id}`,
      rule: 'inr-warfarin',
      summary: `INR ${inr.q.value} above the warfarin target range`,
      detail:
        `Latest INR: ${inr.q.value}${when(inr.r) ? ` at ${when(inr.r)}` : ''}; usual warfarin target 2.0–3.0.\n` +
        `Active: ${warfarin.map((r) => `${nameOf(named(medicationConcepts(r)), 'warfarin')}${since(r)}`).join('; ')}.\n` +
        `Rule: INR above 3.0 while warfarin is active.`,
      indicator: inr.q.value >= 5 ? 'critical' : 'warning',
      cites: [cite(inr.r), ...warfarin.map(cite)],
      suggestions: ['Review the warfarin dose and bleeding risk'],
    },
  ];
}

const CRITICAL_FLAGS: Record<string, string> = { HH: 'critically high', LL: 'critically low' };

function criticalValues(input: RuleInput): RuleCard[] {
  const cards: RuleCard[] = [];
  for (const r of input.observations.filter(usableObservation)) {
    const parts: Json[] = [r, ...arr(r['component']).filter(isObj)];
    for (const [i, part] of parts.entries()) {
      const q = quantity(part['valueQuantity']);
      const flag = arr(part['interpretation']).map(code).find((c): c is string => c !== undefined && c in CRITICAL_FLAGS);
      const critical = range(part, (t) => t !== undefined && /critical/i.test(t));
      const outside = q && critical && ((critical.low !== null && q.value < critical.low) || (critical.high !== null && q.value > critical.high));
      if (!flag && !outside) continue;
      const name = obsName(part, i === 0 ? 'Observation' : 'Component');
      const why = flag ? `interpreted ${flag} (${CRITICAL_FLAGS[flag]})` : `outside the critical range ${critical!.low ?? '–'}–${critical!.high ?? '–'}`;
      cards.push({
        key: `critical-value:${r.id}:${i}`,
        rule: 'critical-value',
        summary: `Critical value: ${name}${q ? ` ${fmt(q)}` : ''}`.slice(0, 140),
        detail: `${name}${q ? ` ${fmt(q)}` : ''}${when(r) ? ` at ${when(r)}` : ''}, ${why}.\nRule: a result interpreted HH or LL, or outside a critical range.`,
        indicator: 'critical',
        cites: [cite(r)],
        suggestions: ['Confirm the result and act on the critical value'],
      });
    }
  }
  return cards;
}

export function runRules(input: RuleInput): RuleCard[] {
  return [...allergyMedication(input), ...hyperkalaemia(input), ...inrOnWarfarin(input), ...criticalValues(input)];
}
