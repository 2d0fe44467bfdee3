import type { Pose, Quat, Vec3 } from './messages.ts';
import { Limits } from './protocol.ts';

/**
 * Avatar pose quantization. Positions: int16 steps of 2 mm over ±65.5 m
 * (values are clamped to the room cube first), so the round-trip error is
 * ≤ 1 mm per axis. Rotations: each unit-quaternion component as int16 over
 * [-1, 1], error ≤ 1/65534 per component; the quaternion is normalized and
 * flipped to w ≥ 0 first so q and -q quantize identically.
 */
export const POSITION_STEP = 0.002;
const INT16_MAX = 32767;

export interface QuantizedPose {
  px: number; py: number; pz: number;
  qx: number; qy: number; qz: number; qw: number;
}

export function clamp(value: number, min: number, max: number): number {
  return value < min ? min : value > max ? max : value;
}

export function clampPosition(v: Vec3): Vec3 {
  const h = Limits.roomHalfExtent;
  return [clamp(v[0], -h, h), clamp(v[1], -h, h), clamp(v[2], -h, h)];
}

/** Unit quaternion with w ≥ 0; a degenerate input becomes identity. */
export function normalizeQuat(q: Quat): Quat {
  const len = Math.hypot(q[0], q[1], q[2], q[3]);
  if (!(len > 1e-9) || !Number.isFinite(len)) return [0, 0, 0, 1];
  const s = (q[3] < 0 ? -1 : 1) / len;
  // "+ 0" turns -0 into 0 so equal rotations compare equal.
  return [q[0] * s + 0, q[1] * s + 0, q[2] * s + 0, q[3] * s + 0];
}

const qPos = (v: number) => clamp(Math.round(v / POSITION_STEP), -INT16_MAX, INT16_MAX);
const qRot = (v: number) => clamp(Math.round(v * INT16_MAX), -INT16_MAX, INT16_MAX);

export function quantizePose(pose: Pose): QuantizedPose {
  const p = clampPosition(pose.p);
  const q = normalizeQuat(pose.q);
  return { px: qPos(p[0]), py: qPos(p[1]), pz: qPos(p[2]), qx: qRot(q[0]), qy: qRot(q[1]), qz: qRot(q[2]), qw: qRot(q[3]) };
}

export function dequantizePose(q: QuantizedPose): Pose {
  return {
    p: [q.px * POSITION_STEP, q.py * POSITION_STEP, q.pz * POSITION_STEP],
    q: normalizeQuat([q.qx / INT16_MAX, q.qy / INT16_MAX, q.qz / INT16_MAX, q.qw / INT16_MAX]),
  };
}
