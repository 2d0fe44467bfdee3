import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { caseViewFor, entriesFor, preparedCase } from '../../server/src/domain/case-view.ts';
import { importBundle } from '../../server/src/domain/fhir-bundle.ts';
import { patientIdentity, REDACTED_LABEL, WITHHELD, withholdIdentity } from '../../server/src/domain/withhold-identity.ts';
import { parseScopes, readerOf } from '../../server/src/auth/policy.ts';
import type { FhirResource } from '../../shared/src/index.ts';
import { hl7, hl7GlucoseBundle, patientIdentityStrings, syntheaCarroll, syntheaMargie, type Bundle } from '../fixtures/real-fhir.ts';

const pieter = hl7('patient-example-f001-pieter') as FhirResource;
const glucose = hl7('observation-example-f001-glucose') as FhirResource;
const leaks = (value: unknown, identity: string[]) => identity.filter((s) => JSON.stringify(value).includes(s));

describe('withholdIdentity on the HL7 f001 glucose Observation (as published)', () => {
  const identity = patientIdentityStrings(hl7GlucoseBundle());
  const out = withholdIdentity(glucose, patientIdentity(pieter)) as Record<string, unknown>;

  it('drops the subject display and the narrative; no identity string is left', () => {
    expect(JSON.stringify(glucose)).toContain('P. van de Heuvel');
    expect(out['subject']).toEqual({ reference: 'Patient/f001' });
    expect(out['text']).toBeUndefined();
    expect(leaks(out, identity)).toEqual([]);
    expect(JSON.stringify(out)).not.toContain('Heuvel');
  });

  it('keeps the clinical content, the performer and the real dates, and says it was redacted', () => {
    expect(out).toMatchObject({
      resourceType: 'Observation',
      id: 'f001',
      identifier: [{ value: '6323' }],
      code: glucose['code'],
      valueQuantity: glucose['valueQuantity'],
      interpretation: glucose['interpretation'],
      referenceRange: glucose['referenceRange'],
      effectivePeriod: { start: '2013-04-02T09:30:10+01:00' },
      performer: [{ reference: 'Practitioner/f005', display: 'A. Langeveld' }],
    });
    expect((out['meta'] as { security: unknown[] }).security).toEqual([REDACTED_LABEL]);
    // The input is untouched.
    expect((glucose['subject'] as { display: string }).display).toBe('P. van de Heuvel');
  });
});

