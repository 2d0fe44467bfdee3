import { describe, expect, it } from 'vitest';
import { PoseTrack } from '../../client/src/sdk/avatars.ts';
import { PoseBudget } from '../../server/src/rooms/pose-budget.ts';
import type { AvatarPose } from '../../shared/src/pose-wire.ts';

const pose = (x: number, withHand = true): AvatarPose => ({
  head: { p: [x, 1.6, 0], q: [0, 0, 0, 1] },
  left: null,
  right: withHand ? { p: [x, 1.2, 0.3], q: [0, 0, 0, 1] } : null,
});

describe('SDK jitter buffer (PoseTrack)', () => {
  it('interpolates between the samples around the draw time, and holds at the ends (never extrapolates)', () => {
    const t = new PoseTrack();
    t.push(1000, pose(0));
    t.push(1033, pose(0.33));
    t.push(1066, pose(0.66));
    expect(t.at(1016.5)!.head.p[0]).toBeCloseTo(0.165, 6);
    expect(t.at(1049.5)!.right!.p[0]).toBeCloseTo(0.495, 6);
    expect(t.at(900)!.head.p[0]).toBe(0);
    expect(t.at(5000)!.head.p[0]).toBe(0.66);
  });

  it('rotations take the short way round, even across q / -q', () => {
    const t = new PoseTrack();
    const s = Math.SQRT1_2;
    t.push(0, { head: { p: [0, 0, 0], q: [0, 0, 0, 1] }, left: null, right: null });
    t.push(100, { head: { p: [0, 0, 0], q: [0, -s, 0, -s] }, left: null, right: null }); // +90° about y, written as -q
    const mid = t.at(50)!.head.q;
    // Halfway is 45° about y: (0, sin 22.5°, 0, cos 22.5°) up to sign.
    const sign = Math.sign(mid[3]);
    expect(mid[1] * sign).toBeCloseTo(Math.sin(Math.PI / 8), 6);
    expect(mid[3] * sign).toBeCloseTo(Math.cos(Math.PI / 8), 6);
  });

  it('a hand that appears or vanishes between samples switches at the midpoint instead of flying in from the origin', () => {
    const t = new PoseTrack();
    t.push(0, pose(0, false));
    t.push(100, pose(1, true));
    expect(t.at(40)!.right).toBeNull();
    expect(t.at(60)!.right!.p[0]).toBe(1);
  });

  it('draws further behind when frames arrive irregularly, within 20–150 ms', () => {
    const steady = new PoseTrack();
    const jittery = new PoseTrack();
    let a = 0;
    let b = 0;
    for (let i = 0; i < 200; i++) {
      steady.push((a += 33), pose(i));
      jittery.push((b += i % 2 ? 8 : 58), pose(i)); // same mean gap, ±25 ms jitter
    }
    expect(steady.delay).toBeGreaterThanOrEqual(20);
    expect(steady.delay).toBeLessThan(40);
    expect(jittery.delay).toBeGreaterThan(steady.delay + 30);
    expect(jittery.delay).toBeLessThanOrEqual(150);
  });
});

describe('server pose budget (PoseBudget)', () => {
  it('keeps the minimum window until the process serves more seats than its frame budget allows, then widens up to 40 ms', () => {
    const b = new PoseBudget(10, 20_000);
    b.seatsChanged(100);
    expect(b.windowMs()).toBe(10); // a full conference: 100 seats × 100 frames/s = 10,000 frames/s
    b.seatsChanged(300);
    expect(b.windowMs()).toBe(20); // 400 seats × 50 frames/s = 20,000
    b.seatsChanged(1000);
    expect(b.windowMs()).toBe(40);
    b.seatsChanged(-1400);
    expect(b.windowMs()).toBe(10);
  });
});
