import { describe, expect, it } from 'vitest';
import { fromPatientFrame, multiply, normalize, rotate, toPatientFrame, type FramePose, type Q4, type V3 } from '../../shared/src/patient-frame.ts';
import { pointerIsCurrent } from '../../shared/src/guidance.ts';
import { nextFocus } from '../../server/src/domain/annotations.ts';

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
function rng(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const f32 = (v: number) => Math.fround(v);
function randomPose(r: () => number, range = 5): FramePose {
  const q = normalize([r() - 0.5, r() - 0.5, r() - 0.5, r() - 0.5]);
  // As the state stores it: float32.
  return { p: [f32((r() - 0.5) * range), f32((r() - 0.5) * range), f32((r() - 0.5) * range)], q: [f32(q[0]), f32(q[1]), f32(q[2]), f32(q[3])] };
}
const dist = (a: V3, b: V3) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);

describe('patient frame', () => {
  it('world → patient → world round-trips within 0.01 mm over 10,000 random anchors and points', () => {
    const r = rng(7);
    let worst = 0;
    for (let i = 0; i < 10_000; i++) {
      const anchor = randomPose(r);
      const world: V3 = [(r() - 0.5) * 4, (r() - 0.5) * 4, (r() - 0.5) * 4];
      worst = Math.max(worst, dist(fromPatientFrame(anchor, toPatientFrame(anchor, world)), world));
    }
    expect(worst).toBeLessThan(1e-5);
  });

  it('an annotation lands on the same anatomy for participants with different world origins', () => {
    const r = rng(11);
    for (let i = 0; i < 1000; i++) {
      // The same patient seen by two headsets whose worlds differ by an arbitrary rigid transform.
      const patientInA = randomPose(r);
      const aToB = randomPose(r);
      const patientInB: FramePose = { p: fromPatientFrame(aToB, patientInA.p), q: normalize(multiply(aToB.q, patientInA.q)) };
      const anatomy: V3 = [(r() - 0.5) * 0.4, (r() - 0.5) * 0.4, (r() - 0.5) * 0.4];
      const inA = fromPatientFrame(patientInA, anatomy);
      const inB = fromPatientFrame(patientInB, anatomy);
      // Where A's point is, seen from B's world, is where B draws it.
      expect(dist(fromPatientFrame(aToB, inA), inB)).toBeLessThan(2e-5);
    }
  });

  it('re-registration moves the frame, never the annotation relative to the anatomy', () => {
    const r = rng(3);
    for (let i = 0; i < 1000; i++) {
      const first = randomPose(r);
      const second = randomPose(r); // the patient moved, or was registered better
      const anatomy: V3 = [(r() - 0.5) * 0.3, (r() - 0.5) * 0.3, (r() - 0.5) * 0.3];
      // Relative to the registered anatomy (any point of the patient), distances are preserved in both registrations.
      const landmark: V3 = [0, 0, 0];
      const d1 = dist(fromPatientFrame(first, anatomy), fromPatientFrame(first, landmark));
      const d2 = dist(fromPatientFrame(second, anatomy), fromPatientFrame(second, landmark));
      expect(Math.abs(d1 - d2)).toBeLessThan(1e-5);
      expect(Math.abs(d1 - Math.hypot(...anatomy))).toBeLessThan(1e-5);
    }
  });

  it('rotation matches quaternion multiplication', () => {
    const q: Q4 = normalize([0.1, 0.7, -0.2, 0.6]);
    const v: V3 = [0.3, -0.2, 0.9];
    const viaMultiply = multiply(multiply(q, [v[0], v[1], v[2], 0]), [-q[0], -q[1], -q[2], q[3]]);
    const viaRotate = rotate(q, v);
    for (let i = 0; i < 3; i++) expect(viaRotate[i]).toBeCloseTo(viaMultiply[i]!, 12);
  });
});

describe('guidance rules', () => {
  it('a pointer is current only when fresh, unflagged, pointing and no guidance link is in warning', () => {
    const p = { serverAt: 1000, stale: false, target: [0, 0, 0] as [number, number, number] };
    expect(pointerIsCurrent(p, 1100, '')).toBe(true);
    expect(pointerIsCurrent(p, 1251, '')).toBe(false);
    expect(pointerIsCurrent({ ...p, stale: true }, 1100, '')).toBe(false);
    expect(pointerIsCurrent({ ...p, target: null }, 1100, '')).toBe(false);
    expect(pointerIsCurrent(p, 1100, 'Guidance link: Dr. X (surgeon) is slow')).toBe(false);
  });

  it('next focus: the first open annotation after the current one, wrapping, skipping acknowledged, dismissed and models', () => {
    const o = (id: string, kind = 'marker', ackedAt = 0, dismissed = false) => ({ id, kind, ackedAt, dismissed });
    const list = [o('m', 'model'), o('a'), o('b', 'stroke', 5), o('c', 'arrow'), o('d', 'marker', 0, true)];
    expect(nextFocus(list, '')).toBe('a');
    expect(nextFocus(list, 'a')).toBe('c');
    expect(nextFocus(list, 'c')).toBe('a');
    expect(nextFocus([o('m', 'model'), o('b', 'stroke', 5)], 'b')).toBe('');
  });
});
