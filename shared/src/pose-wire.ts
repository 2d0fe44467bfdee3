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
 * - position: three int16 words, each a 15-bit coordinate over the room cube
 *   (±Limits.roomHalfExtent m over ±16383: a 3.05 mm step, so the error is
 *   ≤ 1.53 mm per axis) shifted left by one, the low bit a flag;
 * - rotation: "smallest three" in a uint32 — 2 bits name the largest
 *   component (made positive and left out), 10 bits each carry the other
 *   three over [-1/√2, 1/√2]; the error is ≤ 0.21° (the worst of 20,000 random rotations; the bench saw 0.18°).
 * The head's flag bits say which hands follow: x = left, y = right (z and
 * the hands' flag bits are 0).
 *
 * Client → server message (POSE_MESSAGE): head, [left], [right] — 10, 20 or
 * 30 bytes. Server → client frame (POSE_FRAME): one record per changed
 * avatar: slot (1 byte), then the avatar's message as it came — 31 bytes
 * for head and both hands. All integers little-endian.
 */
export const POSE_MESSAGE = 1;
export const POSE_FRAME = 1;

export const POSE_BYTES = 10;
/** Hand-presence flags, carried in the low bits of the head's x and y words. */
export const LEFT_HAND = 1;
export const RIGHT_HAND = 2;

/** Largest avatar record (slot + three poses). */
export const MAX_RECORD_BYTES = 1 + 3 * POSE_BYTES;
/** Slots are one byte. */
export const MAX_SLOTS = 256;

export interface AvatarPose {
  head: Pose;
  left: Pose | null;
  right: Pose | null;
}

const COORD_MAX = 16383;
const POSITION_SCALE = COORD_MAX / Limits.roomHalfExtent;
const SQRT1_2 = Math.SQRT1_2;
const TEN_BITS = 1023;
/** 10-bit code 0…1022 ↔ component in [-1/√2, 1/√2]; an even span puts 0 exactly on code 511. */
const Q_MAX_CODE = 1022;
const Q_SCALE = Q_MAX_CODE / (2 * SQRT1_2);

/** Bytes of a pose message whose head carries these flags. */
export const messageBytes = (flags: number): number => POSE_BYTES * (1 + (flags & 1) + ((flags >> 1) & 1));

/** The hand flags of the message (or record body) starting at `offset`. */
export function flagsAt(view: DataView, offset: number): number {
  return (view.getInt16(offset, true) & 1) | ((view.getInt16(offset + 2, true) & 1) << 1);
}

/** Write one pose; `flags` go into the low bits of x and y (heads only). */
export function writePose(view: DataView, offset: number, pose: Pose, flags = 0): void {
  const p = pose.p;
  for (let i = 0; i < 3; i++) {
    const v = Number.isFinite(p[i]) ? p[i]! : 0;
    const coord = clamp(Math.round(v * POSITION_SCALE), -COORD_MAX, COORD_MAX);
    view.setInt16(offset + 2 * i, coord * 2 + (i < 2 ? (flags >> i) & 1 : 0), true);
  }
  view.setUint32(offset + 6, packQuat(pose.q), true);
}

export function readPose(view: DataView, offset: number): Pose {
  // >> 1 drops the flag bit and keeps the sign.
  const p: Vec3 = [(view.getInt16(offset, true) >> 1) / POSITION_SCALE, (view.getInt16(offset + 2, true) >> 1) / POSITION_SCALE, (view.getInt16(offset + 4, true) >> 1) / POSITION_SCALE];
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

/** Decode a packed rotation. An impossible one (the three sum past 1) reads as identity; checkPoseMessage refuses it first. */
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
  writePose(view, 0, pose.head, flags);
  let at = POSE_BYTES;
  if (pose.left) { writePose(view, at, pose.left); at += POSE_BYTES; }
  if (pose.right) writePose(view, at, pose.right);
  return bytes;
}

export type PoseMessageCheck = 'ok' | 'length' | 'flags' | 'position' | 'rotation';

/**
 * Is this a well-formed pose message? Length fixed by the head's flags, no
 * stray flag bits, coordinates inside the range the encoder uses, rotations
 * that decode to unit quaternions. Cheap: no allocation but the view.
 */
export function checkPoseMessage(bytes: Uint8Array): PoseMessageCheck {
  if (bytes.byteLength < POSE_BYTES) return 'length';
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength !== messageBytes(flagsAt(view, 0))) return 'length';
  for (let at = 0; at < bytes.byteLength; at += POSE_BYTES) {
    for (let i = 0; i < 3; i++) {
      const word = view.getInt16(at + 2 * i, true);
      if (word >> 1 < -COORD_MAX) return 'position';
      // Only the head's x and y carry flags.
      if ((word & 1) !== 0 && (at !== 0 || i === 2)) return 'flags';
    }
    if (!isValidQuat(view.getUint32(at + 6, true))) return 'rotation';
  }
  return 'ok';
}

/**
 * Walk a server pose frame's records without decoding them: `visit` gets each
 * record's slot and where its poses start. Throws on a truncated frame.
 */
export function scanPoseFrame(bytes: Uint8Array, visit: (slot: number, view: DataView, offset: number) => void): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.byteLength) {
    if (at + 1 + POSE_BYTES > bytes.byteLength) throw new RangeError('truncated pose frame');
    const size = 1 + messageBytes(flagsAt(view, at + 1));
    if (at + size > bytes.byteLength) throw new RangeError('truncated pose frame');
    visit(bytes[at]!, view, at + 1);
    at += size;
  }
}

/** Decode one avatar (head, then the hands its flags say follow) starting at `offset`. */
export function readAvatar(view: DataView, offset: number): AvatarPose {
  const flags = flagsAt(view, offset);
  const head = readPose(view, offset);
  let p = offset + POSE_BYTES;
  const left = flags & LEFT_HAND ? readPose(view, p) : null;
  if (left) p += POSE_BYTES;
  const right = flags & RIGHT_HAND ? readPose(view, p) : null;
  return { head, left, right };
}

/** Decode a server pose frame, calling `visit` per avatar record. Throws on a truncated frame. */
export function readPoseFrame(bytes: Uint8Array, visit: (slot: number, pose: AvatarPose) => void): void {
  scanPoseFrame(bytes, (slot, view, offset) => visit(slot, readAvatar(view, offset)));
}

/** Angle between two rotations, in degrees (for error bounds). */
export function angleBetween(a: Quat, b: Quat): number {
  const na = normalizeQuat(a);
  const nb = normalizeQuat(b);
  const dot = Math.abs(na[0] * nb[0] + na[1] * nb[1] + na[2] * nb[2] + na[3] * nb[3]);
  return (2 * Math.acos(Math.min(1, dot)) * 180) / Math.PI;
}
