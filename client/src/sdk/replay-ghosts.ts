import type { Pose } from '../../../shared/src/messages.ts';
import { readAvatar } from '../../../shared/src/pose-wire.ts';
import { REPLAY_POSE_FRAME, scanReplayFrame } from '../../../shared/src/replay-wire.ts';
import { blendAvatar, type AvatarPose } from './avatars.ts';

/**
 * Samples kept behind the newest one received (ms of recording): the position is far behind that
 * only for the moment a seek's RESET frame is ahead of the state patch that moves the clock.
 */
const KEEP_BEHIND_MS = 10_000;
/** Clock estimates kept: the best (least delayed) of the last few seconds of frames. */
const CLOCK_WINDOW = 40;

/** One recorded pose: when (ms into the recording), over how long it was reached, decoded when first drawn. */
class GhostSample {
  private decoded: AvatarPose | null = null;
  constructor(
    readonly t: number,
    readonly span: number,
    private readonly view: DataView,
    private readonly offset: number,
  ) {}

  get pose(): AvatarPose {
    return (this.decoded ??= readAvatar(this.view, this.offset));
  }
}

/**
 * A replay's recorded avatars (shared/src/replay-wire.ts): the samples the
 * server sends a little ahead of the replay clock, per recorded participant,
 * and each ghost's pose at any replay position — interpolated between the
 * samples around it, over the span the recording says the move took, so a
 * ghost is where it was at that instant of the recording whatever the speed.
 * A RESET (a seek, a restart, a new seat) drops what was held. The frames also
 * carry the server's clock, from which the replay's position is estimated.
 */
export class ReplayGhostStream {
  private readonly tracks = new Map<number, GhostSample[]>();
  /** The position the last RESET started at: until the clock catches up, ghosts stand there. */
  private resetAt = -1;
  private readonly offsets: number[] = [];
  private offsetMs: number | null = null;
  /** Frames and samples received (diagnostics, tests). */
  readonly received = { frames: 0, samples: 0, bytes: 0, resets: 0 };

  constructor(
    room: { onMessage(type: typeof REPLAY_POSE_FRAME, cb: (bytes: Uint8Array) => void): unknown } | null,
    private readonly clock: () => number = Date.now,
  ) {
    room?.onMessage(REPLAY_POSE_FRAME, (bytes: Uint8Array) => this.receive(bytes));
  }

  /** Take one frame (without the transport's framing); a malformed one is dropped whole. */
  receive(bytes: Uint8Array): void {
    const arrived = this.clock();
    const copy = bytes.slice(); // the samples keep views into it
    const incoming: [number, number, GhostSample][] = [];
    let head: ReturnType<typeof scanReplayFrame>;
    try {
      head = scanReplayFrame(copy, (t, n, span, view, offset) => incoming.push([n, t, new GhostSample(t, span, view, offset)]));
    } catch {
      return;
    }
    this.received.frames++;
    this.received.bytes += bytes.byteLength;
    this.received.samples += head.samples;
    this.noteServerClock(head.serverAt, arrived);
    if (head.reset) {
      this.received.resets++;
      this.tracks.clear();
      this.resetAt = incoming.length ? Math.min(...incoming.map(([, t]) => t)) : -1;
    }
    let newest = -Infinity;
    for (const [n, t, sample] of incoming) {
      let track = this.tracks.get(n);
      if (!track) this.tracks.set(n, (track = []));
      // Samples arrive in time order; one at or before the last held replaces nothing but follows it.
      while (track.length > 0 && track[track.length - 1]!.t > t) track.pop();
      track.push(sample);
      newest = Math.max(newest, t);
    }
    // Never on a read: the clock may lag a RESET for a moment, and the samples it is about to need must still be here.
    if (incoming.length > 0) for (const track of this.tracks.values()) prune(track, newest - KEEP_BEHIND_MS);
  }

  /**
   * Where recorded participant `n` was at `positionMs` of the recording: null
   * when it had no pose yet (it joined later, or held no headset or camera).
   */
  pose(n: number, positionMs: number): AvatarPose | null {
    const track = this.tracks.get(n);
    if (!track || track.length === 0) return null;
    let i = 0;
    while (i < track.length && track[i]!.t <= positionMs) i++;
    const before = track[i - 1];
    const after = track[i];
    // Before the first sample: right after a RESET the position may still be catching up; otherwise not here yet.
    if (!before) return after && after.t === this.resetAt ? after.pose : null;
    if (!after) return before.pose;
    const from = after.t - after.span;
    if (positionMs <= from) return before.pose;
    return blendAvatar(before.pose, after.pose, (positionMs - from) / (after.t - from || 1));
  }

  /** The recorded participants this stream holds poses of. */
  ghosts(): number[] {
    return [...this.tracks.keys()];
  }

  /** A recorded participant left the replayed scene: forget their poses. */
  forget(n: number): void {
    this.tracks.delete(n);
  }

  /** The server's clock now as estimated from the frames (null before the first). */
  serverNow(): number | null {
    return this.offsetMs === null ? null : this.clock() + this.offsetMs;
  }

  /** server − local, from the least delayed of the recent frames (a frame is never early, only late). */
  private noteServerClock(serverAt: number, arrived: number): void {
    this.offsets.push(serverAt - arrived);
    if (this.offsets.length > CLOCK_WINDOW) this.offsets.shift();
    this.offsetMs = Math.max(...this.offsets);
  }

}

/** Drop samples before `before`, keeping the last one at or before it (the pose held from then on). */
function prune(track: GhostSample[], before: number): void {
  let drop = 0;
  while (drop + 1 < track.length && track[drop + 1]!.t <= before) drop++;
  if (drop > 0) track.splice(0, drop);
}

export type { AvatarPose, Pose };
