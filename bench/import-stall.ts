/**
 * Does a large case import stall the rooms? (issue 20) Consilium with one
 * room of 100 avatars moving at 30 Hz; the event loop's delay is read in the
 * server (bench/memory/probe.mjs, 1 ms resolution) for a quiet stretch, then
 * across each large operation on a ~10 MB Synthea-based record
 * (BENCH_IMPORT_MB), BENCH_IMPORT_REPS times each (the machine is shared:
 * the quiet stretch before each says what the machine alone did):
 *  - `POST /api/cases` of the bundle;
 *  - `POST /api/cases/pull` of the same record from a loopback FHIR server
 *    (tests/support/fhir-server.ts, SMART Backend Services) in pages of 100
 *    entries, and in one page;
 *  - `POST /api/cases/:id/refresh` of the pulled case (nothing new).
 * Target: worst delay ≤ 20 ms. Beside the delay, loop-cpu-probe.mjs splits it
 * into the time the loop ran (its own work) and the time it waited for a CPU
 * (the machine's other load), and reports the longest own work. Writes bench/results/import-stall-<time>.json.
 *   npx tsx bench/import-stall.ts
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportPKCS8, generateKeyPair } from 'jose';
import { WebSocket } from 'ws';
import { ConsiliumClient } from '../client/src/sdk/index.ts';
import { startLoopbackFhir } from '../tests/support/fhir-server.ts';
import { syntheaMargie, type Bundle } from '../tests/fixtures/real-fhir.ts';
import { assign } from './fanout/measure.ts';
import { WorkerPool } from './fanout/pool.ts';
import { startConsilium } from './fanout/servers.ts';
import { root } from './support.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
const dir = path.join(root, 'bench/results', `stall-${Date.now().toString(36)}`);
mkdirSync(dir, { recursive: true });
process.env.BENCH_MEM_DIR = dir;
process.env.BENCH_SERVER_ARGS = '--import ./bench/memory/probe.mjs --import ./bench/loop-cpu-probe.mjs';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const targetBytes = Number(process.env.BENCH_IMPORT_MB ?? 10) * 1e6;
const reps = Number(process.env.BENCH_IMPORT_REPS ?? 3);
const QUIET_MS = 3000;
/** BENCH_IMPORT_OPS: which of upload,pull100,pull1,refresh (default all). */
const ops = new Set((process.env.BENCH_IMPORT_OPS ?? 'upload,pull100,pull1,refresh').split(','));

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

/**
 * The loop's delay (probe.mjs: max, p99, mean) and, from loop-cpu-probe.mjs, the worst delay's split —
 * `ranMs` the main thread ran (its own work), `waitedMs` it waited for a CPU — and `busyMs`, the
 * longest own work in any one gap.
 */
type Loop = { maxMs: number; p99Ms: number; meanMs: number; gapMs: number; busyMs: number; ranMs: number; waitedMs: number };

async function loopDelay(pid: number): Promise<Loop> {
  const before = new Set(readdirSync(dir));
  process.kill(pid, 'SIGUSR2');
  const fresh = (prefix: string) => readdirSync(dir).find((n) => n.startsWith(prefix) && n.endsWith('.json') && !before.has(n));
  for (let i = 0; i < 200; i++) {
    await sleep(50);
    const mem = fresh(`${pid}-`);
    const cpu = fresh(`cpu-${pid}-`);
    if (mem && cpu) {
      await sleep(50);
      const { loop } = JSON.parse(readFileSync(path.join(dir, mem), 'utf8')) as { loop: Pick<Loop, 'maxMs' | 'p99Ms' | 'meanMs'> };
      const own = JSON.parse(readFileSync(path.join(dir, cpu), 'utf8')) as { wallMs: number; longestRunMs: number; ranInWorstMs: number; waitedInWorstMs: number };
      return { ...loop, gapMs: own.wallMs, busyMs: own.longestRunMs, ranMs: own.ranInWorstMs, waitedMs: own.waitedInWorstMs };
    }
  }
  throw new Error('no reading');
}

const bundle = bundleOf(targetBytes);
const patientId = String(bundle.entry.find((e) => e.resource['resourceType'] === 'Patient')!.resource['id']);
const CLIENT_ID = 'bench-import-stall';
const { privateKey } = await generateKeyPair('RS384', { extractable: true });
let serverUrl = '';
const fhir = await startLoopbackFhir({ bundle, clientId: CLIENT_ID, pageSize: 100, jwks: async () => (await fetch(`${serverUrl}/.well-known/fhir-client-jwks.json`)).json() });
// startProcess passes this process's environment to the server.
Object.assign(process.env, { FHIR_BASE_URL: fhir.baseUrl, FHIR_CLIENT_ID: CLIENT_ID, FHIR_PRIVATE_KEY: await exportPKCS8(privateKey), FHIR_POLL_SECONDS: '0' });

