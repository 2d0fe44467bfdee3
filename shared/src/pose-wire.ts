import type { Pose, Quat, Vec3 } from './messages.ts';
import { Limits } from './protocol.ts';
import { clamp, normalizeQuat } from './quantize.ts';

/**
 * The avatar pose fast path: fixed-size binary, outside the state patches.
 *
 * Poses are ephemeral and only the latest counts, so they skip msgpack, zod
 * and the schema: a client sends one small binary message per pose; the
 * server checks its length and ranges, keeps the bytes as they came, and
 * flushes every changed avatar in one packed frame that all recipients share.
 *
 * One pose is 10 bytes:
 * - position: three int16, the room cube (±Limits.roomHalfExtent m) over
 *   ±32767 — a step of 1.53 mm, so the error is ≤ 0.77 mm per axis;
 * - rotation: "smallest three" in a uint32 — 2 bits name the largest
 *   component (made positive and left out), 10 bits each carry the other
 *   three over [-1/√2, 1/√2]; the error is ≤ 0.16°.
 *
 * Client → server message (POSE_MESSAGE): flags, head, [left], [right]
 * (11, 21 or 31 bytes). Server → client frame (POSE_FRAME): one record per
 * changed avatar: slot, flags, head, [left], [right] — 32 bytes for an
 * avatar with both hands. All integers little-endian.
 */
export const POSE_MESSAGE = 1;
export const POSE_FRAME = 1;

export const POSE_BYTES = 10;
/** flags: which hands are present (tracked). Other bits must be 0. */
export const LEFT_HAND = 1;
export const RIGHT_HAND = 2;
const FLAG_MASK = LEFT_HAND | RIGHT_HAND;

/** Largest avatar record (slot + flags + three poses). */
export const MAX_RECORD_BYTES = 2 + 3 * POSE_BYTES;
/** Slots are one byte. */
export const MAX_SLOTS = 256;

export interface AvatarPose {
  head: Pose;
  left: Pose | null;
  right: Pose | null;
}

const INT16_MAX = 32767;
const POSITION_SCALE = INT16_MAX / Limits.roomHalfExtent;
const SQRT1_2 = Math.SQRT1_2;
const TEN_BITS = 1023;
/** 10-bit code 0…1022 ↔ component in [-1/√2, 1/√2]; an even span puts 0 exactly on code 511. */
const Q_MAX_CODE = 1022;
const Q_SCALE = Q_MAX_CODE / (2 * SQRT1_2);

/** Bytes of a client pose message with these flags. */
export const messageBytes = (flags: number): number => 1 + POSE_BYTES * (1 + (flags & 1) + ((flags >> 1) & 1));

export function writePose(view: DataView, offset: number, pose: Pose): void {
  const p = pose.p;
  for (let i = 0; i < 3; i++) {
    const v = Number.isFinite(p[i]) ? p[i]! : 0;
    view.setInt16(offset + 2 * i, clamp(Math.round(v * POSITION_SCALE), -INT16_MAX, INT16_MAX), true);
  }
  view.setUint32(offset + 6, packQuat(pose.q), true);
}

export function readPose(view: DataView, offset: number): Pose {
  const p: Vec3 = [view.getInt16(offset, true) / POSITION_SCALE, view.getInt16(offset + 2, true) / POSITION_SCALE, view.getInt16(offset + 4, true) / POSITION_SCALE];
  return { p, q: unpackQuat(view.getUint32(offset + 6, true)) };
}

export function packQuat(q: Quat): number {
  const n = normalizeQuat(q);
  let largest = 3;
  for (let i = 0; i < 3; i++) if (Math.abs(n[i]!) > Math.abs(n[largest]!)) largest = i;
  const sign = n[largest]! < 0 ? -1 : 1;
  let packed = largest;
  for (let i = 0; i < 4; i++) {
    if (i === largest) continue;
    const code = clamp(Math.round((n[i]! * sign + SQRT1_2) * Q_SCALE), 0, Q_MAX_CODE);
    packed = packed * 1024 + code;
  }
  return packed >>> 0;
}

