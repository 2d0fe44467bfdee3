import { Client } from '@colyseus/sdk';
import { matchMaker } from '@colyseus/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsiliumError, type ClinicSession, type ConsiliumClient } from '../../client/src/sdk/index.ts';
import { CLINIC_ROOM, ClinicState, CloseCodes, PROTOCOL_VERSION } from '../../shared/src/index.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Issue 8's red-team cases, attacking the running server with real SDK
 * clients and ordinary tickets: second instances, wrong-room joins, replayed
 * tickets, revocation while a socket is down, kicks that bounce, break-glass
 * abuse and hosts exceeding the admin's ceiling.
 */
captureFrames();

const CANARY = { name: 'Qvxname4410', mrn: 'MRN-Qv-20931', note: 'Qvxnote8812' };
const has = (buf: Buffer, s: string) => buf.includes(Buffer.from(s, 'utf8'));

let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;

beforeAll(async () => {
  server = await startTestServer({ reconnectSeconds: 20 });
  admin = await server.as('root', { admin: true });
  ({ caseId } = await admin.api.importCase(caseBundle(CANARY)));
});
afterAll(async () => {
  await server?.stop();
});

const room = (participants: { userId: string; role: 'host' | 'clinician' | 'specialist' | 'surgeon' | 'observer'; scopes?: string[] }[], extra: { scopeCeiling?: string[] } = {}) =>
  admin.api.createRoom({ title: 'Attack', kind: 'case-conference', caseId, participants, ...extra });

/** The refusal code of a raw matchmaker call. */
async function code(p: Promise<unknown>): Promise<string> {
  try {
    const r = (await p) as { leave?: () => Promise<unknown> };
    await r.leave?.();
    return 'JOINED';
  } catch (err) {
    if (err instanceof ConsiliumError) return err.code;
    return /^([A-Z_]+):/.exec((err as Error).message)?.[1] ?? `UNPARSED ${(err as Error).message}`;
  }
}

/** Drop a session's socket without leaving (the seat is held for reconnection); returns what reconnecting needs. */
async function drop(session: ClinicSession, watcher: ClinicSession): Promise<string> {
  const token = session.room.reconnectionToken;
  session.room.reconnection.enabled = false;
  const sessionId = session.sessionId;
  session.room.connection.close(4999 as never);
  await eventually(() => watcher.participants().find((p) => p.sessionId === sessionId)?.connected === false);
  return token;
}

const liveInstances = async (roomId: string) => (await matchMaker.query({ name: CLINIC_ROOM })).filter((l) => l.roomId === roomId || (l.metadata as { room?: string })?.room === roomId);

