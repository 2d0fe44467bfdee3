import type { DicomHeader } from './dicom.ts';

/**
 * Does a DICOM study belong to the case's patient? A wrong-patient image in a
 * case conference is a safety event, so the rule is strict: the study's
 * PatientID must be one of the Patient's identifiers, and where the study
 * carries a name or a birth date they must agree with the Patient's. The
 * answer names what differs (never the values: they are patient data).
 */
export function patientMismatch(study: DicomHeader, patient: Record<string, unknown>): string[] {
  const differs: string[] = [];
  const id = typeof study.patientId === 'string' ? study.patientId.trim() : '';
  const ids = arr(patient['identifier']).map((i) => (isObj(i) && typeof i['value'] === 'string' ? i['value'].trim() : '')).filter(Boolean);
  if (!id) differs.push('patient ID (missing from the study)');
  else if (!ids.includes(id)) differs.push('patient ID');
  const name = typeof study.patientName === 'string' ? study.patientName : '';
  if (name.replace(/[\^=\s]/g, '')) {
    const [family = '', given = ''] = name.split('=')[0]!.split('^').map(fold);
    const names = arr(patient['name']).filter(isObj);
    const ok = names.some((n) => fold(String(n['family'] ?? '')) === family && (!given || arr(n['given']).map((g) => fold(String(g))).includes(given)));
    if (!ok) differs.push('name');
  }
  const dicomBirth = typeof study.patientBirthDate === 'string' ? study.patientBirthDate.trim() : '';
  const fhirBirth = typeof patient['birthDate'] === 'string' ? patient['birthDate'].replaceAll('-', '') : '';
  if (dicomBirth && fhirBirth && dicomBirth !== fhirBirth) differs.push('birth date');
  return differs;
}

const fold = (s: string) => s.normalize('NFKD').replace(/\p{M}/gu, '').trim().toLowerCase();
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
