import { describe, expect, it } from 'vitest';
import { importBundle, importResource, type ImportedCase } from '../../server/src/domain/fhir-bundle.ts';
import type { FhirResource } from '../../shared/src/index.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { hl7BloodPressureBundle, hl7MedicationBundle, syntheaCarroll, syntheaMargie, syntheaPractitioners, type Bundle } from '../fixtures/real-fhir.ts';

let n = 0;
const ids = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
const good = () => caseBundle({ name: 'N', mrn: 'M', note: 'T' });

function imported(body: unknown, opts = {}): ImportedCase {
  const r = importBundle(body, ids, opts);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r;
}
const countByType = (b: Bundle) => {
  const c: Record<string, number> = {};
  for (const e of b.entry) c[String(e.resource['resourceType'])] = (c[String(e.resource['resourceType'])] ?? 0) + 1;
  return c;
};
const refsOf = (v: unknown, out: string[] = []): string[] => {
  if (Array.isArray(v)) v.forEach((x) => refsOf(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) k === 'reference' && typeof x === 'string' ? out.push(x) : refsOf(x, out);
  return out;
};

describe('importing real exports as published', () => {
  it('keeps every resource of a Synthea patient (Encounters, Claims, EOBs, CarePlans…) and resolves every bundle reference', () => {
    const bundle = syntheaCarroll();
    const r = imported(bundle);
    expect(r.refused).toEqual([]);
    expect(r.stored).toEqual(countByType(bundle));
    expect(r.resources.length + 1).toBe(bundle.entry.length);
    const all = [r.patient, ...r.resources];
    const present = new Set(all.map((x) => `${x.resourceType}/${x.id}`));
    const refs = refsOf(all);
    // No urn:uuid left: each pointed into the bundle and now names the new server id of something stored.
    expect(refs.filter((x) => x.startsWith('urn:'))).toEqual([]);
    for (const ref of refs.filter((x) => !x.startsWith('#'))) expect(present.has(ref), ref).toBe(true);
    // Fresh ids everywhere (the Synthea ids are MRN-like); the source ids are kept aside for refresh.
    for (const x of all) expect(x.id).toMatch(/^00000000-/);
    expect(r.sourceIds.get(r.patient.id)).toBe('Patient/274f5452-2a39-44c4-a7cb-f36de467762e');
    // "Dr. X" on an Encounter resolves to a stored Practitioner.
    const enc = r.resources.find((x) => x.resourceType === 'Encounter')!;
    const practitionerRef = (enc['participant'] as { individual: { reference: string } }[])[0]!.individual.reference;
    expect(r.resources.find((x) => `Practitioner/${x.id}` === practitionerRef)).toMatchObject({ resourceType: 'Practitioner' });
  });

  it('imports the longer Synthea history whole, and the same patient as batch, transaction and collection', () => {
    const bundle = syntheaMargie();
    for (const type of ['transaction', 'batch', 'collection']) {
      const r = imported({ ...bundle, type });
      expect(r.refused).toEqual([]);
      expect(r.stored).toEqual(countByType(bundle));
      expect(r.stored['AllergyIntolerance']).toBe(8);
    }
  });

  it('accepts a searchset ($everything page) with absolute fullUrls, and lists the search outcome as skipped', () => {
    const bundle = syntheaCarroll();
    const base = 'https://fhir.hospital.example/r4';
    // As a server returns it: references relative (Type/id), fullUrls absolute.
    const local = new Map(bundle.entry.map((e) => [e.fullUrl!, `${String(e.resource['resourceType'])}/${String(e.resource['id'])}`]));
    const asStored = JSON.parse(JSON.stringify(bundle.entry, (k, v: unknown) => (k === 'reference' && typeof v === 'string' ? (local.get(v) ?? v) : v))) as Bundle['entry'];
    const searchset = {
      resourceType: 'Bundle',
      type: 'searchset',
      entry: [
        ...asStored.map((e) => ({ fullUrl: `${base}/${String(e.resource['resourceType'])}/${String(e.resource['id'])}`, resource: e.resource, search: { mode: 'match' } })),
        { resource: { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] }, search: { mode: 'outcome' } },
      ],
    };
    const r = imported(searchset);
    expect(r.refused).toEqual([]);
    expect(r.skipped).toEqual([{ entry: bundle.entry.length, path: 'search.mode', reason: expect.stringContaining('outcome') }]);
    expect(r.stored['Observation']).toBe(88);
  });

  it('accepts a document bundle (Composition first) and stores the Composition as an R4 resource', () => {
    const carroll = syntheaCarroll();
    const patientUrl = carroll.entry[0]!.fullUrl!;
    const composition = { resourceType: 'Composition', status: 'final', type: { coding: [{ system: 'http://loinc.org', code: '34133-9' }] }, subject: { reference: patientUrl }, date: '2020-08-05', author: [{ display: 'Synthea' }], title: 'Summary' };
    const r = imported({ resourceType: 'Bundle', type: 'document', entry: [{ fullUrl: 'urn:uuid:c0', resource: composition }, ...carroll.entry] });
    expect(r.stored['Composition']).toBe(1);
    expect(r.resources.find((x) => x.resourceType === 'Composition')!['subject']).toEqual({ reference: `Patient/${r.patient.id}` });
  });

  it('imports the HL7 MedicationStatement example: medicationReference to its contained Medication survives', () => {
    const r = imported(hl7MedicationBundle());
    expect(r.refused).toEqual([]);
    expect(r.stored).toEqual({ Patient: 1, MedicationStatement: 1, Medication: 1 });
    const ms = r.resources.find((x) => x.resourceType === 'MedicationStatement')!;
    expect(ms['medicationReference']).toEqual({ reference: '#med0309' });
    expect(ms['contained']).toEqual([expect.objectContaining({ resourceType: 'Medication', id: 'med0309', code: { coding: [expect.objectContaining({ code: '50580-506-02', display: 'Tylenol PM' })] } })]);
    expect(ms['subject']).toEqual({ reference: `Patient/${r.patient.id}`, display: 'Donald Duck' });
    expect(ms['effectiveDateTime']).toBe('2015-01-23');
  });

  it('imports the HL7 blood pressure example with components, interpretation and its external performer reference', () => {
    const r = imported(hl7BloodPressureBundle());
    const bp = r.resources[0]!;
    expect(bp['component']).toHaveLength(2);
    expect((bp['component'] as { valueQuantity: { value: number } }[]).map((c) => c.valueQuantity.value)).toEqual([107, 60]);
    expect(bp['interpretation']).toEqual([expect.objectContaining({ coding: [expect.objectContaining({ code: 'L' })] })]);
    // Practitioner/example is not in the bundle: it stays as published (identified viewers only ever see it).
    expect(bp['performer']).toEqual([{ reference: 'Practitioner/example' }]);
  });

  it('resolves conditional references (Practitioner?identifier=system|value) to a Practitioner in the bundle', () => {
    const carroll = syntheaCarroll();
    const prac = syntheaPractitioners().entry[0]!.resource;
    const npi = (prac['identifier'] as { system: string; value: string }[])[0]!;
    const enc = structuredClone(carroll.entry.find((e) => e.resource['resourceType'] === 'Encounter')!);
    (enc.resource['participant'] as { individual: { reference: string } }[])[0]!.individual.reference = `Practitioner?identifier=${npi.system}|${npi.value}`;
    const r = imported({ ...carroll, type: 'batch', entry: [carroll.entry[0]!, { resource: prac }, enc] });
    const practitioner = r.resources.find((x) => x.resourceType === 'Practitioner')!;
    expect((r.resources.find((x) => x.resourceType === 'Encounter')!['participant'] as { individual: { reference: string } }[])[0]!.individual.reference).toBe(`Practitioner/${practitioner.id}`);
  });
});

