/**
 * `npm run bench` (fan-out part, issue 13): avatar pose fan-out, Consilium's
 * clinic room with its pose fast path beside stock Colyseus (int16 schema, at
 * the default 50 ms patch and at 33 ms) and a naive JSON relay, in the same
 * run, each server in its own process, clients in worker processes.
 *
 * Points: one room of N = 16/32/64/100 avatars; rooms of 16 (1…32 rooms,
 * until the load adds 50 ms at p99); 1,000 connected clients, few moving.
 * Repetitions interleave the servers. Writes bench/results/fanout-<time>.json
 * and, on a full run, the fan-out section of docs/BENCHMARKS.md.
 *
 * Environment: BENCH_QUICK=1 (fewer points, 3 s each, one repetition),
 * BENCH_FANOUT_SECONDS, BENCH_REPS, BENCH_WORKERS (default 4), BENCH_DECODERS
 * (default 8), BENCH_SERVERS (comma list of consilium, stock-50, stock-33,
 * relay), BENCH_STRICT_QUIET=1 (abort on a busy machine), BENCH_WRITE_DOCS=1.
 */
import { WebSocket } from 'ws';
import type { Settings } from './fanout/measure.ts';
import { WorkerPool } from './fanout/pool.ts';
import { writeReport } from './fanout/report.ts';
import { consiliumFastPathMissing, startConsilium, startRelay, startStock, type BenchServer } from './fanout/servers.ts';
import { series } from './fanout/series.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const env = process.env;
const quick = env.BENCH_QUICK === '1';
const settings: Settings = {
  seconds: Number(env.BENCH_FANOUT_SECONDS ?? (quick ? 3 : 5)),
  warmupSeconds: quick ? 1 : 1.5,
  decoders: Number(env.BENCH_DECODERS ?? 8),
  quietPct: 20,
  strictQuiet: env.BENCH_STRICT_QUIET === '1',
};
const reps = Number(env.BENCH_REPS ?? (quick ? 1 : 3));
const wanted = new Set((env.BENCH_SERVERS ?? 'consilium,stock-50,stock-33,relay').split(',').map((s) => s.trim()));
const sizes = quick ? [16, 64] : [16, 32, 64, 100];
const roomCounts = quick ? [1, 2, 4] : [1, 2, 4, 8, 16, 24, 32];
const idle = quick ? { rooms: 2, size: 100, moving: 2 } : { rooms: 10, size: 100, moving: 3 };

const servers: BenchServer[] = [];
const notes: string[] = [];
const started = new Date();
const pool = await WorkerPool.start(Number(env.BENCH_WORKERS ?? 4));
try {
  if (wanted.has('consilium')) {
    const consilium = await startConsilium();
    const missing = await consiliumFastPathMissing(consilium);
    if (missing) {
      notes.push(`Consilium not measured: ${missing}.`);
      console.warn(`Consilium skipped: ${missing}`);
      await consilium.close();
    } else servers.push(consilium);
  }
  if (wanted.has('stock-50')) servers.push(await startStock(undefined));
  if (wanted.has('stock-33')) servers.push(await startStock(33));
  if (wanted.has('relay')) servers.push(await startRelay());

  const oneRoom = await series('One room, N avatars', sizes.map((size) => ({ rooms: 1, size })), servers, pool, settings, reps);
  const roomsOf16 = await series('Rooms of 16', roomCounts.map((rooms) => ({ rooms, size: 16 })), servers, pool, settings, reps);
  const idlePoints = await series(`${idle.rooms * idle.size} connected, ${idle.moving} moving per room`, [idle], servers, pool, settings, 1, false);
  await writeReport({ started, quick, settings, reps, servers, notes, oneRoom, roomsOf16, idle: idlePoints, writeDocs: !quick || env.BENCH_WRITE_DOCS === '1' });
} finally {
  pool.close();
  await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
}
process.exit(0);
