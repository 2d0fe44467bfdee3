import { describe, expect, it } from 'vitest';
import { importBundle, importResource } from '../../server/src/domain/fhir-bundle.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';

let n = 0;
const ids = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
const good = () => caseBundle({ name: 'N', mrn: 'M', note: 'T' });

describe('FHIR bundle import', () => {
  it('accepts a valid bundle, re-ids every resource and rewrites patient references', () => {
    const r = importBundle(good(), ids);
    if (!r.ok) throw new Error(JSON.stringify(r.problems));
    expect(r.resources).toHaveLength(7);
    expect(r.patient.id).toMatch(/^00000000-/);
    for (const res of r.resources) {
      expect(res.id).toMatch(/^00000000-/);
      expect(((res['subject'] ?? res['patient']) as { reference: string }).reference).toBe(`Patient/${r.patient.id}`);
    }
  });

  it('points at the offending entry', () => {
    const b = good();
    (b.entry[2]!.resource as Record<string, unknown>)['subject'] = { reference: 'Patient/someone-else' };
    const r = importBundle(b, ids);
    expect(r).toMatchObject({ ok: false, problems: [{ entry: 2, path: 'resource.subject.reference' }] });

    const b2 = good();
    delete (b2.entry[1]!.resource as Record<string, unknown>)['status'];
    expect(importBundle(b2, ids)).toMatchObject({ ok: false, problems: [{ entry: 1, path: 'resource.status' }] });

    const b3 = good();
    (b3.entry as unknown[]).push({ resource: { resourceType: 'Claim' } });
    expect(importBundle(b3, ids)).toMatchObject({ ok: false, problems: [{ entry: 8, path: 'resource.resourceType' }] });
  });

  it('needs exactly one Patient and a Bundle of type collection or transaction', () => {
    const b = good();
    b.entry.push(b.entry[0]!);
    expect(importBundle(b, ids)).toMatchObject({ ok: false, problems: [{ message: expect.stringContaining('exactly one Patient') }] });
    expect(importBundle({ ...good(), type: 'searchset' }, ids)).toMatchObject({ ok: false, problems: [{ path: 'type' }] });
    expect(importBundle({ resourceType: 'Patient' }, ids)).toMatchObject({ ok: false });
    expect(importBundle(null, ids)).toMatchObject({ ok: false });
  });

  it('validates live observations against the case patient', () => {
    const obs = { resourceType: 'Observation', status: 'final', code: { coding: [{ code: '8867-4' }] }, subject: { reference: 'Patient/p1' }, valueQuantity: { value: 80 } };
    expect(importResource(obs, 'Observation', 'p1', ids)).toMatchObject({ ok: true });
    expect(importResource(obs, 'Observation', 'p2', ids)).toMatchObject({ ok: false, problems: [{ path: 'subject.reference' }] });
    expect(importResource({ ...obs, resourceType: 'Condition' }, 'Observation', 'p1', ids)).toMatchObject({ ok: false });
    expect(importResource({ ...obs, valueQuantity: { value: 'high' } }, 'Observation', 'p1', ids)).toMatchObject({ ok: false });
  });
});
