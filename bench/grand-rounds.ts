/**
 * Grand-rounds scenario of `npm run bench` (issue 22): one lecture hall of
 * 500 — 16 presenters streaming avatar poses at 30 Hz, 484 observers
 * receiving — Consilium's grand-rounds room beside stock Colyseus (int16
 * schema, default 50 ms patch) in the same run, each server in its own process.
 *
 *  - Pose: 15 presenters and 482 observers are bench clients in worker
 *    processes (bench/fanout); 8 observers time every pose they receive.
 *  - Pointer: the 16th presenter and one more observer live in this process:
 *    the presenter streams poses and points at 30 Hz (its pointer's x encodes
 *    a send slot); the observer times each pointer change it sees. Both paths
 *    carry the pointer in the synced state (Consilium: `pointer.update` outside
 *    surgical guidance; stock: a `pointer` message written into the state).
 *
 * Server CPU (% of one core) and resident memory are read from /proc. Writes a
 * markdown table to stdout and bench/results/grand-rounds.json.
 * Environment: BENCH_GR_SECONDS (default 10).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, type Room } from '@colyseus/sdk';
import { WebSocket } from 'ws';
import { ConsiliumClient, type ClinicSession } from '../client/src/sdk/index.ts';
import { encodePoseMessage, POSE_MESSAGE } from '../shared/src/pose-wire.ts';
import { POSITION_STEP } from '../shared/src/quantize.ts';
import { root } from './support.ts';
import { measure, type Result, type Settings } from './fanout/measure.ts';
import { avatarPose, HZ } from './fanout/motion.ts';
import { WorkerPool } from './fanout/pool.ts';
import { startConsilium, startStock, type BenchServer } from './fanout/servers.ts';
import { fmt, machineBusy, percentile } from './fanout/stats.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const ACTIVE = 16;
const OBSERVERS = 484;
const SLOT_M = 0.004; // a pointer slot per 4 mm of x: survives the 2 mm quantization
const settings: Settings = { seconds: Number(process.env.BENCH_GR_SECONDS ?? 10), warmupSeconds: 2, decoders: 8, quietPct: 20, strictQuiet: false };

/** The in-process presenter (pose + pointer) and observer (times pointer changes). */
interface Probe {
  latencies: number[];
  recording: boolean;
  close(): Promise<void>;
}

function pointerProbe(send: (slot: number, target: [number, number, number]) => void, sendPose: (seq: number) => void, watch: (seen: (slot: number) => void) => void, close: () => Promise<void>): Probe {
  const sentAt = new Map<number, number>();
  let seq = 0;
  // A leave that never hears back (a socket the server already closed) must not hold the run.
  const probe: Probe = { latencies: [], recording: false, close: async () => { clearInterval(timer); await Promise.race([close(), new Promise((r) => setTimeout(r, 3000))]); } };
  const timer = setInterval(() => {
    seq++;
    const slot = (seq % 900) + 1;
    sentAt.set(slot, performance.now());
    sendPose(seq);
    send(slot, [slot * SLOT_M, 1.2, Math.sin(seq / 10) * 0.2]);
  }, 1000 / HZ);
  watch((slot) => {
    const t = sentAt.get(slot);
    if (t !== undefined && probe.recording) probe.latencies.push(performance.now() - t);
    sentAt.delete(slot);
  });
  return probe;
}
const slotOf = (px: number | undefined) => Math.round(((px ?? 0) * POSITION_STEP) / SLOT_M);

async function consiliumProbe(url: string, roomId: string): Promise<Probe> {
  const join = async (userId: string) => {
    const c = new ConsiliumClient(url);
    await c.api.devLogin({ userId, name: userId });
    const s = await c.join(roomId);
    await s.ready();
    return s;
  };
  const presenter: ClinicSession = await join('gr.presenter');
  const observer: ClinicSession = await join('gr.observer');
  return pointerProbe(
    (_slot, target) => presenter.room.send('pointer.update', { target, sentAt: Date.now() }),
    (seq) => presenter.room.sendBytes(POSE_MESSAGE, encodePoseMessage(avatarPose(ACTIVE - 1, seq))),
    (seen) => {
      let last = 0;
      observer.room.onStateChange(() => {
        const slot = slotOf(observer.state.participants.get(presenter.sessionId)?.pointer.px);
        if (slot !== last) seen(slot);
        last = slot;
      });
    },
    async () => void (await Promise.all([presenter.leave(), observer.leave()]).catch(() => undefined)),
  );
}

