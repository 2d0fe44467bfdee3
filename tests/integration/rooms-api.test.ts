import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let admin: ConsiliumClient;
beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
});
afterAll(async () => {
  await server?.stop();
});

async function raw(method: string, path: string, body?: string, token = admin.api.identityToken): Promise<{ status: number; json: any }> {
  const res = await fetch(server.app.url + path, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

describe('rooms API', () => {
  it('admins create, read, update and close rooms', async () => {
    const room = await admin.api.createRoom({
      title: '  Tumour board  ',
      kind: 'case-conference',
      participants: [{ userId: 'vic', role: 'host' }, { userId: 'wen', role: 'observer' }],
    });
    expect(room).toMatchObject({ title: 'Tumour board', kind: 'case-conference', status: 'open', caseId: null, live: false });
    expect(room.participants).toEqual([{ userId: 'vic', role: 'host', scopes: null }, { userId: 'wen', role: 'observer', scopes: null }]);
    expect(await admin.api.getRoom(room.id)).toEqual(room);

    const patched = await admin.api.updateRoom(room.id, { kind: 'surgical-guidance', participants: [{ userId: 'vic', role: 'surgeon' }] });
    expect(patched).toMatchObject({ title: 'Tumour board', kind: 'surgical-guidance', participants: [{ userId: 'vic', role: 'surgeon', scopes: null }] });

    await admin.api.closeRoom(room.id);
    await expect(admin.api.getRoom(room.id)).resolves.toMatchObject({ status: 'closed' });
    expect((await admin.api.listRooms()).some((r) => r.id === room.id)).toBe(false);
    await expect(admin.api.closeRoom(room.id)).rejects.toMatchObject({ code: 'ROOM_CLOSED', status: 410 });
    await expect(admin.api.updateRoom(room.id, { title: 'x' })).rejects.toMatchObject({ code: 'ROOM_CLOSED' });
  });

  it('non-admins cannot administer rooms and only see rooms they are invited to', async () => {
    const mine = await admin.api.createRoom({ title: 'Mine', kind: 'training', participants: [{ userId: 'xia', role: 'clinician' }] });
    const theirs = await admin.api.createRoom({ title: 'Theirs', kind: 'training', participants: [{ userId: 'yan', role: 'clinician' }] });
    const xia = await server.as('xia');
    expect((await xia.api.listRooms()).map((r) => r.id)).toEqual([mine.id]);
    expect((await xia.api.getRoom(mine.id)).title).toBe('Mine');
    await expect(xia.api.getRoom(theirs.id)).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND', status: 404 });
    await expect(xia.api.createRoom({ title: 'x', kind: 'training', participants: [] })).rejects.toMatchObject({ code: 'ADMIN_REQUIRED', status: 403 });
    await expect(xia.api.updateRoom(mine.id, { title: 'x' })).rejects.toMatchObject({ code: 'ADMIN_REQUIRED' });
    await expect(xia.api.closeRoom(mine.id)).rejects.toMatchObject({ code: 'ADMIN_REQUIRED' });
    const all = (await admin.api.listRooms()).map((r) => r.id);
    expect(all).toEqual(expect.arrayContaining([mine.id, theirs.id]));
  });

  it('a removed participant sees the room marked removed (the app offers no Join); re-admitted, it is plain again', async () => {
    const room = await admin.api.createRoom({ title: 'Ward round', kind: 'training', participants: [{ userId: 'zed', role: 'observer' }, { userId: 'zoe', role: 'clinician' }] });
    const zed = await server.as('zed');
    expect((await zed.api.listRooms()).find((r) => r.id === room.id)!.removed).toBeUndefined();
    await admin.api.moderate(room.id, 'kick', 'zed');
    expect((await zed.api.listRooms()).find((r) => r.id === room.id)!.removed).toEqual({ until: null });
    expect((await (await server.as('zoe')).api.listRooms()).find((r) => r.id === room.id)!.removed).toBeUndefined(); // only one's own
    await expect(zed.api.getTicket(room.id)).rejects.toMatchObject({ status: 403 });
  });

  it('validates bodies with a stable code and the offending fields', async () => {
    const bad = await raw('POST', '/api/rooms', JSON.stringify({ title: '', kind: 'party', participants: [{ userId: 'a b', role: 'king' }] }));
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('BODY_INVALID');
    expect(bad.json.error.details.map((d: { path: string }) => d.path).sort()).toEqual(['kind', 'participants.0.role', 'participants.0.userId', 'title']);
    const dup = await raw('POST', '/api/rooms', JSON.stringify({ title: 't', kind: 'training', participants: [{ userId: 'a', role: 'host' }, { userId: 'a', role: 'observer' }] }));
    expect(dup.json.error.code).toBe('BODY_INVALID');
    const extra = await raw('POST', '/api/rooms', JSON.stringify({ title: 't', kind: 'training', isAdmin: true }));
    expect(extra.json.error.code).toBe('BODY_INVALID');
    const notJson = await raw('POST', '/api/rooms', '{"title":');
    expect(notJson).toMatchObject({ status: 400, json: { error: { code: 'BODY_INVALID' } } });
    const empty = await raw('PATCH', `/api/rooms/${(await admin.api.createRoom({ title: 'p', kind: 'training', participants: [] })).id}`, '{}');
    expect(empty.json.error.code).toBe('BODY_INVALID');
    const missing = await raw('GET', '/api/rooms/00000000-0000-4000-8000-000000000000');
    expect(missing).toMatchObject({ status: 404, json: { error: { code: 'ROOM_NOT_FOUND' } } });
    const unauth = await raw('GET', '/api/rooms', undefined, null);
    expect(unauth).toMatchObject({ status: 401, json: { error: { code: 'AUTH_REQUIRED' } } });
    const devBad = await raw('POST', '/api/dev/login', JSON.stringify({ userId: '', name: 'x' }), null);
    expect(devBad).toMatchObject({ status: 400, json: { error: { code: 'BODY_INVALID' } } });
  });

  it('sends security headers: CSP limited to this origin, no framing, no sniffing', async () => {
    const res = await fetch(server.app.url + '/healthz');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('serves health, readiness and the development JWKS', async () => {
    expect(await raw('GET', '/healthz', undefined, null)).toEqual({ status: 200, json: { status: 'ok' } });
    expect(await raw('GET', '/readyz', undefined, null)).toMatchObject({ status: 200, json: { database: 'ok' } });
    const jwks = await raw('GET', '/.well-known/jwks.json', undefined, null);
    expect(jwks.json.keys).toEqual([expect.objectContaining({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: expect.any(String) })]);
    expect(jwks.json.keys[0].d).toBeUndefined();
  });

  it('has no /metrics endpoint unless METRICS_TOKEN is set', async () => {
    expect((await fetch(`${server.app.url}/metrics`)).status).toBe(404);
  });

  it('reports a room as live while someone is in it', async () => {
    const room = await admin.api.createRoom({ title: 'Live', kind: 'training', participants: [{ userId: 'zed', role: 'host' }] });
    const zed = await (await server.as('zed')).join(room.id);
    await zed.ready();
    expect((await admin.api.getRoom(room.id)).live).toBe(true);
    await zed.leave();
  });
});
