/**
 * Rooms of 16 past the main run's 32 (issue 20: "rooms of 16 ≥ 2× stock's under 50 ms p99"): the
 * same series as `npm run bench`'s, from BENCH_ROOM_COUNTS (default 32,40,48,56,64) rooms, Consilium
 * beside stock Colyseus at 50 and 33 ms, interleaved repetitions. The bench's own clients share the
 * machine: their CPU is printed beside each point, and a point where the machine had no core left
 * for them says so (the warning "machine busy"). Writes bench/results/rooms16-<time>.json.
 *   npx tsx bench/fanout/rooms16.ts
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { root } from '../support.ts';
import type { Settings } from './measure.ts';
import { WorkerPool } from './pool.ts';
import { ADDED_LIMIT_MS, series } from './series.ts';
import { startConsilium, startStock, type BenchServer } from './servers.ts';
import { fmt } from './stats.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
const env = process.env;
const counts = (env.BENCH_ROOM_COUNTS ?? '32,40,48,56,64').split(',').map(Number);
const settings: Settings = { seconds: Number(env.BENCH_FANOUT_SECONDS ?? 5), warmupSeconds: 1.5, decoders: Number(env.BENCH_DECODERS ?? 8), quietPct: 20, strictQuiet: false };
const reps = Number(env.BENCH_REPS ?? 2);

const pool = await WorkerPool.start(Number(env.BENCH_WORKERS ?? 4));
const servers: BenchServer[] = [];
const load = [os.loadavg()];
try {
  servers.push(await startConsilium(), await startStock(undefined), await startStock(33));
  // The first point is each server's own baseline: one room of 16.
  const points = await series('Rooms of 16, past 32', [{ rooms: 1, size: 16 }, ...counts.map((rooms) => ({ rooms, size: 16 }))], servers, pool, settings, reps);
  load.push(os.loadavg());
  console.log(`\n| Server | rooms | clients | p50 ms | p99 ms | server CPU % | client CPU % |`);
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const p of points) {
    const label = servers.find((s) => s.key === p.server)!.label;
    console.log(`| ${label} | ${p.shape.rooms} | ${p.shape.rooms * p.shape.size} | ${fmt(p.p50.median)} | ${fmt(p.p99.median)} (${fmt(p.p99.min)}–${fmt(p.p99.max)}) | ${fmt(p.serverCpu.median)} | ${fmt(p.clientCpu.median)} |`);
  }
  for (const s of servers) {
    const mine = points.filter((p) => p.server === s.key && p.shape.rooms > 1);
    const under = mine.filter((p) => p.p99.median <= ADDED_LIMIT_MS).map((p) => p.shape.rooms);
    console.log(`${s.key}: most rooms with p99 ≤ ${ADDED_LIMIT_MS} ms: ${under.length ? Math.max(...under) : 'none of these'}`);
  }
  console.log(`load average before / after: ${load.map((l) => l.map((x) => x.toFixed(1)).join(' ')).join(' / ')}`);
  writeFileSync(path.join(root, 'bench/results', `rooms16-${Date.now().toString(36)}.json`), JSON.stringify({ started: new Date().toISOString(), load, points }, null, 2));
} finally {
  pool.close();
  await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
}
process.exit(0);
