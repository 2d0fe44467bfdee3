import { describe, expect, it } from 'vitest';
import { encodePoseMessage, readAvatar, type AvatarPose } from '../../shared/src/pose-wire.ts';
import { encodeReplayFrame, scanReplayFrame, type GhostSample } from '../../shared/src/replay-wire.ts';
import { ClinicState } from '../../shared/src/state.ts';
import { GhostFeed } from '../../server/src/rooms/ghost-feed.ts';
import { ReplayPlayer } from '../../server/src/rooms/replay-player.ts';
import { ReplayGhostStream } from '../../client/src/sdk/replay-ghosts.ts';
import { GeneratedSession } from '../support/generated-session.ts';
import { MemoryRecordings, recordSession } from '../support/memory-recordings.ts';

const HEADER = Uint8Array.of(0xef, 2);
const pose = (x: number, y = 1.6, z = 0): Uint8Array => encodePoseMessage({ head: { p: [x, y, z], q: [0, 0, 0, 1] } });
const decode = (bytes: Uint8Array): AvatarPose => readAvatar(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);

/** A replay room in memory: the player and the ghost feed on one state and clock, and viewers (the SDK's stream) on its frames. */
function replayRoom(store: MemoryRecordings, durationMs: number) {
  const state = new ClinicState();
  const clock = { now: 0 };
  const player = new ReplayPlayer({ state, recordingId: 'rec-1', durationMs, audio: 'none', source: store, now: () => clock.now, objectAdded: () => {}, objectRemoved: () => {} });
  const viewers = new Map<string, { stream: ReplayGhostStream; frames: Uint8Array[]; ready: 'ready' | 'busy' }>();
  const feed = new GhostFeed({
    recordingId: 'rec-1',
    durationMs,
    source: store,
    now: () => clock.now,
    clock: () => ({ positionMs: player.position(), speed: state.replay.speed, playing: state.replay.status === 'playing' }),
    header: HEADER,
    seats: () => viewers.keys(),
    ready: (s) => viewers.get(s)?.ready ?? 'absent',
    send: (s, frame) => {
      const v = viewers.get(s)!;
      v.frames.push(frame);
      v.stream.receive(frame.subarray(HEADER.byteLength));
    },
  });
  const join = (sessionId: string) => {
    const v = { stream: new ReplayGhostStream(null, () => clock.now), frames: [] as Uint8Array[], ready: 'ready' as 'ready' | 'busy' };
    viewers.set(sessionId, v);
    feed.seatOpened(sessionId);
    return v;
  };
  /** Seek as the educator does: the scene, then the ghosts start over there. */
  const seek = async (t: number) => {
    await player.seek(t);
    await feed.reset();
  };
  /** Play on for `ms` of wall time in the clinic's ~100 ms ticks. */
  const run = async (ms: number) => {
    for (let left = ms; left > 0; left -= 100) {
      clock.now += Math.min(100, left);
      await player.tick();
      await feed.flush();
    }
  };
  /** Each recorded participant's user id → the pose a viewer draws at `t` (by the replayed state's ghosts). */
  const drawn = (stream: ReplayGhostStream, t: number) => {
    const out = new Map<string, AvatarPose | null>();
    state.replay.ghosts.forEach((g, key) => out.set(g.userId, stream.pose(Number(key.slice(1)), t)));
    return out;
  };
  return { state, clock, player, feed, viewers, join, seek, run, drawn };
}

/** The live room's poses at this instant, by user id (what a viewer of the live room would have had last). */
function livePoses(session: GeneratedSession): Map<string, AvatarPose | null> {
  const out = new Map<string, AvatarPose | null>();
  session.state.participants.forEach((p, sessionId) => {
    const bytes = session.poses.get(sessionId);
    out.set(p.userId, bytes ? decode(bytes) : null);
  });
  return out;
}

