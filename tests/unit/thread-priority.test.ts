import { getPriority } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { setWorkerNice } from '../../server/src/thread-priority.ts';
import { WorkerPool } from '../../server/src/worker-once.ts';

/**
 * Background workers (imports, image indexing) run below the event loop's CPU priority, so a
 * large import on a small machine does not take the CPU the rooms' poses need (issue 20).
 * Linux keeps a nice value per thread: the worker's is lowered, the loop's stays.
 */
const probe = () => new WorkerPool(new URL('../support/priority-probe.worker.ts', import.meta.url), { concurrency: 1, heapMb: 32, timeoutMs: 10_000 }).run<number>({});

describe('worker thread priority', () => {
  afterEach(() => setWorkerNice(0));

  it('a pool worker runs WORKER_NICE below the event loop, and the loop keeps its priority', async () => {
    const loop = getPriority(0);
    setWorkerNice(10);
    expect(await probe()).toBe(Math.min(19, loop + 10));
    expect(getPriority(0)).toBe(loop);
  });

  it('WORKER_NICE=0 leaves the worker at the loop priority', async () => {
    setWorkerNice(0);
    expect(await probe()).toBe(getPriority(0));
  });
});
