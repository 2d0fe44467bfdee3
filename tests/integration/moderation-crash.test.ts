import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { eventually } from '../support/eventually.ts';

/**
 * Issue 17 (8): a console kick while the room's listing points at a process
 * that died. Two server processes share PostgreSQL and Redis; the room is live
 * in A, A is killed (SIGKILL: no shutdown, its listing stays in Redis), and a
 * host moderates through B. The kick must be stored and answered, not lost
 * behind a 500 from the failed call to the dead room.
 */
const root = path.resolve(import.meta.dirname, '../..');
const redisDb = 1 + Math.floor(Math.random() * 15);
const REDIS_URL = `${TEST_REDIS_URL}/${redisDb}`;
let db: TestDatabase;
const procs: ChildProcess[] = [];

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startProcess(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...db.env, REDIS_URL, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: url, NODE_ENV: 'test', LOG_LEVEL: 'warn', SEED_DEMO: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  procs.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await eventually(() => /running at/.test(out), 30_000, 50).catch(() => {
    throw new Error(`process did not start:\n${out}`);
  });
  return { url, child };
}

async function as(url: string, userId: string, admin = false): Promise<ConsiliumClient> {
  const c = new ConsiliumClient(url);
  await c.api.devLogin({ userId, name: userId, admin });
  return c;
}

let a: { url: string; child: ChildProcess };
let b: { url: string; child: ChildProcess };

beforeAll(async () => {
  const redis = new Redis(REDIS_URL);
  await redis.flushdb();
  await redis.quit();
  db = await createTestDatabase();
  a = await startProcess(); // one after the other: each migrates at start
  b = await startProcess();
}, 90_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r(null) : (p.once('exit', r), p.kill('SIGTERM'))))));
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
    dead.child.kill('SIGKILL');
    await new Promise((r) => dead.child.once('exit', r));

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
