import type { Pose, PoseUpdate, Quat, Vec3 } from '../../../shared/src/messages.ts';
import type { ClinicRoom } from './session.ts';
import { POSE_FRAME, POSE_MESSAGE, encodePoseMessage, readAvatar, scanPoseFrame, type AvatarPose } from '../../../shared/src/pose-wire.ts';

export type { AvatarPose };

/** Samples kept per avatar: enough to bridge a late frame or two. */
const HISTORY = 8;
/** Playout delay bounds (ms): at least a flush window, at most what still feels live. */
const MIN_DELAY_MS = 20;
const MAX_DELAY_MS = 150;
/** Pose sending: the steady rate, and the slowest it backs off to when the socket backs up. */
const SEND_INTERVAL_MS = 1000 / 30;
const MAX_SEND_INTERVAL_MS = 200;
/** Unsent bytes on our socket above which the link is falling behind. */
const BACKLOG_BYTES = 16 * 1024;

/** A received pose: decoded on first use (most are never drawn: a 100 Hz stream under a 60 Hz display). */
class Sample {
  private decoded: AvatarPose | null;
  constructor(
    readonly at: number,
    pose: AvatarPose | null,
    private readonly view: DataView | null = null,
    private readonly offset = 0,
  ) {
    this.decoded = pose;
  }

  get pose(): AvatarPose {
    return (this.decoded ??= readAvatar(this.view!, this.offset));
  }
}

/** One avatar's recent poses, with an estimate of how irregularly they arrive: a small jitter buffer. */
export class PoseTrack {
  readonly samples: Sample[] = [];
  /** Smoothed gap between frames and its mean deviation (RFC 3550-style jitter). */
  gap = SEND_INTERVAL_MS;
  jitter = 0;

  push(at: number, pose: AvatarPose): void {
    this.add(new Sample(at, pose));
  }

  /** A pose as received, decoded only if it is ever drawn. */
  pushRecord(at: number, view: DataView, offset: number): void {
    this.add(new Sample(at, null, view, offset));
  }

  private add(sample: Sample): void {
    const at = sample.at;
    const last = this.samples[this.samples.length - 1];
    if (last) {
      const gap = at - last.at;
      this.jitter += (Math.abs(gap - this.gap) - this.jitter) / 16;
      this.gap += (gap - this.gap) / 16;
    }
    this.samples.push(sample);
    if (this.samples.length > HISTORY) this.samples.shift();
  }

  /** How far behind real time this avatar is drawn: one frame gap plus room for jitter. */
  get delay(): number {
    return Math.min(MAX_DELAY_MS, Math.max(MIN_DELAY_MS, this.gap + 2 * this.jitter));
  }

  /** The pose at `time`, interpolated between the samples around it (held at the ends, never extrapolated). */
  at(time: number): AvatarPose | null {
    const s = this.samples;
    if (s.length === 0) return null;
    if (time >= s[s.length - 1]!.at) return s[s.length - 1]!.pose;
    if (time <= s[0]!.at) return s[0]!.pose;
    let i = s.length - 1;
    while (s[i - 1]!.at > time) i--;
    const a = s[i - 1]!;
    const b = s[i]!;
    return blendAvatar(a.pose, b.pose, (time - a.at) / (b.at - a.at || 1));
  }
}

/**
 * Avatar poses on their binary path (shared/src/pose-wire.ts): sends this
 * participant's pose at up to 30 Hz — slower while the socket is backed up —
 * and keeps every other avatar's recent poses by slot, drawn through a small
 * jitter buffer so movement is smooth whatever the server's flush rate.
 */
export class AvatarStream {
  private readonly tracks = new Map<number, PoseTrack>();
  private lastSent = -Infinity;
  private interval = SEND_INTERVAL_MS;
  private pending: PoseUpdate | null = null;
  private pendingTimer: ReturnType<typeof setTimeout> | null = null;
  /** Frames and avatar records received (diagnostics, benchmarks). */
  readonly received = { frames: 0, records: 0, bytes: 0 };

  constructor(
    private readonly room: ClinicRoom,
    private readonly clock: () => number = () => performance.now(),
  ) {
    room.onMessage(POSE_FRAME, (bytes: Uint8Array) => this.receive(bytes));
  }

  private claimed: object | null = null;

