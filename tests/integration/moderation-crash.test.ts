import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { eventually } from '../support/eventually.ts';
import { freePort, startServerProcess, type ServerProcess } from '../support/process.ts';

/**
 * Issue 17 (8): a console kick while the room's listing points at a process
 * that died. Two server processes share PostgreSQL and Redis; the room is live
 * in A, A is killed (SIGKILL: no shutdown, its listing stays in Redis), and a
 * host moderates through B. The kick must be stored and answered, not lost
 * behind a 500 from the failed call to the dead room.
 */
const redisDb = 1 + Math.floor(Math.random() * 15);
const REDIS_URL = `${TEST_REDIS_URL}/${redisDb}`;
let db: TestDatabase;
const procs: ServerProcess[] = [];

async function startProcess(): Promise<ServerProcess> {
  const proc = await startServerProcess(await freePort(), { ...db.env, REDIS_URL });
  procs.push(proc);
  return proc;
}

async function as(url: string, userId: string, admin = false): Promise<ConsiliumClient> {
  const c = new ConsiliumClient(url);
  await c.api.devLogin({ userId, name: userId, admin });
  return c;
}

let a: ServerProcess;
let b: ServerProcess;

beforeAll(async () => {
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  await redis.quit();
  db = await createTestDatabase();
  a = await startProcess(); // one after the other: each migrates at start
  b = await startProcess();
}, 90_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  await redis.quit();
  await db?.drop();
});

describe('console moderation when the live room cannot be reached', () => {
  it('a kick is stored and answered; the kicked user gets no ticket; mute answers UNAVAILABLE, never 500', async () => {
    const room = await (await as(b.url, 'root', true)).api.createRoom({ title: 'Crash', kind: 'case-conference', participants: [{ userId: 'cr-h', role: 'host' }, { userId: 'cr-c', role: 'clinician' }, { userId: 'cr-o', role: 'observer' }] });
    // The room goes live in one of them (Colyseus picks the process); the socket's address says which.
    const host = await as(a.url, 'cr-h');
    const session = await host.join(room.id);
    await session.ready();
    const port = new URL(session.room.connection.url!).port;
    const [dead, other] = new URL(a.url).port === port ? [a, b] : [b, a];
    expect(new URL(dead.url).port).toBe(port);
    const adminB = await as(other.url, 'root', true);
    await eventually(async () => (await adminB.api.listRooms()).find((r) => r.id === room.id)?.live === true, 10_000);

    session.room.reconnection.enabled = false; // (it would only knock on the dead process)
    await dead.kill();

    // Through the other process, whose listing still names the dead room.
    const hostB = await as(other.url, 'cr-h');
    const kick = await fetch(`${other.url}/api/rooms/${room.id}/moderation`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hostB.api.identityToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'kick', userId: 'cr-c' }),
    });
    expect(kick.status).toBe(200);
    await expect((await as(other.url, 'cr-c')).api.getTicket(room.id)).rejects.toMatchObject({ code: 'KICKED' });
    const audit = await adminB.api.audit({ room: room.id, limit: 100 });
    expect(audit.events.filter((e) => e.action === 'participant.kick').map((e) => e['subject'])).toEqual(['cr-c']);

    // Mute needs the live room: a stable refusal, not a 500.
    const mute = await fetch(`${other.url}/api/rooms/${room.id}/moderation`, {
      method: 'POST',
      headers: { authorization: `Bearer ${hostB.api.identityToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action: 'mute', userId: 'cr-o' }),
    });
    // (UNAVAILABLE while the listing still names the dead room; PARTICIPANT_NOT_FOUND once it is known not to be live.)
    const body = (await mute.json()) as { error: { code: string } };
    expect({ status: mute.status, code: body.error.code }).toSatisfy((r: { status: number; code: string }) => (r.status === 503 && r.code === 'UNAVAILABLE') || (r.status === 404 && r.code === 'PARTICIPANT_NOT_FOUND'));
  }, 60_000);
});
