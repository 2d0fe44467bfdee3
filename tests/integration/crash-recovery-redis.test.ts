import { createHash, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { AccessToken } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { TEST_REDIS_URL } from '../support/env.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { LiveKitStandIn } from '../support/livekit-standin.ts';
import { freePort, startServerProcess, type ServerProcess } from '../support/process.ts';
import { joinWhenPossible, signIn } from '../support/rejoin.ts';

/**
 * Two server processes on Redis and one PostgreSQL. The process hosting a live
 * room is killed (SIGKILL): the other must serve the room within 5 s (not when the
 * dead process's lease expires), the console must keep working meanwhile (its
 * stale Colyseus listing is not trusted), and the killed process, started again,
 * must reach the room too. Also: a LiveKit webhook handled by one process is a
 * replay for every other.
 */
const redisDb = 1 + Math.floor(Math.random() * 15);
const REDIS_URL = `${TEST_REDIS_URL}/${redisDb}`;
const KEY = 'crash-key';
const SECRET = 'test-secret-that-is-long-enough-for-hs256';
let db: TestDatabase;
let redis: Redis;
const lk = new LiveKitStandIn(KEY, SECRET);
const procs: ServerProcess[] = [];
let env: Record<string, string>;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  await redis.flushdb();
  db = await createTestDatabase();
  await lk.start();
  env = { ...db.env, REDIS_URL, LIVEKIT_URL: 'ws://127.0.0.1:7880', LIVEKIT_API_URL: lk.url, LIVEKIT_API_KEY: KEY, LIVEKIT_API_SECRET: SECRET };
  procs.push(await startServerProcess(await freePort(), env), await startServerProcess(await freePort(), env));
}, 90_000);

afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  await lk.stop();
  await redis?.flushdb();
  await redis?.quit();
  await db?.drop();
});

/** A webhook exactly as LiveKit signs it: a JWT with the API secret carrying the body's sha256. */
async function signedWebhook(): Promise<{ body: string; authorization: string }> {
  const body = JSON.stringify({ event: 'room_started', id: `EV_${randomUUID()}`, createdAt: String(Math.floor(Date.now() / 1000)), room: { name: `consilium-${randomUUID()}` } });
  const at = new AccessToken(KEY, SECRET);
  at.sha256 = createHash('sha256').update(body).digest('base64');
  return { body, authorization: await at.toJwt() };
}

const post = (url: string, hook: { body: string; authorization: string }) =>
  fetch(`${url}/api/livekit/webhook`, { method: 'POST', headers: { 'content-type': 'application/webhook+json', authorization: hook.authorization }, body: hook.body });

const at = (x: number) => ({ position: [x, 1, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] });