describe('replay pose frames (shared/src/replay-wire.ts)', () => {
  it('round-trip: time groups (split past 255), ghost numbers, spans and poses of every length', () => {
    const samples: GhostSample[] = [];
    for (let n = 0; n < 300; n++) samples.push({ t: 1000, n, span: n % 7, pose: encodePoseMessage({ head: { p: [n / 100, 1.5, 0], q: [0, 0, 0, 1] }, ...(n % 2 ? { left: { p: [0, 1, 0], q: [0, 0, 0, 1] } } : {}), ...(n % 3 ? { right: { p: [0, 1, 0.1], q: [0, 0, 0, 1] } } : {}) }) });
    samples.push({ t: 1100, n: 65_000, span: 100, pose: pose(2) });
    const frame = encodeReplayFrame(HEADER, true, 123_456.5, samples);
    const got: GhostSample[] = [];
    const head = scanReplayFrame(frame.subarray(HEADER.byteLength), (t, n, span, view, offset) => got.push({ t, n, span, pose: new Uint8Array(view.buffer, view.byteOffset + offset, samples[got.length]!.pose.byteLength).slice() }));
    expect(head).toEqual({ reset: true, serverAt: 123_456.5, samples: 301 });
    expect(got).toEqual(samples);
  });

  it('a malformed frame is refused whole (nothing of it is taken), never misread; the stream keeps what it had', () => {
    const good = encodeReplayFrame(HEADER, false, 1, [{ t: 5, n: 1, span: 0, pose: pose(1) }, { t: 6, n: 1, span: 1, pose: pose(2) }]).subarray(HEADER.byteLength);
    const bad = [good.subarray(0, 5), good.subarray(0, good.byteLength - 1), Uint8Array.of(2, ...good.subarray(1)), (() => { const b = good.slice(); b[13] = 0; return b; })()];
    for (const b of bad) {
      let called = 0;
      expect(() => scanReplayFrame(b, () => called++)).toThrow();
      expect(called).toBe(0);
    }
    const stream = new ReplayGhostStream(null, () => 0);
    stream.receive(good);
    for (const b of bad) stream.receive(b);
    // Random bytes: refused or read, never a crash.
    let seed = 7;
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(1 + (i % 80));
      for (let j = 0; j < b.length; j++) b[j] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      stream.receive(b);
    }
    expect(stream.received.frames).toBeGreaterThanOrEqual(1);
  });
});

