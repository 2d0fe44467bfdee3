import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsiliumClient, ConsiliumError, PROTOCOL_VERSION } from '../../client/src/sdk/index.ts';
import { loadOrCreateSigningKey } from '../../server/src/auth/keys.ts';
import { TICKET_AUDIENCE, TICKET_ISSUER, TICKET_TYPE } from '../../server/src/auth/tickets.ts';
import { KeysRepo } from '../../server/src/db/keys.repo.ts';
import { Client } from '@colyseus/sdk';
import { ClinicState } from '../../shared/src/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let roomId: string;
let otherRoomId: string;

beforeAll(async () => {
  server = await startTestServer();
  roomId = (await server.createRoom({ participants: [{ userId: 'rita', role: 'clinician' }, { userId: 'sam', role: 'observer' }] })).id;
  otherRoomId = (await server.createRoom({ participants: [{ userId: 'rita', role: 'host' }] })).id;
});
afterAll(async () => {
  await server?.stop();
});

/** Join with a raw ticket string, returning the refusal code (or 'JOINED'). */
async function joinWith(ticket: string | null, options: Record<string, unknown> = { protocolVersion: PROTOCOL_VERSION }, id = roomId): Promise<string> {
  const client = new Client(server.app.url);
  if (ticket !== null) client.auth.token = ticket;
  try {
    const room = await client.joinById(id, options, ClinicState);
    await room.leave();
    return 'JOINED';
  } catch (err) {
    const msg = (err as Error).message;
    return /^([A-Z_]+):/.exec(msg)?.[1] ?? `UNPARSED ${msg}`;
  }
}

async function signTicket(claims: Record<string, unknown>, opts: { exp?: number; key?: 'real' | 'forged'; typ?: string } = {}): Promise<string> {
  const real = await loadOrCreateSigningKey(new KeysRepo(server.app.pool), 'ticket');
  const key = opts.key === 'forged' ? (await generateKeyPair('EdDSA', { crv: 'Ed25519' })).privateKey : real.privateKey;
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ name: 'Rita', room: roomId, role: 'clinician', scope: '', ...claims })
    .setProtectedHeader({ alg: 'EdDSA', kid: real.kid, typ: opts.typ ?? TICKET_TYPE })
    .setIssuer(TICKET_ISSUER)
    .setAudience(TICKET_AUDIENCE)
    .setSubject('rita')
    .setJti('t-' + Math.random())
    .setIssuedAt(now - 600)
    .setExpirationTime(opts.exp ?? now + 60)
    .sign(key);
}

describe('room tickets', () => {
  it('an invited participant gets a short-lived ticket with their role and joins with it', async () => {
    const rita = await server.as('rita', { name: 'Rita Ruiz' });
    const t = await rita.api.getTicket(roomId);
    expect(t).toMatchObject({ roomId, role: 'clinician', endpoint: server.app.url, voice: null }); // LIVEKIT_* unset: voice off
    const lifetime = new Date(t.expiresAt).getTime() - Date.now();
    expect(lifetime).toBeGreaterThan(0);
    expect(lifetime).toBeLessThanOrEqual(300_000);
    const [, payload] = t.ticket.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims).toMatchObject({ sub: 'rita', name: 'Rita Ruiz', room: roomId, role: 'clinician', scope: 'patient/*.rs' });
    expect(await joinWith(t.ticket)).toBe('JOINED');
  });

  it('refuses a join without a ticket, with a forged, expired, wrongly typed or other-room ticket', async () => {
    expect(await joinWith(null)).toBe('TICKET_REQUIRED');
    expect(await joinWith('not-a-jwt')).toBe('TICKET_INVALID');
    expect(await joinWith(await signTicket({}, { key: 'forged' }))).toBe('TICKET_INVALID');
    expect(await joinWith(await signTicket({}, { exp: Math.floor(Date.now() / 1000) - 60 }))).toBe('TICKET_EXPIRED');
    expect(await joinWith(await signTicket({}, { typ: 'JWT' }))).toBe('TICKET_INVALID');
    expect(await joinWith(await signTicket({ role: 'emperor' }))).toBe('TICKET_INVALID');
    const rita = await server.as('rita');
    const otherRoomTicket = await rita.api.getTicket(otherRoomId);
    expect(await joinWith(otherRoomTicket.ticket)).toBe('TICKET_WRONG_ROOM');
    // A genuine ticket is still accepted (the checks above are not refusing everything).
    expect(await joinWith(await signTicket({}))).toBe('JOINED');
  });

  it('refuses an identity token used as a ticket', async () => {
    const rita = await server.as('rita');
    expect(await joinWith(rita.api.identityToken)).toBe('TICKET_INVALID');
  });

  it('refuses clients on another protocol version or with malformed join options', async () => {
    const t = await (await server.as('rita')).api.getTicket(roomId);
    expect(await joinWith(t.ticket, { room: roomId, protocolVersion: PROTOCOL_VERSION + 1 })).toBe('PROTOCOL_MISMATCH');
    expect(await joinWith(t.ticket, { room: 'nope' })).toBe('BODY_INVALID');
  });

  it('issues tickets only to invited users; an uninvited admin enters as observer', async () => {
    const stranger = await server.as('stranger');
    await expect(stranger.api.getTicket(roomId)).rejects.toMatchObject({ code: 'NOT_INVITED', status: 403 });
    const admin = await server.as('helpdesk', { admin: true });
    const t = await admin.api.getTicket(roomId);
    expect(t.role).toBe('observer');
    const session = await admin.joinWithTicket(t);
    await session.ready();
    expect(session.participants().find((p) => p.userId === 'helpdesk')?.role).toBe('observer');
    expect(await session.grab('anything')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await session.leave();
  });

  it('requires a valid identity token for tickets', async () => {
    const anon = new ConsiliumClient(server.app.url);
    await expect(anon.api.getTicket(roomId)).rejects.toMatchObject({ code: 'AUTH_REQUIRED', status: 401 });
    anon.api.identityToken = 'garbage';
    await expect(anon.api.getTicket(roomId)).rejects.toMatchObject({ code: 'AUTH_INVALID', status: 401 });
    const rita = await server.as('rita');
    await expect(rita.api.getTicket('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'ROOM_NOT_FOUND' });
    await expect(rita.api.getTicket('not-a-uuid')).rejects.toBeInstanceOf(ConsiliumError);
  });

  it('a user removed from the room after getting a ticket cannot join with it (revoked)', async () => {
    const id = (await server.createRoom({ participants: [{ userId: 'tom', role: 'clinician' }] })).id;
    const tom = await server.as('tom');
    const t = await tom.api.getTicket(id);
    const admin = await server.as('it.admin', { admin: true });
    // The room goes live with someone else, then tom is uninvited.
    await admin.api.updateRoom(id, { participants: [{ userId: 'ula', role: 'host' }] });
    const ula = await (await server.as('ula')).join(id);
    await expect(tom.joinWithTicket(t)).rejects.toMatchObject({ code: 'TICKET_REVOKED' });
    await ula.leave();
  });
});
