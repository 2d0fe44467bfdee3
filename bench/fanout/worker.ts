/**
 * A client worker process of the fan-out benchmark (forked by pool.ts). It
 * holds its share of the clients of every room, sends each moving client's
 * pose at 30 Hz on its own timer from a random phase, and lets its decoding
 * clients time the poses of the senders in the same room and process (the
 * sender's log and the receiver's clock are in this process).
 */
import './use-ws.ts';
import { connect, type ClientSpec, type Conn, type Receiver } from './clients.ts';
import { avatarPose, HZ, Observations, SentLog } from './motion.ts';


export type ToWorker =
  | { type: 'connect'; specs: ClientSpec[] }
  | { type: 'start' }
  | { type: 'record' }
  | { type: 'collect' }
  | { type: 'stop' };

export interface WorkerReport {
  clients: number;
  decoders: number;
  latencies: number[];
  unmatched: number;
  maxPositionError: number;
  maxRotationError: number;
  /** Decoding clients only: pose frame bytes (payload / with WebSocket header) and avatar records. */
  poseBytes: number;
  poseBytesWs: number;
  records: number;
  /** All clients: bytes received. */
  totalBytes: number;
  sent: number;
}

export type FromWorker = { type: 'connected'; failed: number; error?: string } | { type: 'started' } | { type: 'recording' } | { type: 'report'; report: WorkerReport } | { type: 'stopped' };

interface Held {
  spec: ClientSpec;
  conn: Conn;
  rx: Receiver;
  log: SentLog;
}

let held: Held[] = [];
let timers: NodeJS.Timeout[] = [];
let recording = false;
let sent = 0;
const reply = (m: FromWorker) => process.send!(m);

async function connectAll(specs: ClientSpec[]): Promise<void> {
  let failed = 0;
  let error: string | undefined;
  const queue = [...specs];
  const lanes = Array.from({ length: 8 }, async () => {
    for (let spec = queue.shift(); spec; spec = queue.shift()) {
      const rx: Receiver = { decode: spec.decode, watched: new Map(), obs: new Observations(), recording: () => recording };
      try {
        held.push({ spec, rx, conn: await connect(spec, rx), log: new SentLog() });
      } catch (err) {
        failed++;
        error ??= String((err as Error)?.message ?? err);
      }
    }
  });
  await Promise.all(lanes);
  // Each decoder watches the moving clients of its room held here.
  for (const h of held) {
    if (!h.spec.decode) continue;
    for (const o of held) if (o !== h && o.spec.moving && o.spec.room === h.spec.room) h.rx.watched.set(o.conn.wireId, o.log);
  }
  reply(error === undefined ? { type: 'connected', failed } : { type: 'connected', failed, error });
}

function start(): void {
  for (const h of held) {
    if (!h.spec.moving) continue;
    let seq = 0;
    const tick = () => {
      const pose = avatarPose(h.spec.avatar, ++seq);
      h.log.record(seq, performance.now(), pose);
      h.conn.send(pose);
      sent++;
    };
    timers.push(setTimeout(() => timers.push(setInterval(tick, 1000 / HZ)), Math.random() * (1000 / HZ)));
  }
  reply({ type: 'started' });
}

function record(): void {
  for (const h of held) {
    Object.assign(h.conn.counters, { totalBytes: 0, poseBytes: 0, poseBytesWs: 0, records: 0 });
    h.rx.obs = new Observations();
  }
  sent = 0;
  recording = true;
  reply({ type: 'recording' });
}

function collect(): void {
  recording = false;
  const r: WorkerReport = { clients: held.length, decoders: 0, latencies: [], unmatched: 0, maxPositionError: 0, maxRotationError: 0, poseBytes: 0, poseBytesWs: 0, records: 0, totalBytes: 0, sent };
  for (const h of held) {
    r.totalBytes += h.conn.counters.totalBytes;
    if (!h.spec.decode) continue;
    r.decoders++;
    for (const l of h.rx.obs.latencies) r.latencies.push(l);
    r.unmatched += h.rx.obs.unmatched;
    r.maxPositionError = Math.max(r.maxPositionError, h.rx.obs.maxPositionError);
    r.maxRotationError = Math.max(r.maxRotationError, h.rx.obs.maxRotationError);
    r.poseBytes += h.conn.counters.poseBytes;
    r.poseBytesWs += h.conn.counters.poseBytesWs;
    r.records += h.conn.counters.records;
  }
  reply({ type: 'report', report: r });
}

async function stopAll(): Promise<void> {
  recording = false;
  timers.forEach((t) => clearTimeout(t));
  timers = [];
  await Promise.all(held.map((h) => h.conn.close()));
  held = [];
  reply({ type: 'stopped' });
}

process.on('message', (m: ToWorker) => {
  if (m.type === 'connect') void connectAll(m.specs);
  else if (m.type === 'start') start();
  else if (m.type === 'record') record();
  else if (m.type === 'collect') collect();
  else if (m.type === 'stop') void stopAll();
});
process.on('disconnect', () => process.exit(0));
