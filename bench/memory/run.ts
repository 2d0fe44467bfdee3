/**
 * Server memory at 100 and 1,000 seats (issue 20): Consilium beside stock
 * Colyseus, in the same run, interleaved. For each server: RSS and V8 heap at
 * rest, with one room of 100 (all moving), and with 10 rooms of 100 (3 moving
 * per room); per connected client = (RSS with seats − RSS at rest) / seats.
 * Each reading is taken after a full GC (the server runs with --expose-gc and
 * bench/memory/probe.mjs), RSS once it has settled after it. BENCH_HEAP=1 also writes heap snapshots
 * (bench/memory/heap-summary.ts reads them).
 *   npx tsx bench/memory/run.ts   → bench/results/memory-<time>.json
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { assign } from '../fanout/measure.ts';
import { WorkerPool } from '../fanout/pool.ts';
import { CONSILIUM_VARIANTS, startConsilium, startStock, type BenchServer } from '../fanout/servers.ts';
import { rssMb } from '../fanout/stats.ts';
import { root } from '../support.ts';
import { formatParts, residentParts, type ResidentParts } from './smaps.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const dir = path.join(root, 'bench/results', `memory-${Date.now().toString(36)}`);
mkdirSync(dir, { recursive: true });
process.env.BENCH_MEM_DIR = dir;
process.env.BENCH_SERVER_ARGS = `--expose-gc --import ./bench/memory/probe.mjs`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const settle = Number(process.env.BENCH_MEM_SETTLE_S ?? 6) * 1000;

interface Reading { rssMb: number; rssAfterGcMb: number; parts: ResidentParts; heapTotalMb: number; heapUsedMb: number; externalMb: number; arrayBuffersMb: number; snapshot?: string }

async function probe(server: BenchServer): Promise<Reading> {
  const before = new Set(readdirSync(dir));
  process.kill(server.pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(200);
    const f = readdirSync(dir).find((n) => n.startsWith(`${server.pid}-`) && n.endsWith('.json') && !before.has(n));
    if (f && existsSync(path.join(dir, f))) {
      await sleep(100);
      const { usage, snapshot } = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as { usage: NodeJS.MemoryUsage; snapshot?: string };
      const mb = (b: number) => b / 2 ** 20;
      const rssAfterGcMb = rssMb(server.pid);
      // V8 returns the pages a full GC freed to the system some seconds later (6–7 s here, with nothing changing
      // before): read the RSS after 10 s, once it has stopped falling (unchanged for 3 s, at most 25 s), the same for every server.
      await sleep(10_000);
      let settled = rssMb(server.pid);
      for (let waited = 0, still = 0; waited < 15_000 && still < 3_000; waited += 500) {
        await sleep(500);
        const now = rssMb(server.pid);
        still = Math.abs(now - settled) < 0.5 ? still + 500 : 0;
        settled = now;
      }
      return { rssMb: settled, rssAfterGcMb, parts: residentParts(server.pid), heapTotalMb: mb(usage.heapTotal), heapUsedMb: mb(usage.heapUsed), externalMb: mb(usage.external), arrayBuffersMb: mb(usage.arrayBuffers), ...(snapshot ? { snapshot } : {}) };
    }
  }
  throw new Error('no memory reading');
}

/**
 * BENCH_MEM_TRIM=1: how much of the resident memory is free malloc memory glibc keeps — gdb calls
 * malloc_trim(0) in the server (diagnostic only: it stops the process for a moment), then RSS again.
 */
async function trimmed(pid: number): Promise<number> {
  execFileSync('gdb', ['-p', String(pid), '-batch', '-ex', 'call (int)malloc_trim(0)'], { stdio: 'ignore' });
  await sleep(2000);
  return rssMb(pid);
}

async function withSeats(server: BenchServer, pool: WorkerPool, rooms: number, size: number, moving: number): Promise<Reading & { seats: number; rssLiveMb: number; trimmedMb?: number }> {
  const seats = await server.plan(rooms, size);
  try {
    const joined = await pool.connect(assign(seats, pool.size, 0, moving));
    if (joined.failed) console.warn(`  ${joined.failed} failed joins on ${server.key}: ${joined.error}`);
    await pool.start();
    await sleep(settle);
    // On a busy machine the clients read the join traffic slower than the server sends it (each Consilium seat
    // receives its case, 100–150 KB), and until they have, the server holds those frames. Read again, 3 s apart,
    // until what it holds after a full GC stops falling (at most 5 times), the same for every server.
    let rssLiveMb = rssMb(server.pid);
    let r = await probe(server);
    for (let i = 0; i < 5; i++) {
      await sleep(3000);
      const live = rssMb(server.pid);
      const next = await probe(server);
      const drained = next.externalMb > r.externalMb - 1;
      [rssLiveMb, r] = [live, next];
      if (drained) break;
    }
    const trimmedMb = process.env.BENCH_MEM_TRIM === '1' ? await trimmed(server.pid) : undefined;
    await pool.stopClients();
    return { ...r, rssLiveMb, seats: rooms * size - joined.failed, ...(trimmedMb !== undefined ? { trimmedMb } : {}) };
  } finally {
    await server.release();
  }
}

