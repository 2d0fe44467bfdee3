import { describe, expect, it } from 'vitest';
import { ByteBudget } from '../../server/src/imaging/byte-budget.ts';

describe('ByteBudget', () => {
  it('holds at most its budget, lets waiters in first come first served, and one oversized holder alone', async () => {
    const b = new ByteBudget(100);
    const r1 = await b.acquire(60);
    const order: string[] = [];
    const p2 = b.acquire(60).then((r) => (order.push('second'), r));
    const p3 = b.acquire(10).then((r) => (order.push('third'), r)); // fits, but waits its turn behind the second
    await Promise.resolve();
    expect([b.inUse, order]).toEqual([60, []]);
    r1();
    r1(); // twice: no effect
    const [r2, r3] = await Promise.all([p2, p3]);
    expect([b.inUse, order]).toEqual([70, ['second', 'third']]);
    r2();
    r3();
    const big = await b.acquire(500);
    expect(b.inUse).toBe(500);
    const after = b.acquire(1);
    big();
    (await after)();
    expect(b.inUse).toBe(0);
  });
});
