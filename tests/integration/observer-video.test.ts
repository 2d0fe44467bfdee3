import { TokenVerifier } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { videoRoomName, voiceRoomName } from '../../server/src/media/livekit.ts';
import { eventually } from '../support/eventually.ts';
import { LiveKitStandIn } from '../support/livekit-standin.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Who may watch the surgeon's camera video, enforced by the server: the video is in a LiveKit
 * room of its own whose tokens the server mints only for those the policy allows (videoGrant),
 * and a change of the room's `observerVideo` setting removes live watchers through LiveKit's
 * RoomService API (here the loopback stand-in, which checks the server's admin token).
 */
const KEY = 'APItestkey';
const SECRET = 'test-secret-that-is-long-enough-for-hs256';
const lk = new LiveKitStandIn(KEY, SECRET);
const verifier = new TokenVerifier(KEY, SECRET);
let server: TestServer;
let admin: ConsiliumClient;
let roomId: string;

beforeAll(async () => {
  await lk.start();
  server = await startTestServer({}, { LIVEKIT_URL: 'ws://127.0.0.1:7880', LIVEKIT_API_URL: lk.url, LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET });
  admin = await server.as('root', { admin: true });
  roomId = (
    await admin.api.createRoom({
      title: 'Guided resection',
      kind: 'surgical-guidance',
      participants: [
        { userId: 'ov-surg', role: 'surgeon' },
        { userId: 'ov-spec', role: 'specialist' },
        { userId: 'ov-host', role: 'host' },
        { userId: 'ov-obs', role: 'observer' },
      ],
    })
  ).id;
});
afterAll(async () => {
  await server?.stop();
  await lk.stop();
});

const ticketOf = async (userId: string, id = roomId) => (await server.as(userId)).api.getTicket(id);
const claimsOf = async (token: string) => (await verifier.verify(token)).video!;
const sources = (v: { canPublishSources?: unknown[] }) => [...(v.canPublishSources ?? [])].map(String).sort();

describe("the surgeon's video room", () => {
  it('is off for observers by default: no video token; the room says so', async () => {
    expect((await admin.api.getRoom(roomId)).observerVideo).toBe(false);
    const t = await ticketOf('ov-obs');
    expect(t.video).toBeNull();
    // The voice token reaches the voice room only, which carries no camera (nobody may publish one there).
    const voice = await claimsOf(t.voice!.token);
    expect(voice.room).toBe(voiceRoomName(roomId));
    expect(voice.room).not.toBe(videoRoomName(roomId));
    expect(voice).toMatchObject({ canPublish: false, canPublishData: false });
  });

  it('the surgeon publishes camera (and screen) there, subscribing to nothing; specialist and host watch only', async () => {
    const surg = await claimsOf((await ticketOf('ov-surg')).video!.token);
    expect(surg).toMatchObject({ room: videoRoomName(roomId), roomJoin: true, canPublish: true, canSubscribe: false, canPublishData: false, roomAdmin: false });
    expect(sources(surg)).toEqual(['camera', 'screen_share']);
    // The surgeon's voice token speaks only: a camera published to the voice room would reach every listener.
    expect(sources(await claimsOf((await ticketOf('ov-surg')).voice!.token))).toEqual(['microphone']);
    for (const userId of ['ov-spec', 'ov-host']) {
      const v = await claimsOf((await ticketOf(userId)).video!.token);
      expect(v).toMatchObject({ room: videoRoomName(roomId), canSubscribe: true, canPublish: false, canPublishData: false, roomAdmin: false });
      expect(sources(v)).toEqual([]);
    }
  });

  it('only an administrator changes the setting (a host or an observer cannot turn it on)', async () => {
    for (const userId of ['ov-host', 'ov-obs']) {
      const c = await server.as(userId);
      await expect(c.api.updateRoom(roomId, { observerVideo: true })).rejects.toMatchObject({ code: 'ADMIN_REQUIRED' });
    }
    await expect(admin.api.updateRoom(roomId, { observerVideo: 'yes' as unknown as boolean })).rejects.toMatchObject({ code: 'BODY_INVALID' });
    expect((await admin.api.getRoom(roomId)).observerVideo).toBe(false);
  });

  it('allowed: an observer gets a subscribe-only video token; turned off mid-session, they are removed from the video room at once', async () => {
    expect((await admin.api.updateRoom(roomId, { observerVideo: true })).observerVideo).toBe(true);
    const t = await ticketOf('ov-obs');
    const v = await claimsOf(t.video!.token);
    expect(v).toMatchObject({ room: videoRoomName(roomId), canSubscribe: true, canPublish: false, canPublishData: false, roomAdmin: false });
    expect(sources(v)).toEqual([]);

    // The observer is in the room and watching the video; the specialist too.
    const obs = await (await server.as('ov-obs')).joinWithTicket(t);
    await obs.ready();
    lk.connect(videoRoomName(roomId), 'ov-obs', []);
    lk.connect(videoRoomName(roomId), 'ov-spec', []);
    lk.connect(voiceRoomName(roomId), 'ov-obs');

    const t0 = Date.now();
    await admin.api.updateRoom(roomId, { observerVideo: false });
    await eventually(() => lk.rooms.get(videoRoomName(roomId))?.has('ov-obs') === false, 1000, 5);
    expect(Date.now() - t0).toBeLessThan(1000);
    const removal = lk.callsTo('RemoveParticipant').find((c) => c.body['identity'] === 'ov-obs')!;
    expect(removal.body['room']).toBe(videoRoomName(roomId));
    expect(removal.grants.video).toMatchObject({ roomAdmin: true, room: videoRoomName(roomId) });
    // Only the video: the observer still listens in the voice room and stays in the Colyseus room;
    // the specialist keeps watching.
    expect(lk.rooms.get(voiceRoomName(roomId))?.has('ov-obs')).toBe(true);
    expect(lk.rooms.get(videoRoomName(roomId))?.has('ov-spec')).toBe(true);
    expect(obs.status).toBe('connected');
    // And a fresh ticket carries no video again.
    expect((await ticketOf('ov-obs')).video).toBeNull();
    await obs.leave();
  });

  it('a specialist demoted to observer while watching loses the video (the setting is off)', async () => {
    const spec = await server.join('ov-spec', roomId);
    lk.connect(videoRoomName(roomId), 'ov-spec', []);
    await admin.api.setParticipant(roomId, 'ov-spec', { role: 'observer' });
    await eventually(() => lk.rooms.get(videoRoomName(roomId))?.has('ov-spec') === false, 2000, 5);
    await spec.leave();
    await admin.api.setParticipant(roomId, 'ov-spec', { role: 'specialist' });
  });

  it('an observer cannot annotate the video, whatever the video setting', async () => {
    const stroke = { kind: 'stroke' as const, asset: 'builtin:pen', frame: 'video' as const, points: [0.1, 0.1, 0, 0.5, 0.5, 0], videoTime: 1234, sentAt: Date.now(), transform: { position: [0, 0, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] } };
    const obs: ClinicSession = await server.join('ov-obs', roomId);
    expect(await obs.add(stroke)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await admin.api.updateRoom(roomId, { observerVideo: true });
    expect(await obs.add(stroke)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await obs.guidance.undo()).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const spec = await server.join('ov-spec', roomId);
    expect(await spec.add(stroke)).toMatchObject({ ok: true });
    await eventually(() => obs.objects().some((o) => o.frame === 'video'));
    await admin.api.updateRoom(roomId, { observerVideo: false });
    await Promise.all([obs.leave(), spec.leave()]);
  });

  it('other kinds of room have no video room at all, whatever the setting', async () => {
    const conf = await admin.api.createRoom({ title: 'Board', kind: 'case-conference', observerVideo: true, participants: [{ userId: 'ov-surg', role: 'surgeon' }, { userId: 'ov-obs', role: 'observer' }] });
    expect((await ticketOf('ov-surg', conf.id)).video).toBeNull();
    expect((await ticketOf('ov-obs', conf.id)).video).toBeNull();
  });

  it('every LiveKit call carried a valid roomAdmin token (the stand-in refused none)', () => {
    expect(lk.refused).toEqual([]);
  });
});