const pool = await WorkerPool.start(Number(process.env.BENCH_WORKERS ?? 4));
// BENCH_MEM_SERVERS: a comma list of consilium, stock-50, stock-50-arena2 (stock with Consilium's allocator setting), stock-33
// (default consilium,stock-50,stock-50-arena2,stock-33) and CONSILIUM_VARIANTS' keys.
const wanted = (process.env.BENCH_MEM_SERVERS ?? 'consilium,stock-50,stock-50-arena2,stock-33').split(',');
const servers: BenchServer[] = [];
if (wanted.includes('consilium')) servers.push(await startConsilium());
for (const w of wanted) if (CONSILIUM_VARIANTS[w]) servers.push(await startConsilium(CONSILIUM_VARIANTS[w]));
if (wanted.includes('stock-50')) servers.push(await startStock(undefined));
if (wanted.includes('stock-50-arena2')) servers.push(await startStock(undefined, true));
if (wanted.includes('stock-33')) servers.push(await startStock(33));
const load = () => os.loadavg().map((x) => x.toFixed(1)).join(' ');
const out: Record<string, unknown> = { started: new Date().toISOString(), dir, loadAtStart: load() };
console.log(`load average at start: ${load()}`);
try {
  const rest = new Map<BenchServer, Reading>();
  for (const s of servers) rest.set(s, await probe(s));
  const one = new Map<BenchServer, Awaited<ReturnType<typeof withSeats>>>();
  const ten = new Map<BenchServer, Awaited<ReturnType<typeof withSeats>>>();
  for (const s of servers) one.set(s, await withSeats(s, pool, 1, 100, 100));
  for (const s of servers) ten.set(s, await withSeats(s, pool, 10, 100, 3));
  for (const s of servers) {
    const r = rest.get(s)!, a = one.get(s)!, b = ten.get(s)!;
    const perSeat = (x: typeof a) => ((x.rssLiveMb - r.rssMb) * 1024) / x.seats;
    const perSeatHeap = (x: typeof a) => ((x.heapUsedMb - r.heapUsedMb) * 1024) / x.seats;
    console.log(`${s.key.padEnd(10)} resident, rest: ${formatParts(r.parts)}; 1000 seats: ${formatParts(b.parts)}`);
    out[s.key] = { rest: r, room100: a, rooms10x100: b, kibPerSeatRss100: perSeat(a), kibPerSeatRss1000: perSeat(b), kibPerSeatHeap100: perSeatHeap(a), kibPerSeatHeap1000: perSeatHeap(b) };
    console.log(`${s.key.padEnd(10)} rest ${r.rssMb.toFixed(0)} MB (right after gc ${r.rssAfterGcMb.toFixed(0)}, heap ${r.heapUsedMb.toFixed(1)}) | 100 seats: live rss ${a.rssLiveMb.toFixed(0)} MB, after gc ${a.rssAfterGcMb.toFixed(0)}, settled ${a.rssMb.toFixed(0)}, heap ${a.heapUsedMb.toFixed(1)}/${a.heapTotalMb.toFixed(0)}, ext ${a.externalMb.toFixed(1)}, ab ${a.arrayBuffersMb.toFixed(1)} | 1000 seats: live rss ${b.rssLiveMb.toFixed(0)} MB, after gc ${b.rssAfterGcMb.toFixed(0)}, settled ${b.rssMb.toFixed(0)}, heap ${b.heapUsedMb.toFixed(1)}/${b.heapTotalMb.toFixed(0)}, ext ${b.externalMb.toFixed(1)}, ab ${b.arrayBuffersMb.toFixed(1)} | KiB/seat rss ${perSeat(a).toFixed(0)} / ${perSeat(b).toFixed(0)}, heap ${perSeatHeap(a).toFixed(0)} / ${perSeatHeap(b).toFixed(0)}${b.trimmedMb !== undefined ? ` | after malloc_trim: 100 seats ${a.trimmedMb!.toFixed(0)} MB, 1000 seats ${b.trimmedMb.toFixed(0)} MB` : ''}`);
  }
  out.loadAtEnd = load();
  console.log(`load average at end: ${load()}`);
} finally {
  writeFileSync(path.join(dir, 'summary.json'), JSON.stringify(out, null, 2));
  pool.close();
  await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
}
process.exit(0);
