/**
 * Pure helpers that turn FHIR R4 shapes into what a clinician reads: human units,
 * local times (tolerating year-only de-identified dates), reference ranges and flags.
 * Every reader is defensive: a resource missing a field shows less, never throws.
 */
type Json = Record<string, unknown>;
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** CodeableConcept → text: its text, else the first coding's display, else its code. */
export function conceptText(v: unknown): string {
  const c = obj(v);
  if (!c) return '';
  const coding = arr(c['coding']).map(obj).filter(Boolean) as Json[];
  return str(c['text']) ?? str(coding.find((x) => str(x['display']))?.['display']) ?? str(coding[0]?.['code']) ?? '';
}

export function codes(v: unknown): string[] {
  return (arr(obj(v)?.['coding']).map(obj).filter(Boolean) as Json[]).map((x) => String(x['code'] ?? ''));
}

const UCUM: Record<string, string> = {
  'mm[Hg]': 'mmHg', '/min': '/min', '{beats}/min': 'bpm', 'beats/minute': 'bpm', '{breaths}/min': 'breaths/min', Cel: '°C', '[degF]': '°F',
  '%': '%', 'g/dL': 'g/dL', 'mmol/L': 'mmol/L', 'mg/dL': 'mg/dL', 'umol/L': 'µmol/L', 'ug/L': 'µg/L', 'ng/mL': 'ng/mL', 'pg/mL': 'pg/mL',
  '10*3/uL': '×10³/µL', '10*6/uL': '×10⁶/µL', '10*9/L': '×10⁹/L', '10*12/L': '×10¹²/L', 'U/L': 'U/L', '[IU]/L': 'IU/L', 'mL/min/{1.73_m2}': 'mL/min/1.73 m²',
  kg: 'kg', g: 'g', cm: 'cm', m: 'm', 'kg/m2': 'kg/m²', s: 's', fL: 'fL', pg: 'pg', 'meq/L': 'mEq/L', 'mg/L': 'mg/L',
};

/** UCUM (or free) unit → how it is written on a chart: `mm[Hg]` → mmHg, `{INR}` → nothing, `10*9/L` → ×10⁹/L. */
export function humanUnit(unit: string | undefined): string {
  if (!unit) return '';
  if (UCUM[unit] !== undefined) return UCUM[unit]!;
  if (/^\{[^}]*\}$/.test(unit)) return ''; // annotations only ({INR}, {ratio}, {score}) carry no unit
  return unit.replace(/\{[^}]*\}/g, '').replace(/\[([^\]]+)\]/g, '$1').replace(/^u(?=[a-zA-Z])/, 'µ').replace(/\*/g, '^') || '';
}

/**
 * A Quantity's unit as shown: an annotation-only UCUM code ({INR}) has none; a plain human
 * unit text is kept ("beats/minute" → bpm via the table); otherwise the UCUM code is rewritten.
 */
export function quantityUnit(v: unknown): string {
  const q = obj(v);
  const code = str(q?.['code']);
  const unit = str(q?.['unit']);
  if (code && /^\{[^}]*\}$/.test(code)) return '';
  if (unit && !/[[\]{}*]/.test(unit)) return UCUM[unit] ?? unit;
  return humanUnit(code ?? unit);
}

export function quantityText(v: unknown): string {
  const q = obj(v);
  const value = num(q?.['value']);
  if (value === undefined) return '';
  const comparator = str(q?.['comparator']) ?? '';
  const unit = quantityUnit(q);
  return `${comparator}${value}${unit ? (unit === '%' ? unit : ` ${unit}`) : ''}`;
}

/**
 * A FHIR date, dateTime or instant. De-identified copies carry only the year ("2024"), some
 * sources only year-month; `precision` says how much is known so nothing invents a day or time.
 */
export interface FhirWhen {
  ms: number;
  precision: 'year' | 'month' | 'day' | 'time';
  raw: string;
}

export function parseWhen(v: unknown): FhirWhen | null {
  const raw = str(v);
  if (!raw) return null;
  let m: RegExpExecArray | null;
  if ((m = /^(\d{4})$/.exec(raw))) return { ms: Date.UTC(Number(m[1]), 6, 1), precision: 'year', raw };
  if ((m = /^(\d{4})-(\d{2})$/.exec(raw))) return { ms: Date.UTC(Number(m[1]), Number(m[2]) - 1, 15), precision: 'month', raw };
  if ((m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(raw))) return { ms: new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3])).getTime(), precision: 'day', raw };
  const ms = Date.parse(raw);
  return Number.isNaN(ms) ? null : { ms, precision: 'time', raw };
}

