/**
 * Preloaded into the import-stall bench's server (`--import ./bench/loop-cpu-probe.mjs`, beside
 * bench/memory/probe.mjs) when BENCH_MEM_DIR is set. A 1 ms timer reads, on every tick, the wall
 * clock and the main thread's scheduler counters (Linux: /proc/thread-self/schedstat — time run on
 * a CPU and time spent runnable but waiting for one, both in ns). A tick's wall gap is the event
 * loop's delay as a client feels it; the part the thread *ran* is the loop's own work (our code, GC,
 * syscalls) — what the server can change — and the part it *waited* is the machine's other load.
 * On SIGUSR2 it writes cpu-<pid>-<n>.json: the worst gap with its split, and the longest own work
 * in any one gap, since the previous reading. Elsewhere (no schedstat) it falls back to
 * process.threadCpuUsage(), which the kernel updates only at scheduler ticks (≈ 4 ms).
 */
import { openSync, readSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.BENCH_MEM_DIR;
if (dir) {
  let schedstat = null;
  try {
    schedstat = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    schedstat = null;
  }
  const buf = Buffer.alloc(128);
  /** [ran, waited] so far, ms. */
  const counters = () => {
    if (schedstat === null) {
      const u = process.threadCpuUsage();
      return [(u.user + u.system) / 1000, 0];
    }
    const n = readSync(schedstat, buf, 0, buf.length, 0);
    const [ran, waited] = buf.toString('latin1', 0, n).split(' ').map(Number);
    return [ran / 1e6, waited / 1e6];
  };
  let n = 0;
  let wall = performance.now();
  let [ran, waited] = counters();
  const empty = () => ({ wallMs: 0, ranInWorstMs: 0, waitedInWorstMs: 0, longestRunMs: 0 });
  let worst = empty();
  setInterval(() => {
    const w = performance.now();
    const [r, q] = counters();
    const gap = w - wall - 1;
    if (gap > worst.wallMs) Object.assign(worst, { wallMs: gap, ranInWorstMs: r - ran, waitedInWorstMs: q - waited });
    if (r - ran > worst.longestRunMs) worst.longestRunMs = r - ran;
    wall = w;
    ran = r;
    waited = q;
  }, 1).unref();
  process.on('SIGUSR2', () => {
    writeFileSync(path.join(dir, `cpu-${process.pid}-${++n}.json`), JSON.stringify({ ...worst, source: schedstat === null ? 'threadCpuUsage' : 'schedstat' }));
    worst = empty();
  });
}
