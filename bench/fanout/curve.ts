/**
 * Latency against CPU (issue 20): one room of N avatars at 30 Hz (default
 * 100), Consilium at several pose windows beside stock Colyseus at its 50 and
 * 33 ms patch rates, in the same run, repetitions interleaved. Prints a table
 * and writes bench/results/curve-<time>.json.
 *   npx tsx bench/fanout/curve.ts
 * Environment: BENCH_WINDOWS (default 10,16,25,33), BENCH_CURVE_SIZE (100),
 * BENCH_FLOOR_WINDOWS (the first window: the bare-ws floor at that window,
 * floor-server.ts), BENCH_REPS (2), BENCH_FANOUT_SECONDS (5), BENCH_CURVE_NOFLAG=1 also runs the
 * 10 ms window without the deployed Node flags, BENCH_CURVE_VARIANTS (keys of CONSILIUM_VARIANTS,
 * e.g. consilium-lean) adds those servers at the default window.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { root } from '../support.ts';
import type { Settings } from './measure.ts';
import { WorkerPool } from './pool.ts';
import { series } from './series.ts';
import { CONSILIUM_VARIANTS, startConsilium, startFloor, startStock, type BenchServer } from './servers.ts';
import { fmt } from './stats.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
const env = process.env;
const windows = (env.BENCH_WINDOWS ?? '10,16,25,33').split(',').map(Number);
const size = Number(env.BENCH_CURVE_SIZE ?? 100);
const settings: Settings = { seconds: Number(env.BENCH_FANOUT_SECONDS ?? 5), warmupSeconds: 1.5, decoders: 8, quietPct: 20, strictQuiet: false };
const reps = Number(env.BENCH_REPS ?? 2);

const pool = await WorkerPool.start(Number(env.BENCH_WORKERS ?? 4));
const servers: BenchServer[] = [];
const load = [os.loadavg()];
try {
  for (const w of windows) servers.push(await startConsilium({ key: `consilium-${w}`, label: `Consilium, ${w} ms window`, windowMs: w }));
  if (env.BENCH_CURVE_NOFLAG === '1') servers.push(await startConsilium({ key: 'consilium-10-noflag', label: 'Consilium, 10 ms window, default V8 young generation', windowMs: 10, nodeFlags: [] }));
  for (const v of (env.BENCH_CURVE_VARIANTS ?? '').split(',').filter(Boolean)) servers.push(await startConsilium(CONSILIUM_VARIANTS[v] ?? (() => { throw new Error(`unknown variant ${v}`); })()));
  // The floor at each window (env BENCH_FLOOR_WINDOWS, default the first window): what the kernel and Node cost for the same writes.
  for (const w of (env.BENCH_FLOOR_WINDOWS ?? String(windows[0])).split(',').filter(Boolean).map(Number)) servers.push(await startFloor(w));
  servers.push(await startStock(undefined), await startStock(33));
  const points = await series(`One room of ${size}, latency vs CPU`, [{ rooms: 1, size }], servers, pool, settings, reps, false);
  load.push(os.loadavg());
  const stock50 = points.find((p) => p.server === 'stock-50')!;
  console.log(`\n| Server | p50 ms | p99 ms | server CPU % of a core | vs stock 50 ms | vs stock 33 ms | bytes / update |`);
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const stock33 = points.find((p) => p.server === 'stock-33')!;
  for (const p of points) {
    const label = servers.find((s) => s.key === p.server)!.label;
    console.log(`| ${label} | ${fmt(p.p50.median)} | ${fmt(p.p99.median)} (${fmt(p.p99.min)}–${fmt(p.p99.max)}) | ${fmt(p.serverCpu.median)} (${fmt(p.serverCpu.min)}–${fmt(p.serverCpu.max)}) | ${fmt(p.serverCpu.median / stock50.serverCpu.median, 2)}× | ${fmt(p.serverCpu.median / stock33.serverCpu.median, 2)}× | ${fmt(p.bytesPerUpdate.median)} |`);
  }
  console.log(`\nload average before / after: ${load.map((l) => l.map((x) => x.toFixed(1)).join(' ')).join(' / ')}`);
  writeFileSync(path.join(root, 'bench/results', `curve-${Date.now().toString(36)}.json`), JSON.stringify({ started: new Date().toISOString(), load, points }, null, 2));
} finally {
  pool.close();
  await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
}
process.exit(0);
