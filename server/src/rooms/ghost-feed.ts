import { encodeReplayFrame, type GhostSample } from '../../../shared/src/replay-wire.ts';
import { decodeChunk, type Chunk } from '../domain/recording.ts';
import { PoseCursor, bucketMs, poseChanges, posesAt } from '../domain/replay-poses.ts';
import type { SeatReadiness } from './pose-relay.ts';
import type { RecordingSource } from './replay-player.ts';

/** How far ahead of the replay clock samples go out, in wall-clock ms (times the speed in recording ms). */
export const LEAD_WALL_MS = 600;
/** Decoded chunks kept at once: the one playing, the next, and one spare. */
const CACHED_CHUNKS = 3;

export interface GhostFeedDeps {
  recordingId: string;
  durationMs: number;
  source: RecordingSource;
  now: () => number;
  /** Where the replay stands now, how fast it runs, and whether it runs (ReplayPlayer). */
  clock: () => { positionMs: number; speed: number; playing: boolean };
  /** The transport's framing of a REPLAY_POSE_FRAME bytes message. */
  header: Uint8Array;
  /** Connected seats. */
  seats: () => Iterable<string>;
  ready: (sessionId: string) => SeatReadiness;
  /** Send a frame (shared by every recipient; never modified). */
  send: (sessionId: string, frame: Uint8Array) => void;
}

/**
 * The recorded avatars of a replay room, sent to its viewers (shared/src/replay-wire.ts):
 * the recorded pose samples a little ahead of the replay clock, so each viewer
 * interpolates every ghost at its own estimate of the position, in step with
 * the scene; a seek, a restart or a new seat gets a RESET frame — every ghost's
 * pose at the position, then what follows it. A seat whose socket is backed up
 * misses frames and gets a RESET when it drains, never a gap.
 *
 * Bounded: at most about ten samples per ghost per second of wall time at any
 * speed (PoseCursor), each ≤ 34 bytes, plus a 10-byte heartbeat per tick while
 * playing (it carries the server's clock). Socket-free; Teaching ticks it.
 */
export class GhostFeed {
  private readonly chunks = new Map<number, Chunk>();
  /** Recording time up to which samples went out. */
  private sentTo = 0;
  private cursor = new PoseCursor();
  private restart = true;
  private readonly needsReset = new Set<string>();
  private busy: Promise<void> = Promise.resolve();
  /** Bytes sent, all seats together (measurements). */
  bytesSent = 0;

  constructor(private readonly deps: GhostFeedDeps) {}

  /** Everyone starts over at the position (a seek, or playing again from the end). */
  reset(): Promise<void> {
    this.restart = true;
    return this.flush();
  }

  /** A seat joined or came back: it gets a RESET at the next flush. */
  seatOpened(sessionId: string): void {
    this.needsReset.add(sessionId);
  }

  seatClosed(sessionId: string): void {
    this.needsReset.delete(sessionId);
  }

  /** Send what is due: RESETs to the seats that need one, the next samples to the others. Serialized. */
  flush(): Promise<void> {
    const run = this.busy.then(() => this.flushNow());
    this.busy = run.catch(() => {}); // a failed flush (the database) does not stop the next
    return run;
  }

  private async flushNow(): Promise<void> {
    const { deps } = this;
    const { positionMs, speed, playing } = deps.clock();
    const at = Math.min(deps.durationMs, Math.max(0, positionMs));
    if (this.restart) {
      this.restart = false;
      this.sentTo = at;
      this.cursor = new PoseCursor(await this.posesAt(at));
      for (const s of deps.seats()) this.needsReset.add(s);
    }
    // Ahead of the position by the lead, in whole buckets (PoseCursor sends one pose per ghost per bucket).
    const size = bucketMs(speed);
    const target = Math.min(deps.durationMs, Math.floor((at + LEAD_WALL_MS * Math.max(1, speed)) / size) * size);
    let delta: Uint8Array | null = null;
    if (target > this.sentTo) {
      const samples = this.cursor.take(poseChanges(await this.chunksFor(this.sentTo, target), this.sentTo, target), speed);
      this.sentTo = target;
      if (samples.length > 0 || playing) delta = encodeReplayFrame(deps.header, false, deps.now(), samples);
    } else if (playing) {
      delta = encodeReplayFrame(deps.header, false, deps.now(), []); // the heartbeat: the server's clock
    }
    let resetFrame: Uint8Array | null = null;
    for (const sessionId of deps.seats()) {
      const wantsReset = this.needsReset.has(sessionId);
      if (!wantsReset && !delta) continue;
      if (deps.ready(sessionId) !== 'ready') {
        if (delta) this.needsReset.add(sessionId); // it misses this one: it starts over when it can take frames
        continue;
      }
      if (wantsReset) {
        resetFrame ??= await this.resetFrame(at, speed);
        this.needsReset.delete(sessionId);
        this.sendTo(sessionId, resetFrame);
      } else if (delta) {
        this.sendTo(sessionId, delta);
      }
    }
  }

  private sendTo(sessionId: string, frame: Uint8Array): void {
    this.bytesSent += frame.byteLength - this.deps.header.byteLength;
    this.deps.send(sessionId, frame);
  }

  /** Every ghost's pose at `at`, then the samples after it that went out already. */
  private async resetFrame(at: number, speed: number): Promise<Uint8Array> {
    const start = await this.posesAt(at);
    const after = new PoseCursor(start).take(poseChanges(await this.chunksFor(at, this.sentTo), at, this.sentTo), speed);
    return encodeReplayFrame(this.deps.header, true, this.deps.now(), [...start, ...after]);
  }

  private async posesAt(t: number): Promise<GhostSample[]> {
    const [chunk] = await this.chunksFor(t, t);
    return chunk ? posesAt(chunk, t) : [];
  }

  /** The chunks holding (from, to] (from the one holding `from`), loaded once and kept while near. */
  private async chunksFor(from: number, to: number): Promise<Chunk[]> {
    const out: Chunk[] = [];
    let c = await this.load(from, (k) => k.startMs <= from && from <= k.endMs);
    while (c) {
      out.push(c);
      if (to <= c.endMs) break;
      const prev: Chunk = c;
      // The next chunk starts where this one ends (its keyframe is this one's last scene).
      c = await this.load(prev.endMs, (k) => k.startMs === prev.endMs && k.seq > prev.seq);
      if (c && c.seq <= prev.seq) c = null;
    }
    return out;
  }

  /** A cached chunk that fits, else the recording's chunk at t (the last starting at or before it). */
  private async load(t: number, fits: (c: Chunk) => boolean): Promise<Chunk | null> {
    for (const c of this.chunks.values()) if (fits(c)) return c;
    const data = await this.deps.source.chunkAt(this.deps.recordingId, t);
    if (!data) return null;
    const chunk = decodeChunk(data);
    this.chunks.set(chunk.seq, chunk);
    // Keep the newest few: the replay moves forwards; a seek back loads again.
    for (const seq of [...this.chunks.keys()].sort((a, b) => a - b)) {
      if (this.chunks.size <= CACHED_CHUNKS) break;
      if (seq !== chunk.seq) this.chunks.delete(seq);
    }
    return chunk;
  }
}
