import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { CloseCodes } from '../../shared/src/index.ts';
import { caseBundle, liveObservation } from '../fixtures/case-bundle.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { eventually } from '../support/eventually.ts';
import { freePort, startServerProcess, type ServerProcess } from '../support/process.ts';

/**
 * Two server processes sharing PostgreSQL and Redis (REDIS_URL): a room lives
 * in one process, clients reach it through either, and HTTP actions taken on
 * the other process reach it.
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
  urls.push(await startProcess(), await startProcess());
}, 90_000);

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
});
