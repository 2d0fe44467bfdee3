import { describe, expect, it } from 'vitest';
import { canonicalJson, GENESIS_HASH, rowHash, type ChainedRow } from '../../server/src/audit/canonical.ts';

const row: ChainedRow = {
  seq: 1,
  at: '2026-11-25T10:00:00.000Z',
  actor: 'dr.adams',
  action: 'disclosure',
  outcome: 'success',
  roomId: '00000000-0000-4000-8000-000000000001',
  caseId: null,
  patientId: null,
  subject: null,
  details: { resources: ['Observation/1'], basis: 'scope' },
  prevHash: GENESIS_HASH,
};

describe('audit hash chain', () => {
  it('canonical JSON is independent of key order', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}');
  });

  it('any change to any covered field, or to the link, changes the hash', () => {
    const h = rowHash(row);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(rowHash({ ...row })).toBe(h);
    const variants: Partial<ChainedRow>[] = [
      { seq: 2 }, { at: '2026-11-25T10:00:00.001Z' }, { actor: 'x' }, { action: 'room.join' }, { outcome: 'failure' },
      { roomId: null }, { caseId: 'c' }, { patientId: 'p' }, { subject: 's' }, { details: { resources: ['Observation/2'], basis: 'scope' } }, { prevHash: 'f'.repeat(64) },
    ];
    for (const v of variants) expect(rowHash({ ...row, ...v }), JSON.stringify(v)).not.toBe(h);
  });

  it('ignores a hash field carried by a row read back', () => {
    expect(rowHash({ ...row, hash: 'whatever' } as ChainedRow)).toBe(rowHash(row));
  });
});
