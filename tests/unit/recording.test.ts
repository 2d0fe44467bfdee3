import { describe, expect, it } from 'vitest';
import type { ClinicState } from '../../shared/src/state.ts';
import { ClinicState as State } from '../../shared/src/state.ts';
import { GeneratedSession as Session } from '../support/generated-session.ts';
import { toRecord } from '../../server/src/rooms/scene-store.ts';
import { RECORDED_PREFIX, ReplayPlayer } from '../../server/src/rooms/replay-player.ts';
import { decodeChunk } from '../../server/src/domain/recording.ts';
import { MemoryRecordings as MemoryStore, recordSession } from '../support/memory-recordings.ts';

/** What anyone would see of a scene: objects, people (who, pointer) and who presents; live or replayed (poses: replay-ghosts.test.ts). */
function seen(state: ClinicState, replayed: boolean) {
  const objects = [...state.objects.values()]
    .filter((o) => !replayed || o.id.startsWith(RECORDED_PREFIX))
    .map((o) => ({ ...toRecord(o), id: replayed ? o.id.slice(RECORDED_PREFIX.length) : o.id }))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const people = replayed
    ? [...state.replay.ghosts.values()].map((g) => ({ userId: g.userId, name: g.name, role: g.role, pointing: g.pointing, px: g.pointer.px }))
    : [...state.participants.values()].map((p) => ({ userId: p.userId, name: p.name, role: p.role, pointing: p.pointing, px: p.pointer.px }));
  people.sort((a, b) => (a.userId < b.userId ? -1 : 1));
  const presenter = replayed ? (state.replay.ghosts.get(state.replay.presenter)?.userId ?? '') : (state.participants.get(state.info.presenter)?.userId ?? '');
  return { objects, people, presenter };
}

const record = (session: Session, store: MemoryStore, ticks: number, onTick?: (t: number) => void) => recordSession(session, store, ticks, onTick);

describe('recording → replay', () => {
  it('the replayed scene is the live scene at every chosen instant (forwards, backwards, across chunks)', async () => {
    const session = new Session(7, 8);
    const store = new MemoryStore();
    const live = new Map<number, ReturnType<typeof seen>>();
    const chosen = new Set([100, 2500, 9900, 10_000, 10_100, 19_900, 33_300, 45_000, 59_900]);
    const duration = await record(session, store, 600, (t) => {
      if (chosen.has(t)) live.set(t, structuredClone(seen(session.state, false)));
    });
    expect(duration).toBe(60_000);
    expect(store.chunks.length).toBeGreaterThanOrEqual(6);
    expect(live.size).toBe(chosen.size);

    const replay = new State();
    let clock = 0;
    const player = new ReplayPlayer({ state: replay, recordingId: 'rec-1', durationMs: duration, audio: 'none', source: store, now: () => clock, objectAdded: () => {}, objectRemoved: () => {} });
    // Backwards and forwards: every seek rebuilds from a keyframe.
    for (const t of [...chosen].sort((a, b) => b - a).concat([...chosen])) {
      await player.seek(t);
      expect(seen(replay, true), `at ${t} ms`).toEqual(live.get(t));
    }
    // Playing onwards applies events incrementally and lands on the same scenes.
    await player.seek(0);
    player.play();
    for (const t of [...chosen].sort((a, b) => a - b)) {
      clock = t;
      await player.tick();
      expect(seen(replay, true), `playing at ${t} ms`).toEqual(live.get(t));
    }
  });

  it('a chunk is a keyframe and its events, and markers name annotations (with their author\'s access), presenters, joins and pointing', async () => {
    const session = new Session(11, 4);
    const store = new MemoryStore();
    await record(session, store, 300);
    const chunk = decodeChunk(store.chunks[1]!.data);
    expect(chunk.startMs).toBe(store.chunks[0]!.endMs);
    expect(chunk.keyframe.people.size).toBeGreaterThan(0);
    const kinds = new Set(store.markers.map((m) => m.kind));
    expect(kinds).toEqual(new Set(['annotation', 'presenter', 'join', 'pointing']));
    expect(store.markers.filter((m) => m.kind === 'annotation').every((m) => m.scope === 'patient/*.rs')).toBe(true);
  });

  it('size per minute: 16 participants ≤ 1 MB (poses at 10 Hz, everyone moving); 100 participants measured', async () => {
    const perMinute: Record<number, number> = {};
    for (const people of [16, 100]) {
      const store = new MemoryStore();
      // Everyone is always moving; a little churn of scene activity.
      await record(new Session(people, people), store, 600);
      perMinute[people] = store.bytes;
    }
    console.log(`recording size per minute: 16 participants ${(perMinute[16]! / 1024).toFixed(0)} KiB, 100 participants ${(perMinute[100]! / 1024).toFixed(0)} KiB`);
    expect(perMinute[16]!).toBeLessThanOrEqual(1024 * 1024);
    expect(perMinute[100]!).toBeGreaterThan(perMinute[16]!);
  });
});
