/**
 * A fictional patient for the demo room (no real person): cardiology case conference. The patient is the
 * fictional "Doe^Peter" (ID 98890234) of pydicom's published CT series, so that series (a gated cardiac
 * CT, seed.ts) is his; the rest of the record is made up.
 */
export const DEMO_STUDY_UID = '1.3.6.1.4.1.5962.1.1.0.0.0.1194734704.16302.0.1';
export function demoCaseBundle(): unknown {
  const patient = 'urn:uuid:demo-patient';
  const subject = { reference: patient };
  /** A time in the past, relative to when the demo is seeded (readings never lie in the future). */
  const at = (daysAgo: number, hoursAgo = 0) => new Date(Date.now() - daysAgo * 86_400_000 - hoursAgo * 3_600_000).toISOString();
  const lab = (loinc: string, display: string, value: number, unit: string, code: string, low: number, high: number, hoursAgo: number) => ({
    resource: {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: loinc, display }] },
      subject,
      effectiveDateTime: at(0, hoursAgo),
      valueQuantity: { value, unit, system: 'http://unitsofmeasure.org', code },
      referenceRange: [{ low: { value: low, unit, system: 'http://unitsofmeasure.org', code }, high: { value: high, unit, system: 'http://unitsofmeasure.org', code } }],
    },
  });
  const bp = (systolic: number, diastolic: number, hoursAgo: number) => ({
    resource: {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '85354-9', display: 'Blood pressure panel' }] },
      subject,
      effectiveDateTime: at(0, hoursAgo),
      component: [
        { code: { coding: [{ system: 'http://loinc.org', code: '8480-6', display: 'Systolic blood pressure' }] }, valueQuantity: { value: systolic, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
        { code: { coding: [{ system: 'http://loinc.org', code: '8462-4', display: 'Diastolic blood pressure' }] }, valueQuantity: { value: diastolic, unit: 'mm[Hg]', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' } },
      ],
    },
  });
  const hr = (value: number, daysAgo: number, hour: number) => ({
    resource: {
      resourceType: 'Observation',
      status: 'final',
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
      subject,
      effectiveDateTime: at(daysAgo, hour),
      valueQuantity: { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    },
  });
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      {
        fullUrl: patient,
        resource: {
          resourceType: 'Patient',
          identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: '98890234' }],
          name: [{ family: 'Doe', given: ['Peter'], text: 'Peter Doe' }],
          gender: 'male',
          birthDate: '1958-04-02',
        },
      },
      hr(88, 2, 8), hr(96, 1, 8), hr(112, 0, 3), hr(104, 0, 1),
      bp(132, 84, 5), bp(148, 92, 1),
      lab('2823-3', 'Potassium [Moles/volume] in Serum or Plasma', 5.9, 'mmol/L', 'mmol/L', 3.5, 5.1, 2),
      lab('6301-6', 'INR in Platelet poor plasma by Coagulation assay', 3.8, '{INR}', '{INR}', 0.8, 1.2, 2),
      lab('718-7', 'Hemoglobin [Mass/volume] in Blood', 8.1, 'g/dL', 'g/dL', 12, 16, 2),
      {
        resource: {
          resourceType: 'Condition',
          clinicalStatus: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }] },
          code: { coding: [{ system: 'http://snomed.info/sct', code: '49436004', display: 'Atrial fibrillation' }] },
          subject,
          onsetDateTime: '2021-09-14',
          note: [{ text: 'Fictional demo note: palpitations after exercise.' }],
        },
      },
      {
        resource: {
          resourceType: 'MedicationStatement',
          status: 'active',
          medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '855332', display: 'Warfarin 5 MG' }] },
          subject,
          effectiveDateTime: '2022-01-10',
        },
      },
      {
        resource: {
          resourceType: 'MedicationStatement',
          status: 'active',
          medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '314076', display: 'Lisinopril 10 MG Oral Tablet' }] },
          subject,
          effectiveDateTime: '2023-03-02',
        },
      },
      {
        resource: {
          resourceType: 'AllergyIntolerance',
          code: { coding: [{ system: 'http://snomed.info/sct', code: '387207008', display: 'Ibuprofen' }] },
          patient: subject,
          criticality: 'high',
        },
      },
      {
        resource: {
          resourceType: 'ImagingStudy',
          status: 'available',
          identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${DEMO_STUDY_UID}` }],
          subject,
          started: '2001-01-01',
          description: 'Cardiac CT, calcium score (gated)',
          modality: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }],
          numberOfSeries: 1,
          numberOfInstances: 5,
        },
      },
    ],
  };
}
