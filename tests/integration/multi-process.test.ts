import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { CloseCodes } from '../../shared/src/index.ts';
import { caseBundle, liveObservation } from '../fixtures/case-bundle.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { eventually } from '../support/eventually.ts';
import { joinWhenPossible } from '../support/rejoin.ts';
import { freePort, startServerProcess, type ServerProcess } from '../support/process.ts';

/**
 * Three server processes sharing PostgreSQL and Redis (REDIS_URL), as behind a load balancer
 * (docker-compose.scale.yml, deploy/k8s): a room lives in one process, clients reach it through
 * any, and HTTP actions taken on another process reach it. Last, the process hosting a live room
 * is killed (SIGKILL): its people come back through the other two, with the room as it was.
 */
const redisDb = 1 + Math.floor(Math.random() * 15); // a Redis database of its own for this run
const REDIS_URL = `${TEST_REDIS_URL}/${redisDb}`;
let db: TestDatabase;
const procs: ServerProcess[] = [];
const urls: string[] = [];

async function startProcess(): Promise<string> {
  const proc = await startServerProcess(await freePort(), { ...db.env, REDIS_URL });
  procs.push(proc);
  return proc.url;
}

beforeAll(async () => {
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  await redis.quit();
  db = await createTestDatabase();
  urls.push(...(await Promise.all([startProcess(), startProcess(), startProcess()])));
}, 120_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  await redis.quit();
  await db?.drop();
});

async function as(url: string, userId: string, admin = false): Promise<ConsiliumClient> {
  const c = new ConsiliumClient(url);
  await c.api.devLogin({ userId, name: userId, admin });
  return c;
}

