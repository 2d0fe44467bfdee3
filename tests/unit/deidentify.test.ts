import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ageBand, deidentifyResource, pseudonym, shiftDate, type DeidentifyKey } from '../../server/src/domain/deidentify.ts';
import { importBundle } from '../../server/src/domain/fhir-bundle.ts';
import { AGE_BAND_URL, type FhirResource } from '../../shared/src/index.ts';
import { caseBundle, IDENTIFIERS } from '../fixtures/case-bundle.ts';

const canaries = { name: 'Deidname', mrn: 'DEID-MRN-77', note: 'Deidnote' };
const key: DeidentifyKey = { pseudonymKey: 'k1', dateShiftDays: -73, now: new Date('2026-11-25T00:00:00Z') };

function imported() {
  const r = importBundle(caseBundle(canaries), randomUUID);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r;
}

describe('Safe Harbor de-identification over a realistic bundle', () => {
  const { patient, resources } = imported();
  const all: FhirResource[] = [patient, ...resources];
  const out = all.map((r) => deidentifyResource(r, patient.id, key));
  const text = JSON.stringify(out);

  it('keeps no names, identifiers, contact data, exact dates, notes, narrative, attachments or provider names', () => {
    const forbidden = [
      canaries.name, canaries.mrn, canaries.note, 'Jane',
      IDENTIFIERS.ssn, IDENTIFIERS.street, IDENTIFIERS.city, IDENTIFIERS.postalCode, IDENTIFIERS.phone, IDENTIFIERS.email,
      IDENTIFIERS.birthDate, '1961', IDENTIFIERS.observationDate, '2026-11-20', IDENTIFIERS.conditionOnset, '2025-01-10', '2024-05-03',
      IDENTIFIERS.performer, IDENTIFIERS.dicomUid, 'div', 'base64', 'Letter', 'anxious', 'Take daily',
      patient.id, ...resources.map((r) => r.id),
    ];
    for (const f of forbidden) expect(text, `leaked ${f}`).not.toContain(f);
    for (const r of out) {
      for (const field of ['identifier', 'name', 'address', 'telecom', 'text', 'note', 'performer', 'content', 'birthDate', 'description']) {
        expect(r, `${r.resourceType}.${field}`).not.toHaveProperty(field);
      }
    }
  });

  it('keeps the clinical meaning: codes, values, statuses', () => {
    const hr = out.find((r) => r.resourceType === 'Observation')!;
    expect(hr).toMatchObject({ status: 'final', valueQuantity: { value: 92, unit: 'beats/minute' }, code: { coding: [{ code: '8867-4' }] } });
    expect(hr['code']).not.toHaveProperty('text');
    expect(out.find((r) => r.resourceType === 'Condition')).toMatchObject({ code: { coding: [{ display: 'Atrial fibrillation' }] } });
    expect(out.find((r) => r.resourceType === 'ImagingStudy')).toMatchObject({ numberOfInstances: 240, series: [{ numberOfInstances: 120 }] });
    expect(out.find((r) => r.resourceType === 'ImagingStudy')!['series']).not.toContainEqual(expect.objectContaining({ uid: expect.anything() }));
  });

  it('replaces the patient with gender and an age band, and points every resource at its pseudonym', () => {
    const p = out[0]!;
    expect(p).toEqual({ resourceType: 'Patient', id: pseudonym(key, 'Patient', patient.id), gender: 'female', extension: [{ url: AGE_BAND_URL, valueString: '60-69' }] });
    for (const r of out.slice(1)) {
      const ref = (r['subject'] ?? r['patient']) as { reference: string };
      expect(ref.reference).toBe(`Patient/${p.id}`);
    }
  });

  it('shifts dates by the case offset and drops times of day', () => {
    const hr = out.find((r) => r.resourceType === 'Observation')!;
    expect(hr['effectiveDateTime']).toBe(shiftDate('2026-11-20', -73));
    expect(hr['effectiveDateTime']).toBe('2026-09-08');
  });
});

describe('de-identification helpers', () => {
  it('bands ages by decade and collapses 90+', () => {
    const now = new Date('2026-11-25T00:00:00Z');
    expect(ageBand('1961-03-14', now)).toBe('60-69');
    expect(ageBand('1961-12-24', now)).toBe('60-69');
    expect(ageBand('1936-11-26', now)).toBe('80-89'); // 89 until tomorrow
    expect(ageBand('1936-11-25', now)).toBe('90+');
    expect(ageBand('1920', now)).toBe('90+');
    expect(ageBand('2026-01-01', now)).toBe('0-9');
    expect(ageBand(undefined, now)).toBeUndefined();
  });

  it('shifts dates keeping precision', () => {
    expect(shiftDate('2026-03-01', -1)).toBe('2026-02-28');
    expect(shiftDate('2026-03', -40)).toBe('2026-05'.replace('05', '02'));
    expect(shiftDate('2026', -400)).toBe('2025');
    expect(shiftDate('garbage', 5)).toBeUndefined();
  });

  it('pseudonyms are stable per case key and unlinkable across cases', () => {
    expect(pseudonym(key, 'Patient', 'x')).toBe(pseudonym(key, 'Patient', 'x'));
    expect(pseudonym(key, 'Patient', 'x')).not.toBe(pseudonym({ ...key, pseudonymKey: 'k2' }, 'Patient', 'x'));
    expect(pseudonym(key, 'Patient', 'x')).not.toBe(pseudonym(key, 'Observation', 'x'));
  });
});