describe('an honest report: one bad entry never sinks the bundle', () => {
  it('refuses only the entry with a NUL, naming its index and path; all-or-nothing refuses the bundle', () => {
    const bundle = syntheaCarroll();
    const i = bundle.entry.findIndex((e) => e.resource['resourceType'] === 'Observation');
    (bundle.entry[i]!.resource['code'] as { text: string }).text = 'Body\u0000Height';
    const r = imported(bundle);
    expect(r.refused).toEqual([{ entry: i, path: 'resource.code.text', reason: expect.stringContaining('control character') }]);
    expect(r.stored['Observation']).toBe(87);
    expect(importBundle(bundle, ids, { allOrNothing: true })).toMatchObject({ ok: false, problems: [{ entry: i, path: 'resource.code.text' }] });
  });

  it('refuses unknown types, DELETE entries, entries without a resource, unpaired surrogates, bad ids and deep nesting, and says why', () => {
    const b = good() as unknown as { entry: unknown[] };
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let k = 0; k < 200; k++) deep = (deep['x'] = {}) as Record<string, unknown>;
    b.entry.push(
      { resource: { resourceType: 'Spaceship' } },
      { request: { method: 'DELETE', url: 'Patient/1' } },
      'not an object',
      { resource: { resourceType: 'Basic', code: { text: 'x\uD800y' } } },
      { resource: { resourceType: 'Basic', id: 'has spaces' } },
      { resource: { resourceType: 'Basic', extension: [root] } },
      { resource: { resourceType: 'Bundle', type: 'collection' } },
    );
    const r = imported(b);
    const first = 8;
    expect(r.refused.map((p) => [p.entry, p.path])).toEqual([
      [first, 'resource.resourceType'],
      [first + 1, 'request.method'],
      [first + 2, ''],
      [first + 3, 'resource.code.text'],
      [first + 4, 'resource.id'],
      [first + 5, expect.stringMatching(/^resource\.extension\.0(\.x)+$/)],
      [first + 6, 'resource.resourceType'],
    ]);
    expect(r.refused.every((p) => p.reason.length > 5)).toBe(true);
    expect(r.resources).toHaveLength(7);
  });

  it('stores a resource that appears twice once, and reports the repeat', () => {
    const carroll = syntheaCarroll();
    const i = carroll.entry.findIndex((e) => e.resource['resourceType'] === 'Observation');
    const r = imported({ ...carroll, entry: [...carroll.entry, { resource: structuredClone(carroll.entry[i]!.resource) }] });
    expect(r.refused).toEqual([{ entry: carroll.entry.length, path: 'resource.id', reason: `the same resource as entry ${i}` }]);
    expect(r.stored['Observation']).toBe(88);
    expect(new Set(r.sourceIds.values()).size).toBe(r.sourceIds.size);
  });

  it('refuses a resource of an understood type that points at another patient, or breaks its structure', () => {
    const b = good();
    (b.entry[2]!.resource as Record<string, unknown>)['subject'] = { reference: 'Patient/someone-else' };
    delete (b.entry[1]!.resource as Record<string, unknown>)['status'];
    const r = imported(b);
    expect(r.refused).toEqual([
      { entry: 1, path: 'resource.status', reason: expect.any(String) },
      { entry: 2, path: 'resource.subject.reference', reason: "must reference the bundle's Patient" },
    ]);
  });

  it('needs exactly one Patient and a Bundle of an accepted type', () => {
    const b = good() as unknown as Bundle;
    b.entry.push({ fullUrl: 'urn:uuid:second', resource: { ...b.entry[0]!.resource, id: 'another-patient' } });
    expect(importBundle(b, ids)).toMatchObject({ ok: false, problems: [{ reason: expect.stringContaining('exactly one valid Patient') }] });
    const noPatient = good();
    noPatient.entry.shift();
    expect(importBundle(noPatient, ids)).toMatchObject({ ok: false });
    const badPatient = good();
    (badPatient.entry[0]!.resource as Record<string, unknown>)['gender'] = 'dragon';
    expect(importBundle(badPatient, ids)).toMatchObject({ ok: false, problems: [{ entry: 0 }, { entry: 0, path: 'resource.gender' }] });
    expect(importBundle({ ...good(), type: 'history' }, ids)).toMatchObject({ ok: false, problems: [{ path: 'type' }] });
    expect(importBundle({ resourceType: 'Patient' }, ids)).toMatchObject({ ok: false });
    expect(importBundle(null, ids)).toMatchObject({ ok: false });
  });

  it('imports a 2,000-entry bundle with a bad entry in the middle in well under a second', () => {
    const carroll = syntheaCarroll();
    const obs = carroll.entry.filter((e) => e.resource['resourceType'] === 'Observation');
    const entry = [carroll.entry[0]!, ...Array.from({ length: 1999 }, (_, k) => ({ ...obs[k % obs.length]!, fullUrl: `urn:uuid:copy-${k}`, resource: { ...obs[k % obs.length]!.resource, id: `copy-${k}` } }))];
    (entry[1000] as { resource: Record<string, unknown> }).resource = { ...entry[1000]!.resource, status: 'nonsense' };
    const t0 = performance.now();
    const r = imported({ resourceType: 'Bundle', type: 'collection', entry });
    expect(performance.now() - t0).toBeLessThan(1500);
    expect(r.stored['Observation']).toBe(1998);
    expect(r.refused).toEqual([{ entry: 1000, path: 'resource.status', reason: expect.any(String) }]);
  });
});

