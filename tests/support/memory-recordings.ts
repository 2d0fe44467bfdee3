import type { Marker } from '../../server/src/domain/recording.ts';
import { Recorder, RECORD_TICK_MS } from '../../server/src/rooms/recorder.ts';
import type { GeneratedSession } from './generated-session.ts';

/** An in-memory recording store: chunks by start, as RecordingsRepo.chunkAt finds them. */
export class MemoryRecordings {
  chunks: { seq: number; startMs: number; endMs: number; data: Uint8Array }[] = [];
  markers: Marker[] = [];
  /** Chunk reads (how often a replay went to the store). */
  reads = 0;
  appendChunk(_id: string, c: { seq: number; startMs: number; endMs: number; data: Uint8Array }, markers: Marker[]): Promise<void> {
    this.chunks.push(c);
    this.markers.push(...markers);
    return Promise.resolve();
  }
  chunkAt(_id: string, t: number): Promise<Uint8Array | null> {
    this.reads++;
    const c = [...this.chunks].reverse().find((x) => x.startMs <= t);
    return Promise.resolve(c?.data ?? null);
  }
  get bytes(): number {
    return this.chunks.reduce((a, c) => a + c.data.byteLength, 0);
  }
}

/** Record a generated session for `ticks` recorder ticks (100 ms each); `onTick` sees the live room at each. Resolves the duration. */
export function recordSession(session: GeneratedSession, store: MemoryRecordings, ticks: number, onTick?: (t: number) => void, step: () => void = () => session.step(true)): Promise<number> {
  let now = 1_000_000;
  const recorder = new Recorder({ id: 'rec-1', state: session.state, poseOf: (s) => session.poses.get(s) ?? null, sink: store, startedAt: now, onError: (e) => { throw e; } });
  for (let i = 1; i <= ticks; i++) {
    step();
    now += RECORD_TICK_MS;
    recorder.tick(now);
    onTick?.(now - 1_000_000);
  }
  return recorder.stop(now);
}
