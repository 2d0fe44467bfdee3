import {
  Bundle,
  CaseResource,
  isCaseResourceType,
  isR4ResourceType,
  PATIENT_REFERENCE_FIELD,
  type CaseResourceType,
  type FhirResource,
  type R4ResourceType,
} from '../../../shared/src/fhir.ts';
import { badTextPath, FHIR_ID_RE } from './fhir-text.ts';

/** Something the import did not store: which entry (null = the bundle), where, and why. */
export interface ImportProblem {
  entry: number | null;
  path: string;
  reason: string;
}

export interface ImportOptions {
  /** Refuse the whole bundle if any entry is refused (default: store the rest and report). */
  allOrNothing?: boolean;
  /** Source id (`Type/id` at the source) → server id of resources already stored (refresh, polling): they keep their ids. */
  knownIds?: ReadonlyMap<string, string>;
}

export interface ImportedCase {
  ok: true;
  patient: FhirResource;
  /** Every other stored resource, in bundle order, with fresh server ids. */
  resources: FhirResource[];
  /** Server id → the id the resource had at its source (`Type/id`), for refresh and de-duplication. */
  sourceIds: Map<string, string>;
  stored: Record<string, number>;
  refused: ImportProblem[];
  /** Entries that are not patient data (search outcomes); listed so nothing vanishes silently. */
  skipped: ImportProblem[];
}

export type BundleResult = ImportedCase | { ok: false; problems: ImportProblem[] };