/** Decode a packed rotation. An impossible one (the three sum past 1) reads as NaN: see isValidQuat. */
export function unpackQuat(packed: number): Quat {
  const largest = packed >>> 30;
  const a = ((packed >>> 20) & TEN_BITS) / Q_SCALE - SQRT1_2;
  const b = ((packed >>> 10) & TEN_BITS) / Q_SCALE - SQRT1_2;
  const c = (packed & TEN_BITS) / Q_SCALE - SQRT1_2;
  const rest = 1 - a * a - b * b - c * c;
  // Quantization can push a legal sum a hair past 1.
  const big = rest >= 0 ? Math.sqrt(rest) : rest > -1e-3 ? 0 : Number.NaN;
  const q: [number, number, number, number] = [0, 0, 0, 0];
  const others = [a, b, c];
  for (let i = 0, k = 0; i < 4; i++) q[i] = i === largest ? big : others[k++]!;
  return normalizeQuat(q);
}

function isValidQuat(packed: number): boolean {
  const a = ((packed >>> 20) & TEN_BITS) / Q_SCALE - SQRT1_2;
  const b = ((packed >>> 10) & TEN_BITS) / Q_SCALE - SQRT1_2;
  const c = (packed & TEN_BITS) / Q_SCALE - SQRT1_2;
  return a * a + b * b + c * c < 1 + 1e-3;
}

/** Encode a client pose message (hands absent when null/undefined). */
export function encodePoseMessage(pose: { head: Pose; left?: Pose | null; right?: Pose | null }): Uint8Array {
  const flags = (pose.left ? LEFT_HAND : 0) | (pose.right ? RIGHT_HAND : 0);
  const bytes = new Uint8Array(messageBytes(flags));
  const view = new DataView(bytes.buffer);
  bytes[0] = flags;
  let at = 1;
  writePose(view, at, pose.head);
  at += POSE_BYTES;
  if (pose.left) { writePose(view, at, pose.left); at += POSE_BYTES; }
  if (pose.right) writePose(view, at, pose.right);
  return bytes;
}

export type PoseMessageCheck = 'ok' | 'length' | 'flags' | 'position' | 'rotation';

/**
 * Is this a well-formed pose message? Length fixed by the flags, no unknown
 * flag bits, positions inside the int16 range the encoder uses, rotations
 * that decode to unit quaternions. Cheap: no allocation.
 */
export function checkPoseMessage(bytes: Uint8Array): PoseMessageCheck {
  if (bytes.byteLength < 1) return 'length';
  const flags = bytes[0]!;
  if ((flags & ~FLAG_MASK) !== 0) return 'flags';
  if (bytes.byteLength !== messageBytes(flags)) return 'length';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 1; at < bytes.byteLength; at += POSE_BYTES) {
    if (view.getInt16(at, true) === -32768 || view.getInt16(at + 2, true) === -32768 || view.getInt16(at + 4, true) === -32768) return 'position';
    if (!isValidQuat(view.getUint32(at + 6, true))) return 'rotation';
  }
  return 'ok';
}

/** Decode a server pose frame, calling `visit` per avatar record. Throws on a truncated frame. */
export function readPoseFrame(bytes: Uint8Array, visit: (slot: number, pose: AvatarPose) => void): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.byteLength) {
    const slot = bytes[at]!;
    const flags = bytes[at + 1]!;
    const size = 1 + messageBytes(flags);
    if (at + size > bytes.byteLength || (flags & ~FLAG_MASK) !== 0) throw new RangeError('truncated pose frame');
    let p = at + 2;
    const head = readPose(view, p);
    p += POSE_BYTES;
    const left = flags & LEFT_HAND ? readPose(view, p) : null;
    if (flags & LEFT_HAND) p += POSE_BYTES;
    const right = flags & RIGHT_HAND ? readPose(view, p) : null;
    visit(slot, { head, left, right });
    at += size;
  }
}

/** Angle between two rotations, in degrees (for error bounds). */
export function angleBetween(a: Quat, b: Quat): number {
  const na = normalizeQuat(a);
  const nb = normalizeQuat(b);
  const dot = Math.abs(na[0] * nb[0] + na[1] * nb[1] + na[2] * nb[2] + na[3] * nb[3]);
  return (2 * Math.acos(Math.min(1, dot)) * 180) / Math.PI;
}
