import { z } from 'zod';

/**
 * The FHIR R4 subset Consilium accepts for a case: structural checks on the
 * fields we use, anything else passes through untouched (FHIR is open).
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
  valueQuantity: Quantity.optional(),
  component: z.array(z.looseObject({ code: CodeableConcept, valueQuantity: Quantity.optional() })).max(20).optional(),
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

export const MedicationStatementResource = z.looseObject({
  resourceType: z.literal('MedicationStatement'),
  ...base,
  status: z.enum(['active', 'completed', 'entered-in-error', 'intended', 'stopped', 'on-hold', 'unknown', 'not-taken']),
  medicationCodeableConcept: CodeableConcept,
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
]);
export type CaseResource = z.infer<typeof CaseResource>;
export type FhirResource = { resourceType: CaseResourceType; id: string } & Record<string, unknown>;

export const Bundle = z.looseObject({
  resourceType: z.literal('Bundle'),
  type: z.enum(['collection', 'transaction']),
  entry: z
    .array(z.looseObject({ fullUrl: z.string().max(256).optional(), resource: z.looseObject({ resourceType: z.string() }) }))
    .min(1)
    .max(5000),
});

/** Which field of each resource points at the patient. */
export const PATIENT_REFERENCE_FIELD: Record<Exclude<CaseResourceType, 'Patient'>, string> = {
  Observation: 'subject',
  Condition: 'subject',
  AllergyIntolerance: 'patient',
  MedicationStatement: 'subject',
  Procedure: 'subject',
  ImagingStudy: 'subject',
  DocumentReference: 'subject',
};

/** A case as a participant receives it: the resources they may see, identified or de-identified. */
export interface CaseView {
  caseId: string;
  deidentified: boolean;
  resources: FhirResource[];
}

export const AGE_BAND_URL = 'urn:consilium:fhir:age-band';
