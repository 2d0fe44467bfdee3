import type { GhostSample } from '../../../shared/src/replay-wire.ts';
import { sceneAt, unpackPoses, type Chunk } from './recording.ts';

/** The recorder's sampling interval (ms): a pose that changed between two samples moved within this. */
export const SAMPLE_MS = 100;

/** Every recorded pose change in (from, to], in time order, from chunks that cover it (each holds its own (start, end]). */
export function* poseChanges(chunks: readonly Chunk[], from: number, to: number): Generator<{ t: number; n: number; pose: Uint8Array }> {
  for (const c of chunks) {
    if (c.endMs <= from || c.startMs >= to) continue;
    for (const e of c.events) {
      if (e.t <= from) continue;
      if (e.t > to) break;
      if (e.k !== 'v') continue;
      for (const [n, pose] of unpackPoses(e.d)) yield { t: e.t, n, pose };
    }
  }
}

/** Each ghost's pose at instant t (the chunk holding t), stamped t, span 0: where a replay starts. */
export function posesAt(chunk: Chunk, t: number): GhostSample[] {
  return [...sceneAt(chunk, t).poses].sort(([a], [b]) => a - b).map(([n, pose]) => ({ t, n, span: 0, pose }));
}

/** The length of recording (ms) of which at most one pose per ghost goes out at this speed. */
export const bucketMs = (speed: number): number => SAMPLE_MS * Math.max(1, speed);

/**
 * Chooses which recorded samples a replay sends and how each was reached.
 *
 * At speeds up to 1× every change goes out (≤ 10 a second per ghost). Faster,
 * the recording is cut into buckets of `bucketMs(speed)` = SAMPLE_MS × speed and
 * only each ghost's last pose in a bucket goes out, so a viewer never gets more
 * than about ten poses a second per ghost whatever the speed (the motion within
 * a bucket is drawn as one straight move). Callers ask for whole buckets.
 *
 * `span` tells the viewer over how long the ghost moved into a pose: since its
 * last sample sent, but no earlier than one recorder interval before its first
 * change in this bucket — a ghost that stood still for a minute and then
 * turned its head turns in 100 ms, not over the minute.
 */
export class PoseCursor {
  /** Per ghost: the time of the last sample sent. */
  private readonly lastSent = new Map<number, number>();

  /** Start at `t` with these poses already sent (a RESET frame's). */
  constructor(start: readonly GhostSample[] = []) {
    for (const s of start) this.lastSent.set(s.n, s.t);
  }

  /** The samples to send for these changes (in time order), for a replay running at `speed`. */
  take(changes: Iterable<{ t: number; n: number; pose: Uint8Array }>, speed: number): GhostSample[] {
    const out: GhostSample[] = [];
    const size = bucketMs(speed);
    /** Per ghost, within the open bucket: its first change and its latest pose. */
    let bucket = -1;
    const open = new Map<number, { first: number; t: number; pose: Uint8Array }>();
    const close = () => {
      for (const [n, s] of [...open].sort((a, b) => a[1].t - b[1].t || a[0] - b[0])) out.push(this.sample(n, s.first, s.t, s.pose));
      open.clear();
    };
    for (const c of changes) {
      if (speed <= 1) {
        out.push(this.sample(c.n, c.t, c.t, c.pose));
        continue;
      }
      const b = Math.ceil(c.t / size); // buckets are (k·size, (k+1)·size], as the feed's ranges
      if (b !== bucket) {
        close();
        bucket = b;
      }
      const held = open.get(c.n);
      open.set(c.n, { first: held?.first ?? c.t, t: c.t, pose: c.pose });
    }
    close();
    return out.sort((a, b) => a.t - b.t);
  }

  private sample(n: number, first: number, t: number, pose: Uint8Array): GhostSample {
    const last = this.lastSent.get(n);
    this.lastSent.set(n, t);
    const start = last === undefined ? t : Math.max(last, first - SAMPLE_MS);
    return { t, n, span: t - start, pose };
  }
}
