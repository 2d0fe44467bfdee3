/**
 * Guidance scenario of `npm run bench` (issue 12): specialist → surgeon pointer
 * latency while 10 other participants stream poses at 30 Hz, on loopback,
 * Consilium's surgical-guidance room beside stock Colyseus in the same run:
 *  - Consilium: `pointer.update` relayed on arrival (`guidance.pointer`), after
 *    tickets, validation, policy and the link-quality stamp;
 *  - stock Colyseus, same path: a room that broadcasts the pointer on arrival;
 *  - stock Colyseus, the default path: the pointer written into the state and
 *    delivered with the next patch (default 50 ms patch rate).
 * The streamers run in a worker process; the probe pair in this one. Latency =
 * receive time − send time on this process's clock. Writes a markdown table
 * to stdout and bench/results/guidance.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { Client, type Room } from '@colyseus/sdk';
import { WebSocket } from 'ws';
import { ConsiliumClient, type ClinicSession } from '../client/src/sdk/index.ts';
import { benchDatabase, cpuMs, fmt, now, percentile, root, startProcess, stop } from './support.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const OTHERS = 10;
const POINTER_HZ = 60;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);

interface Row {
  name: string;
  p50: number;
  p99: number;
  max: number;
  samples: number;
  serverCpuPct: number;
}

function streamers(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/streamers.ts', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(child));
    child.once('exit', (code) => reject(new Error(`streamers exited with ${code}`)));
  });
}

/** Send a pointer at POINTER_HZ for SECONDS; `received` is fed by the caller's receive hook. */
async function probe(name: string, pid: number, send: (target: [number, number, number], sentAt: number) => void, onReceive: (cb: (sentAt: number) => void) => void): Promise<Row> {
  const latencies: number[] = [];
  let recording = false;
  onReceive((sentAt) => recording && latencies.push(now() - sentAt));
  // Warm up, then measure.
  let tick = 0;
  const timer = setInterval(() => send([Math.sin(++tick / 10) * 0.1, 0.02, Math.cos(tick / 10) * 0.1], now()), 1000 / POINTER_HZ);
  await new Promise((r) => setTimeout(r, 1000));
  recording = true;
  const cpu0 = cpuMs(pid);
  const t0 = Date.now();
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const cpu = cpuMs(pid) - cpu0;
  const elapsed = Date.now() - t0;
  recording = false;
  clearInterval(timer);
  latencies.sort((a, b) => a - b);
  return { name, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? NaN, samples: latencies.length, serverCpuPct: (cpu / elapsed) * 100 };
}

async function consilium(): Promise<Row> {
  const db = await benchDatabase();
  const { child, url } = await startProcess(['server/src/main.ts'], { DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'development', LOG_LEVEL: 'warn', SEED_DEMO: 'false' });
  let workers: ChildProcess | null = null;
  const sessions: ClinicSession[] = [];
  try {
    const admin = new ConsiliumClient(url);
    await admin.api.devLogin({ userId: 'bench.admin', name: 'Bench', admin: true });
    const room = await admin.api.createRoom({
      title: 'Guidance bench',
      kind: 'surgical-guidance',
      participants: [
        { userId: 'surgeon', role: 'surgeon' },
        { userId: 'guide', role: 'specialist' },
        ...Array.from({ length: OTHERS }, (_, i) => ({ userId: `o${i}`, role: i % 2 ? ('observer' as const) : ('specialist' as const) })),
      ],
    });
    for (const userId of ['surgeon', 'guide']) {
      const c = new ConsiliumClient(url);
      await c.api.devLogin({ userId, name: userId });
      const s = await c.join(room.id);
      await s.ready();
      sessions.push(s);
    }
    const [surgeon, guide] = sessions as [ClinicSession, ClinicSession];
    workers = await streamers(['consilium', url, room.id, 'o', String(OTHERS)]);
    return await probe(
      'Consilium surgical-guidance room (relay on arrival, full product path)',
      child.pid!,
      (target, sentAt) => guide.room.send('pointer.update', { target, sentAt }),
      (cb) => surgeon.guidance.onPointer((p) => p.sentAt !== null && cb(p.sentAt)),
    );
  } finally {
    await Promise.all(sessions.map((s) => s.leave().catch(() => 0)));
    if (workers) await stop(workers);
    await stop(child);
    await db.drop();
  }
}

async function stock(mode: 'relay' | 'state'): Promise<Row> {
  const { child, url } = await startProcess(['bench/baseline-server.ts'], {});
  let workers: ChildProcess | null = null;
  const rooms: Room[] = [];
  try {
    const surgeon = await new Client(url).joinOrCreate('baseline-guidance', { userId: 'surgeon' });
    const guide = await new Client(url).joinById(surgeon.roomId, { userId: 'guide' });
    rooms.push(surgeon, guide);
    workers = await streamers(['stock', url, 'baseline-guidance', 'o', String(OTHERS)]);
    if (mode === 'relay') {
      return await probe(
        'Stock Colyseus, pointer relayed on arrival (same path)',
        child.pid!,
        (target, sentAt) => guide.send('pointer.relay', { target, sentAt }),
        (cb) => surgeon.onMessage('pointer', (m: { sentAt: number }) => cb(m.sentAt)),
      );
    }
    // State path: the pointer's x encodes its send slot; the surgeon sees it with the next patch.
    const sent = new Map<number, number>();
    let slot = 0;
    return await probe(
      'Stock Colyseus, pointer in the state (default 50 ms patch)',
      child.pid!,
      (target, sentAt) => {
        slot = (slot % 100_000) + 1;
        sent.set(slot, sentAt);
        guide.send('pointer.state', { target: [slot, target[1], target[2]] });
      },
      (cb) => {
        let last = 0;
        surgeon.onStateChange((s: { participants: Map<string, { pointer: { px: number } }> }) => {
          const x = Math.round(s.participants.get(guide.sessionId)?.pointer.px ?? 0);
          if (x !== last && sent.has(x)) cb(sent.get(x)!);
          last = x;
        });
      },
    );
  } finally {
    await Promise.all(rooms.map((r) => r.leave().catch(() => 0)));
    if (workers) await stop(workers);
    await stop(child);
  }
}

const rows = [await consilium(), await stock('relay'), await stock('state')];
const [ours, sameStock, stateStock] = rows as [Row, Row, Row];
const lines = [
  `Guidance pointer latency: specialist → surgeon, ${POINTER_HZ} Hz pointer, ${OTHERS} others streaming poses at 30 Hz, ${SECONDS} s, node ${process.version}, ${new Date().toISOString()}`,
  '',
  '| Path | p50 ms | p99 ms | max ms | samples | server CPU % of a core |',
  '| --- | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.name} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.max, 1)} | ${r.samples} | ${fmt(r.serverCpuPct)} |`),
  '',
  `Consilium vs stock relay: p50 ${fmt(ours.p50 / sameStock.p50, 2)}×, p99 ${fmt(ours.p99 / sameStock.p99, 2)}× (added by Consilium's checks: p99 +${fmt(ours.p99 - sameStock.p99, 2)} ms); vs stock state sync: p99 ${fmt(ours.p99 / stateStock.p99, 2)}×.`,
];
console.log(lines.join('\n'));
mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
writeFileSync(path.join(root, 'bench', 'results', 'guidance.json'), JSON.stringify({ at: new Date().toISOString(), node: process.version, seconds: SECONDS, rows }, null, 2));
process.exit(0);
