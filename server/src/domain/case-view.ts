import type { CaseView, FhirResource, R4ResourceType } from '../../../shared/src/fhir.ts';
import { resourceVariant, type DataAccess } from '../auth/policy.ts';
import { deidentifyResource, type DeidentifyKey } from './deidentify.ts';

/**
 * A case prepared for disclosure: each resource once as identified and once
 * as de-identified. Who gets which copy is decided by `resourceVariant` in
 * the policy module; this file only prepares and selects.
 */
export type Variant = 'identified' | 'deidentified';

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
}

/** A case's secrets and reference time, ready for disclosure (the room's case-loader builds the same). */
export function preparedCase(record: { id: string; patientId: string; pseudonymKey: string }, now = new Date()): PreparedCase {
  return { id: record.id, patientId: record.patientId, key: { pseudonymKey: record.pseudonymKey, now } };
}

/**
 * Entry keys travel to clients: the de-identified one names the pseudonym,
 * never the server id. A type without a de-identification rule has only the
 * identified entry.
 */
export function entriesFor(c: PreparedCase, resource: FhirResource): CaseEntry[] {
  const type = resource.resourceType;
  const identified: CaseEntry = { key: identifiedKey(type, resource.id), resourceType: type, resourceId: resource.id, variant: 'identified', resource };
  const deidentified = deidentifyResource(resource, c.patientId, c.key);
  if (!deidentified) return [identified];
  return [identified, { key: `deidentified:${type}/${deidentified.id}`, resourceType: type, resourceId: resource.id, variant: 'deidentified', resource: deidentified }];
}

export const identifiedKey = (type: string, id: string) => `identified:${type}/${id}`;

export function isVisible(entry: Pick<CaseEntry, 'resourceType' | 'variant'>, access: DataAccess): boolean {
  return resourceVariant(access, entry.resourceType) === entry.variant;
}

/** The whole case as one reader may see it (HTTP reads use the same selection as rooms). */
export function caseViewFor(c: PreparedCase, resources: FhirResource[], access: DataAccess): { view: CaseView; disclosed: CaseEntry[] } {
  const disclosed = resources.flatMap((r) => entriesFor(c, r)).filter((e) => isVisible(e, access));
  return { view: { caseId: c.id, deidentified: !access.identified, resources: disclosed.map((e) => e.resource) }, disclosed };
}
