import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FrameFiles } from '../../server/src/imaging/frame-files.ts';
import { RevisionCache } from '../../server/src/imaging/revision-cache.ts';

describe('RevisionCache: what the frame route keeps of a series', () => {
  const cache = (keepFailure = false, maxWeight = 100) => new RevisionCache<number[]>({ maxEntries: 3, maxWeight, weigh: (v) => v.length, keepFailure: () => keepFailure });

  it('one load per key and revision, shared by concurrent readers; a new revision loads again; a newer value serves an older reader', async () => {
    const c = cache();
    let loads = 0;
    const load = (v: number) => async () => (loads++, [v]);
    const [a, b] = await Promise.all([c.get('k', 1, null, load(1)), c.get('k', 1, null, load(99))]);
    expect([a, b, loads]).toEqual([[1], [1], 1]);
    expect(await c.get('k', 2, null, load(2))).toEqual([2]);
    expect(await c.get('k', 1, null, load(3))).toEqual([2]); // read revision 1 before the bump: the newer value is fine
    expect(loads).toBe(2);
  });

  it('archive values expire after their time; a failure is forgotten unless it is the answer; the least recently used go past the bounds', async () => {
    const c = cache();
    expect(await c.get('a', 1, 0, async () => [1])).toEqual([1]);
    expect(await c.get('a', 1, 0, async () => [2])).toEqual([2]); // ttl 0: loaded again
    await expect(c.get('f', 1, null, async () => Promise.reject(new Error('archive down')))).rejects.toThrow();
    await new Promise((r) => setImmediate(r));
    expect(await c.get('f', 1, null, async () => [3])).toEqual([3]);
    const kept = cache(true);
    await expect(kept.get('m', 1, null, async () => Promise.reject(new Error('mismatch')))).rejects.toThrow();
    await new Promise((r) => setImmediate(r));
    await expect(kept.get('m', 1, null, async () => [4])).rejects.toThrow('mismatch');
    const small = cache(false, 5);
    await small.get('x', 1, null, async () => [1, 2, 3]);
    await small.get('y', 1, null, async () => [1, 2, 3]); // 6 > 5: x goes
    await new Promise((r) => setImmediate(r));
    expect(small.size).toBe(1);
    small.forget('y');
    expect(small.size).toBe(0);
  });
});

describe('FrameFiles: one positioned read per frame from kept-open files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'frame-files-'));
    for (let i = 0; i < 4; i++) await writeFile(path.join(dir, `${i}.dcm`), Buffer.from(Array.from({ length: 256 }, (_, k) => (k + i) % 256)));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads the parts in order; keeps at most its bound open; a missing file or a short one is a plain refusal', async () => {
    const files = new FrameFiles(2);
    expect([...(await files.read(path.join(dir, '0.dcm'), [[10, 3], [100, 2]]))]).toEqual([10, 11, 12, 100, 101]);
    const reads = await Promise.all([0, 1, 2, 3, 0].map((i) => files.read(path.join(dir, `${i}.dcm`), [[0, 1]])));
    expect(reads.map((b) => b[0])).toEqual([0, 1, 2, 3, 0]);
    await expect(files.read(path.join(dir, 'missing.dcm'), [[0, 1]])).rejects.toMatchObject({ code: 'IMAGING_NOT_FOUND' });
    await expect(files.read(path.join(dir, '1.dcm'), [[250, 10]])).rejects.toThrow(/shorter than its index/);
    files.closeAll();
    expect([...(await files.read(path.join(dir, '2.dcm'), [[0, 2]]))]).toEqual([2, 3]);
  });
});