  /**
   * Send my pose. Calls faster than the send rate coalesce: the latest pose
   * goes out when the interval has passed, so the last one is never lost.
   * Ignored while another source holds the pose (`claim`).
   */
  send(pose: PoseUpdate): void {
    if (this.claimed) return;
    this.queue(pose);
  }

  /**
   * Make one source this seat's only pose until released — a headset view
   * over a page whose desktop view keeps rendering (and sending) underneath.
   */
  claim(): { send(pose: PoseUpdate): void; release(): void } {
    const token = {};
    this.claimed = token;
    return {
      send: (pose) => void (this.claimed === token && this.queue(pose)),
      release: () => void (this.claimed === token && (this.claimed = null)),
    };
  }

  private queue(pose: PoseUpdate): void {
    this.pending = pose;
    const wait = this.lastSent + this.interval - this.clock();
    if (wait <= 0) this.flush();
    else this.flushIn(wait);
  }

  /** The avatar in `slot` as it should be drawn now (null before its first pose). */
  pose(slot: number, interpolate = true): AvatarPose | null {
    const track = this.tracks.get(slot);
    if (!track) return null;
    return interpolate ? track.at(this.clock() - track.delay) : track.samples[track.samples.length - 1]?.pose ?? null;
  }

  /** The participant in `slot` left: forget their poses. */
  forget(slot: number): void {
    this.tracks.delete(slot);
  }

  /** Current send interval (ms): 33 while the link keeps up, up to 200 while it falls behind. */
  get sendIntervalMs(): number {
    return this.interval;
  }

  private flush(): void {
    const pose = this.pending;
    if (!pose) return;
    // Falling behind: unsent bytes pile up on our side. Back off, and let the latest pose wait.
    const backlog = bufferedAmount(this.room);
    if (backlog > BACKLOG_BYTES) {
      this.interval = Math.min(MAX_SEND_INTERVAL_MS, this.interval * 2);
      this.flushIn(this.interval);
      return;
    }
    this.interval = Math.max(SEND_INTERVAL_MS, this.interval * 0.9);
    this.pending = null;
    this.lastSent = this.clock();
    this.room.sendBytes(POSE_MESSAGE, encodePoseMessage(pose));
  }

  /** Send the pending pose in `ms` (one timer at a time). */
  private flushIn(ms: number): void {
    this.pendingTimer ??= setTimeout(() => {
      this.pendingTimer = null;
      this.flush();
    }, ms);
  }

  private receive(bytes: Uint8Array): void {
    const at = this.clock();
    this.received.frames++;
    this.received.bytes += bytes.byteLength;
    try {
      scanPoseFrame(bytes, (slot, view, offset) => {
        this.received.records++;
        let track = this.tracks.get(slot);
        if (!track) this.tracks.set(slot, (track = new PoseTrack()));
        track.pushRecord(at, view, offset);
      });
    } catch {
      // A frame we cannot read is dropped; the next one carries the latest poses anyway.
    }
  }
}

function bufferedAmount(room: ClinicRoom): number {
  const ws = (room.connection as unknown as { transport?: { ws?: { bufferedAmount?: number } } }).transport?.ws;
  return ws?.bufferedAmount ?? 0;
}

/** Between two avatar poses (t 0–1): positions straight, rotations along the shorter arc; a hand appears or goes halfway. */
export function blendAvatar(a: AvatarPose, b: AvatarPose, t: number): AvatarPose {
  return {
    head: blend(a.head, b.head, t),
    left: a.left && b.left ? blend(a.left, b.left, t) : t < 0.5 ? a.left : b.left,
    right: a.right && b.right ? blend(a.right, b.right, t) : t < 0.5 ? a.right : b.right,
  };
}

function blend(a: Pose, b: Pose, t: number): Pose {
  return { p: lerp3(a.p, b.p, t), q: slerp(a.q, b.q, t) };
}

function lerp3(a: Vec3, b: Vec3, t: number): Vec3 {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Normalised lerp along the shorter arc: close enough to slerp between poses 33 ms apart. */
function slerp(a: Quat, b: Quat, t: number): Quat {
  const sign = a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3] < 0 ? -1 : 1;
  const q: Quat = [a[0] + (b[0] * sign - a[0]) * t, a[1] + (b[1] * sign - a[1]) * t, a[2] + (b[2] * sign - a[2]) * t, a[3] + (b[3] * sign - a[3]) * t];
  const len = Math.hypot(q[0], q[1], q[2], q[3]) || 1;
  return [q[0] / len, q[1] / len, q[2] / len, q[3] / len];
}