/** Local and short: "today 06:00", "yesterday 23:26", "25 Nov, 06:00" within a week, then "12 Nov" / "25 Nov 2024"; "Nov 2026"; "2024". */
export function formatWhen(w: FhirWhen | null, now = Date.now()): string {
  if (!w) return '';
  if (w.precision === 'year') return w.raw.slice(0, 4);
  if (w.precision === 'month') return new Date(w.ms).toLocaleDateString(undefined, { month: 'short', year: 'numeric', timeZone: 'UTC' });
  const d = new Date(w.ms);
  const thisYear = d.getFullYear() === new Date(now).getFullYear();
  const date = d.toLocaleDateString(undefined, thisYear && w.precision === 'time' ? { day: 'numeric', month: 'short' } : { day: 'numeric', month: 'short', year: 'numeric' });
  if (w.precision === 'day') return date;
  const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const days = Math.round((new Date(now).setHours(0, 0, 0, 0) - new Date(w.ms).setHours(0, 0, 0, 0)) / 86_400_000);
  if (days === 0) return `today ${time}`;
  if (days === 1) return `yesterday ${time}`;
  // Past the last week the day is what matters (an immunization in 2017, an encounter last year), as chart review shows it.
  return days <= 7 ? `${date}, ${time}` : date;
}

/** When a resource happened: effective[x], onset, performed, issued, recorded — period start counts. */
export function whenOf(r: Json): FhirWhen | null {
  for (const k of ['effectiveDateTime', 'effectiveInstant', 'issued', 'onsetDateTime', 'performedDateTime', 'occurrenceDateTime', 'recordedDate', 'started', 'date', 'authoredOn', 'dateAsserted']) {
    const w = parseWhen(r[k]);
    if (w) return w;
  }
  for (const k of ['effectivePeriod', 'performedPeriod', 'onsetPeriod', 'period']) {
    const w = parseWhen(obj(r[k])?.['start']) ?? parseWhen(obj(r[k])?.['end']);
    if (w) return w;
  }
  return null;
}

/** Age in whole years from a birth date (year-only dates give an approximate age). */
export function ageFrom(birthDate: unknown, now = new Date()): number | null {
  const w = parseWhen(birthDate);
  if (!w) return null;
  const b = new Date(w.ms);
  let age = now.getFullYear() - b.getFullYear();
  if (w.precision !== 'year' && (now.getMonth() < b.getMonth() || (now.getMonth() === b.getMonth() && now.getDate() < b.getDate()))) age--;
  return age >= 0 && age < 150 ? age : null;
}

export type Flag = 'H' | 'L' | 'HH' | 'LL' | 'A' | 'N' | '';

export interface ObservationRow {
  /** Shown name: short (HbA1c, WBC), from the code or the code's text. */
  name: string;
  /** The name as the source wrote it (often the full LOINC name). */
  fullName: string;
  code: string;
  value: string;
  numeric: number | undefined;
  unit: string;
  range: string;
  flag: Flag;
  when: FhirWhen | null;
  category: 'vital' | 'lab' | 'other';
  panel: string;
}

const VITAL_CODES = new Set(['8867-4', '59408-5', '2708-6', '8480-6', '8462-4', '85354-9', '9279-1', '8310-5', '29463-7', '8302-2', '39156-5', '55284-4']);

/** Reference range text and computed flag for a numeric value. */
export function rangeAndFlag(value: number | undefined, ranges: unknown, interpretation: unknown): { range: string; flag: Flag } {
  const r = obj(arr(ranges)[0]);
  const low = num(obj(r?.['low'])?.['value']);
  const high = num(obj(r?.['high'])?.['value']);
  const range = str(r?.['text']) ?? (low !== undefined && high !== undefined ? `${low}–${high}` : low !== undefined ? `≥ ${low}` : high !== undefined ? `≤ ${high}` : '');
  const given = codes(arr(interpretation)[0]).find((c) => ['H', 'L', 'HH', 'LL', 'A', 'AA', 'N', 'HU', 'LU'].includes(c));
  if (given) return { range, flag: (given === 'AA' ? 'A' : given === 'HU' ? 'HH' : given === 'LU' ? 'LL' : given) as Flag };
  if (value === undefined) return { range, flag: '' };
  // Computed flags say only high or low: "critical" needs the lab's own interpretation code.
  if (high !== undefined && value > high) return { range, flag: 'H' };
  if (low !== undefined && value < low) return { range, flag: 'L' };
  return { range, flag: low !== undefined || high !== undefined ? 'N' : '' };
}