async function stockProbe(url: string, name: string): Promise<Probe> {
  const presenter: Room = await new Client(url).joinOrCreate('stock', { room: name });
  const observer: Room = await new Client(url).joinOrCreate('stock', { room: name });
  return pointerProbe(
    (_slot, target) => presenter.send('pointer', { target }),
    (seq) => presenter.send('pose', avatarPose(ACTIVE - 1, seq)),
    (seen) => {
      let last = 0;
      observer.onStateChange((s: { participants: Map<string, { pointer: { px: number } }> }) => {
        const slot = slotOf(s.participants.get(presenter.sessionId)?.pointer.px);
        if (slot !== last) seen(slot);
        last = slot;
      });
    },
    async () => void (await Promise.all([presenter.leave(), observer.leave()]).catch(() => undefined)),
  );
}

interface Row {
  server: string;
  label: string;
  pose: Result;
  pointer: { p50: number; p99: number; samples: number };
}

/** One measurement: the workers' 498 seats plus this process's two, pointer timed over the pose recording window. */
async function hall(server: BenchServer, pool: WorkerPool): Promise<Row> {
  let probe: Probe | null = null;
  const plan = server.plan.bind(server);
  server.plan = async (rooms, size) => {
    const t0 = performance.now();
    const seats = await plan(rooms, size);
    const first = seats[0]![0]!;
    console.log(`  ${server.key}: hall prepared in ${fmt((performance.now() - t0) / 1000)} s; joining the pointer probe`);
    probe = server.kind === 'consilium' ? await consiliumProbe(first.url, first.room) : await stockProbe(first.url, first.room);
    console.log(`  ${server.key}: probe in; ${size} bench clients joining`);
    return seats;
  };
  // The pointer is timed over the same window as the poses: from the workers' record() to collect().
  const record = pool.record.bind(pool);
  pool.record = async () => {
    await record();
    if (probe) probe.recording = true;
  };
  const collect = pool.collect.bind(pool);
  pool.collect = () => {
    if (probe) probe.recording = false;
    return collect();
  };
  try {
    const pose = await measure(server, pool, { rooms: 1, size: ACTIVE + OBSERVERS - 2, moving: ACTIVE - 1 }, settings);
    const lat = (probe as Probe | null)?.latencies.sort((a, b) => a - b) ?? [];
    return { server: server.key, label: server.label, pose, pointer: { p50: percentile(lat, 0.5), p99: percentile(lat, 0.99), samples: lat.length } };
  } finally {
    pool.record = record;
    pool.collect = collect;
    await (probe as Probe | null)?.close();
  }
}

const started = new Date();
const busyAtStart = await machineBusy(2000);
const pool = await WorkerPool.start(Number(process.env.BENCH_WORKERS ?? 4));
const rows: Row[] = [];
const servers: BenchServer[] = [];
try {
  servers.push(await startConsilium(undefined, { active: ACTIVE - 1, extra: [{ userId: 'gr.presenter', role: 'clinician' }, { userId: 'gr.observer', role: 'observer' }] }));
  servers.push(await startStock(undefined));
  for (const s of servers) {
    const row = await hall(s, pool);
    rows.push(row);
    console.log(`  ${s.key}: pose p50 ${fmt(row.pose.p50)} p99 ${fmt(row.pose.p99)} ms (${row.pose.samples}), pointer p50 ${fmt(row.pointer.p50)} p99 ${fmt(row.pointer.p99)} ms (${row.pointer.samples}), server ${fmt(row.pose.serverCpu)} % cpu, rss ${fmt(row.pose.serverRssMb, 0)} MB, ${row.pose.clients} clients (+2), ${row.pose.failedJoins} failed`);
  }
} finally {
  pool.close();
  await Promise.all(servers.map((s) => s.close().catch(() => undefined)));
}

const lines = [
  `Grand rounds: ${ACTIVE} presenters (poses at ${HZ} Hz, one also pointing at ${HZ} Hz) + ${OBSERVERS} observers in one room, ${settings.seconds} s per server, one run, node ${process.version}, ${started.toISOString()}; machine ${fmt(busyAtStart, 0)} % busy (all cores) before the run.`,
  '',
  '| Server | Pose p50 / p99 ms (at observers) | Pointer p50 / p99 ms | Server CPU % of a core | Server RSS MB | Clients received KiB/s each | Load before % |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ...rows.map((r) => `| ${r.label} | ${fmt(r.pose.p50)} / ${fmt(r.pose.p99)} (${r.pose.samples}) | ${fmt(r.pointer.p50)} / ${fmt(r.pointer.p99)} (${r.pointer.samples}) | ${fmt(r.pose.serverCpu)} | ${fmt(r.pose.serverRssMb, 0)} | ${fmt(r.pose.kibPerClientPerSec)} | ${fmt(r.pose.busyBefore, 0)} |`),
];
console.log(lines.join('\n'));
mkdirSync(path.join(root, 'bench', 'results'), { recursive: true });
writeFileSync(path.join(root, 'bench', 'results', 'grand-rounds.json'), JSON.stringify({ at: started.toISOString(), node: process.version, busyAtStart, settings, rows }, null, 2));
process.exit(0);