describe('several processes sharing Redis', () => {
  it('one room across processes: clients joining through either meet; HTTP on the other process reaches it', async () => {
    const [a, b] = urls as [string, string];
    const adminB = await as(b, 'root', true);
    const { caseId, patientId } = await adminB.api.importCase(caseBundle({ name: 'Mpname', mrn: 'MP-1', note: 'mp' }));
    const room = await adminB.api.createRoom({ title: 'Shared', kind: 'case-conference', caseId, participants: [{ userId: 'mp-1', role: 'host' }, { userId: 'mp-2', role: 'clinician' }] });

    const one = await (await as(a, 'mp-1')).join(room.id); // created in process A
    await one.ready();
    const twoClient = await as(b, 'mp-2');
    const ticket = await twoClient.api.getTicket(room.id);
    expect(ticket.endpoint).toBe(b);
    const two = await twoClient.joinWithTicket(ticket); // matchmade by B, connected to A
    await two.ready();
    await eventually(() => one.participants().length === 2 && two.participants().length === 2);
    expect(two.room.roomId).toBe(one.room.roomId);

    // Process B sees the room as live and reaches it: live vitals, a snapshot, a removal.
    expect((await adminB.api.getRoom(room.id)).live).toBe(true);
    const delivered = await adminB.api.ingestObservation(caseId, liveObservation(patientId, 'via process B', 131));
    expect(delivered.deliveredToRooms).toBe(1);
    await eventually(() => two.caseResources('Observation').some((o) => JSON.stringify(o).includes('131')));
    expect((await adminB.api.liveRoom(room.id)).participants.map((p) => p.userId).sort()).toEqual(['mp-1', 'mp-2']);

    let closed: number | undefined;
    two.onStatus((s, code) => s === 'closed' && (closed = code));
    await adminB.api.removeParticipant(room.id, 'mp-2');
    await eventually(() => closed === CloseCodes.REMOVED);
    await eventually(() => one.participants().length === 1);
    await one.leave();
  });

  it('joins matchmade by one process and seated in the other end their flight there: join, leave, join again six times through B', async () => {
    const [a, b] = urls as [string, string];
    const adminA = await as(a, 'root', true);
    const room = await adminA.api.createRoom({ title: 'Rejoin', kind: 'case-conference', participants: [{ userId: 'rj-host', role: 'host' }, { userId: 'rj-1', role: 'clinician' }] });
    const host = await (await as(a, 'rj-host')).join(room.id); // lives in process A
    await host.ready();
    const viaB = await as(b, 'rj-1');
    for (let i = 0; i < 6; i++) {
      const s = await viaB.join(room.id); // reserved by B, seated in A
      await eventually(() => host.participants().length === 2);
      await s.leave();
      await eventually(() => host.participants().length === 1);
    }
    await host.leave();
  });

  it('simultaneous first joins through both processes meet in one instance (the database lease turns the second copy away)', async () => {
    const [a, b] = urls as [string, string];
    const adminA = await as(a, 'root', true);
    const users = ['race-1', 'race-2', 'race-3', 'race-4', 'race-5', 'race-6'];
    const room = await adminA.api.createRoom({ title: 'Race', kind: 'case-conference', participants: users.map((userId) => ({ userId, role: 'clinician' as const })) });
    const sessions = await Promise.all(users.map(async (u, i) => (await as(i % 2 ? b : a, u)).join(room.id)));
    await Promise.all(sessions.map((s) => s.ready()));
    await eventually(() => sessions.every((s) => s.participants().length === users.length));
    expect(new Set(sessions.map((s) => s.room.roomId))).toEqual(new Set([room.id]));
    await Promise.all(sessions.map((s) => s.leave()));
  });

  it('three processes, the one hosting a live room killed mid-room: everyone comes back through the other two, the room as it was', async () => {
    const admin = await as(urls[0]!, 'root', true);
    const users = ['k3-1', 'k3-2', 'k3-3'];
    const room = await admin.api.createRoom({ title: 'Killed mid-room', kind: 'case-conference', participants: users.map((userId, i) => ({ userId, role: i === 0 ? ('host' as const) : ('clinician' as const) })) });
    // One person through each process; the room runs in one of them.
    const sessions = await Promise.all(users.map(async (u, i) => (await as(urls[i]!, u)).join(room.id)));
    await Promise.all(sessions.map((s) => s.ready()));
    await eventually(() => sessions.every((s) => s.participants().length === 3));
    const pose = { position: [1, 1, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };
    for (const id of ['k3-a', 'k3-b']) expect((await sessions[0]!.add({ id, kind: 'model', asset: 'builtin:heart', transform: pose })).ok).toBe(true);

    const redis = new Redis(REDIS_URL);
    const listing = JSON.parse((await redis.hget('roomcaches', room.id))!) as { publicAddress: string };
    await redis.quit();
    const victim = procs.find((p) => p.url.endsWith(listing.publicAddress))!;
    const survivors = procs.filter((p) => p !== victim);
    expect(survivors).toHaveLength(2);

    await victim.kill();
    const killedAt = Date.now();
    // Everyone's connection was to the victim; each comes back through a survivor (two through one, one through the other).
    const back = await Promise.all(users.map((u, i) => joinWhenPossible(survivors[i % 2]!.url, u, room.id, killedAt, 15_000)));
    for (const b of back) {
      expect(b.ms).toBeLessThan(5000);
      expect([...b.session.state.objects.keys()].filter((id) => id.startsWith('k3-')).sort()).toEqual(['k3-a', 'k3-b']);
    }
    await eventually(() => back.every((b) => b.session.participants().length === 3), 10_000);
    // The room works: a change by one reaches the others, and both survivors' APIs see one live room.
    expect((await back[1]!.session.add({ id: 'k3-c', kind: 'model', asset: 'builtin:heart', transform: pose })).ok).toBe(true);
    await eventually(() => back.every((b) => b.session.state.objects.has('k3-c')));
    for (const s of survivors) {
      const live = await (await as(s.url, 'root', true)).api.liveRoom(room.id);
      expect(live.live).toBe(true);
      expect(live.participants.map((p) => p.userId).sort()).toEqual(users);
    }
    console.info(`three processes, host killed: back in the room through the survivors ${back.map((b) => b.ms).join(' / ')} ms after the kill`);
    await Promise.all(back.map((b) => b.session.leave()));
  }, 90_000);
});