/** Known lab panels by LOINC code, so results group the way a lab report does. */
const PANELS: Record<string, string> = {
  '2823-3': 'Electrolytes', '2951-2': 'Electrolytes', '2075-0': 'Electrolytes', '1963-8': 'Electrolytes', '6298-4': 'Electrolytes', '2947-0': 'Electrolytes',
  '2160-0': 'Renal', '3094-0': 'Renal', '33914-3': 'Renal', '62238-1': 'Renal', '2345-7': 'Metabolic', '2339-0': 'Metabolic',
  '718-7': 'Blood count', '6690-2': 'Blood count', '777-3': 'Blood count', '789-8': 'Blood count', '4544-3': 'Blood count', '26464-8': 'Blood count', '26515-7': 'Blood count',
  '6301-6': 'Coagulation', '34714-6': 'Coagulation', '5902-2': 'Coagulation', '3173-2': 'Coagulation', '14979-9': 'Coagulation',
  '10839-9': 'Cardiac', '6598-7': 'Cardiac', '89579-7': 'Cardiac', '33762-6': 'Cardiac', '30934-4': 'Cardiac', '49563-0': 'Cardiac',
  '1742-6': 'Liver', '1920-8': 'Liver', '1975-2': 'Liver', '6768-6': 'Liver', '1751-7': 'Liver',
};

/** What a lab slip calls the common LOINC codes (the full LOINC names are long: "Hemoglobin [Mass/volume] in Blood"). */
const SHORT_NAMES: Record<string, string> = {
  '8867-4': 'Heart rate', '59408-5': 'SpO₂', '2708-6': 'SpO₂', '8480-6': 'Systolic BP', '8462-4': 'Diastolic BP', '85354-9': 'Blood pressure', '9279-1': 'Resp. rate',
  '8310-5': 'Temperature', '8331-1': 'Temp (oral)', '8328-7': 'Temp (axillary)', '8332-9': 'Temp (rectal)', '8333-7': 'Temp (tympanic)', '29463-7': 'Weight',
  '59576-9': 'BMI percentile', '9843-4': 'Head circ.', '8289-1': 'Head circ. %ile', '77606-2': 'Weight/length %ile', '8302-2': 'Height', '39156-5': 'BMI', '72514-3': 'Pain score', '4548-4': 'HbA1c', '2339-0': 'Glucose', '2345-7': 'Glucose',
  '6299-2': 'BUN', '3094-0': 'BUN', '38483-4': 'Creatinine', '2160-0': 'Creatinine', '49765-1': 'Calcium', '2947-0': 'Sodium', '2951-2': 'Sodium', '6298-4': 'Potassium',
  '2823-3': 'Potassium', '2069-3': 'Chloride', '2075-0': 'Chloride', '20565-8': 'CO₂', '2028-9': 'CO₂', '33914-3': 'eGFR', '62238-1': 'eGFR', '2093-3': 'Cholesterol',
  '2571-8': 'Triglycerides', '18262-6': 'LDL', '13457-7': 'LDL', '2085-9': 'HDL', '6690-2': 'WBC', '789-8': 'RBC', '718-7': 'Hemoglobin', '4544-3': 'Hematocrit',
  '787-2': 'MCV', '785-6': 'MCH', '786-4': 'MCHC', '21000-5': 'RDW', '777-3': 'Platelets', '32207-3': 'PDW', '32623-1': 'MPV', '6301-6': 'INR', '1742-6': 'ALT',
  '1920-8': 'AST', '1975-2': 'Bilirubin', '6768-6': 'Alk. phosphatase', '1751-7': 'Albumin', '2885-2': 'Protein', '10839-9': 'Troponin I', '6598-7': 'Troponin T',
  '33762-6': 'NT-proBNP', '30934-4': 'BNP', '14979-9': 'aPTT', '5902-2': 'PT',
};

/** A short name: the lab-slip name for a known code, else the source's name without LOINC's bracketed property and method ("… [Mass/volume] in Blood by Automated count"). */
export function shortName(code: string, name: string): string {
  if (SHORT_NAMES[code]) return SHORT_NAMES[code]!;
  const cut = name.replace(/\s*\[[^\]]*\].*$/, '').replace(/\s+by\s+automated count$/i, '').trim();
  return cut || name;
}

/** Decimals a flowsheet shows per vital (LOINC): temperatures, weight, height, head circumference and BMI to a tenth; pressures, rates, SpO₂ and scores whole. */
const VITAL_DECIMALS: Record<string, number> = {
  '8310-5': 1, '8331-1': 1, '8328-7': 1, '8332-9': 1, '8333-7': 1, '29463-7': 1, '3141-9': 1, '8302-2': 1, '8306-3': 1, '9843-4': 1, '39156-5': 1,
  '8480-6': 0, '8462-4': 0, '85354-9': 0, '8867-4': 0, '9279-1': 0, '59408-5': 0, '2708-6': 0, '72514-3': 0,
};
const PERCENTILES = new Set(['59576-9', '8289-1', '77606-2']);