describe('one live instance per room', () => {
  it('clients cannot create, match or join-or-create clinic rooms; joinById lands only in the room the ticket names', async () => {
    const a = await room([{ userId: 'mal', role: 'observer' }, { userId: 'cli-a', role: 'clinician' }]);
    const b = await room([{ userId: 'cli-b', role: 'clinician' }]);
    const cli = await server.join('cli-a', a.id);
    const mal = await server.as('mal');
    for (const method of ['create', 'joinOrCreate', 'join'] as const) {
      const t = await mal.api.getTicket(a.id);
      const c = new Client(server.app.url);
      c.auth.token = t.ticket;
      expect(await code(c[method](CLINIC_ROOM, { room: a.id, protocolVersion: PROTOCOL_VERSION }, ClinicState)), method).toBe('JOIN_METHOD_REFUSED');
    }
    // A ticket for room A used on room B's id (claiming room A in the options) is checked against B.
    const t = await mal.api.getTicket(a.id);
    const c = new Client(server.app.url);
    c.auth.token = t.ticket;
    expect(await code(c.joinById(b.id, { room: a.id, protocolVersion: PROTOCOL_VERSION }, ClinicState))).toBe('TICKET_WRONG_ROOM');
    expect(await liveInstances(b.id)).toHaveLength(0); // nothing was started for an unauthenticated request
    expect(await liveInstances(a.id)).toHaveLength(1);
    await cli.leave();
  });

  it('concurrent first joins meet in one instance', async () => {
    const r = await room(['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((userId) => ({ userId, role: 'clinician' as const })));
    const sessions = await Promise.all(['u1', 'u2', 'u3', 'u4', 'u5', 'u6'].map((u) => server.join(u, r.id)));
    expect(await liveInstances(r.id)).toHaveLength(1);
    await eventually(() => sessions.every((s) => s.participants().length === 6));
    await Promise.all(sessions.map((s) => s.leave()));
  });

  it('a ticket opens one seat; a user holds at most 3', async () => {
    const r = await room([{ userId: 'rep', role: 'clinician' }]);
    const rep = await server.as('rep');
    const t = await rep.api.getTicket(r.id);
    const first = await rep.joinWithTicket(t);
    await expect(rep.joinWithTicket(t)).rejects.toMatchObject({ code: 'TICKET_USED' });
    const more = [await rep.join(r.id), await rep.join(r.id)];
    await expect(rep.join(r.id)).rejects.toMatchObject({ code: 'SEAT_LIMIT' });
    await Promise.all([first, ...more].map((s) => s.leave()));
  });
});

describe('changes reach dropped seats', () => {
  it('a removed clinician cannot come back through a held seat', async () => {
    const r = await room([{ userId: 'h1', role: 'host' }, { userId: 'gone', role: 'clinician' }]);
    const host = await server.join('h1', r.id);
    const client = await server.as('gone');
    const victim = await client.join(r.id);
    await victim.ready();
    const token = await drop(victim, host);
    await admin.api.removeParticipant(r.id, 'gone');
    await eventually(() => !host.participants().some((p) => p.userId === 'gone'), 2000);
    await expect(client.reconnect(token)).rejects.toBeInstanceOf(ConsiliumError);
    await host.leave();
  });

  it('a host demoted while dropped comes back as an observer, de-identified, and cannot kick the real host', async () => {
    const r = await room([{ userId: 'boss', role: 'host' }, { userId: 'demo', role: 'host' }]);
    const boss = await server.join('boss', r.id);
    const client = await server.as('demo');
    const demo = await client.join(r.id);
    await eventually(() => demo.caseResources('Patient').length === 1);
    const token = await drop(demo, boss);
    await admin.api.setParticipant(r.id, 'demo', { role: 'observer' });
    await eventually(() => boss.participants().find((p) => p.userId === 'demo')?.role === 'observer', 2000);
    const back = await client.reconnect(token);
    await back.ready();
    await eventually(() => back.caseResources('Observation').length >= 1);
    expect(back.deidentified).toBe(true);
    expect(back.participants().find((p) => p.userId === 'demo')?.role).toBe('observer');
    expect(await back.request('participant.kick', { userId: 'boss' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(boss.participants().some((p) => p.userId === 'boss')).toBe(true);
    await Promise.all([back.leave(), boss.leave()]);
  });

  it('closing the room ends held seats too', async () => {
    const r = await room([{ userId: 'c1', role: 'clinician' }, { userId: 'c2', role: 'clinician' }]);
    const c1 = await server.join('c1', r.id);
    const client = await server.as('c2');
    const c2 = await client.join(r.id);
    const token = await drop(c2, c1);
    const closed = new Promise<number>((resolve) => c1.room.onLeave((code) => resolve(code)));
    await admin.api.closeRoom(r.id);
    expect(await closed).toBe(CloseCodes.ROOM_CLOSED);
    await expect(client.reconnect(token)).rejects.toBeInstanceOf(ConsiliumError);
    await expect(client.join(r.id)).rejects.toMatchObject({ code: 'ROOM_CLOSED' });
  });
});

describe('kicks stick', () => {
  it('a kicked user is out until re-admitted, connected or dropped, and cannot bounce back with a new ticket', async () => {
    const r = await room([{ userId: 'kh', role: 'host' }, { userId: 'kv', role: 'clinician' }, { userId: 'kd', role: 'clinician' }]);
    const host = await server.join('kh', r.id);
    const kv = await server.join('kv', r.id);
    const kdClient = await server.as('kd');
    const kd = await kdClient.join(r.id);
    const kvClosed = new Promise<number>((resolve) => kv.room.onLeave((c) => resolve(c)));
    expect(await host.request('participant.kick', { userId: 'kv' })).toMatchObject({ ok: true });
    expect(await kvClosed).toBe(CloseCodes.KICKED);
    const kvClient = await server.as('kv');
    await expect(kvClient.api.getTicket(r.id)).rejects.toMatchObject({ code: 'KICKED' });

    // Kicked while the socket is down: the held seat is refused too.
    const token = await drop(kd, host);
    expect(await host.request('participant.kick', { userId: 'kd' })).toMatchObject({ ok: true });
    await expect(kdClient.reconnect(token)).rejects.toBeInstanceOf(ConsiliumError);
    await eventually(() => !host.participants().some((p) => p.userId === 'kd'));

    // A host cannot kick themselves; re-admission lets kv back in; both acts are audited.
    expect(await host.request('participant.kick', { userId: 'kh' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const res = await fetch(`${server.app.url}/api/rooms/${r.id}/kicks/kv`, { method: 'DELETE', headers: { authorization: `Bearer ${admin.api.identityToken}` } });
    expect(res.status).toBe(204);
    const back = await kvClient.join(r.id);
    await back.ready();
    const audit = await admin.api.audit({ room: r.id, limit: 200 });
    expect(audit.events.filter((e) => e.action === 'participant.kick').map((e) => e['subject']).sort()).toEqual(['kd', 'kv']);
    expect(audit.events.some((e) => e.action === 'participant.readmit' && e['subject'] === 'kv')).toBe(true);
    await Promise.all([back.leave(), host.leave()]);
  });

  it('console moderation goes through the policy: a host may not kick another host; an admin may', async () => {
    const r = await room([{ userId: 'ch1', role: 'host' }, { userId: 'ch2', role: 'host' }]);
    const h1 = await server.join('ch1', r.id);
    const h2 = await server.join('ch2', r.id);
    const h1Client = await server.as('ch1');
    await expect(h1Client.api.moderate(r.id, 'kick', 'ch2')).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const closed = new Promise<number>((resolve) => h2.room.onLeave((c) => resolve(c)));
    await admin.api.moderate(r.id, 'kick', 'ch2');
    expect(await closed).toBe(CloseCodes.KICKED);
    await h1.leave();
  });
});

describe('break-glass', () => {
  it('one pending and one active per participant, rate limited, never self-approved, ended by a role change', async () => {
    const r = await room([
      { userId: 'bh1', role: 'host' },
      { userId: 'bh2', role: 'host' },
      { userId: 'bs', role: 'surgeon', scopes: ['patient/Observation.rs'] },
    ]);
    const h1 = await server.join('bh1', r.id);
    const h2 = await server.join('bh2', r.id);
    const surgeon = await server.join('bs', r.id);
    await eventually(() => surgeon.caseResources('Observation').length >= 1);
    expect(surgeon.caseResources('MedicationStatement')).toEqual([]);

    // A flood of requests: one grant, the rest refused; at most one entry in the state.
    const replies = await Promise.all(Array.from({ length: 40 }, () => surgeon.request('access.breakGlass', { resourceTypes: ['MedicationStatement'], reason: 'Bleeding, need anticoagulants now' })));
    expect(replies.filter((x) => x.ok)).toHaveLength(1);
    for (const x of replies) if (!x.ok) expect(['BREAK_GLASS_ACTIVE', 'RATE_LIMITED']).toContain(x.error.code);
    await eventually(() => surgeon.caseResources('MedicationStatement').length === 1);
    expect(surgeon.accessRequests()).toHaveLength(1);

    // Demoted to observer: the grant ends and the data leaves at once.
    await admin.api.setParticipant(r.id, 'bs', { role: 'clinician', scopes: ['patient/Observation.rs'] });
    await eventually(() => surgeon.caseResources('MedicationStatement').length === 0, 2000);
    await eventually(() => surgeon.accessRequests().every((q) => q.status === 'expired'));

    // A host's own request needs another host.
    const own = await h1.request('access.breakGlass', { resourceTypes: ['DocumentReference'], reason: 'Checking the referral letter' });
    expect(own.ok).toBe(true);
    const requestId = own.ok ? own.requestId : '';
    expect(await h1.request('access.approve', { requestId })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // Asking again at once: pending already.
    expect(await h1.request('access.breakGlass', { resourceTypes: ['DocumentReference'], reason: 'Checking the referral letter' })).toMatchObject({ ok: false, error: { code: 'BREAK_GLASS_PENDING' } });
    expect(await h2.request('access.approve', { requestId })).toMatchObject({ ok: true });
    await Promise.all([h1.leave(), h2.leave(), surgeon.leave()]);
  });
});

describe('the admin ceiling', () => {
  it('bounds everyone; hosts grant only within it, add no hosts and never widen their own access', async () => {
    const ceiling = ['deidentified', 'patient/Observation.rs', 'patient/Condition.rs'];
    const r = await room([{ userId: 'ceil-h', role: 'host', scopes: ['deidentified', 'patient/Observation.rs'] }, { userId: 'ceil-c', role: 'clinician' }], { scopeCeiling: ceiling });
    const hostClient = await server.as('ceil-h');
    const t = await (await server.as('ceil-c')).api.getTicket(r.id);
    expect(t.scopes).toEqual(['deidentified', 'patient/Condition.rs', 'patient/Observation.rs']);

    const cli = await server.join('ceil-c', r.id);
    await eventually(() => cli.caseResources('Observation').length >= 1);
    expect(cli.deidentified).toBe(true);
    expect(cli.caseResources('MedicationStatement')).toEqual([]);
    expect(has(receivedBytes(cli), CANARY.name)).toBe(false);

    await expect(hostClient.api.setParticipant(r.id, 'ceil-h', { role: 'host', scopes: ['deidentified', 'patient/Observation.rs', 'patient/Condition.rs'] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(hostClient.api.setParticipant(r.id, 'ceil-c', { role: 'clinician', scopes: ['patient/*.rs'] })).rejects.toMatchObject({ code: 'SCOPE_ABOVE_CEILING' });
    await expect(hostClient.api.setParticipant(r.id, 'outsider', { role: 'host' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // Within the ceiling, a host may narrow and re-grant.
    await hostClient.api.setParticipant(r.id, 'ceil-c', { role: 'clinician', scopes: ['deidentified', 'patient/Condition.rs'] });
    await eventually(() => cli.caseResources('Observation').length === 0, 2000);
    // A host narrowing themselves is fine.
    await hostClient.api.setParticipant(r.id, 'ceil-h', { role: 'host', scopes: ['deidentified'] });
    await cli.leave();
    await sleep(10);
  });
});

describe('red-team regressions (outsider review)', () => {
  it('a host kicked by an admin cannot re-admit themselves or use host powers while kicked', async () => {
    const r = await room([{ userId: 'rk-h1', role: 'host' }, { userId: 'rk-h2', role: 'host' }, { userId: 'rk-c', role: 'clinician' }]);
    const h1 = await server.join('rk-h1', r.id);
    const h2 = await server.join('rk-h2', r.id);
    await admin.api.moderate(r.id, 'kick', 'rk-h2');
    await eventually(() => !h1.participants().some((p) => p.userId === 'rk-h2'));
    const h2Client = await server.as('rk-h2');
    const self = await fetch(`${server.app.url}/api/rooms/${r.id}/kicks/rk-h2`, { method: 'DELETE', headers: { authorization: `Bearer ${h2Client.api.identityToken}` } });
    expect(self.status).toBe(403);
    await expect(h2Client.api.setParticipant(r.id, 'rk-c', { role: 'observer' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(h2Client.api.getTicket(r.id)).rejects.toMatchObject({ code: 'KICKED' });
    void h2;
    await h1.leave();
  });

  it('a console kick keeps out an invited user who is not in the room, live or not', async () => {
    const r = await room([{ userId: 'ak-h', role: 'host' }, { userId: 'ak-away', role: 'clinician' }, { userId: 'ak-later', role: 'clinician' }]);
    const awayClient = await server.as('ak-away');
    const early = await awayClient.api.getTicket(r.id); // issued before the kick
    await admin.api.moderate(r.id, 'kick', 'ak-later'); // room not live
    await expect((await server.as('ak-later')).api.getTicket(r.id)).rejects.toMatchObject({ code: 'KICKED' });
    const host = await server.join('ak-h', r.id);
    await admin.api.moderate(r.id, 'kick', 'ak-away'); // live, but ak-away is not in it
    await expect(awayClient.joinWithTicket(early)).rejects.toMatchObject({ code: expect.stringMatching(/^(TICKET_REVOKED|KICKED)$/) });
    await expect(awayClient.api.getTicket(r.id)).rejects.toMatchObject({ code: 'KICKED' });
    await expect(admin.api.moderate(r.id, 'kick', 'never-invited')).rejects.toMatchObject({ code: 'PARTICIPANT_NOT_FOUND' });
    await host.leave();
  });

  it('a de-identified host sees no identified clinician\'s break-glass reason; hidden objects cannot be grabbed', async () => {
    const r = await room([
      { userId: 'dh-host', role: 'host', scopes: ['deidentified', 'patient/Observation.rs'] },
      { userId: 'dh-cli', role: 'clinician' },
      { userId: 'dh-obs', role: 'clinician', scopes: ['deidentified', 'patient/Observation.rs'] },
    ]);
    const host = await server.join('dh-host', r.id);
    const cli = await server.join('dh-cli', r.id);
    const other = await server.join('dh-obs', r.id);
    const ask = await cli.request('access.breakGlass', { resourceTypes: ['DocumentReference'], reason: `letter for ${CANARY.name}` });
    expect(ask.ok).toBe(true);
    await cli.add({ id: 'hidden-note', kind: 'label', asset: 'builtin:pin', label: `see ${CANARY.mrn}`, transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } });
    await eventually(() => cli.state.objects.has('hidden-note') && cli.accessRequests().length === 1);
    await sleep(200);
    expect(host.accessRequests()).toEqual([]);
    expect(has(receivedBytes(host), CANARY.name)).toBe(false);
    expect(await other.grab('hidden-note')).toMatchObject({ ok: false, error: { code: 'OBJECT_NOT_FOUND' } });
    await Promise.all([host.leave(), cli.leave(), other.leave()]);
  });

  it('one participant cannot fill the scene for everyone', async () => {
    const r = await admin.api.createRoom({ title: 'Bloat', kind: 'training', participants: [{ userId: 'bl', role: 'clinician' }] });
    const s = await server.join('bl', r.id);
    const replies = [];
    for (let i = 0; i < 101; i++) replies.push(await s.add({ kind: 'marker', asset: 'builtin:pin', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } }));
    expect(replies.filter((x) => x.ok)).toHaveLength(100);
    expect(replies.at(-1)).toMatchObject({ ok: false, error: { code: 'SCENE_FULL' } });
    await s.leave();
  });
});

describe('seat reservations (second outside review)', () => {
  it('one ticket reserves one seat: a burst of joins with it cannot fill the room for others', async () => {
    const r = await room([{ userId: 'res-a', role: 'clinician' }, { userId: 'res-b', role: 'clinician' }]);
    const a = await server.as('res-a');
    const t = await a.api.getTicket(r.id);
    const codes = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const c = new Client(server.app.url);
        c.auth.token = t.ticket;
        return code(c.joinById(r.id, { protocolVersion: PROTOCOL_VERSION }, ClinicState));
      }),
    );
    expect(codes.filter((c) => c === 'JOINED')).toHaveLength(1);
    expect(new Set(codes.filter((c) => c !== 'JOINED'))).toEqual(new Set(['TICKET_USED']));
    // Others join at once; and one user cannot hold more than 3 seats or reservations with fresh tickets at once.
    const b = await server.join('res-b', r.id);
    const held: ClinicSession[] = [];
    const more = await Promise.all(Array.from({ length: 5 }, () => a.join(r.id).then((s) => (held.push(s), 'JOINED'), (e: ConsiliumError) => e.code)));
    expect(held.length).toBeLessThanOrEqual(3);
    expect(more.filter((c) => c !== 'JOINED')).toEqual(Array(5 - held.length).fill('SEAT_LIMIT'));
    await Promise.all([b, ...held].map((s) => s.leave()));
  });
});
