import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clinicalTime, DEFAULT_SUMMARY_LIMITS, primaryCode, selectCaseSummary } from '../../server/src/domain/case-summary.ts';
import { importBundle } from '../../server/src/domain/fhir-bundle.ts';
import type { FhirResource } from '../../shared/src/index.ts';
import { syntheaMargie } from '../fixtures/real-fhir.ts';

function margie(extraObservations = 0): FhirResource[] {
  const b = syntheaMargie();
  const obs = b.entry.filter((e) => e.resource['resourceType'] === 'Observation');
  // Years of vitals: the same codes again and again, one a day and a half apart.
  for (let k = 0; k < extraObservations; k++) {
    const src = obs[k % obs.length]!;
    b.entry.push({ fullUrl: `urn:uuid:extra-${k}`, resource: { ...src.resource, id: `extra-${k}`, effectiveDateTime: new Date(Date.UTC(2000, 0, 1) + k * 1.5 * 864e5).toISOString() } });
  }
  const r = importBundle(b, randomUUID);
  if (!r.ok) throw new Error('import failed');
  return [r.patient, ...r.resources];
}

describe('what the room state carries of a big case', () => {
  const all = margie(5000 - 455);
  const { resources, omitted } = selectCaseSummary(all);
  const chosen = new Set(resources);

  it('keeps the Patient, the latest values per code, active problems, allergies and recent encounters', () => {
    expect(all).toHaveLength(5000);
    expect(resources[0]!.resourceType).toBe('Patient');
    // Latest per code: for every code, the newest Observation of the whole record is in.
    const newest = new Map<string, FhirResource>();
    for (const o of all.filter((r) => r.resourceType === 'Observation')) {
      const code = primaryCode(o)!;
      const cur = newest.get(code);
      if (!cur || clinicalTime(o)! > clinicalTime(cur)!) newest.set(code, o);
    }
    for (const [code, o] of newest) expect(chosen.has(o), code).toBe(true);
    const perCode = new Map<string, number>();
    // Beyond the latest per code, only the results of the reports carried.
    const results = new Set(resources.filter((r) => r.resourceType === 'DiagnosticReport').flatMap((r) => ((r['result'] as { reference: string }[] | undefined) ?? []).map((x) => x.reference)));
    for (const o of resources.filter((r) => r.resourceType === 'Observation' && !results.has(`Observation/${r.id}`))) perCode.set(primaryCode(o)!, (perCode.get(primaryCode(o)!) ?? 0) + 1);
    expect(Math.max(...perCode.values())).toBeLessThanOrEqual(DEFAULT_SUMMARY_LIMITS.perCode);
    const active = all.filter((r) => r.resourceType === 'Condition' && JSON.stringify(r['clinicalStatus']).includes('"active"'));
    expect(active.length).toBeGreaterThan(0);
    for (const c of active) expect(chosen.has(c)).toBe(true);
    const encounters = resources.filter((r) => r.resourceType === 'Encounter');
    expect(encounters).toHaveLength(DEFAULT_SUMMARY_LIMITS.recent);
    const newestEncounter = Math.max(...all.filter((r) => r.resourceType === 'Encounter').map((r) => clinicalTime(r)!));
    expect(encounters.some((e) => clinicalTime(e) === newestEncounter)).toBe(true);
  });

  it('brings the Practitioners and Organizations the chosen resources refer to, and leaves claims for on-demand reads', () => {
    const refs = new Set(JSON.stringify(resources).match(/Practitioner\/[0-9a-f-]{36}/g));
    expect(refs.size).toBeGreaterThan(0);
    for (const ref of refs) expect(resources.some((r) => `${r.resourceType}/${r.id}` === ref), ref).toBe(true);
    expect(resources.some((r) => r.resourceType === 'Claim' || r.resourceType === 'ExplanationOfBenefit')).toBe(false);
    expect(omitted['Claim']).toBe(66);
    expect(resources.length + Object.values(omitted).reduce((a, b) => a + b, 0)).toBe(all.length);
  });

  it('stays within its byte budget and never carries a resource longer than the per-resource limit', () => {
    const total = resources.reduce((a, r) => a + JSON.stringify(r).length, 0);
    expect(total).toBeLessThanOrEqual(DEFAULT_SUMMARY_LIMITS.maxTotalBytes);
    for (const r of resources) expect(JSON.stringify(r).length).toBeLessThanOrEqual(DEFAULT_SUMMARY_LIMITS.maxResourceBytes);
    const tight = selectCaseSummary(all, { ...DEFAULT_SUMMARY_LIMITS, maxTotalBytes: 20_000 });
    expect(tight.resources[0]!.resourceType).toBe('Patient');
    expect(tight.resources.reduce((a, r) => a + JSON.stringify(r).length, 0)).toBeLessThanOrEqual(20_000 + JSON.stringify(tight.resources[0]).length);
  });

  it('is deterministic and fast on 5,000 resources', () => {
    const t0 = performance.now();
    const again = selectCaseSummary(all);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(again.resources.map((r) => r.id)).toEqual(resources.map((r) => r.id));
  });
});

describe('clinicalYear', () => {
  it('is the year as written, whatever the offset (de-identified year paging must not reveal which side of midnight a reading fell)', async () => {
    const { clinicalYear } = await import('../../server/src/domain/case-summary.ts');
    const obs = (effectiveDateTime: string) => ({ resourceType: 'Observation', id: 'o', effectiveDateTime }) as never;
    expect(clinicalYear(obs('2014-12-31T21:00:00-05:00'))).toBe(2014); // 2015-01-01T02:00Z
    expect(clinicalYear(obs('2015-01-01T02:00:00+05:00'))).toBe(2015); // 2014-12-31T21:00Z
    expect(clinicalYear(obs('2015'))).toBe(2015);
    expect(clinicalYear({ resourceType: 'Condition', id: 'c', onsetDateTime: '1999-06' } as never)).toBe(1999);
    expect(clinicalYear({ resourceType: 'Patient', id: 'p' } as never)).toBeNull();
  });
});