interface Parsed {
  index: number;
  fullUrl: string | undefined;
  resource: FhirResource;
  sourceId: string | null;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Import a FHIR R4 Bundle as hospitals export it (collection, batch,
 * transaction, searchset incl. `$everything` pages, document). Every R4
 * resource of the record is kept; the types Consilium understands are
 * checked structurally and must point at the bundle's Patient. Every resource
 * gets a fresh server id (incoming ids can be MRNs) and every reference that
 * resolves inside the bundle — `urn:uuid:`, `Type/id`, absolute URLs and
 * conditional `Type?identifier=system|value` — is rewritten to `Type/<new id>`.
 * One bad entry is refused and reported; the bundle fails only when it has no
 * single Patient, or with `allOrNothing`.
 */
export function importBundle(body: unknown, newId: () => string, options: ImportOptions = {}): BundleResult {
  const bundle = Bundle.safeParse(body);
  if (!bundle.success) {
    return { ok: false, problems: bundle.error.issues.slice(0, 20).map((i) => ({ entry: i.path[0] === 'entry' && typeof i.path[1] === 'number' ? i.path[1] : null, path: i.path.join('.'), reason: i.message })) };
  }

  const refused: ImportProblem[] = [];
  const skipped: ImportProblem[] = [];
  const parsed: Parsed[] = [];
  const firstWithId = new Map<string, number>();
  bundle.data.entry.forEach((entry, index) => {
    const outcome = checkEntry(entry, index);
    if ('skip' in outcome) skipped.push(outcome.skip);
    else if ('refuse' in outcome) refused.push(outcome.refuse);
    else {
      // The same resource twice (paged searchsets can repeat one): keep the first, report the rest.
      const id = outcome.parsed.sourceId;
      const first = id ? firstWithId.get(id) : undefined;
      if (first !== undefined) refused.push({ entry: index, path: 'resource.id', reason: `the same resource as entry ${first}` });
      else {
        if (id) firstWithId.set(id, index);
        parsed.push(outcome.parsed);
      }
    }
  });

  const patients = parsed.filter((p) => p.resource.resourceType === 'Patient');
  if (patients.length !== 1) {
    const refusedPatient = refused.find((r) => r.path.startsWith('resource') && isPatientEntry(bundle.data.entry[r.entry ?? -1]));
    return {
      ok: false,
      problems: [
        { entry: patients[1]?.index ?? refusedPatient?.entry ?? null, path: 'entry', reason: `a case bundle needs exactly one valid Patient (found ${patients.length})` },
        ...(refusedPatient ? [refusedPatient] : []),
      ],
    };
  }

  // Fresh ids, and every alias each resource may be referenced by.
  const aliases = new Map<string, string>();
  const sourceIds = new Map<string, string>();
  for (const p of parsed) {
    const type = p.resource.resourceType;
    const fresh = (p.sourceId ? options.knownIds?.get(p.sourceId) : undefined) ?? newId();
    const target = `${type}/${fresh}`;
    if (p.fullUrl) aliases.set(p.fullUrl, target);
    if (p.sourceId) {
      aliases.set(p.sourceId, target);
      sourceIds.set(fresh, p.sourceId);
    }
    for (const ident of Array.isArray(p.resource['identifier']) ? p.resource['identifier'] : []) {
      if (isObj(ident) && typeof ident['value'] === 'string') {
        aliases.set(`${type}?identifier=${typeof ident['system'] === 'string' ? `${ident['system']}|` : ''}${ident['value']}`, target);
      }
    }
    p.resource = { ...p.resource, id: fresh };
  }

  const patient = patients[0]!;
  const patientRef = `Patient/${patient.resource.id}`;
  const resources: FhirResource[] = [];
  for (const p of parsed) {
    const resource = rewriteReferences(p.resource, aliases) as FhirResource;
    const field = isCaseResourceType(resource.resourceType) ? PATIENT_REFERENCE_FIELD[resource.resourceType] : undefined;
    if (field) {
      const ref = (resource[field] as { reference?: unknown } | undefined)?.reference;
      if (ref !== patientRef) {
        refused.push({ entry: p.index, path: `resource.${field}.reference`, reason: "must reference the bundle's Patient" });
        continue;
      }
    }
    if (p === patient) patient.resource = resource;
    else resources.push(resource);
  }

  if (options.allOrNothing && refused.length > 0) return { ok: false, problems: refused.slice(0, 100) };
  const stored: Record<string, number> = {};
  for (const r of [patient.resource, ...resources]) stored[r.resourceType] = (stored[r.resourceType] ?? 0) + 1;
  const storedIds = new Set([patient.resource.id, ...resources.map((r) => r.id)]);
  for (const id of [...sourceIds.keys()]) if (!storedIds.has(id)) sourceIds.delete(id);
  return { ok: true, patient: patient.resource, resources, sourceIds, stored, refused, skipped };
}

type EntryOutcome = { parsed: Parsed } | { refuse: ImportProblem } | { skip: ImportProblem };

function checkEntry(entry: unknown, index: number): EntryOutcome {
  const refuse = (path: string, reason: string): EntryOutcome => ({ refuse: { entry: index, path, reason } });
  if (!isObj(entry)) return refuse('', 'an entry must be an object');
  const search = entry['search'];
  if (isObj(search) && search['mode'] === 'outcome') return { skip: { entry: index, path: 'search.mode', reason: 'search outcome, not patient data' } };
  const request = entry['request'];
  if (isObj(request) && request['method'] === 'DELETE') return refuse('request.method', 'DELETE entries carry no resource to import');
  const resource = entry['resource'];
  if (!isObj(resource)) return refuse('resource', 'the entry has no resource');
  const type = resource['resourceType'];
  if (!isR4ResourceType(type)) return refuse('resource.resourceType', `not a FHIR R4 resource type: ${JSON.stringify(String(type).slice(0, 40))}`);
  if (type === 'OperationOutcome') return { skip: { entry: index, path: 'resource.resourceType', reason: 'OperationOutcome is a message from the server, not patient data' } };
  if (type === 'Bundle') return refuse('resource.resourceType', 'nested Bundles are not imported; send their entries');
  const bad = badTextPath(entry);
  if (bad) return refuse(bad.path, bad.reason);
  const fullUrl = typeof entry['fullUrl'] === 'string' ? entry['fullUrl'] : undefined;
  if (resource['id'] !== undefined && (typeof resource['id'] !== 'string' || !FHIR_ID_RE.test(resource['id']))) return refuse('resource.id', 'FHIR ids are 1–64 of A-Z a-z 0-9 - .');
  if (isCaseResourceType(type)) {
    const checked = CaseResource.safeParse(resource);
    if (!checked.success) {
      const issue = checked.error.issues[0]!;
      return refuse(['resource', ...issue.path].join('.'), issue.message);
    }
  }
  const sourceId = typeof resource['id'] === 'string' ? `${type}/${resource['id']}` : null;
  return { parsed: { index, fullUrl, resource: resource as FhirResource, sourceId } };
}

function isPatientEntry(entry: unknown): boolean {
  return isObj(entry) && isObj(entry['resource']) && entry['resource']['resourceType'] === 'Patient';
}

/** Absolute `…/Type/id` (a server's fullUrl or reference) → `Type/id`. */
function relativeOf(ref: string): string | null {
  const m = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/.exec(ref);
  return m && isR4ResourceType(m[1]) ? `${m[1]}/${m[2]}` : null;
}

/** Copy of `value` with every resolvable `reference` rewritten; contained (`#id`) and external references stay. */
function rewriteReferences(value: unknown, aliases: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteReferences(v, aliases));
  if (!isObj(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'reference' && typeof v === 'string' && !v.startsWith('#')) {
      const relative = relativeOf(v);
      out[k] = aliases.get(v) ?? (relative ? aliases.get(relative) : undefined) ?? v;
    } else out[k] = rewriteReferences(v, aliases);
  }
  return out;
}

/** Validate one live resource (e.g. an Observation from a monitor) for an existing case. */
export function importResource(
  body: unknown,
  expectedType: Exclude<CaseResourceType, 'Patient' | 'Medication'>,
  patientId: string,
  newId: () => string,
): { ok: true; resource: FhirResource } | { ok: false; problems: ImportProblem[] } {
  const bad = badTextPath(body);
  if (bad) return { ok: false, problems: [{ entry: null, ...bad }] };
  const parsed = CaseResource.safeParse(body);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.slice(0, 10).map((i) => ({ entry: null, path: i.path.join('.'), reason: i.message })) };
  const resource = parsed.data as FhirResource;
  if (resource.resourceType !== expectedType) return { ok: false, problems: [{ entry: null, path: 'resourceType', reason: `must be ${expectedType}` }] };
  const field = PATIENT_REFERENCE_FIELD[expectedType]!;
  const ref = (resource[field] as { reference?: string } | undefined)?.reference;
  if (ref !== `Patient/${patientId}`) return { ok: false, problems: [{ entry: null, path: `${field}.reference`, reason: `must be Patient/${patientId}` }] };
  return { ok: true, resource: { ...resource, id: newId() } };
}

export type { R4ResourceType };
