import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsiliumError, type ClinicSession, type ConsiliumClient } from '../../client/src/sdk/index.ts';
import { voiceRoomName } from '../../server/src/media/livekit.ts';
import type { RoomRole } from '../../shared/src/index.ts';
import { eventually } from '../support/eventually.ts';
import { LiveKitStandIn } from '../support/livekit-standin.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Moderation (kick, mute, unmute) is one rule (policy.ts, MODERATION_RULES)
 * and one implementation (rooms/moderation.ts), whether a host acts inside the
 * room or through the console, and whether the target is in the room or not.
 * Attacked with real SDK clients, real HTTP and the LiveKit stand-in.
 */
const KEY = 'APItestkey';
const SECRET = 'test-secret-that-is-long-enough-for-hs256';
const lk = new LiveKitStandIn(KEY, SECRET);
let server: TestServer;
let admin: ConsiliumClient;

beforeAll(async () => {
  await lk.start();
  server = await startTestServer({}, { LIVEKIT_URL: 'ws://127.0.0.1:7880', LIVEKIT_API_URL: lk.url, LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET });
  admin = await server.as('root', { admin: true });
});
afterAll(async () => {
  await server?.stop();
  await lk.stop();
});

type Act = 'kick' | 'mute' | 'unmute';
const MESSAGE = { kick: 'participant.kick', mute: 'voice.mute', unmute: 'voice.unmute' } as const;

/** In the room: 'ok' or the refusal code. */
async function inRoom(session: ClinicSession, act: Act, userId: string): Promise<string> {
  const r = await session.request(MESSAGE[act], { userId });
  return r.ok ? 'ok' : r.error.code;
}

/** Through the console (POST /api/rooms/:id/moderation): 'ok' or the refusal code; never a 5xx. */
async function fromConsole(client: ConsiliumClient, roomId: string, act: Act, userId: string): Promise<string> {
  try {
    await client.api.moderate(roomId, act, userId);
    return 'ok';
  } catch (err) {
    if (err instanceof ConsiliumError) return err.code;
    throw err;
  }
}

const kickRows = async (roomId: string, userId: string) =>
  (await server.app.pool.query<{ user_id: string }>(`SELECT user_id FROM room_kicks WHERE room_id = $1 AND user_id = $2`, [roomId, userId])).rows.length;

