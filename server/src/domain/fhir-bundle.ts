import { Bundle, CaseResource, CaseResourceType, PATIENT_REFERENCE_FIELD, type FhirResource } from '../../../shared/src/fhir.ts';

export interface BundleProblem {
  /** Index of the offending entry, or null for the bundle itself. */
  entry: number | null;
  path: string;
  message: string;
}

export type BundleResult = { ok: true; patient: FhirResource; resources: FhirResource[] } | { ok: false; problems: BundleProblem[] };

/**
 * Validate a FHIR R4 Bundle for a case and normalize it: every resource gets a
 * fresh server id (incoming ids can be MRN-like), and every patient reference
 * is rewritten to `Patient/<new id>`. Refuses bundles without exactly one
 * Patient or with references to a patient not in the bundle.
 */
export function importBundle(body: unknown, newId: () => string): BundleResult {
  const bundle = Bundle.safeParse(body);
  if (!bundle.success) {
    return { ok: false, problems: bundle.error.issues.slice(0, 20).map((i) => ({ entry: i.path[0] === 'entry' && typeof i.path[1] === 'number' ? i.path[1] : null, path: i.path.join('.'), message: i.message })) };
  }

  const problems: BundleProblem[] = [];
  const parsed: { index: number; fullUrl: string | undefined; resource: FhirResource }[] = [];
  bundle.data.entry.forEach((entry, index) => {
    const type = CaseResourceType.safeParse(entry.resource.resourceType);
    if (!type.success) {
      problems.push({ entry: index, path: 'resource.resourceType', message: `unsupported resource type ${JSON.stringify(entry.resource.resourceType).slice(0, 40)}` });
      return;
    }
    const resource = CaseResource.safeParse(entry.resource);
    if (!resource.success) {
      for (const i of resource.error.issues.slice(0, 5)) problems.push({ entry: index, path: ['resource', ...i.path].join('.'), message: i.message });
      return;
    }
    parsed.push({ index, fullUrl: entry.fullUrl, resource: resource.data as FhirResource });
  });

  const patients = parsed.filter((p) => p.resource.resourceType === 'Patient');
  if (patients.length !== 1) {
    problems.push({ entry: patients[1]?.index ?? null, path: 'entry', message: `a case bundle needs exactly one Patient (found ${patients.length})` });
  }
  if (problems.length > 0) return { ok: false, problems };

  const patientEntry = patients[0]!;
  const patientId = newId();
  const patientAliases = new Set<string>();
  if (patientEntry.fullUrl) patientAliases.add(patientEntry.fullUrl);
  if (typeof patientEntry.resource.id === 'string') patientAliases.add(`Patient/${patientEntry.resource.id}`);

  const resources: FhirResource[] = [];
  for (const { index, resource } of parsed) {
    if (resource.resourceType === 'Patient') continue;
    const field = PATIENT_REFERENCE_FIELD[resource.resourceType];
    const ref = (resource[field] as { reference?: string } | undefined)?.reference;
    if (!ref || !patientAliases.has(ref)) {
      problems.push({ entry: index, path: `resource.${field}.reference`, message: `must reference the bundle's Patient (${[...patientAliases].join(' or ') || 'give it a fullUrl or id'})` });
      continue;
    }
    resources.push({ ...resource, id: newId(), [field]: { reference: `Patient/${patientId}` } });
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, patient: { ...patientEntry.resource, id: patientId }, resources };
}

/** Validate one live resource (e.g. an Observation from a monitor) for an existing case. */
export function importResource(body: unknown, expectedType: CaseResourceType, patientId: string, newId: () => string): { ok: true; resource: FhirResource } | { ok: false; problems: BundleProblem[] } {
  const parsed = CaseResource.safeParse(body);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.slice(0, 10).map((i) => ({ entry: null, path: i.path.join('.'), message: i.message })) };
  const resource = parsed.data as FhirResource;
  if (resource.resourceType !== expectedType || resource.resourceType === 'Patient') {
    return { ok: false, problems: [{ entry: null, path: 'resourceType', message: `must be ${expectedType}` }] };
  }
  const field = PATIENT_REFERENCE_FIELD[resource.resourceType];
  const ref = (resource[field] as { reference?: string } | undefined)?.reference;
  if (ref !== `Patient/${patientId}`) return { ok: false, problems: [{ entry: null, path: `${field}.reference`, message: `must be Patient/${patientId}` }] };
  return { ok: true, resource: { ...resource, id: newId() } };
}
