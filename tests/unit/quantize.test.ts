import { describe, expect, it } from 'vitest';
import { dequantizePose, normalizeQuat, POSITION_STEP, quantizePose } from '../../shared/src/quantize.ts';
import { Limits, type Pose } from '../../shared/src/index.ts';

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number) {
  return () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function randomPose(r: () => number): Pose {
  const h = Limits.roomHalfExtent;
  const q = normalizeQuat([r() * 2 - 1, r() * 2 - 1, r() * 2 - 1, r() * 2 - 1]);
  return { p: [(r() * 2 - 1) * h, (r() * 2 - 1) * h, (r() * 2 - 1) * h], q };
}

/** Angle between two unit quaternions, in radians. */
const angle = (a: number[], b: number[]) => 2 * Math.acos(Math.min(1, Math.abs(a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]! + a[3]! * b[3]!)));

describe('pose quantization', () => {
  it('round-trips 10,000 random poses within 1 mm per axis and 0.01° of rotation', () => {
    const r = rng(42);
    let maxPos = 0;
    let maxAngle = 0;
    for (let i = 0; i < 10_000; i++) {
      const pose = randomPose(r);
      const back = dequantizePose(quantizePose(pose));
      for (let k = 0; k < 3; k++) maxPos = Math.max(maxPos, Math.abs(back.p[k]! - pose.p[k]!));
      maxAngle = Math.max(maxAngle, angle(back.q, pose.q));
    }
    expect(maxPos).toBeLessThanOrEqual(POSITION_STEP / 2 + 1e-12);
    expect((maxAngle * 180) / Math.PI).toBeLessThan(0.01);
  });

  it('fits every component in int16', () => {
    const r = rng(7);
    for (let i = 0; i < 1000; i++) {
      for (const v of Object.values(quantizePose(randomPose(r)))) {
        expect(Number.isInteger(v)).toBe(true);
        expect(Math.abs(v)).toBeLessThanOrEqual(32767);
      }
    }
  });

  it('clamps positions into the room and repairs degenerate rotations', () => {
    const q = dequantizePose(quantizePose({ p: [1e9, -1e9, 3], q: [0, 0, 0, 0] }));
    expect(q.p[0]).toBeCloseTo(Limits.roomHalfExtent, 3);
    expect(q.p[1]).toBeCloseTo(-Limits.roomHalfExtent, 3);
    expect(q.q).toEqual([0, 0, 0, 1]);
  });

  it('encodes q and -q identically (same rotation)', () => {
    const q: [number, number, number, number] = [0.1, -0.5, 0.3, -0.8];
    const neg = q.map((v) => -v) as typeof q;
    expect(quantizePose({ p: [0, 0, 0], q })).toEqual(quantizePose({ p: [0, 0, 0], q: neg }));
  });
});
