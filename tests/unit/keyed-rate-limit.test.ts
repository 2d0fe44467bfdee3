import { describe, expect, it } from 'vitest';
import { KeyedRateLimit } from '../../server/src/domain/rate-limit.ts';

describe('a token bucket per key (HTTP limits per user)', () => {
  const clock = () => {
    const c = { t: 0, now: () => c.t };
    return c;
  };
  // One token every 2 s, 10 at most: a bucket is full again 20 s after its last use.
  const opts = { ratePerSecond: 0.5, burst: 10 };

  it('passes the burst, then refuses with the wait until the next token; refusals cost nothing', () => {
    const c = clock();
    const limit = new KeyedRateLimit(opts, c.now);
    for (let i = 0; i < 10; i++) expect(limit.take('edu')).toBeNull();
    expect(limit.take('edu')).toBe(2000);
    c.t = 500;
    expect(limit.take('edu')).toBe(1500);
    for (let i = 0; i < 50; i++) limit.take('edu'); // hammering does not push the wait back
    c.t = 2000;
    expect(limit.take('edu')).toBeNull();
    expect(limit.take('edu')).toBe(2000);
    // Another key has its own bucket.
    expect(limit.take('root')).toBeNull();
  });

  it('stays bounded: buckets idle long enough to be full again are dropped (which changes no answer)', () => {
    const c = clock();
    const limit = new KeyedRateLimit(opts, c.now);
    for (let i = 0; i < 1000; i++) limit.take(`user${i}`);
    expect(limit.size).toBe(1000);
    c.t = 20_000; // every bucket is full again
    for (let i = 0; i < 10; i++) expect(limit.take('user0')).toBeNull(); // a whole burst, as for a newcomer
    expect(limit.size).toBe(1);
    c.t = 25_000;
    for (let i = 0; i < 10; i++) limit.take('late');
    c.t = 40_000;
    limit.take('fresh'); // sweeps: user0 is full again, `late` is not
    expect(limit.size).toBe(2);
    let passed = 0;
    while (limit.take('late') === null) passed++;
    expect(passed).toBe(7); // 15 s of refill: still limited, not forgotten
  });
});
