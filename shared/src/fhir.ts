import { z } from 'zod';
import type { R4ResourceType } from './fhir-r4-types.ts';

export * from './fhir-r4-types.ts';

/**
 * The FHIR R4 types Consilium understands: each has structural checks on the
 * fields we use (anything else passes through untouched: FHIR is open) and a
 * de-identification rule. Every other R4 type is stored as published and shown
 * only to identified viewers whose scopes name it.
 */
export const CASE_RESOURCE_TYPES = [
  'Patient',
  'Observation',
  'Condition',
  'AllergyIntolerance',
  'MedicationStatement',
  'Procedure',
  'ImagingStudy',
  'DocumentReference',
  'Encounter',
  'MedicationRequest',
  'Immunization',
  'DiagnosticReport',
  'Medication',
] as const;
export const CaseResourceType = z.enum(CASE_RESOURCE_TYPES);
export type CaseResourceType = z.infer<typeof CaseResourceType>;

const id = z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'FHIR ids are 1–64 of A-Z a-z 0-9 - .');
const dateTime = z.string().regex(/^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/, 'must be a FHIR date or dateTime');
export const Reference = z.looseObject({ reference: z.string().min(1).max(256).optional(), display: z.string().max(500).optional() });
export const Coding = z.looseObject({ system: z.string().max(256).optional(), code: z.string().max(128).optional(), display: z.string().max(500).optional() });
export const CodeableConcept = z.looseObject({ coding: z.array(Coding).max(20).optional(), text: z.string().max(2000).optional() });
export const Quantity = z.looseObject({ value: z.number().optional(), unit: z.string().max(64).optional(), system: z.string().max(256).optional(), code: z.string().max(64).optional() });
export const Period = z.looseObject({ start: dateTime.optional(), end: dateTime.optional() });

const base = { id: id.optional() };

export const PatientResource = z.looseObject({
  resourceType: z.literal('Patient'),
  ...base,
  gender: z.enum(['male', 'female', 'other', 'unknown']).optional(),
  birthDate: z.string().regex(/^\d{4}(-\d{2}(-\d{2})?)?$/, 'must be a FHIR date').optional(),
  name: z.array(z.looseObject({ family: z.string().optional(), given: z.array(z.string()).optional(), text: z.string().optional() })).optional(),
  identifier: z.array(z.looseObject({ system: z.string().optional(), value: z.string().optional() })).optional(),
});

export const ObservationResource = z.looseObject({
  resourceType: z.literal('Observation'),
  ...base,
  status: z.enum(['registered', 'preliminary', 'final', 'amended', 'corrected', 'cancelled', 'entered-in-error', 'unknown']),
  code: CodeableConcept,
  subject: Reference,
  effectiveDateTime: dateTime.optional(),
  effectivePeriod: Period.optional(),
  valueQuantity: Quantity.optional(),
  valueCodeableConcept: CodeableConcept.optional(),
  valueString: z.string().max(10_000).optional(),
  component: z.array(z.looseObject({ code: CodeableConcept, valueQuantity: Quantity.optional() })).max(50).optional(),
});

export const ConditionResource = z.looseObject({
  resourceType: z.literal('Condition'),
  ...base,
  code: CodeableConcept.optional(),
  subject: Reference,
  onsetDateTime: dateTime.optional(),
  recordedDate: dateTime.optional(),
});

export const AllergyIntoleranceResource = z.looseObject({
  resourceType: z.literal('AllergyIntolerance'),
  ...base,
  code: CodeableConcept.optional(),
  patient: Reference,
  onsetDateTime: dateTime.optional(),
});

/** medication[x]: a code, or a reference (often `#id` of a contained Medication). */
const medication = {
  medicationCodeableConcept: CodeableConcept.optional(),
  medicationReference: Reference.optional(),
};
const hasMedication = (r: { medicationCodeableConcept?: unknown; medicationReference?: unknown }) => r.medicationCodeableConcept !== undefined || r.medicationReference !== undefined;
const MEDICATION_REQUIRED = { message: 'needs medicationCodeableConcept or medicationReference', path: ['medicationCodeableConcept'] };

export const MedicationStatementResource = z
  .looseObject({
    resourceType: z.literal('MedicationStatement'),
    ...base,
    status: z.enum(['active', 'completed', 'entered-in-error', 'intended', 'stopped', 'on-hold', 'unknown', 'not-taken']),
    ...medication,
    subject: Reference,
    effectiveDateTime: dateTime.optional(),
    effectivePeriod: Period.optional(),
  })
  .refine(hasMedication, MEDICATION_REQUIRED);

export const MedicationRequestResource = z
  .looseObject({
    resourceType: z.literal('MedicationRequest'),
    ...base,
    status: z.enum(['active', 'on-hold', 'cancelled', 'completed', 'entered-in-error', 'stopped', 'draft', 'unknown']),
    intent: z.enum(['proposal', 'plan', 'order', 'original-order', 'reflex-order', 'filler-order', 'instance-order', 'option']),
    ...medication,
    subject: Reference,
    authoredOn: dateTime.optional(),
  })
  .refine(hasMedication, MEDICATION_REQUIRED);

