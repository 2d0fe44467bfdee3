/**
 * Avatar motion for the fan-out benchmark, and matching what a receiver sees
 * against what was sent.
 *
 * Every number moves every tick: the head bobs, sways and turns; the left hand
 * circles (radius 12 cm, 3 s per turn) while bobbing; the right hand follows a
 * Lissajous path; all three rotate. The left hand's circle is the sequence
 * code: consecutive sends are ≥ 5.9 mm apart on some axis (chord of 1/90 turn,
 * over √2), and no two sends within RING ticks coincide, so a receiver finds
 * the exact send by the left hand position alone (gate 2 mm) — no extra field.
 */
import type { Pose, Quat } from '../../shared/src/messages.ts';
import { angleBetween } from '../../shared/src/pose-wire.ts';

export const HZ = 30;
/** Ticks per left-hand revolution; must exceed RING. */
const TURN_TICKS = 90;
const RADIUS = 0.12;
/** How many recent sends a sender keeps for matching (≈ 2.1 s at 30 Hz). */
export const RING = 64;
/** Position gate for matching and the error bound to check (m). */
export const POSITION_BOUND = 0.002;
export const ROTATION_BOUND_DEG = 0.25;

export interface AvatarPose {
  head: Pose;
  left: Pose;
  right: Pose;
}

function euler(yaw: number, pitch: number, roll: number): Quat {
  const [cy, sy] = [Math.cos(yaw / 2), Math.sin(yaw / 2)];
  const [cp, sp] = [Math.cos(pitch / 2), Math.sin(pitch / 2)];
  const [cr, sr] = [Math.cos(roll / 2), Math.sin(roll / 2)];
  return [sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy, cr * cp * sy - sr * sp * cy, cr * cp * cy + sr * sp * sy];
}

/** Pose of avatar `avatar` at tick `seq`; avatars stand on a 1 m grid around the room centre. */
export function avatarPose(avatar: number, seq: number): AvatarPose {
  const t = seq / HZ + avatar * 0.37;
  const x0 = (avatar % 10) - 4.5;
  const z0 = Math.floor(avatar / 10) - 4.5;
  const yaw = 0.6 * Math.sin(t * 0.7) + avatar;
  const theta = (2 * Math.PI * seq) / TURN_TICKS + avatar;
  return {
    head: { p: [x0 + 0.03 * Math.sin(t * 1.1), 1.65 + 0.02 * Math.sin(t * 2.3), z0 + 0.03 * Math.cos(t * 0.9)], q: euler(yaw, 0.15 * Math.sin(t * 1.7), 0.05 * Math.sin(t * 1.3)) },
    left: { p: [x0 - 0.25 + RADIUS * Math.cos(theta), 1.2 + 0.05 * Math.sin(t * 1.9), z0 + 0.3 + RADIUS * Math.sin(theta)], q: euler(yaw + 0.4 * Math.sin(t * 2.1), 0.5 * Math.sin(t * 1.5), 0.8 * Math.sin(t * 1.1)) },
    right: { p: [x0 + 0.25 + 0.1 * Math.sin(t * 1.3), 1.15 + 0.08 * Math.sin(t * 2.1), z0 + 0.3 + 0.1 * Math.sin(t * 0.8)], q: euler(yaw - 0.3 * Math.sin(t * 1.6), 0.6 * Math.sin(t * 1.2), -0.7 * Math.sin(t * 0.9)) },
  };
}

interface Sent {
  seq: number;
  at: number;
  pose: AvatarPose;
}

const axisError = (a: Pose, b: Pose) => Math.max(Math.abs(a.p[0] - b.p[0]), Math.abs(a.p[1] - b.p[1]), Math.abs(a.p[2] - b.p[2]));

/** The last RING sends of one avatar, kept by its sender for receivers in the same process. */
export class SentLog {
  private ring: (Sent | undefined)[] = new Array(RING);
  private next = 0;

  record(seq: number, at: number, pose: AvatarPose): void {
    this.ring[this.next] = { seq, at, pose };
    this.next = (this.next + 1) % RING;
  }

  /** The newest send whose left hand is within the gate of `left`. */
  match(left: Pose): Sent | undefined {
    for (let k = 1; k <= RING; k++) {
      const s = this.ring[(this.next - k + RING) % RING];
      if (s && axisError(s.pose.left, left) <= POSITION_BOUND) return s;
    }
    return undefined;
  }
}

/** What one receiver observed of the avatars it watches. */
export class Observations {
  latencies: number[] = [];
  /** Received updates of watched avatars that matched no recent send (late > 2 s, or wrong). */
  unmatched = 0;
  maxPositionError = 0;
  maxRotationError = 0;
  private lastSeq = new Map<SentLog, number>();

  /** A pose of a watched avatar arrived; `recording` says whether the window is open. */
  see(log: SentLog, received: { head: Pose; left: Pose | null; right: Pose | null }, now: number, recording: boolean): void {
    if (!received.left) return;
    const s = log.match(received.left);
    if (!s) {
      if (recording) this.unmatched++;
      return;
    }
    if (s.seq <= (this.lastSeq.get(log) ?? -1)) return; // already seen (an unchanged avatar in a patch)
    this.lastSeq.set(log, s.seq);
    if (!recording) return;
    this.latencies.push(now - s.at);
    for (const part of ['head', 'left', 'right'] as const) {
      const r = received[part];
      if (!r) continue;
      this.maxPositionError = Math.max(this.maxPositionError, axisError(r, s.pose[part]));
      this.maxRotationError = Math.max(this.maxRotationError, angleBetween(r.q, s.pose[part].q));
    }
  }
}
