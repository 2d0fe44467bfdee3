import { createHash } from 'node:crypto';
import { AccessToken, TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { CloseCodes } from '../../shared/src/index.ts';
import { voiceRoomName } from '../../server/src/media/livekit.ts';
import { eventually } from '../support/eventually.ts';
import { LiveKitStandIn } from '../support/livekit-standin.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

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

async function join(userId: string, roomId: string): Promise<{ session: ClinicSession; client: ConsiliumClient }> {
  const client = await server.as(userId);
  const session = await client.join(roomId);
  await session.ready();
  return { session, client };
}

async function room(kind: 'case-conference' | 'surgical-guidance', participants: { userId: string; role: 'host' | 'clinician' | 'specialist' | 'surgeon' | 'observer' }[]) {
  return admin.api.createRoom({ title: 'Voice', kind, participants });
}

describe('voice through LiveKit', () => {
  it('tickets carry a least-privilege LiveKit token; the room reports voice ok', async () => {
    const r = await room('surgical-guidance', [{ userId: 'v-surg', role: 'surgeon' }, { userId: 'v-obs', role: 'observer' }]);
    const surg = await server.as('v-surg');
    const t = await surg.api.getTicket(r.id);
    expect(t.voice?.url).toBe('ws://127.0.0.1:7880');
    const claims = await new TokenVerifier(KEY, SECRET).verify(t.voice!.token);
    expect(claims.video).toMatchObject({ room: voiceRoomName(r.id), canPublish: true, roomAdmin: false });
    // The camera has a LiveKit room of its own (tests/integration/observer-video.test.ts): the voice room carries speech only.
    expect([...claims.video!.canPublishSources!].map(String).sort()).toEqual(['microphone']);
    const obsTicket = await (await server.as('v-obs')).api.getTicket(r.id);
    expect((await new TokenVerifier(KEY, SECRET).verify(obsTicket.voice!.token)).video).toMatchObject({ canPublish: false, canPublishData: false });
    const s = await surg.joinWithTicket(t);
    await s.ready();
    expect(s.state.info.voice).toBe('ok');
    await s.leave();
  });

  it('host mute acts on the real microphone track; others may not moderate', async () => {
    const r = await room('case-conference', [{ userId: 'm-host', role: 'host' }, { userId: 'm-cli', role: 'clinician' }]);
    const { session: host } = await join('m-host', r.id);
    const { session: cli } = await join('m-cli', r.id);
    lk.connect(voiceRoomName(r.id), 'm-cli');

    expect(await cli.request('voice.mute', { userId: 'm-host' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await host.request('voice.mute', { userId: 'm-cli' })).toMatchObject({ ok: true, muted: true, applied: true });
    const mute = lk.callsTo('MutePublishedTrack').at(-1)!;
    expect(mute.body).toMatchObject({ room: voiceRoomName(r.id), identity: 'm-cli', trackSid: 'TR_mic_m-cli', muted: true });
    expect(mute.grants.video).toMatchObject({ roomAdmin: true, room: voiceRoomName(r.id) });
    await eventually(() => cli.participants().find((p) => p.userId === 'm-cli')?.muted === true);

    expect(await host.request('voice.unmute', { userId: 'm-cli' })).toMatchObject({ ok: true, muted: false });
    // proto3 JSON omits false: an absent `muted` is an unmute.
    expect(lk.callsTo('MutePublishedTrack').at(-1)!.body['muted'] ?? false).toBe(false);
    expect(lk.rooms.get(voiceRoomName(r.id))!.get('m-cli')!.tracks[0]!.muted).toBe(false);
    expect(await host.request('voice.mute', { userId: 'nobody' })).toMatchObject({ ok: false, error: { code: 'PARTICIPANT_NOT_FOUND' } });
    await Promise.all([host.leave(), cli.leave()]);
  });

  it('kick removes from LiveKit and from the room and revokes their tickets', async () => {
    const r = await room('case-conference', [{ userId: 'k-host', role: 'host' }, { userId: 'k-cli', role: 'clinician' }]);
    const { session: host } = await join('k-host', r.id);
    const { session: cli, client } = await join('k-cli', r.id);
    const spare = await client.api.getTicket(r.id);
    lk.connect(voiceRoomName(r.id), 'k-cli');
    let closed: number | undefined;
    cli.onStatus((s, code) => s === 'closed' && (closed = code));

    expect(await host.request('participant.kick', { userId: 'k-cli' })).toMatchObject({ ok: true, applied: true });
    await eventually(() => closed === CloseCodes.KICKED);
    expect(lk.callsTo('RemoveParticipant').at(-1)!.body).toMatchObject({ room: voiceRoomName(r.id), identity: 'k-cli' });
    expect(lk.rooms.get(voiceRoomName(r.id))?.has('k-cli')).toBe(false);
    await expect(client.joinWithTicket(spare)).rejects.toMatchObject({ code: 'TICKET_REVOKED' });
    await host.leave();
  });

  it('role changes and removals are mirrored to LiveKit within a second', async () => {
    const r = await room('surgical-guidance', [{ userId: 'p-host', role: 'host' }, { userId: 'p-surg', role: 'surgeon' }]);
    const { session: host } = await join('p-host', r.id);
    const { session: surg } = await join('p-surg', r.id);
    lk.connect(voiceRoomName(r.id), 'p-surg');

    const before = lk.callsTo('UpdateParticipant').length;
    const t0 = Date.now();
    await admin.api.setParticipant(r.id, 'p-surg', { role: 'observer' });
    await eventually(() => lk.callsTo('UpdateParticipant').length > before, 1000, 5);
    expect(Date.now() - t0).toBeLessThan(1000);
    const update = lk.callsTo('UpdateParticipant').at(-1)!.body as { identity: string; metadata: string; permission: Record<string, unknown> };
    expect(update.identity).toBe('p-surg');
    expect(JSON.parse(update.metadata)).toEqual({ role: 'observer' });
    // proto3 JSON omits false values: absent means not allowed.
    expect({ canPublish: update.permission['canPublish'] ?? false, canPublishData: update.permission['canPublishData'] ?? false, canSubscribe: update.permission['canSubscribe'] }).toEqual({ canPublish: false, canPublishData: false, canSubscribe: true });
    expect(update.permission['canPublishSources'] ?? []).toEqual([]);

    const t1 = Date.now();
    await admin.api.removeParticipant(r.id, 'p-surg');
    await eventually(() => lk.callsTo('RemoveParticipant').some((c) => c.body['identity'] === 'p-surg' && c.body['room'] === voiceRoomName(r.id)), 1000, 5);
    expect(Date.now() - t1).toBeLessThan(1000);
    expect(lk.rooms.get(voiceRoomName(r.id))?.has('p-surg')).toBe(false);
    await eventually(() => surg.status === 'closed');
    await host.leave();
  });

  it('a LiveKit outage leaves the room working, reports voice degraded, and retries until it is back', async () => {
    const r = await room('case-conference', [{ userId: 'o-host', role: 'host' }, { userId: 'o-cli', role: 'clinician' }]);
    const { session: host } = await join('o-host', r.id);
    const { session: cli } = await join('o-cli', r.id);
    lk.connect(voiceRoomName(r.id), 'o-cli');

    // 1. LiveKit answers 500.
    lk.failStatus = 500;
    expect(await host.request('voice.mute', { userId: 'o-cli' })).toMatchObject({ ok: true, applied: false });
    await eventually(() => host.state.info.voice === 'degraded');
    expect(await host.add({ kind: 'model', asset: 'builtin:heart', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } })).toMatchObject({ ok: true });
    lk.failStatus = null;
    await eventually(() => host.state.info.voice === 'ok', 8000);
    expect(lk.rooms.get(voiceRoomName(r.id))!.get('o-cli')!.tracks[0]!.muted).toBe(true);

    // 2. LiveKit is down altogether.
    await lk.stop();
    expect(await host.request('voice.unmute', { userId: 'o-cli' })).toMatchObject({ ok: true, applied: false });
    await eventually(() => cli.state.info.voice === 'degraded');
    cli.sendPose({ head: { p: [0, 1.5, 0], q: [0, 0, 0, 1] } });
    await eventually(() => host.participants().some((p) => p.userId === 'o-cli' && Math.abs((host.avatarPose(p, { interpolate: false })?.head.p[1] ?? 0) - 1.5) < 0.002));
    await lk.start();
    await eventually(() => host.state.info.voice === 'ok', 8000);
    expect(lk.rooms.get(voiceRoomName(r.id))!.get('o-cli')!.tracks[0]!.muted).toBe(false);
    await Promise.all([host.leave(), cli.leave()]);
  });

  it('every LiveKit call carried a valid roomAdmin token (the stand-in refused none)', () => {
    expect(lk.refused).toEqual([]);
  });
});

describe('LiveKit webhooks', () => {
  let roomId: string;
  let cli: ClinicSession;
  let seq = 0;
  beforeAll(async () => {
    roomId = (await room('case-conference', [{ userId: 'w-cli', role: 'clinician' }])).id;
    cli = (await join('w-cli', roomId)).session;
  });

  function event(name: string, extra: Record<string, unknown> = {}, createdAt = Math.floor(Date.now() / 1000)) {
    return JSON.stringify({ event: name, id: `EV_${++seq}_${Date.now()}`, createdAt: String(createdAt), room: { name: voiceRoomName(roomId) }, participant: { identity: 'w-cli' }, ...extra });
  }
  async function sign(body: string, secret = SECRET) {
    const at = new AccessToken(KEY, secret);
    at.sha256 = createHash('sha256').update(body).digest('base64');
    return at.toJwt();
  }
  async function post(body: string, auth: string | null) {
    const res = await fetch(`${server.app.url}/api/livekit/webhook`, { method: 'POST', headers: { 'content-type': 'application/webhook+json', ...(auth ? { authorization: auth } : {}) }, body });
    return res.status;
  }
  const me = () => cli.participants().find((p) => p.userId === 'w-cli')!;

  it('accepts genuine signed events and mirrors voice state for everyone', async () => {
    const joined = event('participant_joined');
    expect(await post(joined, await sign(joined))).toBe(200);
    await eventually(() => me().voiceConnected);
    const published = event('track_published', { track: { sid: 'TR_1', source: 'MICROPHONE', muted: false } });
    expect(await post(published, await sign(published))).toBe(200);
    await eventually(() => me().publishing && !me().muted);
    const muted = event('track_muted', { track: { sid: 'TR_1', source: 'MICROPHONE', muted: true } });
    expect(await post(muted, await sign(muted))).toBe(200);
    await eventually(() => me().muted);
  });

  it('refuses unsigned, wrong-secret, tampered, stale and replayed events, changing nothing', async () => {
    const left = event('participant_left');
    expect(await post(left, null)).toBe(401);
    expect(await post(left, await sign(left, 'another-secret-that-is-long-enough-too'))).toBe(401);
    const signed = await sign(left);
    expect(await post(left.replace('participant_left', 'participant_joined'), signed)).toBe(401); // body changed after signing
    const stale = event('participant_left', {}, Math.floor(Date.now() / 1000) - 3600);
    expect(await post(stale, await sign(stale))).toBe(401);
    expect(me().voiceConnected).toBe(true);

    const unmuted = event('track_unmuted', { track: { sid: 'TR_1', source: 'MICROPHONE', muted: false } });
    const auth = await sign(unmuted);
    expect(await post(unmuted, auth)).toBe(200);
    await eventually(() => !me().muted);
    expect(await post(unmuted, auth)).toBe(401); // replay
  });
});
