/**
 * Bench clients, one kind per server (they run inside worker processes):
 * connect, send a pose, and — for decoding clients — decode everything
 * received, count avatar records and their bytes, and hand the poses of
 * watched avatars to `Observations`. Non-decoding clients still receive every
 * byte (counted) but skip decoding, so a few hundred of them fit on the
 * machine beside the server.
 *
 * The Consilium client is written against the pose fast path
 * (shared/src/pose-wire.ts): `room.sendBytes(POSE_MESSAGE, …)` up,
 * `POSE_FRAME` records (slot + poses) down, slots from
 * `state.participants.get(sessionId).slot`.
 */
import { Client, Protocol, type Room } from '@colyseus/sdk';
import { WebSocket } from 'ws';
import { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { Pose } from '../../shared/src/messages.ts';
import { messageBytes, POSE_FRAME, POSE_MESSAGE, encodePoseMessage, readPoseFrame } from '../../shared/src/pose-wire.ts';
import { dequantizePose, type QuantizedPose } from '../../shared/src/quantize.ts';
import type { AvatarPose, Observations, SentLog } from './motion.ts';

export type ServerKind = 'consilium' | 'stock' | 'relay' | 'floor';

export interface ClientSpec {
  kind: ServerKind;
  url: string;
  /** Consilium: room id; stock and relay: room name. */
  room: string;
  /** Consilium user id (each bench client is its own user); unique key otherwise. */
  user: string;
  avatar: number;
  decode: boolean;
  moving: boolean;
}

export interface Counters {
  /** Every byte received (WebSocket payloads). */
  totalBytes: number;
  /** Pose-carrying frames: payload bytes, and with the server→client WebSocket header. */
  poseBytes: number;
  poseBytesWs: number;
  /** Avatar updates received in those frames (decoding clients only). */
  records: number;
}

export interface Receiver {
  decode: boolean;
  /** Senders in the same room and process, by the id the wire identifies them with. */
  watched: Map<string, SentLog>;
  obs: Observations;
  recording(): boolean;
}

export interface Conn {
  /** How peers identify this client on the wire: session id (Colyseus) or user key (relay). */
  readonly wireId: string;
  readonly counters: Counters;
  send(pose: AvatarPose): void;
  close(): Promise<void>;
}

const wsHeader = (n: number) => (n < 126 ? 2 : n < 65536 ? 4 : 10);
const newCounters = (): Counters => ({ totalBytes: 0, poseBytes: 0, poseBytesWs: 0, records: 0 });

/** Count every received WebSocket payload; returns the size of the message being dispatched. */
function countRaw(room: Room, counters: Counters, rx: Receiver, onPatch?: (bytes: number) => void): () => number {
  let last = 0;
  const events = room.connection.events;
  const original = events.onmessage;
  events.onmessage = (e: MessageEvent) => {
    const data = e.data as ArrayBuffer;
    last = data.byteLength;
    if (rx.recording()) {
      counters.totalBytes += last;
      if (onPatch && (new Uint8Array(data, 0, 1)[0]! & 0x1f) === Protocol.ROOM_STATE_PATCH) onPatch(last);
    }
    original?.call(events, e);
  };
  return () => last;
}

export async function connect(spec: ClientSpec, rx: Receiver): Promise<Conn> {
  if (spec.kind === 'consilium') return connectConsilium(spec, rx);
  if (spec.kind === 'stock') return connectStock(spec, rx);
  if (spec.kind === 'floor') return connectFloor(spec, rx);
  return connectRelay(spec, rx);
}

async function connectConsilium(spec: ClientSpec, rx: Receiver): Promise<Conn> {
  const c = new ConsiliumClient(spec.url);
  await c.api.devLogin({ userId: spec.user, name: spec.user });
  const session = await c.join(spec.room);
  await session.ready();
  const room = session.room as unknown as Room;
  const counters = newCounters();
  const lastSize = countRaw(room, counters, rx);
  // slot → sender log, from the synced state (rebuilt when an unknown slot shows up, at most every 250 ms).
  let bySlot = new Map<number, SentLog>();
  let builtAt = -Infinity;
  const logFor = (slot: number): SentLog | undefined => {
    const hit = bySlot.get(slot);
    if (hit || performance.now() - builtAt < 250) return hit;
    builtAt = performance.now();
    bySlot = new Map();
    for (const [sessionId, log] of rx.watched) {
      const s = (session.state.participants.get(sessionId) as { slot?: number } | undefined)?.slot;
      if (s !== undefined) bySlot.set(s, log);
    }
    return bySlot.get(slot);
  };
  room.onMessage(POSE_FRAME, (bytes: Uint8Array) => {
    const recording = rx.recording();
    if (recording) {
      counters.poseBytes += lastSize();
      counters.poseBytesWs += lastSize() + wsHeader(lastSize());
    }
    if (!rx.decode) return;
    const at = performance.now();
    readPoseFrame(bytes, (slot, pose) => {
      if (recording) counters.records++;
      const log = logFor(slot);
      if (log) rx.obs.see(log, pose, at, recording);
    });
  });
  return {
    wireId: session.sessionId,
    counters,
    send: (pose) => room.sendBytes(POSE_MESSAGE, encodePoseMessage(pose)),
    close: () => session.leave().then(() => undefined, () => undefined),
  };
}

type QAvatar = { head: QuantizedPose; left: QuantizedPose; right: QuantizedPose };
const FIELDS = ['px', 'py', 'pz', 'qx', 'qy', 'qz', 'qw'] as const;

async function connectStock(spec: ClientSpec, rx: Receiver): Promise<Conn> {
  const room = await new Client(spec.url).joinOrCreate('stock', { room: spec.room });
  await new Promise<void>((resolve) => (room.state ? resolve() : room.onStateChange.once(() => resolve())));
  const counters = newCounters();
  countRaw(room, counters, rx, (n) => {
    counters.poseBytes += n;
    counters.poseBytesWs += n + wsHeader(n);
  });
  if (!rx.decode) {
    // Receive every patch, skip decoding it.
    (room as unknown as { serializer: { patch: () => void } }).serializer.patch = () => {};
  } else {
    const previous = new Map<string, Int32Array>();
    room.onStateChange((state: { participants: Map<string, QAvatar> }) => {
      const recording = rx.recording();
      const at = performance.now();
      state.participants.forEach((a, sessionId) => {
        let prev = previous.get(sessionId);
        if (!prev) previous.set(sessionId, (prev = new Int32Array(21)));
        let changed = false;
        let k = 0;
        for (const part of [a.head, a.left, a.right]) {
          for (const f of FIELDS) {
            const v = part[f] ?? 0; // fields never set arrive undefined
            if (prev[k] !== v) {
              prev[k] = v;
              changed = true;
            }
            k++;
          }
        }
        if (!changed) return;
        if (recording) counters.records++;
        const log = rx.watched.get(sessionId);
        if (log) rx.obs.see(log, { head: dequantizePose(a.head), left: dequantizePose(a.left), right: dequantizePose(a.right) }, at, recording);
      });
    });
  }
  return {
    wireId: room.sessionId,
    counters,
    send: (pose) => room.send('pose', pose),
    close: () => room.leave().then(() => undefined, () => undefined),
  };
}

const r4 = (v: number) => Math.round(v * 1e4) / 1e4;
const json = (p: Pose) => ({ p: p.p.map(r4), q: p.q.map(r4) });

/**
 * A plain `ws` client for the bare servers (relay, floor): every message is a
 * pose message, counted whole; `decode` hands each pose to the watcher of the
 * id the wire names it by.
 */
async function connectBare(
  url: string,
  rx: Receiver,
  wireId: string,
  decode: (data: Buffer, see: (id: string, pose: Parameters<Observations['see']>[1]) => void) => void,
  encode: (pose: AvatarPose) => Buffer | Uint8Array | string,
): Promise<Conn> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const counters = newCounters();
  ws.on('message', (data: Buffer) => {
    const recording = rx.recording();
    if (recording) {
      counters.totalBytes += data.length;
      counters.poseBytes += data.length;
      counters.poseBytesWs += data.length + wsHeader(data.length);
    }
    if (!rx.decode) return;
    const at = performance.now();
    decode(data, (id, pose) => {
      if (recording) counters.records++;
      const log = rx.watched.get(id);
      if (log) rx.obs.see(log, pose, at, recording);
    });
  });
  return {
    wireId,
    counters,
    send: (pose) => ws.send(encode(pose)),
    close: async () => {
      if (ws.readyState === ws.CLOSED) return;
      ws.close();
      await new Promise((r) => ws.once('close', r));
    },
  };
}

const wsUrl = (spec: ClientSpec, ...path: string[]) => `${spec.url.replace(/^http/, 'ws')}/${path.map(encodeURIComponent).join('/')}`;

/** The naive relay (relay-server.ts): JSON poses both ways, rebroadcast as they came. */
const connectRelay = (spec: ClientSpec, rx: Receiver) =>
  connectBare(
    wsUrl(spec, spec.room),
    rx,
    spec.user,
    (data, see) => {
      const m = JSON.parse(data.toString()) as { id: string } & AvatarPose;
      see(m.id, m);
    },
    (pose) => JSON.stringify({ id: spec.user, head: json(pose.head), left: json(pose.left), right: json(pose.right) }),
  );

/** The floor server (floor-server.ts): Consilium's binary pose message up, POSE_FRAME records down (slot = avatar index). */
const connectFloor = (spec: ClientSpec, rx: Receiver) =>
  connectBare(wsUrl(spec, spec.room, String(spec.avatar)), rx, String(spec.avatar), (data, see) => readPoseFrame(data, (slot, pose) => see(String(slot), pose)), (pose) => encodePoseMessage(pose));

/** Bytes of one client pose message with both hands (for the record). */
export const POSE_MESSAGE_BYTES = messageBytes(3);
