import { describe, expect, it } from 'vitest';
import { ClientMessages } from '../../shared/src/messages.ts';
import { CreateRoomBody, DevLoginBody } from '../../shared/src/http.ts';
import { findUnsafeText, isSafeText, safeText } from '../../shared/src/text.ts';

const HOSTILE = {
  nul: 'a\u0000b',
  bell: 'a\u0007b',
  escape: 'a\u001b[31mred',
  del: 'a\u007fb',
  c1: 'a\u0085b', // NEL
  c1csi: 'a\u009bb',
  loneHigh: 'a\ud800b',
  loneLow: 'a\udc00b',
  highAtEnd: 'abc\ud83d',
  lowAtStart: '\ude00abc',
  reversedPair: 'a\udc00\ud800b',
};

describe('the shared text rule', () => {
  it('refuses every control character but tab, LF and CR, and both halves of unpaired surrogates', () => {
    for (const [name, s] of Object.entries(HOSTILE)) expect([name, isSafeText(s)]).toEqual([name, false]);
    for (let c = 0; c <= 0x9f; c++) {
      const ch = String.fromCharCode(c);
      const control = c < 0x20 || (c >= 0x7f && c <= 0x9f);
      expect([c, isSafeText(`x${ch}y`)]).toEqual([c, !control || ch === '\t' || ch === '\n' || ch === '\r']);
    }
  });

  it('accepts ordinary clinical text in any script, emoji (paired surrogates) and line breaks', () => {
    for (const s of ['Mrs. Ødegård-Łukasz, 72 y', '心房細動', 'فشل القلب', 'heart 🫀 ok 👩🏽‍⚕️', 'line 1\r\nline 2\tcol', '']) expect(isSafeText(s)).toBe(true);
  });

  it('safeText refuses huge strings by length before scanning them', () => {
    const schema = safeText({ max: 10 });
    const r = schema.safeParse('\u0000'.repeat(5_000_000));
    expect(r.success).toBe(false);
    expect(r.error!.issues).toHaveLength(1);
    expect(r.error!.issues[0]!.code).toBe('too_big');
    expect(schema.safeParse('ok').success).toBe(true);
  });

  it('findUnsafeText names the JSON path of the first bad string or key, and survives hostile nesting', () => {
    expect(findUnsafeText({ entry: [{ resource: { name: [{ family: 'Doe' }] } }, { resource: { name: [{ family: 'D\u0000e' }] } }] })).toEqual({
      path: 'entry[1].resource.name[0].family',
      message: expect.any(String),
    });
    expect(findUnsafeText({ ok: 'x', ['bad\ud800']: 1 })?.path).toBe('(key)');
    expect(findUnsafeText('\u0001')?.path).toBe('(root)');
    expect(findUnsafeText({ a: [1, true, null, 'fine', { b: 'still fine' }] })).toBeNull();
    let deep: unknown = 'bottom\u0000';
    for (let i = 0; i < 200_000; i++) deep = [deep];
    expect(findUnsafeText(deep)?.path).toMatch(/^(\[0\]){200000}$/);
  });

  it('every free-text field of the shared schemas obeys it', () => {
    const reason = 'emergency: patient crashing \u0000';
    expect(ClientMessages['access.breakGlass'].safeParse({ resourceTypes: ['Observation'], reason }).success).toBe(false);
    expect(ClientMessages['access.deny'].safeParse({ requestId: 'r1', reason: 'no\ud800' }).success).toBe(false);
    expect(ClientMessages['presenter.set'].safeParse({ sessionId: 'a\u0085' }).success).toBe(false);
    const add = { kind: 'label', asset: 'builtin:heart', transform: { position: [0, 0, 0], rotation: [0, 0, 0, 1] } };
    expect(ClientMessages['object.add'].safeParse({ ...add, label: 'ok' }).success).toBe(true);
    expect(ClientMessages['object.add'].safeParse({ ...add, label: 'bad\udc00' }).success).toBe(false);
    expect(CreateRoomBody.safeParse({ title: 'Tumour board\u0000', kind: 'case-conference' }).success).toBe(false);
    expect(DevLoginBody.safeParse({ userId: 'u1', name: 'Dr\u0007' }).success).toBe(false);
    expect(DevLoginBody.safeParse({ userId: 'u1', name: 'Dr', scopes: ['patient/*.rs\u0000'] }).success).toBe(false);
  });
});
