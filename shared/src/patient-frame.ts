/**
 * The patient frame: guidance annotations are stored in coordinates relative
 * to the patient (the surgeon's registered anchor), so they land on the same
 * anatomy for every participant whatever their own world origin, and a
 * re-registration moves the frame, never the annotations relative to the
 * anatomy. Pure math, shared by server, SDK and clients. Quaternions are
 * [x, y, z, w], unit length.
 */
export type V3 = readonly [number, number, number];
export type Q4 = readonly [number, number, number, number];
export interface FramePose {
  p: V3;
  q: Q4;
}

export const IDENTITY_FRAME: FramePose = { p: [0, 0, 0], q: [0, 0, 0, 1] };

export function normalize(q: Q4): Q4 {
  const n = Math.hypot(q[0], q[1], q[2], q[3]);
  if (!(n > 1e-9)) return [0, 0, 0, 1];
  return [q[0] / n, q[1] / n, q[2] / n, q[3] / n];
}

export function conjugate(q: Q4): Q4 {
  return [-q[0], -q[1], -q[2], q[3]];
}

export function multiply(a: Q4, b: Q4): Q4 {
  return [
    a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1],
    a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0],
    a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3],
    a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2],
  ];
}

/** Rotate vector v by unit quaternion q. */
export function rotate(q: Q4, v: V3): [number, number, number] {
  // v' = v + 2w(u×v) + 2u×(u×v), u = q.xyz
  const [x, y, z, w] = q;
  const cx = y * v[2] - z * v[1];
  const cy = z * v[0] - x * v[2];
  const cz = x * v[1] - y * v[0];
  return [
    v[0] + 2 * (w * cx + y * cz - z * cy),
    v[1] + 2 * (w * cy + z * cx - x * cz),
    v[2] + 2 * (w * cz + x * cy - y * cx),
  ];
}

/** A point in the patient frame → the world the anchor was registered in. */
export function fromPatientFrame(anchor: FramePose, point: V3): [number, number, number] {
  const r = rotate(normalize(anchor.q), point);
  return [r[0] + anchor.p[0], r[1] + anchor.p[1], r[2] + anchor.p[2]];
}

/** A point in the anchor's world → the patient frame. */
export function toPatientFrame(anchor: FramePose, point: V3): [number, number, number] {
  const d: V3 = [point[0] - anchor.p[0], point[1] - anchor.p[1], point[2] - anchor.p[2]];
  return rotate(conjugate(normalize(anchor.q)), d);
}

/** A pose in the patient frame → world (e.g. an arrow's orientation). */
export function poseFromPatientFrame(anchor: FramePose, pose: FramePose): FramePose {
  return { p: fromPatientFrame(anchor, pose.p), q: normalize(multiply(normalize(anchor.q), pose.q)) };
}

/** A pose in the anchor's world → the patient frame (e.g. a panel pinned where the surgeon looks). */
export function poseToPatientFrame(anchor: FramePose, pose: FramePose): FramePose {
  return { p: toPatientFrame(anchor, pose.p), q: normalize(multiply(conjugate(normalize(anchor.q)), pose.q)) };
}
