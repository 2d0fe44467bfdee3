/**
 * `npm run bench`: avatar pose fan-out, Consilium's clinic room vs. a plain
 * Colyseus baseline (bench/baseline-server.ts), one after the other in one run
 * on the same machine. Each server runs in its own process so its CPU time can
 * be read from /proc. Reports bandwidth per client, server CPU per second and
 * pose latency (send → seen by another client), and the ratios.
 */
import { Client, type Room } from '@colyseus/sdk';
import pg from 'pg';
import { ConsiliumClient, type ClinicSession } from '../client/src/sdk/index.ts';
import { dequantizePose } from '../shared/src/quantize.ts';
import { caseBundle, liveObservation } from '../tests/fixtures/case-bundle.ts';
import { cpuMs, startProcess } from './support.ts';

const CLIENTS = Number(process.argv[2] ?? 16);
const HZ = 30;
const SECONDS = Number(process.argv[3] ?? 8);
const adminUrl = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

interface Result {
  name: string;
  kbPerClientPerSec: number;
  cpuMsPerSec: number;
  latencyP50: number;
  latencyP95: number;
  samples: number;
}

function countBytes(room: Room): () => number {
  let bytes = 0;
  const events = room.connection.events;
  const original = events.onmessage;
  events.onmessage = (e: MessageEvent) => {
    bytes += (e.data as ArrayBuffer).byteLength ?? 0;
    original?.call(events, e);
  };
  return () => bytes;
}

const pose = (x: number, t: number) => ({
  head: { p: [x, 1.7 + Math.sin(t) * 0.05, 0], q: [0, Math.sin(t / 2) * 0.1, 0, 1] },
  left: { p: [x - 0.2, 1.2, 0.3], q: [0, 0, 0, 1] },
  right: { p: [x + 0.2, 1.2 + Math.cos(t) * 0.05, 0.3], q: [0, 0, 0, 1] },
});

/** Drive CLIENTS rooms for SECONDS; probe latency via client 0 → client 1. */
async function drive(name: string, rooms: Room[], pid: number, headX: (room: Room, probeSessionId: string) => number | undefined): Promise<Result> {
  const counters = rooms.map(countBytes);
  await new Promise((r) => setTimeout(r, 500));
  const bytes0 = counters.map((c) => c());
  const cpu0 = cpuMs(pid);
  const started = Date.now();
  const latencies: number[] = [];
  let probeValue = 0;
  let probeSentAt = 0;
  const observer = rooms[1]!;
  const probe = rooms[0]!;
  observer.onStateChange(() => {
    if (probeSentAt === 0) return;
    const x = headX(observer, probe.sessionId);
    if (x !== undefined && Math.abs(x - probeValue) < 0.0015) {
      latencies.push(performance.now() - probeSentAt);
      probeSentAt = 0;
    }
  });
  let tick = 0;
  const timer = setInterval(() => {
    tick++;
    const t = tick / HZ;
    rooms.forEach((room, i) => {
      if (i === 0) {
        if (tick % 3 === 0) {
          probeValue = ((tick % 1000) + 1) * 0.004; // a fresh, exactly quantizable x
          probeSentAt = performance.now();
          room.send('pose.update', pose(probeValue, t));
        }
        return;
      }
      room.send('pose.update', pose(i * 0.5, t + i));
    });
  }, 1000 / HZ);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  clearInterval(timer);
  const seconds = (Date.now() - started) / 1000;
  const cpu = cpuMs(pid) - cpu0;
  const kb = counters.reduce((sum, c, i) => sum + (c() - bytes0[i]!), 0) / 1024;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { name, kbPerClientPerSec: kb / rooms.length / seconds, cpuMsPerSec: cpu / seconds, latencyP50: q(0.5), latencyP95: q(0.95), samples: latencies.length };
}

let ingestLatency = { p50: NaN, p95: NaN, max: NaN };

