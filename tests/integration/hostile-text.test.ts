import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { isSafeText } from '../../shared/src/text.ts';
import { caseBundle, liveObservation } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Hostile text on every surface that takes text from outside: a clear 400
 * with a stable code and the offending path, never a 500, and nothing of it
 * reaches PostgreSQL (which refuses NUL and unpaired surrogates in text/jsonb).
 */
const HOSTILE: Record<string, string> = {
  nul: 'x\u0000y',
  loneHigh: 'x\ud83dy',
  loneLow: 'x\ude00y',
  c1: 'x\u0085y',
  escape: 'x\u001b[2Jy',
  del: 'x\u007fy',
};

let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;
let patientId: string;
let url: string;

beforeAll(async () => {
  server = await startTestServer();
  url = server.app.url;
  admin = await server.as('ht.admin', { admin: true });
  ({ caseId, patientId } = await admin.api.importCase(caseBundle({ name: 'Hostile Text', mrn: 'MRN-HT-1', note: 'baseline' })));
});
afterAll(async () => {
  await server?.stop();
});

async function send(method: string, path: string, body: unknown, token: string | null = admin.api.identityToken): Promise<{ status: number; json: { error?: { code: string; message?: string; details?: { path: string }[] } } }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { error?: { code: string; message?: string; details?: { path: string }[] } } };
}

