import { describe, expect, it } from 'vitest';
import type { StateView } from '@colyseus/schema';
import type { FhirResource } from '../../shared/src/fhir.ts';
import { preparedCase } from '../../server/src/domain/case-view.ts';
import type { Clinic } from '../../server/src/rooms/clinic.ts';
import { sharedCaseCount, sharedCaseEntries } from '../../server/src/rooms/shared-case.ts';
import { CASE, memoryClinic, PATIENT, resources } from '../support/memory-clinic.ts';

/**
 * Rooms showing the same case share its entries (every copy of every summary resource, with its
 * JSON) instead of each making its own (issue 20, memory). Shared only when made from the same
 * things: another resource, key or year makes another set; a room's live additions stay its own.
 */
const record = (over: { pseudonymKey?: string; resources?: FhirResource[] } = {}) => ({ id: CASE, patientId: PATIENT, pseudonymKey: over.pseudonymKey ?? 'k'.repeat(64), resources: over.resources ?? structuredClone(resources) });
const summaryOf = (r: ReturnType<typeof record>) => r.resources;

function shown(clinic: Clinic, view: StateView): string[] {
  const keys: string[] = [];
  clinic.state.caseEntries.forEach((e) => void (view.has(e) && keys.push(e.key)));
  return keys.sort();
}

describe('shared case entries', () => {
  it('the same case, read twice, gives the same entries; another resource, key or year gives others', () => {
    const now = new Date('2031-05-01T00:00:00Z');
    const a = record();
    const b = record(); // read again: equal content, other objects
    const first = sharedCaseEntries(preparedCase(a, now), summaryOf(a));
    const again = sharedCaseEntries(preparedCase(b, new Date('2031-11-30T00:00:00Z')), summaryOf(b));
    expect(again).toBe(first);
    expect(first.map((e) => e.variant)).toContain('deidentified');
    for (const e of first) {
      expect(e.json).toBe(JSON.stringify(e.resource));
      expect(Object.isFrozen(e)).toBe(true);
    }

    const more = record({ resources: [...structuredClone(resources), { resourceType: 'Observation', id: 'obs-2', status: 'final', code: { text: 'Heart rate' }, subject: { reference: `Patient/${PATIENT}` }, valueQuantity: { value: 91, unit: '/min' } } as FhirResource] });
    expect(sharedCaseEntries(preparedCase(more, now), summaryOf(more))).not.toBe(first);
    const rekeyed = record({ pseudonymKey: 'j'.repeat(64) });
    const other = sharedCaseEntries(preparedCase(rekeyed, now), summaryOf(rekeyed));
    expect(other).not.toBe(first);
    expect(other.find((e) => e.variant === 'deidentified')!.key).not.toBe(first.find((e) => e.variant === 'deidentified')!.key);
    // De-identified ages are counted to the year: a new year makes new copies.
    expect(sharedCaseEntries(preparedCase(a, new Date('2032-01-01T00:00:00Z')), summaryOf(a))).not.toBe(first);
  });

  it('two rooms on one case hold one set; each seat still gets its own copy; a live resource stays in its room', async () => {
    const roomA = memoryClinic([{ userId: 'ann', role: 'clinician' }]);
    const roomB = memoryClinic([{ userId: 'obi', role: 'observer' }]);
    const before = sharedCaseCount();
    const a = await roomA.open();
    const b = await roomB.open();
    expect(sharedCaseCount()).toBe(before + 1);

    const annView = await a.admit('a1', roomA.ticket('ann'));
    const obiView = await b.admit('b1', roomB.ticket('obi'));
    await new Promise((r) => setTimeout(r, 5));
    expect(shown(a, annView).some((k) => k.startsWith('identified:Patient/'))).toBe(true);
    expect(shown(b, obiView).length).toBeGreaterThan(0);
    expect(shown(b, obiView).every((k) => k.startsWith('deidentified:'))).toBe(true);
    // Both states carry the same entries, JSON and all.
    const json = (c: Clinic) => [...c.state.caseEntries.values()].map((e) => `${e.key} ${e.json}`).sort();
    expect(json(b)).toEqual(json(a));

    await a.addCaseResource({ resourceType: 'Observation', id: 'obs-live', status: 'final', code: { text: 'SpO2' }, subject: { reference: `Patient/${PATIENT}` }, valueQuantity: { value: 97, unit: '%' } } as FhirResource);
    expect(a.state.caseEntries.has('identified:Observation/obs-live')).toBe(true);
    expect(b.state.caseEntries.has('identified:Observation/obs-live')).toBe(false);
    expect(sharedCaseCount()).toBe(before + 1);
  });
});