describe('crash recovery, two processes on Redis', () => {
  it('a signed webhook accepted by process A is refused when replayed to process B (and to A)', async () => {
    const [a, b] = procs as [ServerProcess, ServerProcess];
    const hook = await signedWebhook();
    expect((await post(a.url, hook)).status).toBe(200);
    const replayB = await post(b.url, hook);
    expect(replayB.status).toBe(401);
    expect(((await replayB.json()) as { error: { code: string } }).error.code).toBe('WEBHOOK_INVALID');
    expect((await post(a.url, hook)).status).toBe(401);
    // A fresh event is still accepted by B: the refusal is the replay's, not B's.
    expect((await post(b.url, await signedWebhook())).status).toBe(200);
  });

  it('the process hosting a room is killed: the other serves it within 5 s, the console keeps working, and the restarted process reaches it', async () => {
    const admin = await signIn(procs[0]!.url, 'root', true);
    const room = await admin.api.createRoom({
      title: 'Crash across processes',
      kind: 'case-conference',
      participants: ['cx-1', 'cx-2', 'cx-3', 'cx-4'].map((userId, i) => ({ userId, role: i === 0 ? ('host' as const) : ('clinician' as const) })),
    });
    const one = await (await signIn(procs[0]!.url, 'cx-1')).join(room.id);
    await one.ready();
    for (let i = 0; i < 3; i++) expect((await one.add({ id: `ack-${i}`, kind: 'model', asset: 'builtin:heart', transform: at(i) })).ok).toBe(true);

    // Which process hosts it (Colyseus may create it on either), by its listing in Redis.
    const listing = JSON.parse((await redis.hget('roomcaches', room.id))!) as { processId: string; publicAddress: string };
    const victim = procs.find((p) => p.url.endsWith(listing.publicAddress))!;
    const survivor = procs.find((p) => p !== victim)!;
    // The Colyseus 0.18 internals live-rooms.ts relies on: a live process subscribes p:<processId> and is counted in `roomcount`.
    expect(await redis.pubsub('CHANNELS', `p:${listing.processId}`)).toEqual([`p:${listing.processId}`]);
    expect(await redis.hexists('roomcount', listing.processId)).toBe(1);

    await victim.kill();
    const crashedAt = Date.now();
    expect(await redis.pubsub('CHANNELS', `p:${listing.processId}`)).toEqual([]);
    expect(await redis.hexists('roomcaches', room.id)).toBe(1); // Colyseus left the dead listing behind

    // The console, right after the crash, through the survivor: not live (not a 500), and a kick that sticks.
    const console_ = await signIn(survivor.url, 'root', true);
    const live = await console_.api.liveRoom(room.id);
    expect(live.live).toBe(false);
    expect(await redis.hexists('roomcaches', room.id)).toBe(0); // the dead listing is gone, not trusted
    expect(await redis.hexists('roomcount', listing.processId)).toBe(0);
    await console_.api.moderate(room.id, 'kick', 'cx-4');
    const consoleMs = Date.now() - crashedAt;

    const viaSurvivor = await joinWhenPossible(survivor.url, 'cx-2', room.id, crashedAt, 15_000);
    expect(viaSurvivor.errors).toEqual([]);
    expect(viaSurvivor.ms).toBeLessThan(5000);
    expect([...viaSurvivor.session.state.objects.keys()].filter((id) => id.startsWith('ack-')).sort()).toEqual(['ack-0', 'ack-1', 'ack-2']);
    expect((await console_.api.liveRoom(room.id)).participants.map((p) => p.userId)).toEqual(['cx-2']);

    // The killed process comes back on its address (0.8 s later, as a supervisor would) and reaches the room.
    await sleep(Math.max(0, 800 - (Date.now() - crashedAt)));
    const restarted = await startServerProcess(victim.port, env);
    procs[procs.indexOf(victim)] = restarted;
    const listeningAt = Date.now();
    const viaRestarted = await joinWhenPossible(restarted.url, 'cx-3', room.id, listeningAt, 15_000);
    expect(viaRestarted.errors).toEqual([]);
    expect(viaRestarted.ms).toBeLessThan(5000);
    await eventually(() => viaSurvivor.session.participants().length === 2 && viaRestarted.session.participants().length === 2);
    console.info(
      `two processes on Redis: console answered ${consoleMs} ms after the kill; joined through the survivor ${viaSurvivor.ms} ms after the kill; ` +
        `restarted process listening ${listeningAt - crashedAt} ms after the kill, joined through it ${viaRestarted.ms} ms later`,
    );
    await Promise.all([viaSurvivor.session.leave(), viaRestarted.session.leave()]);
  }, 90_000);

  it('killed and restarted at once, the process takes back the room it hosted (joined through it first)', async () => {
    const admin = await signIn(procs[0]!.url, 'root', true);
    const room = await admin.api.createRoom({ title: 'Crash and restart', kind: 'case-conference', participants: [{ userId: 'cy-1', role: 'host' }, { userId: 'cy-2', role: 'clinician' }] });
    const one = await (await signIn(procs[0]!.url, 'cy-1')).join(room.id);
    await one.ready();
    const listing = JSON.parse((await redis.hget('roomcaches', room.id))!) as { publicAddress: string };
    const victim = procs.find((p) => p.url.endsWith(listing.publicAddress))!;
    await victim.kill();
    const crashedAt = Date.now();
    await sleep(800);
    const restarted = await startServerProcess(victim.port, env);
    procs[procs.indexOf(victim)] = restarted;
    const listeningAt = Date.now();
    const rejoin = await joinWhenPossible(restarted.url, 'cy-2', room.id, listeningAt, 15_000);
    console.info(`two processes on Redis, host restarted: listening ${listeningAt - crashedAt} ms after the kill, joined ${rejoin.ms} ms later`);
    expect(rejoin.errors).toEqual([]);
    expect(rejoin.ms).toBeLessThan(5000);
    await rejoin.session.leave();
  }, 90_000);
});
