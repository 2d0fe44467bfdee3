/**
 * The servers the fan-out benchmark compares, each in its own process (CPU
 * and memory read from /proc), all started once and kept for the whole run:
 *  - Consilium: server/src/main.ts on a throwaway database, a real FHIR case
 *    (Synthea patient) imported over HTTP, rooms created through the admin
 *    API with every bench client invited as its own user (clinicians and
 *    observers alternating), joined with tickets — the full product path;
 *  - stock Colyseus with the int16 pose schema (stock-server.ts) at the
 *    default patch rate and at 33 ms;
 *  - the naive JSON relay (relay-server.ts).
 * `plan(rooms, size)` prepares rooms for one measurement and returns who
 * joins where; `release()` closes them afterwards.
 */
import { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { encodePoseMessage, POSE_FRAME, POSE_MESSAGE } from '../../shared/src/pose-wire.ts';
import { syntheaCarroll } from '../../tests/fixtures/real-fhir.ts';
import { benchDatabase, startProcess, stop } from '../support.ts';
import type { ClientSpec, ServerKind } from './clients.ts';
import { avatarPose } from './motion.ts';

type Seat = Pick<ClientSpec, 'kind' | 'url' | 'room' | 'user' | 'avatar'>;

export interface BenchServer {
  key: string;
  label: string;
  kind: ServerKind;
  pid: number;
  /** Delivery is batched on this interval (ms); undefined: relayed on arrival. */
  patchMs: number | undefined;
  plan(rooms: number, size: number): Promise<Seat[][]>;
  release(): Promise<void>;
  close(): Promise<void>;
}

/** Colyseus' default patch rate, read from @colyseus/core (1000 / 20 in 0.18). */
export const COLYSEUS_DEFAULT_PATCH_MS = 50;

let measurement = 0;
const seats = (kind: ServerKind, url: string, rooms: string[], size: number, user: (r: number, j: number) => string): Seat[][] =>
  rooms.map((room, r) => Array.from({ length: size }, (_, j) => ({ kind, url, room, user: user(r, j), avatar: j })));

/** `allocator`: stock with Consilium's allocator setting (MALLOC_ARENA_MAX=2), for the memory bench's fair comparison. */
export async function startStock(patchMs: number | undefined, allocator = false): Promise<BenchServer> {
  const { child, url } = await startProcess(['bench/fanout/stock-server.ts'], { ...(patchMs ? { PATCH_MS: String(patchMs) } : {}), ...(allocator ? CONSILIUM_ENV : {}) });
  const ms = patchMs ?? COLYSEUS_DEFAULT_PATCH_MS;
  return {
    key: `stock-${ms}${allocator ? '-arena2' : ''}`,
    label: `Stock Colyseus, int16 schema, ${ms} ms patch${patchMs ? '' : ' (default)'}${allocator ? ', MALLOC_ARENA_MAX=2' : ''}`,
    kind: 'stock',
    pid: child.pid!,
    patchMs: ms,
    async plan(rooms, size) {
      const m = ++measurement;
      return seats('stock', url, Array.from({ length: rooms }, (_, r) => `m${m}r${r}`), size, (r, j) => `m${m}r${r}c${j}`);
    },
    async release() {},
    close: () => stop(child),
  };
}

export async function startRelay(): Promise<BenchServer> {
  const { child, url } = await startProcess(['bench/fanout/relay-server.ts'], {});
  return {
    key: 'relay',
    label: 'Naive JSON relay (ws, rebroadcast on arrival)',
    kind: 'relay',
    pid: child.pid!,
    patchMs: undefined,
    async plan(rooms, size) {
      const m = ++measurement;
      return seats('relay', url, Array.from({ length: rooms }, (_, r) => `m${m}r${r}`), size, (r, j) => `m${m}r${r}c${j}`);
    },
    async release() {},
    close: () => stop(child),
  };
}

/** The floor for windowed delivery at `windowMs` (floor-server.ts): one framed write per recipient per window, nothing else. */
export async function startFloor(windowMs: number): Promise<BenchServer> {
  const { child, url } = await startProcess(['bench/fanout/floor-server.ts'], { WINDOW_MS: String(windowMs) });
  return {
    key: `floor-${windowMs}`,
    label: `Floor: bare ws, ${windowMs} ms window, one write per recipient`,
    kind: 'floor',
    pid: child.pid!,
    patchMs: windowMs,
    async plan(rooms, size) {
      const m = ++measurement;
      return seats('floor', url, Array.from({ length: rooms }, (_, r) => `m${m}r${r}`), size, (r, j) => `m${m}r${r}c${j}`);
    },
    async release() {},
    close: () => stop(child),
  };
}

/** Node flags Consilium runs with as deployed (package.json `start`, Dockerfile CMD); BENCH_CONSILIUM_NODE_ARGS overrides them for experiments. */
/** How Consilium is shipped (package.json's start script, the Dockerfile): its Node flags and allocator setting (docs/BENCHMARKS.md, memory). */
export const CONSILIUM_NODE_FLAGS = process.env.BENCH_CONSILIUM_NODE_ARGS !== undefined ? process.env.BENCH_CONSILIUM_NODE_ARGS.split(' ').filter(Boolean) : ['--max-semi-space-size=4'];
export const CONSILIUM_ENV: Record<string, string> = { MALLOC_ARENA_MAX: '2' };

/** Variants for experiments (bench/fanout/curve.ts): another pose window, other Node flags or environment. */
export interface ConsiliumVariant {
  key: string;
  label: string;
  windowMs?: number;
  nodeFlags?: string[];
  /** The environment's allocator settings instead of CONSILIUM_ENV. */
  env?: Record<string, string>;
}

/** Named variants the memory and curve benches can add beside the shipped configuration (BENCH_MEM_SERVERS, BENCH_CURVE_VARIANTS). */
export const CONSILIUM_VARIANTS: Record<string, ConsiliumVariant> = {
  // What was shipped before: young generation up to 2 × 8 MB, glibc's default arenas (one per thread, up to 8 per core).
  'consilium-before': { key: 'consilium-before', label: 'Consilium, before (--max-semi-space-size=8, default malloc arenas)', nodeFlags: ['--max-semi-space-size=8'], env: {} },
  'consilium-semi8': { key: 'consilium-semi8', label: 'Consilium, --max-semi-space-size=8 (MALLOC_ARENA_MAX=2)', nodeFlags: ['--max-semi-space-size=8'] },
  'consilium-arenas': { key: 'consilium-arenas', label: 'Consilium, default malloc arenas (--max-semi-space-size=4)', env: {} },
  // Shipped until 2026-12-07 evening: the same memory within the runs' spread, ≈ 1.1 points of a core more (docs/BENCHMARKS.md).
  'consilium-semi2': { key: 'consilium-semi2', label: 'Consilium, --max-semi-space-size=2', nodeFlags: ['--max-semi-space-size=2'] },
  'consilium-size': { key: 'consilium-size', label: 'Consilium, --optimize-for-size', nodeFlags: ['--max-semi-space-size=4', '--optimize-for-size'] },
  'consilium-saver': { key: 'consilium-saver', label: 'Consilium, --memory-saver-mode', nodeFlags: ['--max-semi-space-size=4', '--memory-saver-mode'] },
  'consilium-grow20': { key: 'consilium-grow20', label: 'Consilium, --heap-growing-percent=20', nodeFlags: ['--max-semi-space-size=4', '--heap-growing-percent=20'] },
  'consilium-semi1': { key: 'consilium-semi1', label: 'Consilium, --max-semi-space-size=1', nodeFlags: ['--max-semi-space-size=1'] },
  'consilium-mmap': { key: 'consilium-mmap', label: 'Consilium, MALLOC_MMAP_THRESHOLD_=98304', env: { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '98304' } },
};

/** Grand rounds (issue 22): rooms of kind grand-rounds, the first `active` seats presenting (a host, then clinicians), the rest observers, plus `extra` seats the caller joins itself. */
export interface GrandRoundsPlan {
  active: number;
  extra: { userId: string; role: 'clinician' | 'observer' }[];
}

export async function startConsilium(variant?: ConsiliumVariant, grandRounds?: GrandRoundsPlan): Promise<BenchServer> {
  const db = await benchDatabase();
  const { child, url } = await startProcess([...(variant?.nodeFlags ?? CONSILIUM_NODE_FLAGS), 'server/src/main.ts'], {
    ...(variant?.windowMs ? { POSE_WINDOW_MS: String(variant.windowMs) } : {}),
    DATABASE_URL: db.url,
    PORT: '0',
    HOST: '127.0.0.1',
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    SEED_DEMO: 'false',
    HTTP_RATE_LIMIT_PER_MINUTE: '1000000',
    JOIN_RATE_LIMIT_PER_MINUTE: '1000000',
    ...(variant?.env ?? CONSILIUM_ENV),
  });
  const admin = new ConsiliumClient(url);
  await admin.api.devLogin({ userId: 'bench.admin', name: 'Bench', admin: true });
  const { caseId } = await admin.api.importCase(syntheaCarroll());
  let open: string[] = [];
  return {
    key: variant?.key ?? (grandRounds ? 'consilium-gr' : 'consilium'),
    label: variant?.label ?? (grandRounds ? 'Consilium grand-rounds room (pose fast path, full product path)' : 'Consilium (clinic room, pose fast path, full product path)'),
    kind: 'consilium',
    pid: child.pid!,
    patchMs: undefined,
    async plan(rooms, size) {
      const m = ++measurement;
      // Users are reused across measurements (one seat each at a time): client j of room r is user b<r>.<j>.
      const ids: string[] = [];
      for (let r = 0; r < rooms; r++) {
        const role = (j: number) => (grandRounds ? (j === 0 ? 'host' : j < grandRounds.active ? 'clinician' : 'observer') : j % 2 === 0 ? 'clinician' : 'observer') as 'host' | 'clinician' | 'observer';
        const participants = [...Array.from({ length: size }, (_, j) => ({ userId: `b${r}.${j}`, role: role(j) })), ...(grandRounds?.extra ?? [])];
        // A room is created with at most 200 invitations; a lecture hall's audience is invited after, 20 at a time.
        const id = (await admin.api.createRoom({ title: `bench m${m} r${r}`, kind: grandRounds ? 'grand-rounds' : 'training', caseId, participants: participants.slice(0, 200) })).id;
        for (let i = 200; i < participants.length; i += 20) {
          await Promise.all(participants.slice(i, i + 20).map(({ userId, role }) => admin.api.setParticipant(id, userId, { role })));
        }
        ids.push(id);
      }
      open = ids;
      return seats('consilium', url, ids, size, (r, j) => `b${r}.${j}`);
    },
    async release() {
      await Promise.all(open.map((id) => admin.api.closeRoom(id).catch(() => undefined)));
      open = [];
    },
    async close() {
      await stop(child);
      await db.drop();
    },
  };
}

/**
 * Does this Consilium server have the pose fast path? Two clients join a
 * room; one sends pose messages; the other must receive a POSE_FRAME within
 * 2 s. Resolves with the reason when it does not.
 */
export async function consiliumFastPathMissing(server: BenchServer): Promise<string | undefined> {
  const [seatsOfRoom] = await server.plan(1, 2);
  const [a, b] = seatsOfRoom!;
  const join = async (s: Seat) => {
    const c = new ConsiliumClient(s.url);
    await c.api.devLogin({ userId: s.user, name: s.user });
    const session = await c.join(s.room);
    await session.ready();
    return session;
  };
  try {
    const sender = await join(a!);
    const receiver = await join(b!);
    const got = new Promise<boolean>((resolve) => {
      receiver.room.onMessage(POSE_FRAME, () => resolve(true));
      sender.room.onLeave(() => resolve(false));
      setTimeout(() => resolve(false), 2000);
    });
    const timer = setInterval(() => sender.room.sendBytes(POSE_MESSAGE, encodePoseMessage(avatarPose(0, Date.now() / 33))), 33);
    const ok = await got;
    clearInterval(timer);
    await Promise.all([sender.leave(), receiver.leave()]).catch(() => undefined);
    return ok ? undefined : 'no POSE_FRAME reached a second client within 2 s (the server side of the pose fast path is not in this build)';
  } catch (err) {
    return `fast-path check failed: ${(err as Error).message}`;
  } finally {
    await server.release();
  }
}