describe('a host and a co-host are equals', () => {
  it('a host cannot kick a co-host who is not in the room: refused, nothing stored, the co-host keeps their powers', async () => {
    const r = await admin.api.createRoom({ title: 'Co-hosts', kind: 'case-conference', participants: [{ userId: 'ah-1', role: 'host' }, { userId: 'ah-2', role: 'host' }, { userId: 'ah-c', role: 'clinician' }] });
    const h1 = await server.join('ah-1', r.id);
    expect(await inRoom(h1, 'kick', 'ah-2')).toBe('FORBIDDEN');
    expect(await h1.request('participant.kick', { userId: 'ah-2', minutes: 5 })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await kickRows(r.id, 'ah-2')).toBe(0);
    // The co-host still gets a ticket, still acts as a host from the console, and joins as a host.
    const h2Client = await server.as('ah-2');
    await expect(h2Client.api.getTicket(r.id)).resolves.toMatchObject({ role: 'host' });
    await h2Client.api.setParticipant(r.id, 'ah-c', { role: 'observer' });
    const h2 = await h2Client.join(r.id);
    await h2.ready();
    expect(h2.participants().find((p) => p.userId === 'ah-2')?.role).toBe('host');
    const audit = await admin.api.audit({ room: r.id, limit: 200 });
    expect(audit.events.some((e) => e.action === 'participant.kick')).toBe(false);
    await Promise.all([h1.leave(), h2.leave()]);
  });

  it('a host cannot mute or unmute a co-host who is in the room, nor switch their microphone on', async () => {
    const r = await admin.api.createRoom({ title: 'Co-host voice', kind: 'case-conference', participants: [{ userId: 'mh-1', role: 'host' }, { userId: 'mh-2', role: 'host' }] });
    const h1 = await server.join('mh-1', r.id);
    const h2 = await server.join('mh-2', r.id);
    await lk.connect(voiceRoomName(r.id), 'mh-2', [{ sid: 'TR_mic_mh-2', source: 'MICROPHONE', muted: true }]);
    const calls = lk.callsTo('MutePublishedTrack').length;
    const h1Client = await server.as('mh-1');
    for (const act of ['mute', 'unmute'] as const) {
      expect(await inRoom(h1, act, 'mh-2')).toBe('FORBIDDEN');
      expect(await fromConsole(h1Client, r.id, act, 'mh-2')).toBe('FORBIDDEN');
    }
    expect(lk.callsTo('MutePublishedTrack').length).toBe(calls);
    expect(lk.rooms.get(voiceRoomName(r.id))!.get('mh-2')!.tracks[0]!.muted).toBe(true); // still off
    // An administrator may (the console's own row of the table).
    expect(await fromConsole(admin, r.id, 'unmute', 'mh-2')).toBe('ok');
    expect(lk.rooms.get(voiceRoomName(r.id))!.get('mh-2')!.tracks[0]!.muted).toBe(false);
    await Promise.all([h1.leave(), h2.leave()]);
  });

  it('an administrator kicks a host who is not in the room; the kick sticks and takes their host powers until re-admitted by an administrator', async () => {
    const r = await admin.api.createRoom({ title: 'Admin kicks host', kind: 'case-conference', participants: [{ userId: 'ak-1', role: 'host' }, { userId: 'ak-2', role: 'host' }] });
    const h1 = await server.join('ak-1', r.id);
    expect(await fromConsole(admin, r.id, 'kick', 'ak-2')).toBe('ok');
    const h2Client = await server.as('ak-2');
    await expect(h2Client.api.getTicket(r.id)).rejects.toMatchObject({ code: 'KICKED' });
    expect(await fromConsole(h2Client, r.id, 'kick', 'ak-1')).toBe('FORBIDDEN');
    // A co-host cannot lift an administrator's kick of a host: that is the administrator's act too.
    const h1Client = await server.as('ak-1');
    const readmit = (c: ConsiliumClient) => fetch(`${server.app.url}/api/rooms/${r.id}/kicks/ak-2`, { method: 'DELETE', headers: { authorization: `Bearer ${c.api.identityToken}` } });
    expect((await readmit(h1Client)).status).toBe(403);
    expect((await readmit(h2Client)).status).toBe(403);
    expect((await readmit(admin)).status).toBe(204);
    await expect(h2Client.api.getTicket(r.id)).resolves.toMatchObject({ role: 'host' });
    await h1.leave();
  });

  it('nobody moderates themselves, not even an administrator invited to the room, live or not', async () => {
    const r = await admin.api.createRoom({ title: 'Self', kind: 'case-conference', participants: [{ userId: 'root', role: 'clinician' }, { userId: 'sf-h', role: 'host' }] });
    expect(await fromConsole(admin, r.id, 'kick', 'root')).toBe('FORBIDDEN'); // not live
    const h = await server.join('sf-h', r.id);
    expect(await fromConsole(admin, r.id, 'kick', 'root')).toBe('FORBIDDEN'); // live
    expect(await inRoom(h, 'kick', 'sf-h')).toBe('FORBIDDEN');
    expect(await fromConsole(await server.as('sf-h'), r.id, 'kick', 'sf-h')).toBe('FORBIDDEN');
    expect(await kickRows(r.id, 'root')).toBe(0);
    await h.leave();
  });
});

