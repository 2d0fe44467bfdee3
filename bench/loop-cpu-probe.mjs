/**
 * Preloaded into the import-stall bench's server (`--import ./bench/loop-cpu-probe.mjs`, beside
 * bench/memory/probe.mjs) when BENCH_MEM_DIR is set. A 1 ms timer reads the wall clock and the main
 * thread's own CPU time (process.threadCpuUsage) on every tick: the wall gap is the event loop's
 * delay as a client feels it (on a shared machine it includes time the thread was not scheduled);
 * the CPU gap is how long the loop was busy with its own work in that time — what the server's code
 * can change. On SIGUSR2 it writes cpu-<pid>-<n>.json with the worst of both since the last reading.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';

const dir = process.env.BENCH_MEM_DIR;
if (dir) {
  const cpuMs = () => {
    const u = process.threadCpuUsage();
    return (u.user + u.system) / 1000;
  };
  let n = 0;
  let wall = performance.now();
  let cpu = cpuMs();
  let worst = { wallMs: 0, cpuMs: 0, cpuOfWorstWallMs: 0 };
  setInterval(() => {
    const w = performance.now();
    const c = cpuMs();
    const dw = w - wall - 1;
    const dc = c - cpu;
    if (dw > worst.wallMs) worst = { ...worst, wallMs: dw, cpuOfWorstWallMs: dc };
    if (dc > worst.cpuMs) worst.cpuMs = dc;
    wall = w;
    cpu = c;
  }, 1).unref();
  process.on('SIGUSR2', () => {
    writeFileSync(path.join(dir, `cpu-${process.pid}-${++n}.json`), JSON.stringify(worst));
    worst = { wallMs: 0, cpuMs: 0, cpuOfWorstWallMs: 0 };
  });
}
