/**
 * Does a large case import stall the rooms? (issue 20) Consilium with one
 * room of 100 avatars moving at 30 Hz; the event loop's delay is read in the
 * server (bench/memory/probe.mjs, 1 ms resolution) for a quiet stretch, then
 * across `POST /api/cases` of a ~10 MB Synthea-based bundle (BENCH_IMPORT_MB).
 * Target: worst delay ≤ 20 ms. Writes bench/results/import-stall-<time>.json.
 *   npx tsx bench/import-stall.ts
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { ConsiliumClient } from '../client/src/sdk/index.ts';
import { syntheaMargie, type Bundle } from '../tests/fixtures/real-fhir.ts';
import { assign } from './fanout/measure.ts';
import { WorkerPool } from './fanout/pool.ts';
import { startConsilium } from './fanout/servers.ts';
import { root } from './support.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
const dir = path.join(root, 'bench/results', `stall-${Date.now().toString(36)}`);
mkdirSync(dir, { recursive: true });
process.env.BENCH_MEM_DIR = dir;
process.env.BENCH_SERVER_ARGS = '--import ./bench/memory/probe.mjs';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const targetBytes = Number(process.env.BENCH_IMPORT_MB ?? 10) * 1e6;

/** Margie619's record with her Observations repeated (new ids and dates) until the JSON reaches `bytes`. */
function bundleOf(bytes: number): Bundle {
  const b = syntheaMargie();
  const obs = b.entry.filter((e) => e.resource['resourceType'] === 'Observation');
  let size = JSON.stringify(b).length;
  for (let k = 0; size < bytes; k++) {
    const src = obs[k % obs.length]!;
    const entry = { fullUrl: `urn:uuid:stall-${k}`, resource: { ...src.resource, id: `stall-${k}`, effectiveDateTime: new Date(Date.UTC(2000, 0, 1) + k * 36e5).toISOString() } };
    b.entry.push(entry);
    size += JSON.stringify(entry).length + 1;
  }
  return b;
}

async function loopDelay(pid: number): Promise<{ maxMs: number; p99Ms: number; meanMs: number }> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 200; i++) {
    await sleep(50);
    const f = readdirSync(dir).find((n) => n.startsWith(`${pid}-`) && n.endsWith('.json') && !before.has(n));
    if (f) {
      await sleep(50);
      return (JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { loop: { maxMs: number; p99Ms: number; meanMs: number } }).loop;
    }
  }
  throw new Error('no reading');
}

const pool = await WorkerPool.start(4);
const server = await startConsilium();
const out: Record<string, unknown> = { started: new Date().toISOString(), loadBefore: os.loadavg() };
try {
  const seats = await server.plan(1, 100);
  const joined = await pool.connect(assign(seats, pool.size, 0, 100));
  await pool.start();
  await sleep(3000);
  const bundle = bundleOf(targetBytes);
  const body = JSON.stringify(bundle);
  const admin = new ConsiliumClient(seats[0]![0]!.url);
  await admin.api.devLogin({ userId: 'bench.admin', name: 'Bench', admin: true });
  await loopDelay(server.pid); // reset
  await sleep(5000);
  const quiet = await loopDelay(server.pid);
  const t = performance.now();
  const report = await admin.api.importCase(bundle);
  const importMs = performance.now() - t;
  const during = await loopDelay(server.pid);
  Object.assign(out, { seats: 100 - joined.failed, bundleMB: body.length / 1e6, resources: bundle.entry.length, stored: report.stored, importMs, quiet, during, loadAfter: os.loadavg() });
  console.log(JSON.stringify(out, null, 2));
  await pool.stopClients();
  await server.release();
} finally {
  writeFileSync(path.join(root, 'bench/results', `import-stall-${Date.now().toString(36)}.json`), JSON.stringify(out, null, 2));
  pool.close();
  await server.close().catch(() => undefined);
}
process.exit(0);