describe('withholdIdentity: identity wherever it is written', () => {
  const identity = [...patientIdentityStrings(hl7GlucoseBundle()), 'Sarah Abels', '0690383372', 'Jansen'];
  const withMaiden = { ...pieter, extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName', valueString: 'Jansen' }] } as FhirResource;
  const hostile = {
    resourceType: 'DiagnosticReport',
    id: 'dr1',
    status: 'final',
    code: { text: 'Report for Mr. Heuvel' },
    subject: { reference: 'http://other.example/fhir/Patient/f001/_history/2', display: 'Pieter' },
    contained: [
      { resourceType: 'Patient', id: 'p', name: [{ family: 'van de Heuvel' }], telecom: [{ value: '0648352638' }] },
      { resourceType: 'RelatedPerson', id: 'rp', name: [{ text: 'Sarah Abels' }] },
      { resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'HbA1c' }, subject: { reference: '#p', display: 'P. v. d. Heuvel' }, text: { status: 'generated', div: '<div>Pieter</div>' } },
    ],
    basedOn: [{ type: 'Patient', identifier: { system: 'urn:oid:2.16.840.1.113883.2.4.6.3', value: '738472983' }, display: 'BSN' }],
    performer: [{ reference: 'Practitioner/x', display: 'Dr. Sarah Abels-Smit' }],
    extension: [
      { url: 'http://example.org/caller', valueHumanName: { family: 'Someone' } },
      { url: 'http://example.org/where', valueAddress: { line: ['Van Egmondkade 23'] } },
      { url: 'http://example.org/note', valueString: 'phoned 0690383372 (wife)' },
      { url: 'http://example.org/complex', extension: [{ url: 'id', valueIdentifier: { value: 'A-1' } }] },
      { url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName', valueString: 'Jansen' },
      { url: 'http://example.org/kept', valueString: 'fasting sample' },
    ],
    effectiveDateTime: '1944-11-17T08:00:00Z',
    issued: '2013-04-03T15:30:10+01:00',
    conclusion: 'Born 19441117; e-mail P.HEUVEL@gmail.com',
    presentedForm: [{ contentType: 'text/plain', data: Buffer.from('Pieter van de Heuvel, born 1944-11-17').toString('base64'), title: 'Letter to Pieter' }],
    media: [{ link: { reference: 'Media/m', display: 'ECG' } }],
    note: [{ text: 'Pieters assessment unchanged' }],
  } as unknown as FhirResource;
  const out = withholdIdentity(hostile, patientIdentity(withMaiden)) as Record<string, any>;

  it('leaves none of the identity strings anywhere', () => {
    const { note: _note, ...rest } = out; // "Pieters" (another word) is kept on purpose, below
    expect(leaks(rest, identity)).toEqual([]);
    expect(JSON.stringify(out)).not.toMatch(/Heuvel|Pieter\b|1944-11-17|19441117/i);
  });

  it('references to the patient lose display and identifier, also absolute, versioned, contained and typed ones', () => {
    expect(out['subject']).toEqual({ reference: 'http://other.example/fhir/Patient/f001/_history/2' });
    expect(out['contained'].map((c: { resourceType: string }) => c.resourceType)).toEqual(['Observation']);
    expect(out['contained'][0]).toEqual({ resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'HbA1c' }, subject: { reference: '#p' } });
    expect(out['basedOn']).toEqual([{ type: 'Patient' }]);
  });

  it('drops identity extensions by value type and URL (nested too), masks free text naming the patient, keeps the rest', () => {
    expect(out['extension']).toEqual([{ url: 'http://example.org/note', valueString: WITHHELD }, { url: 'http://example.org/kept', valueString: 'fasting sample' }]);
    expect(out['code']).toEqual({ text: WITHHELD });
    expect(out['conclusion']).toBe(WITHHELD);
    expect(out['performer']).toEqual([{ reference: 'Practitioner/x', display: WITHHELD }]); // names Sarah Abels, the patient's contact
    expect(out['media']).toEqual([{ link: { reference: 'Media/m', display: 'ECG' } }]);
    expect(out['note']).toEqual([{ text: 'Pieters assessment unchanged' }]); // whole words only: "Pieters" is not "Pieter"
  });

  it('the birth date as a date keeps only its year; other dates stay; inline attachment content goes, its title is masked', () => {
    expect(out['effectiveDateTime']).toBe('1944');
    expect(out['issued']).toBe('2013-04-03T15:30:10+01:00');
    expect(out['presentedForm']).toEqual([{ contentType: 'text/plain', title: WITHHELD }]);
  });

  it('SampledData keeps its numbers (only Attachment, Binary and Signature content is dropped)', () => {
    const ecg = { resourceType: 'Observation', id: 'e', status: 'final', code: { text: 'ECG' }, subject: { reference: 'Patient/f001' }, valueSampledData: { origin: { value: 0 }, period: 10, dimensions: 1, data: '1 2 3' } } as unknown as FhirResource;
    expect((withholdIdentity(ecg, patientIdentity(pieter)) as Record<string, any>)['valueSampledData']['data']).toBe('1 2 3');
  });

  it('without a Patient resource the structural rules still hold', () => {
    const bare = withholdIdentity(glucose, patientIdentity(null)) as Record<string, unknown>;
    expect(bare['subject']).toEqual({ reference: 'Patient/f001' });
    expect(bare['text']).toBeUndefined();
  });
});

