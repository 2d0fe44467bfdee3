import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession } from '../../client/src/sdk/index.ts';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { LiveKitStandIn } from '../support/livekit-standin.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The replay's 3D view and sound, as a teaching session uses them: a case conference is recorded
 * (its voice by LiveKit's egress to storage the server reads), then replayed to a de-identified
 * student. The recorded participants appear as ghosts that move with the replay clock — a seek puts
 * them where they were at that instant — and the recorded voice follows every seek, for the
 * educator and the learner alike.
 */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const KEY = 'APIreplay3d';
const SECRET = 'test-secret-that-is-long-enough-for-hs256';
const EGRESS_DELAY_MS = 1000;
const lk = new LiveKitStandIn(KEY, SECRET);
let server: TestServer;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let storage: string;
const contexts: BrowserContext[] = [];

type Ghosts = Record<string, { shown: boolean; head: [number, number, number]; label: string }>;
type Hook = {
  session: { state: { replay: { status: string; positionMs: number } } };
  world: { ghostView(): Ghosts; visibility(): { avatars: Record<string, boolean> } };
  audio: HTMLAudioElement | null;
};
declare const __consilium: Hook;

beforeAll(async () => {
  storage = await mkdtemp(path.join(os.tmpdir(), 'consilium-egress-'));
  lk.egressOutputDir = storage;
  lk.egressAudio = await readFile(path.resolve(import.meta.dirname, '../fixtures/audio/egress-voice.ogg'));
  lk.egressStartDelayMs = EGRESS_DELAY_MS;
  await lk.start();
  server = await startTestServer({}, {
    LIVEKIT_URL: 'ws://127.0.0.1:7880',
    LIVEKIT_API_URL: lk.url,
    LIVEKIT_API_KEY: KEY,
    LIVEKIT_API_SECRET: SECRET,
    RECORDING_AUDIO_DIR: path.join(storage, 'consilium'),
  });
  // Learners seated in group replays have signed in (a seat names someone Consilium knows).
  await server.signIn('stu');
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await closeBrowser?.();
  await server?.stop();
  await lk.stop();
  if (storage) await rm(storage, { recursive: true, force: true });
});

async function open(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 820 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => console.error('page error:', err.message));
  return page;
}

/** A head at (x, 1.6, z) looking at the middle of the table, hands in front. */
function poseAt(x: number, z: number) {
  const yaw = Math.atan2(x, z);
  const q: [number, number, number, number] = [0, Math.sin(yaw / 2), 0, Math.cos(yaw / 2)];
  const right = [Math.cos(yaw), -Math.sin(yaw)] as const;
  const fwd = [-Math.sin(yaw), -Math.cos(yaw)] as const;
  const hand = (side: number) => ({ p: [x + side * 0.22 * right[0] + 0.3 * fwd[0], 1.2, z + side * 0.22 * right[1] + 0.3 * fwd[1]] as [number, number, number], q: [0, 0, 0, 1] as [number, number, number, number] });
  return { head: { p: [x, 1.6, z] as [number, number, number], q }, left: hand(-1), right: hand(1) };
}

/** Where the recorded clinician walks: along the table's side, from z = −0.7 to +0.7 over 4 s, from 0.5 s in. */
const WALK_MS = 4000;
const walkZ = (ms: number) => -0.7 + 1.4 * Math.min(1, Math.max(0, (ms - 500) / WALK_MS));

