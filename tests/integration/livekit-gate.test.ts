import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { videoRoomName, voiceRoomName } from '../../server/src/media/livekit.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { LiveKitStandIn } from '../support/livekit-standin.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * A LiveKit token is checked only when it is used, and lives up to 10 minutes:
 * an attacker keeps the one from before their removal, kick, demotion or the
 * setting change, and connects with it later. LiveKit's signed
 * participant_joined webhook (the stand-in posts it like LiveKit does) lets
 * the live room take out whoever may not be there now.
 */
const KEY = 'APItestkey';
const SECRET = 'test-secret-that-is-long-enough-for-hs256';
const lk = new LiveKitStandIn(KEY, SECRET);
let server: TestServer;
let admin: ConsiliumClient;
let roomId: string;

beforeAll(async () => {
  await lk.start();
  server = await startTestServer({}, { LIVEKIT_URL: 'ws://127.0.0.1:7880', LIVEKIT_API_URL: lk.url, LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET });
  lk.webhookUrl = `${server.app.url}/api/livekit/webhook`;
  admin = await server.as('root', { admin: true });
  roomId = (
    await admin.api.createRoom({
      title: 'Gate',
      kind: 'surgical-guidance',
      observerVideo: true,
      participants: [
        { userId: 'g-surg', role: 'surgeon' },
        { userId: 'g-spec', role: 'specialist' },
        { userId: 'g-obs', role: 'observer' },
        { userId: 'g-gone', role: 'specialist' },
      ],
    })
  ).id;
});
afterAll(async () => {
  await server?.stop();
  await lk.stop();
});

const inRoom = (room: string, identity: string) => lk.rooms.get(room)?.has(identity) === true;
const removals = (room: string, identity: string) => lk.callsTo('RemoveParticipant').filter((c) => c.body['room'] === room && c.body['identity'] === identity).length;

describe('LiveKit joins with tokens minted before a change', () => {
  it('whoever may be there stays: the surgeon in the room joins voice and video', async () => {
    const surg = await server.join('g-surg', roomId);
    await lk.connect(voiceRoomName(roomId), 'g-surg');
    await lk.connect(videoRoomName(roomId), 'g-surg', [{ sid: 'TR_cam', source: 'CAMERA', muted: false }]);
    await sleep(200);
    expect(inRoom(voiceRoomName(roomId), 'g-surg') && inRoom(videoRoomName(roomId), 'g-surg')).toBe(true);
    expect(removals(voiceRoomName(roomId), 'g-surg') + removals(videoRoomName(roomId), 'g-surg')).toBe(0);
    await surg.leave();
  });

  it('an observer whose video was switched off cannot come back to it with the old token', async () => {
    const obsClient = await server.as('g-obs');
    const ticket = await obsClient.api.getTicket(roomId);
    expect(ticket.video).not.toBeNull(); // minted while observers could watch
    const obs = await obsClient.joinWithTicket(ticket);
    await obs.ready();
    await admin.api.updateRoom(roomId, { observerVideo: false });
    await lk.connect(videoRoomName(roomId), 'g-obs', []);
    await eventually(() => !inRoom(videoRoomName(roomId), 'g-obs'), 2000, 10);
    // Voice is still theirs.
    await lk.connect(voiceRoomName(roomId), 'g-obs');
    await sleep(200);
    expect(inRoom(voiceRoomName(roomId), 'g-obs')).toBe(true);
    await obs.leave();
  });

  it('a specialist demoted to observer cannot watch with the specialist token', async () => {
    const specClient = await server.as('g-spec');
    const ticket = await specClient.api.getTicket(roomId);
    const spec = await specClient.joinWithTicket(ticket);
    await spec.ready();
    await admin.api.setParticipant(roomId, 'g-spec', { role: 'observer' });
    await eventually(() => spec.participants().find((p) => p.userId === 'g-spec')?.role === 'observer');
    await lk.connect(videoRoomName(roomId), 'g-spec', []);
    await eventually(() => !inRoom(videoRoomName(roomId), 'g-spec'), 2000, 10);
    await spec.leave();
    await admin.api.setParticipant(roomId, 'g-spec', { role: 'specialist' });
  });

  it('a removed participant cannot join voice or video with the token from before', async () => {
    const goneClient = await server.as('g-gone');
    const ticket = await goneClient.api.getTicket(roomId);
    const watcher = await server.join('g-surg', roomId); // keeps the room live
    const gone = await goneClient.joinWithTicket(ticket);
    await gone.ready();
    await admin.api.removeParticipant(roomId, 'g-gone');
    await eventually(() => gone.status === 'closed');
    await lk.connect(voiceRoomName(roomId), 'g-gone');
    await lk.connect(videoRoomName(roomId), 'g-gone', []);
    await eventually(() => !inRoom(voiceRoomName(roomId), 'g-gone') && !inRoom(videoRoomName(roomId), 'g-gone'), 2000, 10);
    await watcher.leave();
  });

  it('nobody may sit in the media rooms of a room nobody is in', async () => {
    await eventually(async () => !(await admin.api.getRoom(roomId)).live, 10_000, 100);
    await lk.connect(voiceRoomName(roomId), 'g-surg');
    await eventually(() => !inRoom(voiceRoomName(roomId), 'g-surg'), 2000, 10);
  });
});
