import { POSE_BYTES, flagsAt, messageBytes } from './pose-wire.ts';

/**
 * Recorded avatars (ghosts) of a replay, on their own binary path.
 *
 * A recording keeps each participant's pose about ten times a second, when it
 * changed (pose-wire messages, as they came). A replay room sends those samples
 * to its viewers a little ahead of the replay clock, each stamped with its time
 * in the recording, so a viewer draws every ghost where it was at the replay's
 * position — interpolated between samples, in step at any speed — and a seek
 * starts over (a RESET frame: every ghost's pose at the new position).
 *
 * Server → client bytes message REPLAY_POSE_FRAME, all integers little-endian:
 * - flags (uint8): bit 0 RESET — drop every sample held; what follows starts at the position;
 * - serverAt (float64): the server's clock (ms) when the frame left, for the viewer's clock estimate;
 * - then groups until the end: t (uint32, ms into the recording), count (uint8, ≥ 1), and `count`
 *   records: ghost number n (uint16, the `g<n>` key of `replay.ghosts`), span (uint16 ms: the
 *   ghost moved from its previous sample to this one over the last `span` ms; 0 = it is simply
 *   here from t on), and the pose message (10, 20 or 30 bytes, as pose-wire.ts: head [, left] [, right]).
 */
export const REPLAY_POSE_FRAME = 2;
export const REPLAY_RESET = 1;

const HEADER_BYTES = 1 + 8;
const GROUP_BYTES = 4 + 1;
const RECORD_HEAD_BYTES = 2 + 2;
const MAX_SPAN = 0xffff;
const MAX_T = 0xffffffff;

export interface GhostSample {
  /** ms into the recording. */
  t: number;
  /** Recorded participant number (replay.ghosts key `g<n>`). */
  n: number;
  /** ms over which the ghost moved into this pose (0: it is here from t on). */
  span: number;
  /** A pose-wire message (head [, left] [, right]). */
  pose: Uint8Array;
}

/** Encode one frame after `header` (the transport's framing); samples in time order. */
export function encodeReplayFrame(header: Uint8Array, reset: boolean, serverAt: number, samples: readonly GhostSample[]): Uint8Array {
  let bytes = header.byteLength + HEADER_BYTES;
  let groups = 0;
  for (let i = 0; i < samples.length; i++) {
    if (i === 0 || samples[i]!.t !== samples[i - 1]!.t || groups === 255) groups = 0;
    if (groups === 0) bytes += GROUP_BYTES;
    groups++;
    bytes += RECORD_HEAD_BYTES + samples[i]!.pose.byteLength;
  }
  const out = new Uint8Array(bytes);
  const view = new DataView(out.buffer);
  out.set(header, 0);
  let at = header.byteLength;
  view.setUint8(at, reset ? REPLAY_RESET : 0);
  view.setFloat64(at + 1, serverAt, true);
  at += HEADER_BYTES;
  let countAt = -1;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    if (countAt < 0 || s.t !== samples[i - 1]!.t || out[countAt] === 255) {
      view.setUint32(at, Math.min(MAX_T, Math.max(0, Math.round(s.t))), true);
      countAt = at + 4;
      out[countAt] = 0;
      at += GROUP_BYTES;
    }
    out[countAt]!++;
    view.setUint16(at, s.n, true);
    view.setUint16(at + 2, Math.min(MAX_SPAN, Math.max(0, Math.round(s.span))), true);
    out.set(s.pose, at + RECORD_HEAD_BYTES);
    at += RECORD_HEAD_BYTES + s.pose.byteLength;
  }
  return out;
}

/**
 * Read a frame (without the transport's framing): the header, then every record
 * as a view and offset of its pose message (decode it with readAvatar only when
 * drawn). Throws on a malformed frame before calling `onSample` for any of it.
 */
export function scanReplayFrame(
  bytes: Uint8Array,
  onSample: (t: number, n: number, span: number, view: DataView, offset: number) => void,
): { reset: boolean; serverAt: number; samples: number } {
  if (bytes.byteLength < HEADER_BYTES) throw new Error('replay frame too short');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const flags = view.getUint8(0);
  if ((flags & ~REPLAY_RESET) !== 0) throw new Error('replay frame flags');
  const records: [number, number, number, number][] = [];
  let at = HEADER_BYTES;
  while (at < bytes.byteLength) {
    if (at + GROUP_BYTES > bytes.byteLength) throw new Error('replay frame group cut short');
    const t = view.getUint32(at, true);
    const count = view.getUint8(at + 4);
    if (count === 0) throw new Error('replay frame empty group');
    at += GROUP_BYTES;
    for (let i = 0; i < count; i++) {
      if (at + RECORD_HEAD_BYTES + POSE_BYTES > bytes.byteLength) throw new Error('replay frame record cut short');
      const size = messageBytes(flagsAt(view, at + RECORD_HEAD_BYTES));
      if (at + RECORD_HEAD_BYTES + size > bytes.byteLength) throw new Error('replay frame pose cut short');
      records.push([t, view.getUint16(at, true), view.getUint16(at + 2, true), at + RECORD_HEAD_BYTES]);
      at += RECORD_HEAD_BYTES + size;
    }
  }
  for (const [t, n, span, offset] of records) onSample(t, n, span, view, offset);
  return { reset: (flags & REPLAY_RESET) !== 0, serverAt: view.getFloat64(1, true), samples: records.length };
}