const pool = await WorkerPool.start(4);
const server = await startConsilium();
const out: Record<string, unknown> = { started: new Date().toISOString(), loadBefore: os.loadavg(), runs: [] as unknown[] };
const runs = out['runs'] as { op: string; rep: number; ms: number; quiet: Loop; during: Loop; load: number[] }[];
try {
  const seats = await server.plan(1, 100);
  serverUrl = seats[0]![0]!.url;
  const joined = await pool.connect(assign(seats, pool.size, 0, 100));
  await pool.start();
  await sleep(3000);
  const admin = new ConsiliumClient(serverUrl);
  await admin.api.devLogin({ userId: 'bench.admin', name: 'Bench', admin: true });
  Object.assign(out, { seats: 100 - joined.failed, bundleMB: JSON.stringify(bundle).length / 1e6, resources: bundle.entry.length });

  /** A quiet stretch, then the operation, each read from the server's loop-delay histogram. */
  async function measure(op: string, rep: number, run: () => Promise<unknown>): Promise<void> {
    await loopDelay(server.pid); // reset
    await sleep(QUIET_MS);
    const quiet = await loopDelay(server.pid);
    const t = performance.now();
    await run();
    const ms = performance.now() - t;
    const during = await loopDelay(server.pid);
    runs.push({ op, rep, ms, quiet, during, load: os.loadavg() });
    console.log(
      `${op} #${rep}: ${ms.toFixed(0)} ms; worst delay ${during.maxMs.toFixed(1)} ms (p99 ${during.p99Ms.toFixed(1)}; the worst tick gap ${during.gapMs.toFixed(1)}: ran ${during.ranMs.toFixed(1)}, waited for a CPU ${during.waitedMs.toFixed(1)}, blocked ${Math.max(0, during.gapMs - during.ranMs - during.waitedMs).toFixed(1)}), longest own work ${during.busyMs.toFixed(1)} ms; quiet before: ${quiet.maxMs.toFixed(1)} / ${quiet.busyMs.toFixed(1)} ms; load ${os.loadavg()[0]!.toFixed(1)}`,
    );
  }

  let pulled = '';
  for (let rep = 1; rep <= reps; rep++) {
    if (ops.has('upload')) {
      await measure('POST /api/cases', rep, async () => {
        const report = await admin.api.importCase(bundle);
        out['stored'] = report.stored;
      });
    }
    fhir.setPageSize(100);
    if (ops.has('pull100') || (ops.has('refresh') && !pulled)) await measure('pull, pages of 100', rep, async () => (pulled = (await admin.api.pullCase({ patientId })).caseId));
    fhir.setPageSize(1_000_000);
    if (ops.has('pull1')) await measure('pull, one page', rep, () => admin.api.pullCase({ patientId }));
    if (ops.has('refresh')) await measure('refresh (nothing new)', rep, () => admin.api.refreshCase(pulled));
  }
  out['loadAfter'] = os.loadavg();
  await pool.stopClients();
  await server.release();
} finally {
  writeFileSync(path.join(root, 'bench/results', `import-stall-${Date.now().toString(36)}.json`), JSON.stringify(out, null, 2));
  pool.close();
  await server.close().catch(() => undefined);
  await fhir.close();
}
const byOp = new Map<string, typeof runs>();
for (const r of runs) byOp.set(r.op, [...(byOp.get(r.op) ?? []), r]);
console.log('\n| Operation | time, ms | worst delay, ms | of it waiting for a CPU, ms | p99, ms | longest own work, ms | quiet stretch before: worst delay / longest own work, ms |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
const span = (xs: number[], d = 1) => `${Math.min(...xs).toFixed(d)}–${Math.max(...xs).toFixed(d)}`;
for (const [op, rs] of byOp) {
  const cells = [span(rs.map((r) => r.ms), 0), span(rs.map((r) => r.during.maxMs)), span(rs.map((r) => r.during.waitedMs)), span(rs.map((r) => r.during.p99Ms)), span(rs.map((r) => r.during.busyMs)), `${span(rs.map((r) => r.quiet.maxMs))} / ${span(rs.map((r) => r.quiet.busyMs))}`];
  console.log(`| ${op} | ${cells.join(' | ')} |`);
}
process.exit(0);
