import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ageBand, DEIDENTIFIABLE_TYPES, deidentifyResource, pseudonym, yearOf, type DeidentifyKey } from '../../server/src/domain/deidentify.ts';
import { importBundle } from '../../server/src/domain/fhir-bundle.ts';
import { AGE_BAND_URL, type FhirResource } from '../../shared/src/index.ts';
import { caseBundle, IDENTIFIERS } from '../fixtures/case-bundle.ts';
import { hl7MedicationBundle, identifyingStrings, syntheaCarroll, syntheaMargie } from '../fixtures/real-fhir.ts';

const canaries = { name: 'Deidname', mrn: 'DEID-MRN-77', note: 'Deidnote' };
const key: DeidentifyKey = { pseudonymKey: 'k1', now: new Date('2026-11-25T00:00:00Z') };

function imported() {
  const r = importBundle(caseBundle(canaries), randomUUID);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r;
}

describe('Safe Harbor de-identification over a realistic bundle', () => {
  const { patient, resources } = imported();
  const all: FhirResource[] = [patient, ...resources];
  const out = all.map((r) => deidentifyResource(r, patient.id, key)!);
  const text = JSON.stringify(out);

  it('keeps no names, identifiers, contact data, exact dates, notes, narrative, attachments or provider names', () => {
    const forbidden = [
      canaries.name, canaries.mrn, canaries.note, 'Jane',
      IDENTIFIERS.ssn, IDENTIFIERS.street, IDENTIFIERS.city, IDENTIFIERS.postalCode, IDENTIFIERS.phone, IDENTIFIERS.email,
      IDENTIFIERS.birthDate, IDENTIFIERS.observationDate, '2026-11-20', IDENTIFIERS.conditionOnset, '2025-01-10', '2024-05-03',
      IDENTIFIERS.performer, IDENTIFIERS.dicomUid, 'div', 'base64', 'Letter', 'anxious', 'Take daily',
      patient.id, ...resources.map((r) => r.id),
    ];
    for (const f of forbidden) expect(text, `leaked ${f}`).not.toContain(f);
    // The birth year as a date or year value (a random pseudonym may hold the digits 1961 by chance: 0.3 % of runs did).
    expect(text, 'leaked the birth year').not.toMatch(/"1961(-[\d-]*)?"/);
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

  it('keeps only the year of every date', () => {
    const hr = out.find((r) => r.resourceType === 'Observation')!;
    expect(hr['effectiveDateTime']).toBe('2026');
    expect(text).not.toMatch(/\d{4}-\d{2}/);
  });
});

describe('de-identification helpers', () => {
  it('bands ages by decade from the birth year alone and collapses 90+', () => {
    const now = new Date('2026-11-25T00:00:00Z');
    expect(ageBand('1961-03-14', now)).toBe('60-69');
    expect(ageBand('1961-12-24', now)).toBe('60-69');
    // From years alone: the band never changes on the birthday, so watching it reveals no birth date.
    for (const day of ['1956-01-01', '1956-06-30', '1956-12-31']) expect(ageBand(day, now)).toBe('70-79');
    expect(ageBand('1936-11-26', now)).toBe('90+');
    expect(ageBand('1937-01-01', now)).toBe('80-89');
    expect(ageBand('1920', now)).toBe('90+');
    expect(ageBand('2026-01-01', now)).toBe('0-9');
    expect(ageBand(undefined, now)).toBeUndefined();
    expect(ageBand('2030-01-01', now)).toBeUndefined();
  });

  it('keeps only the year of dates, instants and partial dates', () => {
    expect(yearOf('2026-03-01')).toBe('2026');
    expect(yearOf('2026-03-01T23:59:59.999+14:00')).toBe('2026');
    expect(yearOf('2026-03')).toBe('2026');
    expect(yearOf('2026')).toBe('2026');
    expect(yearOf('20261')).toBeUndefined();
    expect(yearOf('garbage')).toBeUndefined();
    expect(yearOf(2026)).toBeUndefined();
  });

  it('pseudonyms are stable per case key and unlinkable across cases', () => {
    expect(pseudonym(key, 'Patient', 'x')).toBe(pseudonym(key, 'Patient', 'x'));
    expect(pseudonym(key, 'Patient', 'x')).not.toBe(pseudonym({ ...key, pseudonymKey: 'k2' }, 'Patient', 'x'));
    expect(pseudonym(key, 'Patient', 'x')).not.toBe(pseudonym(key, 'Observation', 'x'));
  });
});

describe('de-identification held on real data (Synthea, HL7 examples)', () => {
  for (const [name, load] of [['Carroll471', syntheaCarroll], ['Margie619', syntheaMargie]] as const) {
    it(`${name}: no identifying string and no date finer than the year in any de-identified copy`, () => {
      const bundle = load();
      const r = importBundle(bundle, randomUUID);
      if (!r.ok) throw new Error('import failed');
      const copies = [r.patient, ...r.resources].map((x) => deidentifyResource(x, r.patient.id, key)).filter((x) => x !== null);
      const text = JSON.stringify(copies);
      const forbidden = identifyingStrings(bundle);
      expect(forbidden.length).toBeGreaterThan(50);
      for (const f of forbidden) expect(text, `leaked ${f}`).not.toContain(f);
    // The birth year as a date or year value (a random pseudonym may hold the digits 1961 by chance: 0.3 % of runs did).
    expect(text, 'leaked the birth year').not.toMatch(/"1961(-[\d-]*)?"/);
      expect(text).not.toMatch(/\d{4}-\d{2}/);
      // Types without a rule (Claim, EOB, CarePlan, CareTeam, Organization, Practitioner…) have no de-identified copy at all.
      const types = new Set(copies.map((c) => c.resourceType));
      for (const t of ['Claim', 'ExplanationOfBenefit', 'CarePlan', 'CareTeam', 'Organization', 'Practitioner']) expect(types.has(t as never), t).toBe(false);
      for (const t of types) expect(DEIDENTIFIABLE_TYPES.has(t)).toBe(true);
      // …and the clinical meaning survives: Synthea's blood pressure panels keep their components.
      const bp = copies.find((c) => c.resourceType === 'Observation' && Array.isArray(c['component']));
      expect(bp?.['component']).toEqual([expect.objectContaining({ valueQuantity: expect.objectContaining({ unit: 'mm[Hg]' }) }), expect.objectContaining({ valueQuantity: expect.anything() })]);
    });
  }

  it('the HL7 MedicationStatement keeps its drug (from the contained Medication) and loses note, lot number and names', () => {
    const r = importBundle(hl7MedicationBundle(), randomUUID);
    if (!r.ok) throw new Error('import failed');
    const ms = deidentifyResource(r.resources.find((x) => x.resourceType === 'MedicationStatement')!, r.patient.id, key)!;
    expect(ms['medicationCodeableConcept']).toEqual({ coding: [{ system: 'http://hl7.org/fhir/sid/ndc', code: '50580-506-02', display: 'Tylenol PM' }] });
    expect(ms).not.toHaveProperty('contained');
    expect(ms['effectiveDateTime']).toBe('2015');
    const text = JSON.stringify([ms, deidentifyResource(r.resources.find((x) => x.resourceType === 'Medication')!, r.patient.id, key)]);
    for (const f of ['Donald', 'Duck', '9494788', '2017-05-22', 'miss the occasional', '12345689', 'bedtime', '2015-02-22']) expect(text).not.toContain(f);
  });

  it('a type without a rule is never de-identified by guesswork', () => {
    const claim = { resourceType: 'Claim', id: randomUUID(), status: 'active', patient: { reference: 'Patient/x' } } as unknown as FhirResource;
    expect(deidentifyResource(claim, 'x', key)).toBeNull();
  });
});

describe('red team: recovering real dates from de-identified values', () => {
  const patientId = randomUUID();
  const sample = (at: Date) =>
    deidentifyResource({ resourceType: 'Observation', id: randomUUID(), status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: `Patient/${patientId}` }, effectiveDateTime: at.toISOString(), issued: at.toISOString(), valueQuantity: { value: 80 } } as FhirResource, patientId, key)!;

  it('a live sample shows no date beyond the year, so its arrival time tells nothing about other dates', () => {
    const arrival = new Date('2026-11-25T10:03:07Z');
    const live = sample(arrival);
    expect(live['effectiveDateTime']).toBe('2026');
    expect(JSON.stringify(live)).not.toMatch(/2026-|10:03|T\d/);
    // Old data of the same case: nothing to subtract the arrival from.
    const old = sample(new Date('2019-06-02T08:00:00Z'));
    expect(old['effectiveDateTime']).toBe('2019');
    // Two samples on different days of one year are indistinguishable by date.
    const a = sample(new Date('2026-01-01T00:00:00Z'));
    const b = sample(new Date('2026-12-31T23:59:59Z'));
    const strip = (o: FhirResource) => ({ ...o, id: '' });
    expect(strip(a)).toEqual(strip(b));
  });

  it('intervals between resources are whole years at most, never days', () => {
    const r = importBundle(syntheaMargie(), randomUUID);
    if (!r.ok) throw new Error('import failed');
    const dates = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      else if (typeof v === 'string' && /^\d{4}(-\d{2}|$)/.test(v)) dates.add(v);
    };
    walk(r.resources.map((x) => deidentifyResource(x, r.patient.id, key)));
    // Every date-like value is a bare year: the finest interval anyone can compute is a year.
    expect(dates.size).toBeGreaterThan(10);
    for (const d of dates) expect(d).toMatch(/^\d{4}$/);
  });
});
