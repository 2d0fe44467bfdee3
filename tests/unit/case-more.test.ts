import { describe, expect, it } from 'vitest';
import { CaseMore, type ReadTypes } from '../../client/src/app/clinical/case-more.ts';
import type { CaseResourceType } from '../../shared/src/fhir.ts';
import type { CaseReadResponse, CaseTypeRead } from '../../shared/src/http.ts';

/**
 * The case panel's on-demand reader without a server: what it asks for (the
 * server side, and the one audit row per read, is tests/integration/case-read-audit.test.ts).
 */
type Asked = { types: CaseResourceType[]; offset: number; limit: number };
const page = (type: CaseResourceType, n: number, nextOffset: number | null): CaseTypeRead => ({
  type,
  status: 'read',
  resources: Array.from({ length: n }, (_, i) => ({ resourceType: type, id: `${type}-${i}` })),
  nextOffset,
});
const answer = (types: CaseTypeRead[]): CaseReadResponse => ({ caseId: 'c', deidentified: false, types });

/** A reader whose answers the test gives by hand, one per read, in order. */
function manual() {
  const asked: Asked[] = [];
  const pending: ((a: CaseReadResponse | Error) => void)[] = [];
  const read: ReadTypes = (q) => {
    asked.push(q);
    return new Promise((resolve, reject) => pending.push((a) => (a instanceof Error ? reject(a) : resolve(a))));
  };
  return { asked, read, answer: (a: CaseReadResponse | Error) => pending.shift()!(a) };
}
const settle = () => new Promise((r) => setTimeout(r, 0));

describe('CaseMore', () => {
  it('every type a render asks about goes out in one read; the answer says readable or denied per type', async () => {
    const r = manual();
    let changes = 0;
    const more = new CaseMore(r.read, () => changes++);
    for (const t of ['Encounter', 'Immunization', 'Procedure'] as const) expect(more.readable(t)).toBeUndefined();
    expect(more.readable('Encounter')).toBeUndefined(); // asked twice in the render: once in the read
    await settle();
    expect(r.asked).toEqual([{ types: ['Encounter', 'Immunization', 'Procedure'], offset: 0, limit: 1 }]);
    r.answer(answer([page('Encounter', 0, null), page('Immunization', 1, null), { type: 'Procedure', status: 'denied', code: 'SCOPE_DENIED' }]));
    await settle();
    expect([more.readable('Encounter'), more.readable('Immunization'), more.readable('Procedure')]).toEqual([true, true, false]);
    expect(more.complete('Immunization')).toHaveLength(1); // the whole record of it, already
    expect(changes).toBe(1);
    await settle();
    expect(r.asked).toHaveLength(1);
  });

  it('every type refused (403 SCOPE_DENIED): all denied; a network failure: unknown, and not asked again until reset', async () => {
    const r = manual();
    const more = new CaseMore(r.read, () => {});
    more.readable('Condition');
    more.readable('Procedure');
    await settle();
    r.answer(Object.assign(new Error('x'), { code: 'SCOPE_DENIED' }));
    await settle();
    expect([more.readable('Condition'), more.readable('Procedure')]).toEqual([false, false]);
    more.readable('Encounter');
    await settle();
    r.answer(Object.assign(new Error('x'), { code: 'UNAVAILABLE' }));
    await settle();
    expect(more.readable('Encounter')).toBeUndefined();
    await settle();
    expect(r.asked).toHaveLength(2);
  });

  it('an answer to a read asked before a reset (access changed) is dropped, and the types are asked again', async () => {
    const r = manual();
    const more = new CaseMore(r.read, () => {});
    more.readable('Condition');
    await settle();
    more.reset();
    expect(more.readable('Condition')).toBeUndefined();
    await settle();
    r.answer(answer([{ type: 'Condition', status: 'denied', code: 'SCOPE_DENIED' }])); // under the old access
    await settle();
    expect(more.readable('Condition')).toBeUndefined();
    r.answer(answer([page('Condition', 0, null)]));
    await settle();
    expect(more.readable('Condition')).toBe(true);
    expect(r.asked.map((a) => a.types)).toEqual([['Condition'], ['Condition']]);
  });

  it('"show all" of two types reads both per page, then only the one with more, until none has', async () => {
    const r = manual();
    const more = new CaseMore(r.read, () => {}, 2);
    const done = more.showAll(['MedicationRequest', 'MedicationStatement']);
    expect(more.isLoading('MedicationRequest')).toBe(true);
    await settle();
    r.answer(answer([page('MedicationRequest', 2, 2), page('MedicationStatement', 1, null)]));
    await settle();
    r.answer(answer([page('MedicationRequest', 2, 4)]));
    await settle();
    r.answer(answer([page('MedicationRequest', 1, null)]));
    await done;
    expect(r.asked).toEqual([
      { types: ['MedicationRequest', 'MedicationStatement'], offset: 0, limit: 2 },
      { types: ['MedicationRequest'], offset: 2, limit: 2 },
      { types: ['MedicationRequest'], offset: 4, limit: 2 },
    ]);
    expect(more.complete('MedicationRequest')).toHaveLength(5);
    expect(more.complete('MedicationStatement')).toHaveLength(1);
    expect(more.isLoading('MedicationRequest')).toBe(false);
    expect(more.error).toBe('');
  });

  it('"show all" of a type refused meanwhile says so and keeps nothing', async () => {
    const r = manual();
    const more = new CaseMore(r.read, () => {});
    const done = more.showAll(['Condition']);
    await settle();
    r.answer(answer([{ type: 'Condition', status: 'denied', code: 'SCOPE_DENIED' }]));
    await done;
    expect(more.error).toContain('SCOPE_DENIED');
    expect(more.complete('Condition')).toBeUndefined();
  });
});
