import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { voiceRoomName } from '../../server/src/media/livekit.ts';
import { eventually } from '../support/eventually.ts';
import { LiveKitStandIn } from '../support/livekit-standin.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const KEY = 'APIrecording';
const SECRET = 'test-secret-that-is-long-enough-for-hs256';
const lk = new LiveKitStandIn(KEY, SECRET);
let server: TestServer;

beforeAll(async () => {
  await lk.start();
  server = await startTestServer({}, { LIVEKIT_URL: 'ws://127.0.0.1:7880', LIVEKIT_API_URL: lk.url, LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET });
});
afterAll(async () => {
  await server?.stop();
  await lk.stop();
});

describe('voice alongside a recording: LiveKit Egress (room-composite, audio only)', () => {
  it('starts with the recording and stops with it, signed with a roomRecord grant; the recording says it has audio', async () => {
    const room = await server.createRoom({ title: 'Voice', recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }] });
    const edu = await server.join('edu', room.id);
    const started = await edu.do('recording.start', {});
    expect(started.audio).toBe('egress');
    const [start] = lk.callsTo('StartRoomCompositeEgress');
    expect(start!.grants.video?.roomRecord).toBe(true);
    const egress = [...lk.egresses.values()][0]!;
    expect(egress).toMatchObject({ room: voiceRoomName(room.id), audioOnly: true, stopped: false });
    expect(egress.filepath).toContain(started.recordingId);

    await edu.do('recording.stop', {});
    await eventually(() => egress.stopped);
    expect(lk.callsTo('StopEgress')[0]!.grants.video?.roomRecord).toBe(true);
    const rec = await (await server.as('edu')).api.getRecording(started.recordingId);
    expect(rec.audio).toBe('egress');
    await edu.leave();
  });

  it('LiveKit refusing the egress: the recording goes on without audio and says so', async () => {
    const room = await server.createRoom({ title: 'Voice down', recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }] });
    const edu = await server.join('edu', room.id);
    lk.failStatus = 500;
    try {
      const started = await edu.do('recording.start', {});
      expect(started.audio).toBe('failed');
      await eventually(() => edu.state.info.recording === started.recordingId);
      lk.failStatus = null;
      await edu.do('recording.stop', {});
      expect((await (await server.as('edu')).api.getRecording(started.recordingId)).audio).toBe('failed');
    } finally {
      lk.failStatus = null;
      await edu.leave();
    }
  });
});
