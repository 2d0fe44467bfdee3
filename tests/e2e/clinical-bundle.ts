/**
 * A case shaped like real EHR exports: labs with reference ranges and interpretation codes,
 * a blood-pressure panel with components in UCUM mm[Hg], an INR in {INR}, (contained Medication
 * references are covered by tests/unit/clinical-format.test.ts until the importer accepts them), a high-criticality allergy, a year-only date and an
 * effectivePeriod. Values are the ones a clinician must not miss (K 5.9, INR 3.8, Hb 8.1).
 */
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const lab = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] };
const vital = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] };
const flag = (code: string) => [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code }] }];

export function clinicalBundle(name: string, mrn: string, now = Date.now()) {
  const patientUrl = 'urn:uuid:0d7c3f6e-2222-4c1b-9c55-bbbbbbbbbbbb';
  const subject = { reference: patientUrl };
  const at = (hoursAgo: number) => new Date(now - hoursAgo * 3_600_000).toISOString();
  const obs = (code: string, display: string, value: number, unit: string, ucum: string, hoursAgo: number, extra: Record<string, unknown> = {}) => ({
    resource: { resourceType: 'Observation', status: 'final', category: [lab], code: { coding: [{ system: LOINC, code, display }] }, subject, effectiveDateTime: at(hoursAgo), valueQuantity: { value, unit, system: UCUM, code: ucum }, ...extra },
  });
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: patientUrl, resource: { resourceType: 'Patient', identifier: [{ type: { coding: [{ code: 'MR' }] }, system: 'urn:oid:2.16.840.1.113883.19.5', value: mrn }], name: [{ family: name, given: ['Maria'] }], gender: 'female', birthDate: '1958-07-02' } },
      obs('2823-3', 'Potassium', 5.9, 'mmol/L', 'mmol/L', 2, { referenceRange: [{ low: { value: 3.5, unit: 'mmol/L' }, high: { value: 5.1, unit: 'mmol/L' } }], interpretation: flag('H') }),
      obs('2823-3', 'Potassium', 4.8, 'mmol/L', 'mmol/L', 26, { referenceRange: [{ low: { value: 3.5 }, high: { value: 5.1 } }] }),
      obs('2951-2', 'Sodium', 138, 'mmol/L', 'mmol/L', 2, { referenceRange: [{ low: { value: 135 }, high: { value: 145 } }] }),
      obs('6301-6', 'INR', 3.8, 'INR', '{INR}', 3, { referenceRange: [{ low: { value: 0.8 }, high: { value: 1.2 } }] }),
      obs('718-7', 'Hemoglobin', 8.1, 'g/dL', 'g/dL', 4, { referenceRange: [{ low: { value: 12 }, high: { value: 16 } }], interpretation: flag('L') }),
      obs('2160-0', 'Creatinine', 1.1, 'mg/dL', 'mg/dL', 0, { effectiveDateTime: undefined, effectivePeriod: { start: at(5), end: at(4) } }),
      { resource: { resourceType: 'Observation', status: 'final', category: [lab], code: { coding: [{ system: LOINC, code: '2093-3', display: 'Cholesterol' }] }, subject, effectiveDateTime: '2024', valueQuantity: { value: 5.2, unit: 'mmol/L', system: UCUM, code: 'mmol/L' } } },
      { resource: { resourceType: 'Observation', status: 'final', category: [lab], code: { coding: [{ system: LOINC, code: '882-1', display: 'ABO and Rh group' }] }, subject, effectiveDateTime: at(30), valueCodeableConcept: { coding: [{ display: 'O Rh(D) positive' }] } } },
      ...[[3, 142, 88], [2, 128, 80], [1, 118, 74]].map(([h, sys, dia]) => ({
        resource: { resourceType: 'Observation', status: 'final', category: [vital], code: { coding: [{ system: LOINC, code: '85354-9', display: 'Blood pressure panel' }] }, subject, effectiveDateTime: at(h!),
          component: [
            { code: { coding: [{ system: LOINC, code: '8480-6', display: 'Systolic BP' }] }, valueQuantity: { value: sys, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
            { code: { coding: [{ system: LOINC, code: '8462-4', display: 'Diastolic BP' }] }, valueQuantity: { value: dia, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' } },
          ] },
      })),
      ...[[3, 96], [2, 104], [1, 112]].map(([h, v]) => ({ resource: { resourceType: 'Observation', status: 'final', category: [vital], code: { coding: [{ system: LOINC, code: '8867-4', display: 'Heart rate' }] }, subject, effectiveDateTime: at(h!), valueQuantity: { value: v, unit: 'beats/minute', system: UCUM, code: '/min' } } })),
      { resource: { resourceType: 'AllergyIntolerance', code: { coding: [{ system: 'http://snomed.info/sct', code: '764146007', display: 'Penicillin' }] }, patient: subject, criticality: 'high', reaction: [{ manifestation: [{ coding: [{ display: 'Anaphylaxis' }] }] }] } },
      { resource: { resourceType: 'AllergyIntolerance', code: { coding: [{ display: 'Latex' }] }, patient: subject, criticality: 'low' } },
      { resource: { resourceType: 'MedicationStatement', status: 'active', medicationCodeableConcept: { coding: [{ system: 'http://www.nlm.nih.gov/research/umls/rxnorm', code: '855332', display: 'Warfarin sodium 5 MG Oral Tablet' }] }, subject, effectiveDateTime: '2025-01-10', dosage: [{ text: '5 mg once daily' }] } },
      { resource: { resourceType: 'MedicationStatement', status: 'stopped', medicationCodeableConcept: { coding: [{ display: 'Amiodarone 200 MG' }] }, subject, effectiveDateTime: '2023-02-01' } },
      { resource: { resourceType: 'Condition', clinicalStatus: { coding: [{ code: 'active' }] }, code: { coding: [{ system: 'http://snomed.info/sct', code: '49436004', display: 'Atrial fibrillation' }] }, subject, onsetDateTime: '2019-06-02' } },
      { resource: { resourceType: 'ImagingStudy', status: 'available', identifier: [{ system: 'urn:dicom:uid', value: 'urn:oid:1.2.826.0.1.3680043.8.498.777' }], subject, started: at(20), modality: [{ code: 'CT' }], numberOfSeries: 1, numberOfInstances: 120, series: [{ uid: '1.2.826.0.1.3680043.8.498.778', number: 1, modality: { code: 'CT' }, numberOfInstances: 120, bodySite: { coding: [{ display: 'Chest' }] } }] } },
    ],
  };
}