describe('the console and the room give the same answer for the same act', () => {
  /**
   * For each acting role, a live room with the actor, a co-host and a clinician
   * in it, and a clinician who is away. Every act on every target is tried in
   * the room and then from the console; the answers must match, and match the
   * table. Acts run mute → unmute → kick so a successful kick comes last.
   */
  const ACTORS: RoomRole[] = ['host', 'clinician', 'specialist', 'surgeon', 'observer'];
  const TARGETS = ['self', 'cohost', 'present', 'away', 'stranger'] as const;
  const expected = (actor: RoomRole, target: (typeof TARGETS)[number], act: Act): string => {
    if (actor !== 'host' || target === 'self' || target === 'cohost') return 'FORBIDDEN';
    if (target === 'stranger') return 'PARTICIPANT_NOT_FOUND';
    if (target === 'away') return act === 'kick' ? 'ok' : 'PARTICIPANT_NOT_FOUND';
    return 'ok';
  };

  it.each(ACTORS)('acting as %s', async (actorRole) => {
    const tag = `eq-${actorRole.slice(0, 3)}`;
    const ids = { self: `${tag}-me`, cohost: `${tag}-host`, present: `${tag}-here`, away: `${tag}-away`, stranger: `${tag}-stranger` };
    // Two targets of each kind (one for the room, one for the console), so a kick in one does not change the other's answer.
    const twin = (id: string) => `${id}-2`;
    const participants = [
      { userId: ids.self, role: actorRole },
      ...[ids.cohost, twin(ids.cohost)].map((userId) => ({ userId, role: 'host' as const })),
      ...[ids.present, twin(ids.present), ids.away, twin(ids.away)].map((userId) => ({ userId, role: 'clinician' as const })),
    ];
    const r = await admin.api.createRoom({ title: `Same answer ${actorRole}`, kind: 'case-conference', participants });
    const me = await server.join(ids.self, r.id);
    const present = await Promise.all([ids.cohost, twin(ids.cohost), ids.present, twin(ids.present)].map((u) => server.join(u, r.id)));
    await Promise.all([ids.present, twin(ids.present)].map((u) => lk.connect(voiceRoomName(r.id), u)));
    const meClient = await server.as(ids.self);
    const rows: string[] = [];
    for (const target of TARGETS) {
      for (const act of ['mute', 'unmute', 'kick'] as const) {
        const roomTarget = ids[target];
        const consoleTarget = target === 'self' || target === 'stranger' ? ids[target] : twin(ids[target]);
        const a = await inRoom(me, act, roomTarget);
        const b = await fromConsole(meClient, r.id, act, consoleTarget);
        rows.push(`${act} ${target}: room ${a}, console ${b}`);
        expect({ act, target, room: a, console: b }).toEqual({ act, target, room: expected(actorRole, target, act), console: expected(actorRole, target, act) });
      }
    }
    // A refused kick stores nothing; an allowed one is stored.
    for (const target of ['self', 'cohost', 'present', 'away'] as const) {
      const stored = (await kickRows(r.id, ids[target])) + (await kickRows(r.id, twin(ids[target])));
      expect(stored, rows.join('\n')).toBe(expected(actorRole, target, 'kick') === 'ok' ? 2 : 0);
    }
    await Promise.all([me, ...present].filter((s) => s.status !== 'closed').map((s) => s.leave()));
  });
});

describe('console moderation when the room is not live', () => {
  it('a kick is stored and sticks; mute needs a live room', async () => {
    const r = await admin.api.createRoom({ title: 'Offline', kind: 'case-conference', participants: [{ userId: 'off-h', role: 'host' }, { userId: 'off-c', role: 'clinician' }, { userId: 'off-h2', role: 'host' }] });
    const host = await server.as('off-h');
    expect(await fromConsole(host, r.id, 'mute', 'off-c')).toBe('PARTICIPANT_NOT_FOUND');
    expect(await fromConsole(host, r.id, 'kick', 'off-h2')).toBe('FORBIDDEN');
    expect(await fromConsole(host, r.id, 'kick', 'off-c')).toBe('ok');
    await expect((await server.as('off-c')).api.getTicket(r.id)).rejects.toMatchObject({ code: 'KICKED' });
    // Once live, the room knows the stored kick.
    const h = await server.join('off-h', r.id);
    await eventually(() => h.participants().length === 1);
    await h.leave();
  });
});