describe('live resources', () => {
  it('validates live observations against the case patient', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { coding: [{ code: '8867-4' }] }, subject: { reference: 'Patient/p1' }, valueQuantity: { value: 80 } };
    expect(importResource(obs, 'Observation', 'p1', ids)).toMatchObject({ ok: true });
    expect(importResource(obs, 'Observation', 'p2', ids)).toMatchObject({ ok: false, problems: [{ path: 'subject.reference' }] });
    expect(importResource({ ...obs, resourceType: 'Condition' }, 'Observation', 'p1', ids)).toMatchObject({ ok: false });
    expect(importResource({ ...obs, valueQuantity: { value: 'high' } }, 'Observation', 'p1', ids)).toMatchObject({ ok: false });
    expect(importResource({ ...obs, valueString: 'a\u0000b' }, 'Observation', 'p1', ids)).toMatchObject({ ok: false, problems: [{ path: 'valueString' }] });
    const withPeriod = importResource({ ...obs, effectivePeriod: { start: '2026-11-25T10:00:00Z' }, valueCodeableConcept: { text: 'x' } }, 'Observation', 'p1', ids);
    expect(withPeriod.ok && (withPeriod.resource as FhirResource)['effectivePeriod']).toEqual({ start: '2026-11-25T10:00:00Z' });
  });
});
