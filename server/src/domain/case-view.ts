import type { CaseView, FhirResource, R4ResourceType } from '../../../shared/src/fhir.ts';
import { deidentifyResource, type DeidentifyKey } from './deidentify.ts';
import { IDENTITY_TYPES, patientIdentity, withholdIdentity, type PatientIdentity } from './withhold-identity.ts';

/**
 * A case prepared for disclosure: each resource as identified, as
 * identity-withheld (identified data without the patient's identity, for those
 * who may not read the Patient) and as de-identified. Who gets which copy is
 * decided by `resourceVariant` in the policy module (auth/policy.ts), which
 * callers pass in; this file only prepares and selects.
 */
/** The copies of a resource: as stored; without the patient's identity; de-identified (Safe Harbor). */
export type Variant = 'identified' | 'identity-withheld' | 'deidentified';

export interface CaseEntry {
  key: string;
  resourceType: R4ResourceType;
  /** Server id of the underlying resource (for audit; never the pseudonym). */
  resourceId: string;
  variant: Variant;
  resource: FhirResource;
}

export interface PreparedCase {
  id: string;
  patientId: string;
  key: DeidentifyKey;
  /** What identifies the patient, from their Patient resource (withheld from those without Patient scope). */
  identity: PatientIdentity;
}

/**
 * A case's secrets, reference time and patient identity, ready for disclosure.
 * `resources` must include the case's Patient (the whole record, or at least
 * the Patient): the identity to withhold is read from it.
 */
export function preparedCase(record: { id: string; patientId: string; pseudonymKey: string; resources: readonly FhirResource[] }, now = new Date()): PreparedCase {
  const patient = record.resources.find((r) => r.resourceType === 'Patient' && r.id === record.patientId);
  return { id: record.id, patientId: record.patientId, key: { pseudonymKey: record.pseudonymKey, now }, identity: patientIdentity(patient) };
}

/**
 * Entry keys travel to clients: the de-identified one names the pseudonym,
 * never the server id. A type without a de-identification rule has no
 * de-identified entry; the Patient (and the other identity types) have no
 * identity-withheld entry — their identity is all they are.
 */
export function entriesFor(c: PreparedCase, resource: FhirResource): CaseEntry[] {
  return VARIANTS.map((v) => entryFor(c, resource, v)).filter((e): e is CaseEntry => e !== null);
}

const VARIANTS: readonly Variant[] = ['identified', 'identity-withheld', 'deidentified'];

/** One copy of a resource, or null when that variant of its type does not exist. */
export function entryFor(c: PreparedCase, resource: FhirResource, variant: Variant): CaseEntry | null {
  const type = resource.resourceType;
  const base = { resourceType: type, resourceId: resource.id, variant };
  switch (variant) {
    case 'identified':
      return { ...base, key: identifiedKey(type, resource.id), resource };
    case 'identity-withheld':
      return IDENTITY_TYPES.has(type) ? null : { ...base, key: `identity-withheld:${type}/${resource.id}`, resource: withholdIdentity(resource, c.identity) };
    case 'deidentified': {
      const copy = deidentifyResource(resource, c.patientId, c.key);
      return copy ? { ...base, key: `deidentified:${type}/${copy.id}`, resource: copy } : null;
    }
  }
}

export const identifiedKey = (type: string, id: string) => `identified:${type}/${id}`;

/**
 * The whole case as one reader may see it (HTTP reads use the same selection as rooms); only the copies this
 * reader gets are made. `variantFor` is the policy's choice for this reader (resourceVariant).
 */
export function caseViewFor(c: PreparedCase, resources: FhirResource[], reader: { identified: boolean; variantFor: (type: R4ResourceType) => Variant | null }): { view: CaseView; disclosed: CaseEntry[] } {
  const disclosed = resources.flatMap((r) => {
    const variant = reader.variantFor(r.resourceType);
    const entry = variant ? entryFor(c, r, variant) : null;
    return entry ? [entry] : [];
  });
  return { view: { caseId: c.id, deidentified: !reader.identified, resources: disclosed.map((e) => e.resource) }, disclosed };
}

/** Which copy was disclosed, for audit rows: identified, identity-withheld or deidentified (one per access; space-separated if ever mixed). */
export const variantOf = (list: readonly Pick<CaseEntry, 'variant'>[]) => [...new Set(list.map((e) => e.variant))].sort().join(' ');
