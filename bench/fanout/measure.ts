/**
 * One measurement: rooms × size clients against one server. Checks the
 * machine is quiet, spreads the clients over the worker processes, picks the
 * decoding clients, warms up, records for `seconds`, and reduces what the
 * workers saw into one Result.
 */
import { cpuMs } from '../support.ts';
import type { ClientSpec } from './clients.ts';
import type { WorkerPool } from './pool.ts';
import type { BenchServer } from './servers.ts';
import { machineBusy, percentile, rssMb } from './stats.ts';

export interface Shape {
  rooms: number;
  size: number;
  /** Moving clients per room (the rest connect and stay idle); default all. */
  moving?: number;
}

export interface Settings {
  seconds: number;
  warmupSeconds: number;
  /** Decoding (timing) clients per measurement. */
  decoders: number;
  /** Warn when other load exceeds this share of the machine, %. */
  quietPct: number;
  strictQuiet: boolean;
}

export interface Result {
  server: string;
  rooms: number;
  size: number;
  moving: number;
  clients: number;
  failedJoins: number;
  /** Machine load before the measurement (all cores), %. */
  busyBefore: number;
  samples: number;
  unmatched: number;
  p50: number;
  p99: number;
  p999: number;
  /** Pose frame bytes per avatar update at decoding clients: payload, and with WebSocket header. */
  bytesPerUpdate: number;
  bytesPerUpdateWs: number;
  kibPerClientPerSec: number;
  maxPositionErrorMm: number;
  maxRotationErrorDeg: number;
  /** CPU, % of one core. */
  serverCpu: number;
  clientCpu: number;
  serverRssMb: number;
  sentPerSec: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait for a quiet machine (up to 3 tries); returns the last busy share. */
async function quiet(settings: Settings): Promise<number> {
  let busy = 100;
  for (let attempt = 0; attempt < 3; attempt++) {
    busy = await machineBusy(1000);
    if (busy <= settings.quietPct) return busy;
    await sleep(2000);
  }
  const msg = `machine busy (${busy.toFixed(0)} % of all cores before the measurement)`;
  if (settings.strictQuiet) throw new Error(msg);
  console.warn(`  warning: ${msg}`);
  return busy;
}

/** Decoders spread round-robin over (room, worker) groups, at most half of a group. */
export function assign(seats: Omit<ClientSpec, 'decode' | 'moving'>[][], workers: number, decoders: number, moving: number): ClientSpec[][] {
  const groups = new Map<string, ClientSpec[]>();
  const shares: ClientSpec[][] = Array.from({ length: workers }, () => []);
  let n = 0;
  seats.forEach((room, r) =>
    room.forEach((seat, j) => {
      const w = n++ % workers;
      const spec: ClientSpec = { ...seat, decode: false, moving: j < moving };
      shares[w]!.push(spec);
      const key = `${r}/${w}`;
      groups.set(key, [...(groups.get(key) ?? []), spec]);
    }),
  );
  let left = decoders;
  for (let round = 0; left > 0; round++) {
    let placed = false;
    for (const g of groups.values()) {
      if (left === 0) break;
      const candidates = g.filter((s) => !s.decode);
      if (round < Math.floor(g.length / 2) && candidates.length > 0) {
        // Prefer idle clients as decoders so the moving ones stay senders.
        (candidates.find((s) => !s.moving) ?? candidates[0]!).decode = true;
        left--;
        placed = true;
      }
    }
    if (!placed) break;
  }
  return shares;
}

export async function measure(server: BenchServer, pool: WorkerPool, shape: Shape, settings: Settings): Promise<Result> {
  const busyBefore = await quiet(settings);
  const moving = shape.moving ?? shape.size;
  const seats = await server.plan(shape.rooms, shape.size);
  try {
    const joined = await pool.connect(assign(seats, pool.size, settings.decoders, moving));
    if (joined.failed > 0) console.warn(`  ${joined.failed} clients failed to join ${server.key}: ${joined.error}`);
    await pool.start();
    await sleep(settings.warmupSeconds * 1000);
    const s0 = cpuMs(server.pid);
    const c0 = pool.cpuMs();
    const t0 = performance.now();
    await pool.record();
    await sleep(settings.seconds * 1000);
    const reports = await pool.collect();
    const elapsed = performance.now() - t0;
    const serverCpu = ((cpuMs(server.pid) - s0) / elapsed) * 100;
    const clientCpu = ((pool.cpuMs() - c0) / elapsed) * 100;
    const serverRssMb = rssMb(server.pid);
    await pool.stopClients();
    const latencies = reports.flatMap((r) => r.latencies);
    const unmatched = reports.reduce((s, r) => s + r.unmatched, 0);
    for (let i = 0; i < unmatched; i++) latencies.push(Infinity); // late beyond the match window (> 2 s) or wrong
    latencies.sort((a, b) => a - b);
    const sum = (f: (r: (typeof reports)[number]) => number) => reports.reduce((s, r) => s + f(r), 0);
    const decoders = sum((r) => r.decoders);
    const records = sum((r) => r.records);
    const clients = sum((r) => r.clients);
    return {
      server: server.key,
      rooms: shape.rooms,
      size: shape.size,
      moving,
      clients,
      failedJoins: joined.failed,
      busyBefore,
      samples: latencies.length,
      unmatched,
      p50: percentile(latencies, 0.5),
      p99: percentile(latencies, 0.99),
      p999: percentile(latencies, 0.999),
      bytesPerUpdate: records ? sum((r) => r.poseBytes) / records : NaN,
      bytesPerUpdateWs: records ? sum((r) => r.poseBytesWs) / records : NaN,
      kibPerClientPerSec: clients ? sum((r) => r.totalBytes) / 1024 / clients / (elapsed / 1000) : NaN,
      maxPositionErrorMm: decoders ? Math.max(...reports.map((r) => r.maxPositionError)) * 1000 : NaN,
      maxRotationErrorDeg: decoders ? Math.max(...reports.map((r) => r.maxRotationError)) : NaN,
      serverCpu,
      clientCpu,
      serverRssMb,
      sentPerSec: sum((r) => r.sent) / (elapsed / 1000),
    };
  } finally {
    await server.release();
  }
}