describe('hostile text over HTTP', () => {
  it('room titles: every hostile string is BODY_INVALID naming `title`, on create and on patch', async () => {
    const room = await server.createRoom({ participants: [] });
    for (const [name, bad] of Object.entries(HOSTILE)) {
      const created = await send('POST', '/api/rooms', { title: `Board ${bad}`, kind: 'case-conference' });
      expect([name, created.status, created.json.error?.code]).toEqual([name, 400, 'BODY_INVALID']);
      expect(JSON.stringify(created.json.error?.details)).toContain('title');
      const patched = await send('PATCH', `/api/rooms/${room.id}`, { title: bad });
      expect([name, patched.status, patched.json.error?.code]).toEqual([name, 400, 'BODY_INVALID']);
    }
    expect((await admin.api.getRoom(room.id)).title).toBe('Test room');
  });

  it('huge strings are refused by size, not by a crash', async () => {
    const huge = await send('POST', '/api/rooms', { title: 'a'.repeat(200_000), kind: 'case-conference' });
    expect([huge.status, huge.json.error?.code]).toEqual([400, 'BODY_INVALID']);
    const long = await send('POST', '/api/rooms', { title: 'a'.repeat(201), kind: 'case-conference' });
    expect([long.status, long.json.error?.code]).toEqual([400, 'BODY_INVALID']);
  });

  it('scopes and names at sign-in, and participant scopes, refuse hostile text', async () => {
    for (const bad of Object.values(HOSTILE)) {
      expect((await send('POST', '/api/dev/login', { userId: 'ht.u', name: 'Dr', scopes: [`patient/*.rs${bad}`] }, null)).status).toBe(400);
      expect((await send('POST', '/api/dev/login', { userId: 'ht.u', name: `Dr ${bad}` }, null)).json.error?.code).toBe('BODY_INVALID');
      const create = await send('POST', '/api/rooms', { title: 'T', kind: 'case-conference', participants: [{ userId: 'ht.u', role: 'clinician', scopes: [bad] }] });
      expect(create.json.error?.code).toBe('BODY_INVALID');
    }
  });

  it('FHIR imports: hostile text anywhere in the raw bundle (values and keys) is BODY_INVALID with its JSON path', async () => {
    for (const [name, bad] of Object.entries(HOSTILE)) {
      const bundle = caseBundle({ name: `Canary${bad}Patient`, mrn: 'MRN-HT-2', note: 'n' }) as { entry: { resource: Record<string, unknown> }[] };
      const res = await send('POST', '/api/cases', bundle);
      expect([name, res.status, res.json.error?.code]).toEqual([name, 400, 'BODY_INVALID']);
      // The Patient itself is refused (entry 0, with the path inside it), so the bundle has no patient.
      expect(res.json.error?.details).toContainEqual(expect.objectContaining({ entry: 0, path: expect.stringMatching(/^resource\./) }));
      expect(JSON.stringify(res.json)).not.toContain('Canary');
    }
    const withBadKey = caseBundle({ name: 'Key Test', mrn: 'MRN-HT-3', note: 'n' }) as { entry: { resource: Record<string, unknown> }[] };
    withBadKey.entry[1]!.resource['ext\u0000'] = 'x';
    // A bad entry other than the Patient is refused alone and reported (issue 11: one bad entry does not sink a bundle).
    const keyed = await send('POST', '/api/cases', withBadKey);
    expect(keyed.status).toBe(201);
    expect((keyed.json as unknown as { refused: unknown }).refused).toEqual([{ entry: 1, path: 'resource', reason: expect.stringMatching(/key contains a control character/) }]);
    // A deeply nested document does not overflow anything.
    const deep = '['.repeat(100_000) + '"\\u0000"' + ']'.repeat(100_000);
    const nested = await send('POST', '/api/cases', deep);
    expect([nested.status, nested.json.error?.code]).toEqual([400, 'BODY_INVALID']);
    // Larger than the import limit: refused by size.
    const tooBig = await send('POST', '/api/cases', JSON.stringify({ resourceType: 'Bundle', pad: 'a'.repeat(32 * 1024 * 1024 + 10) }));
    expect([tooBig.status, tooBig.json.error?.code, tooBig.json.error?.message]).toEqual([400, 'BODY_INVALID', 'Request body is too large']);
    // Not JSON at all (parsed on the worker): the same code.
    const garbled = await send('POST', '/api/cases', '{"resourceType": "Bundle", ');
    expect([garbled.status, garbled.json.error?.code]).toEqual([400, 'BODY_INVALID']);
  });

  it('live Observations: hostile text is refused and never delivered', async () => {
    for (const bad of Object.values(HOSTILE)) {
      const res = await send('POST', `/api/cases/${caseId}/observations`, liveObservation(patientId, `note ${bad}`));
      expect([res.status, res.json.error?.code, res.json.error?.details?.[0]?.path]).toEqual([400, 'BODY_INVALID', 'note.0.text']);
    }
  });

  it('query strings: NUL, C1 and DEL in audit filters are QUERY_INVALID', async () => {
    for (const q of ['user=a%00b', 'user=a%C2%85b', 'room=%7F', 'format=json%00', 'x%00=1']) {
      const res = await fetch(`${url}/api/audit?${q}`, { headers: { authorization: `Bearer ${admin.api.identityToken}` } });
      expect([q, res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([q, 400, 'QUERY_INVALID']);
    }
  });
});

describe('hostile text in room messages (through the SDK)', () => {
  it('break-glass reasons, labels, deny reasons and presenter ids are MESSAGE_INVALID; the sender stays connected and other users are unaffected', async () => {
    const room = await server.createRoom({ caseId, participants: [{ userId: 'ht.cli', role: 'clinician' }, { userId: 'ht.host', role: 'host' }, { userId: 'ht.other', role: 'clinician' }] });
    const cli = await server.join('ht.cli', room.id);
    const host = await server.join('ht.host', room.id);
    const other = await server.as('ht.other');
    const transform = { position: [0, 1, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };

    // One participant floods hostile reasons while another keeps asking for tickets.
    const flood = (async () => {
      const replies = [];
      for (let i = 0; i < 40; i++) replies.push(await cli.breakGlass(['MedicationStatement'], `urgent reason ${HOSTILE.nul} #${i}`));
      return replies;
    })();
    const tickets = await Promise.all(Array.from({ length: 15 }, () => other.api.getTicket(room.id)));
    expect(tickets.every((t) => typeof t.ticket === 'string')).toBe(true);
    for (const reply of await flood) expect(reply).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });

    const controls = Object.entries(HOSTILE).filter(([name]) => !name.startsWith('lone'));
    for (const [name, bad] of controls) {
      expect([name, await cli.breakGlass(['MedicationStatement'], `a long enough reason ${bad}`)]).toMatchObject([name, { ok: false, error: { code: 'MESSAGE_INVALID' } }]);
      expect([name, await cli.add({ kind: 'label', asset: 'builtin:heart', label: `label ${bad}`, transform })]).toMatchObject([name, { ok: false, error: { code: 'MESSAGE_INVALID' } }]);
      expect([name, await host.deny('req1', `no ${bad}`)]).toMatchObject([name, { ok: false, error: { code: 'MESSAGE_INVALID' } }]);
      expect([name, await host.request('presenter.set', { sessionId: `s${bad}` })]).toMatchObject([name, { ok: false, error: { code: 'MESSAGE_INVALID' } }]);
    }
    // Unpaired surrogates cannot cross the wire: msgpack carries UTF-8, and both ends turn a lone
    // half into U+FFFD. Whatever the server keeps is well-formed (the schema would refuse the rest).
    for (const bad of [HOSTILE.loneHigh!, HOSTILE.loneLow!]) {
      const reply = await cli.add({ kind: 'label', asset: 'builtin:heart', label: `half ${bad}`, transform });
      if (reply.ok) expect(await eventually(() => host.objects().find((o) => o.id === reply.objectId)?.label)).toMatch(/^half x\ufffd+y$/);
      else expect(reply.error.code).toBe('MESSAGE_INVALID');
    }
    expect(await cli.add({ kind: 'label', asset: 'builtin:heart', label: 'x'.repeat(501), transform })).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });

    // Still connected, still working: a clean label goes through, and nobody's state holds the hostile ones.
    const ok = await cli.add({ kind: 'label', asset: 'builtin:heart', label: 'Aortic valve – calcified ✓ 🫀', transform });
    expect(ok).toMatchObject({ ok: true });
    await eventually(() => host.objects().some((o) => o.label.endsWith('🫀')));
    for (const o of host.objects()) expect(isSafeText(o.label), o.label).toBe(true);
    await Promise.all([cli.leave(), host.leave()]);
  });
});
