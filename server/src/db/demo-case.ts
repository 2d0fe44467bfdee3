/** A fictional patient for the demo room (no real person): cardiology case conference. */
export function demoCaseBundle(): unknown {
  const patient = 'urn:uuid:demo-patient';
  const subject = { reference: patient };
  const at = (daysAgo: number, hour = 9) => new Date(Date.now() - daysAgo * 86_400_000 + hour * 3_600_000).toISOString();
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
          identifier: [{ system: 'urn:oid:2.16.840.1.113883.19.5', value: 'DEMO-000042' }],
          name: [{ family: 'Demo', given: ['Alex'], text: 'Alex Demo' }],
          gender: 'female',
          birthDate: '1958-04-02',
        },
      },
      hr(88, 2, 8), hr(96, 1, 8), hr(112, 0, 7), hr(104, 0, 8),
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
          subject,
          started: at(3),
          modality: [{ system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'CT' }],
          numberOfSeries: 2,
          numberOfInstances: 240,
        },
      },
    ],
  };
}