describe('replay in 3D: recorded avatars and the recorded voice follow the replay clock', { timeout: 240_000 }, () => {
  it('a ghost is where the recording had it at each seek point; the audio element follows the seeks; both pages agree', async () => {
    // ---- a recorded case conference (SDK clients: the educator stands still, the clinician walks and points) ----
    const room = await server.createRoom({ title: 'Aortic valve case conference', recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }, { userId: 'cut', role: 'clinician' }] });
    const edu: ClinicSession = await server.join('edu', room.id, { name: 'Dr. Okafor' });
    const cut: ClinicSession = await server.join('cut', room.id, { name: 'Dr. Cutler' });
    expect((await edu.add({ kind: 'model', asset: 'builtin:heart', transform: { position: [0, 1.05, 0], rotation: [0, 0, 0, 1] } })).ok).toBe(true);
    const started = await edu.do('recording.start', {});
    expect(started.audio).toBe('egress');
    const t0 = Date.now();
    let pointing = false;
    while (Date.now() - t0 < WALK_MS + 1200) {
      const ms = Date.now() - t0;
      edu.sendPose(poseAt(-1.15, 0.2));
      cut.sendPose(poseAt(1.15, walkZ(ms)));
      if (!pointing && ms > 2500) {
        cut.room.send('pointer.update', { target: [0, 1.05, 0] });
        pointing = true;
      }
      await new Promise((r) => setTimeout(r, 33));
    }
    await edu.do('recording.stop', {});
    await Promise.all([edu.leave(), cut.leave()]);
    const recordingId = started.recordingId;

    // ---- the educator replays it to a de-identified student ----------------------------------------------
    const eduApi = (await server.as('edu', { name: 'Dr. Okafor' })).api;
    const replayRoom = await eduApi.openReplay(recordingId, { participants: [{ userId: 'stu', role: 'observer' }] });
    const { offsetMs } = await eduApi.recordingAudioLink(recordingId);
    expect(offsetMs).toBeGreaterThanOrEqual(EGRESS_DELAY_MS - 50);
    const enter = async (userId: string, name: string) => {
      const p = await open();
      await p.goto(`${server.app.url}/#room=${replayRoom.id}`);
      await devSignInPage(p, server.app.url, userId, name);
      await p.waitForSelector('.pill.ok');
      await p.waitForSelector('.replay-bar');
      await p.waitForSelector('.room-layout canvas');
      return p;
    };
    const educator = await enter('edu', 'Dr. Okafor');
    const student = await enter('stu', 'Sam Student');
    for (const p of [educator, student]) await eventually(async () => (await p.textContent('#replay-audio'))?.includes('in step') === true, 10_000);

    const ghosts = (p: Page) => p.evaluate(() => __consilium.world.ghostView());
    const cutler = async (p: Page) => Object.values(await ghosts(p)).find((g) => g.label === 'Dr. Cutler · clinician') ?? null;
    const audioAt = (p: Page) => p.evaluate(() => ({ t: __consilium.audio?.currentTime ?? -1, paused: __consilium.audio?.paused ?? true, ready: __consilium.audio?.readyState ?? 0 }));
    const seek = async (ms: number) => {
      await educator.fill('#replay-seek', String(ms));
      for (const p of [educator, student]) await eventually(async () => (await p.evaluate(() => __consilium.session.state.replay.positionMs)) === ms, 8000);
    };

    // ---- seek point 1: the clinician at the near end of the walk -----------------------------------------
    const t1 = 1500;
    await seek(t1);
    await eventually(async () => (await cutler(student))?.shown === true, 8000);
    await eventually(async () => Math.abs((await cutler(student))!.head[2] - walkZ(t1)) < 0.12, 8000);
    const at1 = (await cutler(student))!;
    expect(at1.head[0]).toBeCloseTo(1.15, 1);
    // The educator's page draws the same ghost at the same place (same recording, same clock).
    await eventually(async () => Math.abs((await cutler(educator))!.head[2] - at1.head[2]) < 0.01, 8000);
    // The voice stands at the same instant: (position − where the voice began) into the file.
    for (const p of [educator, student]) await eventually(async () => Math.abs((await audioAt(p)).t - (t1 - offsetMs) / 1000) < 0.1, 8000);

    // ---- seek point 2: later, further along; the ghost moved, and so did the voice ------------------------
    const t2 = 4000;
    await seek(t2);
    await eventually(async () => Math.abs((await cutler(student))!.head[2] - walkZ(t2)) < 0.12, 8000);
    const at2 = (await cutler(student))!;
    expect(at2.head[2] - at1.head[2]).toBeGreaterThan(0.5);
    for (const p of [educator, student]) await eventually(async () => Math.abs((await audioAt(p)).t - (t2 - offsetMs) / 1000) < 0.1, 8000);
    // Ghosts are apart from the people in the replay room now (their live avatars), and marked as recorded.
    const live = await student.evaluate(() => Object.keys(__consilium.world.visibility().avatars));
    const recorded = Object.keys(await ghosts(student));
    expect(recorded.length).toBe(2);
    expect(recorded.every((k) => !live.includes(k))).toBe(true);
    expect(Object.values(await ghosts(student)).map((g) => g.label).sort()).toEqual(['Dr. Cutler · clinician', 'Dr. Okafor · host']);

    // ---- back, before the walk: the ghost is back at the start (seek-correct backwards) -------------------
    await seek(300);
    await eventually(async () => Math.abs((await cutler(student))!.head[2] - walkZ(300)) < 0.05, 8000);
    for (const p of [educator, student]) await eventually(async () => (await audioAt(p)).t === 0, 8000); // before the voice began

    // ---- play: the ghost walks on with the clock and the voice plays for both ---------------------------------
    await seek(1000);
    await educator.click('#replay-play');
    for (const p of [educator, student]) await eventually(async () => !(await audioAt(p)).paused, 8000);
    await eventually(async () => (await cutler(student))!.head[2] > walkZ(1800), 8000);
    await educator.click('#replay-play'); // pause
    for (const p of [educator, student]) await eventually(async () => (await audioAt(p)).paused, 8000);

    // ---- the pictures: mid-walk, the clinician pointing at the heart ----------------------------------------
    await seek(3300);
    await eventually(async () => Math.abs((await cutler(student))!.head[2] - walkZ(3300)) < 0.12, 8000);
    await student.waitForTimeout(600);
    await student.screenshot({ path: path.join(DOCS, 'teaching-replay-ghosts.png') });
    await educator.screenshot({ path: path.join(DOCS, 'teaching-replay-ghosts-educator.png') });
  });
});
