import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../server/src/domain/rate-limit.ts';
import { checkGrab, checkHeld, checkRemovable, locksHeldBy } from '../../server/src/domain/scene.ts';
import { sanitizeTransform } from '../../server/src/domain/transform.ts';
import { Limits } from '../../shared/src/index.ts';

describe('grab locks', () => {
  it('allow a free object or re-grab by the holder; refuse others', () => {
    expect(checkGrab({ grabbedBy: '' }, 's1')).toEqual({ ok: true });
    expect(checkGrab({ grabbedBy: 's1' }, 's1')).toEqual({ ok: true });
    expect(checkGrab({ grabbedBy: 's1' }, 's2')).toEqual({ ok: false, code: 'OBJECT_LOCKED' });
  });
  it('only the holder moves or releases; nobody removes what another holds', () => {
    expect(checkHeld({ grabbedBy: 's1' }, 's1').ok).toBe(true);
    expect(checkHeld({ grabbedBy: '' }, 's1')).toEqual({ ok: false, code: 'OBJECT_NOT_HELD' });
    expect(checkRemovable({ grabbedBy: 's2' }, 's1')).toEqual({ ok: false, code: 'OBJECT_LOCKED' });
    expect(checkRemovable({ grabbedBy: '' }, 's1').ok).toBe(true);
  });
  it('finds the locks a leaving session holds', () => {
    const objs = [{ id: 'a', grabbedBy: 's1' }, { id: 'b', grabbedBy: 's2' }, { id: 'c', grabbedBy: 's1' }];
    expect(locksHeldBy(objs, 's1').map((o) => o.id)).toEqual(['a', 'c']);
  });
});

describe('transform sanitizing', () => {
  it('clamps position and scale, normalizes rotation, rounds to float32', () => {
    const t = sanitizeTransform({ position: [1e6, 0.1, -1e6], rotation: [0, 0, 0, -2], scale: [-5, 0, 1e9] });
    expect(t.position).toEqual([Limits.roomHalfExtent, Math.fround(0.1), -Limits.roomHalfExtent]);
    expect(t.rotation).toEqual([0, 0, 0, 1]);
    expect(t.scale).toEqual([5, Math.fround(Limits.minScale), Limits.maxScale]);
  });
  it('keeps the previous scale when none is given', () => {
    expect(sanitizeTransform({ position: [0, 0, 0], rotation: [0, 0, 0, 1] }, [2, 3, 4]).scale).toEqual([2, 3, 4]);
  });
});

describe('token bucket', () => {
  const opts = { ratePerSecond: 10, burst: 20, maxOverflow: 5 };
  it('passes a burst, then refuses, then refills with time', () => {
    const b = new TokenBucket(opts, 0);
    let passed = 0;
    for (let i = 0; i < 25; i++) if (b.take(0)) passed++;
    expect(passed).toBe(20);
    expect(b.shouldDisconnect).toBe(false);
    expect(b.take(1000)).toBe(true); // 10 tokens back after 1 s
  });
  it('asks to disconnect once refusals exceed the overflow allowance', () => {
    const b = new TokenBucket(opts, 0);
    for (let i = 0; i < 25; i++) b.take(0); // 20 pass, 5 refused: at the allowance
    expect(b.shouldDisconnect).toBe(false);
    b.take(0);
    expect(b.shouldDisconnect).toBe(true);
  });
  it('forgives past overflow as time passes', () => {
    const b = new TokenBucket(opts, 0);
    for (let i = 0; i < 25; i++) b.take(0);
    b.take(2000);
    expect(b.shouldDisconnect).toBe(false);
  });
});