describe('recorded avatars in a replay: where they were at the replay position', () => {
  it('after any seek (forwards, backwards, across chunks) every ghost is where the live avatar was at that instant', async () => {
    const session = new GeneratedSession(3, 8);
    const store = new MemoryRecordings();
    const chosen = new Set([100, 2500, 9900, 10_000, 10_100, 19_900, 33_300, 45_000, 59_900]);
    const live = new Map<number, Map<string, AvatarPose | null>>();
    const duration = await recordSession(session, store, 600, (t) => {
      if (chosen.has(t)) live.set(t, livePoses(session));
    });
    const room = replayRoom(store, duration);
    const viewer = room.join('s1');
    await room.seek(0);
    let before = 0;
    for (const t of [...chosen].sort((a, b) => b - a).concat([...chosen])) {
      await room.seek(t);
      // The RESET may arrive before the state patch that moves the viewer's clock: drawn at the old position
      // for a frame or two, it must lose nothing of what the new position needs.
      room.drawn(viewer.stream, before);
      expect(room.drawn(viewer.stream, t), `at ${t} ms`).toEqual(live.get(t));
      before = t;
    }
    expect(viewer.stream.received.resets).toBe(chosen.size * 2 + 1);
  });

  it('while playing (1×), every ghost at each recorded instant is the live avatar of that instant; a seat that joins late or falls behind starts over', async () => {
    const session = new GeneratedSession(5, 6);
    const store = new MemoryRecordings();
    const live = new Map<number, Map<string, AvatarPose | null>>();
    const duration = await recordSession(session, store, 300, (t) => live.set(t, livePoses(session)));
    const room = replayRoom(store, duration);
    const early = room.join('s1');
    await room.seek(0);
    await room.player.play();
    let late: ReturnType<typeof room.join> | null = null;
    for (let t = 100; t <= 29_000; t += 100) {
      await room.run(100);
      if (t === 12_000) late = room.join('s2');
      if (t === 20_000) early.ready = 'busy';
      if (t === 20_500) early.ready = 'ready';
      expect(room.drawn(early.stream, t), `at ${t} ms`).toEqual(live.get(t));
      if (late && t >= 12_100) expect(room.drawn(late.stream, t), `late viewer at ${t} ms`).toEqual(live.get(t));
    }
    expect(late!.stream.received.resets).toBe(1);
    expect(early.stream.received.resets).toBe(2); // the start, and again after its socket drained
  });

  it('between samples a ghost moves smoothly; a ghost that stood still and then moved does not slide for the whole pause', async () => {
    const session = new GeneratedSession(1, 0);
    session.join();
    const [sessionId] = [...session.state.participants.keys()] as [string];
    let tick = 0;
    // Moves 1 cm a tick for 2 s, stands still 3 s, then moves again, 5 cm a tick.
    const x = (k: number) => (k <= 20 ? k * 0.01 : k <= 50 ? 0.2 : 0.2 + (k - 50) * 0.05);
    const store = new MemoryRecordings();
    const duration = await recordSession(session, store, 70, undefined, () => void session.poses.set(sessionId, pose(x(++tick))));
    const room = replayRoom(store, duration);
    const v = room.join('s1');
    const headX = (t: number) => room.drawn(v.stream, t).get('u0')!.head.p[0];
    // Halfway between two samples: halfway between the positions (within the 3 mm quantisation step).
    await room.seek(1000);
    expect(headX(1050)).toBeCloseTo(0.105, 2);
    expect(headX(1020)).toBeGreaterThan(headX(1000));
    expect(headX(1020)).toBeLessThan(headX(1050));
    // Standing still from 2.0 s to 5.0 s: there, not creeping towards where it will be at 5.1 s.
    await room.seek(4500);
    expect(headX(4800)).toBeCloseTo(0.2, 2);
    expect(headX(5000)).toBeCloseTo(0.2, 2);
    expect(headX(5050)).toBeCloseTo(0.225, 2);
    expect(headX(5100)).toBeCloseTo(0.25, 2);
  });

  it('bandwidth is bounded: about ten samples per ghost per second of wall time at any speed; measured for 16 and 100 ghosts', async () => {
    const rates: Record<string, number> = {};
    for (const people of [16, 100]) {
      const store = new MemoryRecordings();
      const duration = await recordSession(new GeneratedSession(people, people), store, 400);
      for (const speed of [1, 4]) {
        const room = replayRoom(store, duration);
        const v = room.join('s1');
        await room.seek(0);
        room.player.setSpeed(speed);
        room.player.play();
        const wallMs = Math.floor(duration / speed) - 1000;
        const before = v.stream.received.bytes;
        const samplesBefore = v.stream.received.samples;
        await room.run(wallMs);
        const perSecond = ((v.stream.received.bytes - before) / wallMs) * 1000;
        const samplesPerGhostSecond = ((v.stream.received.samples - samplesBefore) / wallMs / people) * 1000;
        rates[`${people}@${speed}`] = perSecond;
        expect(samplesPerGhostSecond, `${people} ghosts at ${speed}×`).toBeLessThanOrEqual(12);
        expect(samplesPerGhostSecond, `${people} ghosts at ${speed}×`).toBeGreaterThan(8);
      }
      expect(rates[`${people}@4`]!).toBeLessThanOrEqual(rates[`${people}@1`]! * 1.25);
    }
    console.log(`replay ghosts per viewer: 16 ghosts ${(rates['16@1']! / 1024).toFixed(1)} KiB/s at 1×, ${(rates['16@4']! / 1024).toFixed(1)} KiB/s at 4×; 100 ghosts ${(rates['100@1']! / 1024).toFixed(1)} KiB/s at 1×, ${(rates['100@4']! / 1024).toFixed(1)} KiB/s at 4×`);
    expect(rates['16@4']!).toBeLessThanOrEqual(8 * 1024);
  });
});
