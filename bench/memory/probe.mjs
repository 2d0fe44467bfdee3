/**
 * Preloaded into a bench server (`--import ./bench/memory/probe.mjs`; plain JavaScript so that Node's own TypeScript loader, and its memory, stay out of the measured process) when
 * BENCH_MEM_DIR is set: on SIGUSR2 it collects garbage (when exposed), writes
 * `process.memoryUsage()` to <dir>/<pid>-<n>.json, and — when BENCH_HEAP=1 — a
 * heap snapshot beside it. The memory bench (bench/memory/run.ts) reads them.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';

const dir = process.env.BENCH_MEM_DIR;
let n = 0;
if (dir) {
  process.on('SIGUSR2', () => {
    const k = ++n;
    globalThis.gc?.();
    const usage = process.memoryUsage();
    const heap = v8.getHeapSpaceStatistics().map((s) => ({ space: s.space_name, used: s.space_used_size, size: s.space_size }));
    let snapshot;
    if (process.env.BENCH_HEAP === '1') snapshot = v8.writeHeapSnapshot(path.join(dir, `${process.pid}-${k}.heapsnapshot`));
    writeFileSync(path.join(dir, `${process.pid}-${k}.json`), JSON.stringify({ usage, heap, snapshot }));
  });
}