async function benchConsilium(): Promise<Result> {
  const dbName = `consilium_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${dbName}`;
  const { child, url } = await startProcess(['server/src/main.ts'], { DATABASE_URL: dbUrl.toString(), PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'development', LOG_LEVEL: 'warn', SEED_DEMO: 'false' });
  try {
    const boss = new ConsiliumClient(url);
    await boss.api.devLogin({ userId: 'bench.admin', name: 'Bench', admin: true });
    const users = Array.from({ length: CLIENTS }, (_, i) => `u${i}`);
    // The real product: a case in the room, clinicians and observers mixed, so every client has its own filtered view.
    const { caseId, patientId } = await boss.api.importCase(caseBundle({ name: 'Bench', mrn: 'B-1', note: 'n' }));
    const room = await boss.api.createRoom({ title: 'bench', kind: 'training', caseId, participants: users.map((userId, i) => ({ userId, role: i % 2 === 0 ? 'clinician' : 'observer' })) });
    const sessions: ClinicSession[] = [];
    for (const userId of users) {
      const c = new ConsiliumClient(url);
      await c.api.devLogin({ userId, name: userId });
      const s = await c.join(room.id);
      await s.ready();
      sessions.push(s);
    }
    const result = await drive('Consilium clinic room', sessions.map((s) => s.room as unknown as Room), child.pid!, (r, sid) => {
      const p = (r.state as { participants: Map<string, { head: Parameters<typeof dequantizePose>[0] }> }).participants.get(sid);
      return p ? dequantizePose(p.head).p[0] : undefined;
    });
    // Live vitals: POST → visible in a clinician's and an observer's state.
    const ingest: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = sessions[0]!.caseResources('Observation').length;
      const t0 = performance.now();
      await boss.api.ingestObservation(caseId, liveObservation(patientId, 'bench', 80 + i));
      await new Promise<void>((resolve) => {
        const check = () => (sessions[0]!.caseResources('Observation').length > before && sessions[1]!.caseResources('Observation').length > before ? resolve() : setTimeout(check, 1));
        check();
      });
      ingest.push(performance.now() - t0);
    }
    ingest.sort((a, b) => a - b);
    ingestLatency = { p50: ingest[10]!, p95: ingest[18]!, max: ingest[19]! };
    await Promise.all(sessions.map((s) => s.leave()));
    return result;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await admin.end();
  }
}

async function benchBaseline(): Promise<Result> {
  const { child, url } = await startProcess(['bench/baseline-server.ts'], {});
  try {
    const rooms: Room[] = [];
    for (let i = 0; i < CLIENTS; i++) rooms.push(await new Client(url).joinOrCreate('baseline', { userId: `u${i}` }));
    await new Promise((r) => setTimeout(r, 300));
    const result = await drive('Plain Colyseus baseline', rooms, child.pid!, (r, sid) => (r.state as { participants: Map<string, { head: { px: number } }> }).participants.get(sid)?.head.px);
    await Promise.all(rooms.map((r) => r.leave()));
    return result;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const ours = await benchConsilium();
const base = await benchBaseline();
const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const rows = [ours, base].map((r) => `| ${r.name} | ${fmt(r.kbPerClientPerSec)} | ${fmt(r.cpuMsPerSec)} | ${fmt(r.latencyP50)} | ${fmt(r.latencyP95)} | ${r.samples} |`);
console.log(`\nPose fan-out: ${CLIENTS} clients × ${HZ} Hz × ${SECONDS} s, node ${process.version}, ${new Date().toISOString()}\n`);
console.log('| Server | KiB/s received per client | Server CPU ms/s | Pose latency p50 ms | p95 ms | probes |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
rows.forEach((r) => console.log(r));
console.log(`\nRatios (Consilium / baseline): bandwidth ${fmt(ours.kbPerClientPerSec / base.kbPerClientPerSec, 2)}×, CPU ${fmt(ours.cpuMsPerSec / base.cpuMsPerSec, 2)}×, latency p50 ${fmt(ours.latencyP50 / base.latencyP50, 2)}×, p95 ${fmt(ours.latencyP95 / base.latencyP95, 2)}×`);
console.log(`\nLive vitals (Consilium only; POST /api/cases/:id/observations → visible to a clinician and an observer, ${CLIENTS} clients in the room, 20 samples): p50 ${fmt(ingestLatency.p50)} ms, p95 ${fmt(ingestLatency.p95)} ms, max ${fmt(ingestLatency.max)} ms`);
process.exit(0);