export const MedicationResource = z.looseObject({
  resourceType: z.literal('Medication'),
  ...base,
  code: CodeableConcept.optional(),
});

export const EncounterResource = z.looseObject({
  resourceType: z.literal('Encounter'),
  ...base,
  status: z.enum(['planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled', 'entered-in-error', 'unknown']),
  class: Coding,
  subject: Reference,
  period: Period.optional(),
});

export const ImmunizationResource = z.looseObject({
  resourceType: z.literal('Immunization'),
  ...base,
  status: z.enum(['completed', 'entered-in-error', 'not-done']),
  vaccineCode: CodeableConcept,
  patient: Reference,
  occurrenceDateTime: dateTime.optional(),
});

export const DiagnosticReportResource = z.looseObject({
  resourceType: z.literal('DiagnosticReport'),
  ...base,
  status: z.enum(['registered', 'partial', 'preliminary', 'final', 'amended', 'corrected', 'appended', 'cancelled', 'entered-in-error', 'unknown']),
  code: CodeableConcept,
  subject: Reference,
  effectiveDateTime: dateTime.optional(),
  effectivePeriod: Period.optional(),
});

export const ProcedureResource = z.looseObject({
  resourceType: z.literal('Procedure'),
  ...base,
  status: z.enum(['preparation', 'in-progress', 'not-done', 'on-hold', 'stopped', 'completed', 'entered-in-error', 'unknown']),
  code: CodeableConcept.optional(),
  subject: Reference,
  performedDateTime: dateTime.optional(),
  performedPeriod: Period.optional(),
});

export const ImagingStudyResource = z.looseObject({
  resourceType: z.literal('ImagingStudy'),
  ...base,
  status: z.enum(['registered', 'available', 'cancelled', 'entered-in-error', 'unknown']),
  subject: Reference,
  started: dateTime.optional(),
  modality: z.array(Coding).optional(),
});

export const DocumentReferenceResource = z.looseObject({
  resourceType: z.literal('DocumentReference'),
  ...base,
  status: z.enum(['current', 'superseded', 'entered-in-error']),
  subject: Reference,
  date: z.string().optional(),
  content: z.array(z.looseObject({ attachment: z.looseObject({ contentType: z.string().optional(), data: z.string().optional(), url: z.string().optional(), title: z.string().optional() }) })).min(1),
});

export const CaseResource = z.discriminatedUnion('resourceType', [
  PatientResource,
  ObservationResource,
  ConditionResource,
  AllergyIntoleranceResource,
  MedicationStatementResource,
  ProcedureResource,
  ImagingStudyResource,
  DocumentReferenceResource,
  EncounterResource,
  MedicationRequestResource,
  ImmunizationResource,
  DiagnosticReportResource,
  MedicationResource,
]);
export type CaseResource = z.infer<typeof CaseResource>;
/** Any stored R4 resource (server id assigned). */
export type FhirResource = { resourceType: R4ResourceType; id: string } & Record<string, unknown>;

export const isCaseResourceType = (t: unknown): t is CaseResourceType => (CASE_RESOURCE_TYPES as readonly unknown[]).includes(t);

/** Bundle types an import accepts: what hospitals export, and `$everything` results (searchsets). */
export const IMPORT_BUNDLE_TYPES = ['collection', 'batch', 'transaction', 'searchset', 'document'] as const;
/** Entries per import: a Synthea patient with decades of history has a few thousand. */
export const MAX_IMPORT_ENTRIES = 20_000;

export const Bundle = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.enum(IMPORT_BUNDLE_TYPES),
  // Entries are checked one by one by the importer, so one bad entry is reported, not fatal.
  entry: z.array(z.unknown()).min(1).max(MAX_IMPORT_ENTRIES),
});

/**
 * Which field of each understood type points at the patient (checked on
 * import). Medication has none: it is a supporting resource.
 */
export const PATIENT_REFERENCE_FIELD: Partial<Record<CaseResourceType, string>> = {
  Observation: 'subject',
  Condition: 'subject',
  AllergyIntolerance: 'patient',
  MedicationStatement: 'subject',
  Procedure: 'subject',
  ImagingStudy: 'subject',
  DocumentReference: 'subject',
  Encounter: 'subject',
  MedicationRequest: 'subject',
  Immunization: 'patient',
  DiagnosticReport: 'subject',
};

/** A case as a participant receives it: the resources they may see, identified or de-identified. */
export interface CaseView {
  caseId: string;
  deidentified: boolean;
  resources: FhirResource[];
}

export const AGE_BAND_URL = 'urn:consilium:fhir:age-band';
