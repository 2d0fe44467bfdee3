/**
 * Preloaded into a bench server (`--import ./bench/memory/probe.mjs`; plain
 * JavaScript so that Node's own TypeScript loader, and its memory, stay out of
 * the measured process) when BENCH_MEM_DIR is set. On SIGUSR2 it collects
 * garbage (when exposed) and writes <dir>/<pid>-<n>.json: `process.memoryUsage()`,
 * V8 heap spaces, and the event loop's delay since the previous reading (max,
 * p99, ms; 1 ms resolution) — and, when BENCH_HEAP=1, a heap snapshot beside
 * it. Read by bench/memory/run.ts and bench/import-stall.ts.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';

const dir = process.env.BENCH_MEM_DIR;
let n = 0;
if (dir) {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  process.on('SIGUSR2', () => {
    const loop = { maxMs: delay.max / 1e6, p99Ms: delay.percentile(99) / 1e6, meanMs: delay.mean / 1e6 };
    const k = ++n;
    globalThis.gc?.();
    const usage = process.memoryUsage();
    const heap = v8.getHeapSpaceStatistics().map((s) => ({ space: s.space_name, used: s.space_used_size, size: s.space_size }));
    let snapshot;
    if (process.env.BENCH_HEAP === '1') snapshot = v8.writeHeapSnapshot(path.join(dir, `${process.pid}-${k}.heapsnapshot`));
    writeFileSync(path.join(dir, `${process.pid}-${k}.json`), JSON.stringify({ usage, heap, loop, snapshot }));
    delay.reset();
  });
}