describe('on real Synthea records: what an identity-withheld reader of every type but the Patient gets', () => {
  for (const [name, load] of [['Carroll471', syntheaCarroll], ['Margie619', syntheaMargie]] as [string, () => Bundle][]) {
    it(`${name}: no identity string in any copy; references, codes and values survive`, () => {
      const bundle = load();
      const imported = importBundle(bundle, randomUUID);
      if (!imported.ok) throw new Error('import failed');
      const c = preparedCase({ id: 'case', patientId: imported.patient.id, pseudonymKey: 'k', resources: [imported.patient] });
      const access = parseScopes([...new Set(imported.resources.map((r) => r.resourceType))].map((t) => `patient/${t}.rs`));
      const { view, disclosed } = caseViewFor(c, [imported.patient, ...imported.resources], readerOf(access));
      expect(disclosed.length).toBe(imported.resources.length);
      expect(new Set(disclosed.map((e) => e.variant))).toEqual(new Set(['identity-withheld']));
      const identity = patientIdentityStrings(bundle);
      expect(identity.length).toBeGreaterThanOrEqual(9);
      expect(leaks(view, identity)).toEqual([]);
      // What is withheld is the identity, not the record: the same resources, structure and values.
      const enc = view.resources.find((r) => r.resourceType === 'Encounter')!;
      const original = imported.resources.find((r) => r.id === enc.id)!;
      const { subject, meta: _m, ...rest } = enc as Record<string, unknown>;
      const { subject: origSubject, meta: _om, ...origRest } = original as Record<string, unknown>;
      expect(rest).toEqual(origRest);
      expect(subject).toEqual({ reference: (origSubject as { reference: string }).reference });
      // entriesFor makes no identity-withheld copy of the Patient.
      expect(entriesFor(c, imported.patient).map((e) => e.variant)).toEqual(['identified', 'deidentified']);
    });
  }
});

describe('identity as people write it (outside review): every written form of the same identity is withheld', () => {
  const patient = {
    resourceType: 'Patient',
    id: 'p',
    name: [{ family: 'García-López', given: ['María'] }, { family: '王', given: ['伟'], text: '王伟' }],
    birthDate: '1944-11-07',
  } as FhirResource;
  const identity = patientIdentity(patient);
  const note = (text: string) => (withholdIdentity({ resourceType: 'Observation', id: 'o', status: 'final', code: { text: 'Glucose' }, note: [{ text }] } as FhirResource, identity) as unknown as { note: { text: string }[] }).note[0]!.text;

  it.each([
    ['part of a hyphenated surname', 'Mrs. López reports dizziness'],
    ['without its accent', 'Mrs. Lopez reports dizziness'],
    ['in capitals', 'GARCIA-LOPEZ, MARIA'],
    ['decomposed Unicode (e + combining acute)', 'Mrs. Lo\u0301pez reports dizziness'],
    ['in a script written without spaces', '患者王伟今晨血糖偏高'],
    ['the birth date day/month/year', 'DOB 07/11/1944'],
    ['the birth date month/day/year without zeros', 'DOB 11/7/1944'],
    ['the birth date with dots and a two-digit year', 'born 7.11.44'],
    ['the birth date with the month named', 'born 7 November 1944'],
    ['the birth date US style', 'born Nov 7, 1944'],
  ])('%s', (_what, text) => {
    expect(note(text)).toBe(WITHHELD);
  });

  it('leaves text that only resembles it: other words, other dates, other names', () => {
    for (const text of ['Lopezville clinic follow-up', 'DOB unknown; sample 07/11/1945', 'seen by Dr. Garcian', 'glucose 7.11 mmol/L']) expect(note(text)).toBe(text);
  });

  it('drops inline content written as a data: URL', () => {
    const doc = withholdIdentity({ resourceType: 'DocumentReference', id: 'd', status: 'current', content: [{ attachment: { contentType: 'text/plain', url: 'data:text/plain;base64,R2FyY2lh', title: 'Letter' } }] } as FhirResource, identity) as unknown as { content: { attachment: Record<string, unknown> }[] };
    expect(doc.content[0]!.attachment).toEqual({ contentType: 'text/plain', title: 'Letter' });
  });
});
