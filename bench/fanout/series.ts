/**
 * Series of measurements with interleaved repetitions: for each point, every
 * server once, then again (A B C A B C …), so slow drifts of the machine hit
 * every server alike. A server leaves a series once its median p99 is more
 * than 50 ms above its own first point's (the load has added 50 ms).
 */
import type { Result, Settings, Shape } from './measure.ts';
import { measure } from './measure.ts';
import type { WorkerPool } from './pool.ts';
import type { BenchServer } from './servers.ts';
import { fmt, spread, type Spread } from './stats.ts';

export const ADDED_LIMIT_MS = 50;

export interface Point {
  server: string;
  shape: Shape;
  runs: Result[];
  p50: Spread;
  p99: Spread;
  p999: Spread;
  serverCpu: Spread;
  clientCpu: Spread;
  bytesPerUpdate: Spread;
  bytesPerUpdateWs: Spread;
  kibPerClientPerSec: Spread;
  serverRssMb: Spread;
  samples: number;
  maxPositionErrorMm: number;
  maxRotationErrorDeg: number;
  busyMax: number;
}

function summarize(server: string, shape: Shape, runs: Result[]): Point {
  const s = (f: (r: Result) => number) => spread(runs.map(f));
  return {
    server,
    shape,
    runs,
    p50: s((r) => r.p50),
    p99: s((r) => r.p99),
    p999: s((r) => r.p999),
    serverCpu: s((r) => r.serverCpu),
    clientCpu: s((r) => r.clientCpu),
    bytesPerUpdate: s((r) => r.bytesPerUpdate),
    bytesPerUpdateWs: s((r) => r.bytesPerUpdateWs),
    kibPerClientPerSec: s((r) => r.kibPerClientPerSec),
    serverRssMb: s((r) => r.serverRssMb),
    samples: runs.reduce((a, r) => a + r.samples, 0),
    maxPositionErrorMm: Math.max(...runs.map((r) => r.maxPositionErrorMm)),
    maxRotationErrorDeg: Math.max(...runs.map((r) => r.maxRotationErrorDeg)),
    busyMax: Math.max(...runs.map((r) => r.busyBefore)),
  };
}

export async function series(title: string, shapes: Shape[], servers: BenchServer[], pool: WorkerPool, settings: Settings, reps: number, stopOnLoad = true): Promise<Point[]> {
  console.log(`\n== ${title}`);
  const points: Point[] = [];
  const active = new Set(servers);
  const firstP99 = new Map<BenchServer, number>();
  for (const shape of shapes) {
    const runs = new Map<BenchServer, Result[]>();
    for (let rep = 0; rep < reps; rep++) {
      for (const server of servers) {
        if (!active.has(server)) continue;
        try {
          const r = await measure(server, pool, shape, settings);
          runs.set(server, [...(runs.get(server) ?? []), r]);
          console.log(`  ${server.key.padEnd(10)} ${shape.rooms}×${shape.size} rep ${rep + 1}: p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms (${r.samples} samples), ${fmt(r.bytesPerUpdate)} B/update, server ${fmt(r.serverCpu)} % cpu, clients ${fmt(r.clientCpu)} %, rss ${fmt(r.serverRssMb, 0)} MB`);
        } catch (err) {
          console.warn(`  ${server.key} ${shape.rooms}×${shape.size}: ${(err as Error).message}`);
          await pool.stopClients().catch(() => undefined);
        }
      }
    }
    for (const [server, rs] of runs) {
      const point = summarize(server.key, shape, rs);
      points.push(point);
      if (!firstP99.has(server)) firstP99.set(server, point.p99.median);
      if (stopOnLoad && !(point.p99.median <= firstP99.get(server)! + ADDED_LIMIT_MS)) {
        console.log(`  ${server.key} leaves the series: p99 ${fmt(point.p99.median)} ms`);
        active.delete(server);
      }
    }
    if (active.size === 0) break;
  }
  return points;
}