/**
 * A reading as a chart shows it: to the precision a clinician reads it at (37.152 °C → 37.2, 22.01 kg/m² → 22.0,
 * 127.4 mmHg → 127); a percentile whole, to a tenth outside 1–99 (0.4th, 99.6th); anything else to three
 * significant digits without losing whole digits (7.2121 → 7.21, 1234.5 → 1235). The exact value stays in the record.
 */
export function vitalValueText(code: string, value: number): string {
  const decimals = PERCENTILES.has(code) ? (value < 1 || value > 99 ? 1 : 0) : VITAL_DECIMALS[code];
  const text = decimals !== undefined ? value.toFixed(decimals) : Math.abs(value) >= 100 ? value.toFixed(0) : String(Number(value.toPrecision(3)));
  return /^-0(\.0*)?$/.test(text) ? text.slice(1) : text; // no "-0.0"
}

/** One Observation → one row per measured value (a blood-pressure panel gives systolic and diastolic rows). */
export function observationRows(r: Json): ObservationRow[] {
  const cats = arr(r['category']).flatMap((c) => codes(c));
  const ownCodes = codes(r['code']);
  const category: ObservationRow['category'] = cats.includes('vital-signs') || ownCodes.some((c) => VITAL_CODES.has(c)) ? 'vital' : cats.includes('laboratory') || ownCodes.some((c) => PANELS[c]) ? 'lab' : cats.length ? 'other' : 'lab';
  const when = whenOf(r);
  const name = conceptText(r['code']) || 'Observation';
  const one = (src: Json, label: string, code: string): ObservationRow | null => {
    const q = obj(src['valueQuantity']);
    const numeric = num(q?.['value']);
    const value = quantityText(q) || conceptText(src['valueCodeableConcept']) || str(src['valueString']) || (typeof src['valueBoolean'] === 'boolean' ? (src['valueBoolean'] ? 'yes' : 'no') : '') || (num(src['valueInteger']) !== undefined ? String(src['valueInteger']) : '');
    if (!value) return null;
    const { range, flag } = rangeAndFlag(numeric, src['referenceRange'] ?? r['referenceRange'], src['interpretation'] ?? (src === r ? r['interpretation'] : undefined));
    return { name: shortName(code, label), fullName: label, code, value, numeric, unit: quantityUnit(q), range, flag, when, category, panel: PANELS[code] ?? (category === 'vital' ? 'Vital signs' : 'Other results') };
  };
  const rows: ObservationRow[] = [];
  const main = one(r, name, ownCodes[0] ?? '');
  if (main) rows.push(main);
  for (const c of arr(r['component'])) {
    const comp = obj(c);
    if (!comp) continue;
    const row = one(comp, conceptText(comp['code']) || name, codes(comp['code'])[0] ?? '');
    if (row) rows.push(row);
  }
  if (rows.length === 0 && str(r['dataAbsentReason'] ? conceptText(r['dataAbsentReason']) : undefined)) {
    rows.push({ name: shortName(ownCodes[0] ?? '', name), fullName: name, code: ownCodes[0] ?? '', value: `(${conceptText(r['dataAbsentReason'])})`, numeric: undefined, unit: '', range: '', flag: '', when, category, panel: PANELS[ownCodes[0] ?? ''] ?? 'Other results' });
  }
  return rows;
}

/** The medication's name: the concept, or the contained/ referenced Medication's code. */
export function medicationName(r: Json): string {
  const direct = conceptText(r['medicationCodeableConcept']);
  if (direct) return direct;
  const ref = str(obj(r['medicationReference'])?.['reference']);
  const display = str(obj(r['medicationReference'])?.['display']);
  if (ref?.startsWith('#')) {
    const med = (arr(r['contained']).map(obj).filter(Boolean) as Json[]).find((c) => c['resourceType'] === 'Medication' && `#${String(c['id'])}` === ref);
    if (med) return conceptText(med['code']) || display || 'Medication';
  }
  return display ?? 'Medication';
}

export function dosageText(r: Json): string {
  const d = obj(arr(r['dosage'])[0]);
  return str(d?.['text']) ?? '';
}

export const FLAG_TEXT: Record<Flag, string> = { H: 'High', L: 'Low', HH: 'Critically high', LL: 'Critically low', A: 'Abnormal', N: '', '': '' };
