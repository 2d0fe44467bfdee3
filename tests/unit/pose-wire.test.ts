import { describe, expect, it } from 'vitest';
import type { Pose, Quat } from '../../shared/src/messages.ts';
import { Limits } from '../../shared/src/protocol.ts';
import {
  MAX_RECORD_BYTES, angleBetween, checkPoseMessage, encodePoseMessage, packQuat, readPoseFrame, unpackQuat,
} from '../../shared/src/pose-wire.ts';

/** Deterministic pseudo-random numbers, so a failure reproduces. */
function rng(seed: number) {
  return () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function randomQuat(r: () => number): Quat {
  // Uniform random rotation (Shoemake).
  const u1 = r(), u2 = r() * 2 * Math.PI, u3 = r() * 2 * Math.PI;
  const a = Math.sqrt(1 - u1), b = Math.sqrt(u1);
  return [a * Math.sin(u2), a * Math.cos(u2), b * Math.sin(u3), b * Math.cos(u3)];
}

/** A server frame for one avatar: slot byte + the client's message as it came. */
const record = (slot: number, message: Uint8Array) => Uint8Array.from([slot, ...message]);

describe('pose wire format', () => {
  it('round-trips 20,000 random poses within 2 mm (1.53) and 0.25° (0.21)', () => {
    const r = rng(7);
    let worstMm = 0, worstDeg = 0;
    for (let i = 0; i < 20_000; i++) {
      const h = Limits.roomHalfExtent;
      const head: Pose = { p: [(r() * 2 - 1) * h, (r() * 2 - 1) * h, (r() * 2 - 1) * h], q: randomQuat(r) };
      const msg = encodePoseMessage({ head });
      expect(checkPoseMessage(msg)).toBe('ok');
      readPoseFrame(record(3, msg), (slot, got) => {
        expect(slot).toBe(3);
        for (let k = 0; k < 3; k++) worstMm = Math.max(worstMm, Math.abs(got.head.p[k]! - head.p[k]!) * 1000);
        worstDeg = Math.max(worstDeg, angleBetween(got.head.q, head.q));
      });
    }
    expect(worstMm).toBeLessThanOrEqual(1.53);
    expect(worstDeg).toBeLessThanOrEqual(0.22);
    expect(worstDeg).toBeGreaterThan(0); // it is quantized
  });

  it('is 31 bytes per avatar with both hands, 11 with none', () => {
    const pose: Pose = { p: [0.1, 1.6, -0.3], q: [0, 0.38, 0, 0.92] };
    expect(record(0, encodePoseMessage({ head: pose, left: pose, right: pose })).byteLength).toBe(31);
    expect(MAX_RECORD_BYTES).toBe(31);
    expect(record(0, encodePoseMessage({ head: pose })).byteLength).toBe(11);
  });

  it('keeps which hands are present', () => {
    const pose: Pose = { p: [0.2, 1.2, 0.4], q: [0, 0, 0, 1] };
    const frame = new Uint8Array([...record(1, encodePoseMessage({ head: pose, right: pose })), ...record(9, encodePoseMessage({ head: pose, left: pose }))]);
    const seen: Array<[number, boolean, boolean]> = [];
    readPoseFrame(frame, (slot, p) => seen.push([slot, p.left !== null, p.right !== null]));
    expect(seen).toEqual([[1, false, true], [9, true, false]]);
  });

  it('clamps positions outside the room cube and treats q and -q alike', () => {
    const msg = encodePoseMessage({ head: { p: [1e9, -1e9, Number.NaN], q: [0, 0, 0, -1] } });
    expect(checkPoseMessage(msg)).toBe('ok');
    readPoseFrame(record(0, msg), (_s, p) => {
      expect(p.head.p[0]).toBeCloseTo(Limits.roomHalfExtent, 6);
      expect(p.head.p[1]).toBeCloseTo(-Limits.roomHalfExtent, 6);
      expect(p.head.p[2]).toBe(0);
      expect(angleBetween(p.head.q, [0, 0, 0, 1])).toBeLessThan(0.01);
    });
    expect(packQuat([0.5, 0.5, 0.5, 0.5])).toBe(packQuat([-0.5, -0.5, -0.5, -0.5]));
  });

  it('refuses malformed messages without allocating a pose', () => {
    const ok = encodePoseMessage({ head: { p: [0, 1, 0], q: [0, 0, 0, 1] }, left: { p: [0, 1, 0], q: [0, 0, 0, 1] } });
    expect(checkPoseMessage(ok)).toBe('ok');
    expect(checkPoseMessage(new Uint8Array(0))).toBe('length');
    expect(checkPoseMessage(ok.subarray(0, 10))).toBe('length'); // says "left hand follows", it does not
    expect(checkPoseMessage(Uint8Array.from([...ok, 0]))).toBe('length');
    const rightToo = ok.slice(); rightToo[2]! |= 1; // now claims both hands: 30 bytes expected
    expect(checkPoseMessage(rightToo)).toBe('length');
    const badFlags = ok.slice(); badFlags[4]! |= 1; // z carries no flag
    expect(checkPoseMessage(badFlags)).toBe('flags');
    const handFlag = ok.slice(); handFlag[10]! |= 1; // nor do the hands
    expect(checkPoseMessage(handFlag)).toBe('flags');
    const badPos = ok.slice(); badPos[12] = 0x00; badPos[13] = 0x80; // int16 -32768: coordinate -16384
    expect(checkPoseMessage(badPos)).toBe('position');
    const badRot = ok.slice(); new DataView(badRot.buffer).setUint32(6, 0x3fffffff, true); // three components at +0.707
    expect(checkPoseMessage(badRot)).toBe('rotation');
    expect(unpackQuat(0x3fffffff)).toEqual([0, 0, 0, 1]); // decoding never yields NaN: an impossible rotation reads as identity
  });

  it('refuses a truncated frame', () => {
    const msg = encodePoseMessage({ head: { p: [0, 1, 0], q: [0, 0, 0, 1] } });
    expect(() => readPoseFrame(record(0, msg).subarray(0, 8), () => {})).toThrow(RangeError);
  });
});
