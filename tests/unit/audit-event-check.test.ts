import { describe, expect, it } from 'vitest';
import { checkAuditEvent, textProblem } from '../../server/src/audit/event-check.ts';

const ev = (details: Record<string, unknown>, extra: object = {}) => checkAuditEvent({ actor: 'dr.a', action: 'case.read', details, ...extra });

describe('audit event pre-check', () => {
  it('follows the shared text rule: refuses control characters but tab, LF and CR (CRLF from dictation and native clients is fine), C1, and unpaired surrogates', () => {
    expect(textProblem('a\tb\nc é 😀 日本')).toBeNull();
    expect(textProblem('need it now,\r\nplease')).toBeNull();
    expect(textProblem('a\u0000b')).toBe('control character U+0000');
    expect(textProblem('a\u0085b')).toBe('control character U+0085');
    expect(textProblem('a\u007fb')).toBe('control character U+007F');
    expect(textProblem('\u001b[31m')).toBe('control character U+001B');
    expect(textProblem('x\ud83d')).toBe('an unpaired surrogate');
    expect(textProblem('\ude00x')).toBe('an unpaired surrogate');
    expect(textProblem('\ude00\ud83d')).toBe('an unpaired surrogate'); // reversed pair
  });

  it('walks nested details and keys, naming the path but never the text', () => {
    const secret = 'Roe-MRN-4411';
    const r = ev({ a: [{ b: `x${secret}\u0000` }] });
    expect(r).toEqual({ problem: 'details.a[0].b contains control character U+0000' });
    const k = ev({ [`${secret}\u0000`]: 1 });
    expect(k).toEqual({ problem: 'a key in details contains control character U+0000' });
    expect(JSON.stringify(ev({ [`${secret} key`]: 'x\ud800' }))).not.toContain(secret);
  });

  it('checks the columns: actor, action and subject text, UUID ids', () => {
    expect(checkAuditEvent({ actor: 'a\u0000', action: 'case.read' })).toEqual({ problem: 'actor contains control character U+0000' });
    expect(checkAuditEvent({ actor: 'a', action: 'case.read', subject: 'x'.repeat(600) })).toEqual({ problem: 'subject is longer than 512 characters' });
    expect(ev({}, { roomId: 'nope' })).toEqual({ problem: 'roomId is not a UUID' });
    expect(ev({}, { patientId: '00000000-0000-4000-8000-000000000001', caseId: null })).toEqual({ details: {} });
  });

  it('stores details as jsonb will keep them (the hash covers exactly that), and refuses what is not JSON', () => {
    const at = new Date('2026-11-25T10:00:00.000Z');
    expect(ev({ at, gone: undefined, n: [1, undefined] })).toEqual({ details: { at: '2026-11-25T10:00:00.000Z', n: [1, null] } });
    expect(ev({ n: 1n } as unknown as Record<string, unknown>)).toEqual({ problem: 'details are not serializable JSON' });
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(ev(loop)).toEqual({ problem: 'details are not serializable JSON' });
    expect(ev({ big: 'x'.repeat(4_200_000) })).toEqual({ problem: 'details exceed 4194304 characters' });
    expect(ev({ resources: Array.from({ length: 20_000 }, (_, i) => `Observation/${i.toString(16).padStart(32, '0')}`) })).toHaveProperty('details');
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) deep = { d: deep };
    expect(ev(deep)).toMatchObject({ problem: expect.stringContaining('nests deeper') });
  });
});
