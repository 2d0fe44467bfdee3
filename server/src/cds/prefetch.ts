import type { FhirResource } from '../../../shared/src/fhir.ts';
import type { CaseEntry } from '../domain/case-view.ts';
import type { PatientIdentity } from '../domain/withhold-identity.ts';

/**
 * Prefetch, filled by Consilium from the case AS THIS PARTICIPANT MAY READ IT
 * (the very copies their view holds: identified, identity-withheld or
 * de-identified, break-glass included) — never a token for the service to
 * read more. A template Consilium cannot answer faithfully (a type outside
 * the participant's access, a search parameter it does not support, another
 * context token) is left out, as the specification allows, so that the
 * service knows it lacks the data rather than seeing an empty result.
 *
 * Supported: `Type/{{context.patientId}}` or `Type/<id>`, and
 * `Type?patient={{context.patientId}}` (or `subject=`) with `code`,
 * `category`, `status`, `clinical-status` (comma-separated, `system|code` or
 * `code`), `_count` and `_sort=-date`.
 */
export interface SeenCase {
  /** The patient's id as this participant's copies name it (pseudonym when de-identified). */
  patientId: string;
  /** The case entries this participant may see now (one copy per resource). */
  entries: readonly CaseEntry[];
  /** May this participant read resources of this type (some copy of it)? */
  readable(type: string): boolean;
  /** The patient's identity to withhold from a service's text for this reader; null when they may read it. */
  identityWithheld: PatientIdentity | null;
}

export interface FilledPrefetch {
  prefetch: Record<string, FhirResource>;
  /** Every entry that went into the prefetch (for the audit row). */
  sent: CaseEntry[];
}

const SUPPORTED = new Set(['patient', 'subject', 'code', 'category', 'status', 'clinical-status', '_count', '_sort']);

export function fillPrefetch(templates: Record<string, string> | undefined, seen: SeenCase, userId: string): FilledPrefetch {
  const prefetch: Record<string, FhirResource> = {};
  const sent = new Map<string, CaseEntry>();
  for (const [key, template] of Object.entries(templates ?? {})) {
    const query = template.replaceAll('{{context.patientId}}', seen.patientId).replaceAll('{{context.userId}}', userId);
    if (/\{\{/.test(query)) continue; // a token we do not fill (encounter, user's Practitioner, …)
    const found = answer(query, seen);
    if (!found) continue;
    prefetch[key] = found.resource;
    for (const e of found.entries) sent.set(e.key, e);
  }
  return { prefetch, sent: [...sent.values()] };
}

function answer(query: string, seen: SeenCase): { resource: FhirResource; entries: CaseEntry[] } | null {
  const read = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9.-]{1,64})$/.exec(query);
  if (read) {
    const e = seen.entries.find((x) => x.resource.resourceType === read[1] && x.resource.id === read[2]);
    return e ? { resource: e.resource, entries: [e] } : null;
  }
  const search = /^([A-Z][A-Za-z]+)\?(.*)$/.exec(query);
  if (!search) return null;
  const type = search[1]!;
  const params = new URLSearchParams(search[2]);
  for (const name of params.keys()) if (!SUPPORTED.has(name.split(':')[0]!)) return null;
  const patient = params.get('patient') ?? params.get('subject');
  if (!patient || patient.replace(/^Patient\//, '') !== seen.patientId) return null; // only this case's patient
  const ofType = seen.entries.filter((e) => e.resource.resourceType === type);
  // A type outside the participant's access is not answered "none": the key is left out.
  if (!seen.readable(type)) return null;
  let list = ofType.filter((e) => matches(e.resource, params));
  if (params.get('_sort') === '-date') list = [...list].sort((a, b) => dateOf(b.resource) - dateOf(a.resource));
  const count = Number(params.get('_count'));
  if (Number.isInteger(count) && count > 0) list = list.slice(0, count);
  return {
    resource: { resourceType: 'Bundle', id: 'prefetch', type: 'searchset', total: list.length, entry: list.map((e) => ({ resource: e.resource })) } as unknown as FhirResource,
    entries: list,
  };
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function tokens(v: unknown): { system: string; code: string }[] {
  const concepts = Array.isArray(v) ? v : [v];
  const out: { system: string; code: string }[] = [];
  for (const c of concepts) {
    if (typeof c === 'string') out.push({ system: '', code: c });
    else if (isObj(c) && Array.isArray(c['coding'])) for (const x of c['coding']) if (isObj(x) && typeof x['code'] === 'string') out.push({ system: String(x['system'] ?? ''), code: x['code'] });
  }
  return out;
}

const FIELDS: Record<string, string> = { code: 'code', category: 'category', status: 'status', 'clinical-status': 'clinicalStatus' };

function matches(r: FhirResource, params: URLSearchParams): boolean {
  for (const [name, field] of Object.entries(FIELDS)) {
    const wanted = params.get(name);
    if (wanted === null) continue;
    const have = tokens(name === 'code' ? (r['code'] ?? r['medicationCodeableConcept']) : r[field]);
    const ok = wanted.split(',').some((w) => {
      const [system, code] = w.includes('|') ? w.split('|', 2) : [null, w];
      return have.some((h) => h.code === code && (system === null || system === '' || h.system === system));
    });
    if (!ok) return false;
  }
  return true;
}

function dateOf(r: FhirResource): number {
  const v = r['effectiveDateTime'] ?? r['issued'] ?? r['authoredOn'] ?? r['recordedDate'] ?? r['onsetDateTime'];
  const t = typeof v === 'string' ? Date.parse(v.length === 4 ? `${v}-01-01` : v) : NaN;
  return Number.isFinite(t) ? t : -Infinity;
}
