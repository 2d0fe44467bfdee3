import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoomsRepo } from '../../server/src/db/rooms.repo.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The live-instance lease against real PostgreSQL: who may take it while it has
 * not expired. A live holder keeps it; an earlier boot of the same process key
 * (a restart) and a boot the caller found dead lose it at once; the takeover of
 * a dead boot is a compare-and-swap, so two processes cannot both win it.
 */
let server: TestServer;
let repo: RoomsRepo;
const TTL = 30;

beforeAll(async () => {
  server = await startTestServer();
  repo = new RoomsRepo(server.app.pool);
});

afterAll(async () => {
  await server?.stop();
});

const holder = (instanceId: string, processKey: string, boot: string) => ({ instanceId, processKey, boot });

describe('live-instance lease', () => {
  it('a live holder keeps it; the holder is named to whoever is refused', async () => {
    const { id } = await server.createRoom({ participants: [] });
    expect(await repo.acquireLease(id, holder('i-a', 'http://a', 'boot-a'), TTL)).toEqual({ ok: true });
    expect(await repo.acquireLease(id, holder('i-b', 'http://b', 'boot-b'), TTL)).toEqual({ ok: false, holderBoot: 'boot-a' });
    // Naming some other boot dead does not free it.
    expect(await repo.acquireLease(id, holder('i-b', 'http://b', 'boot-b'), TTL, 'boot-x')).toEqual({ ok: false, holderBoot: 'boot-a' });
    expect(await repo.renewLease(id, 'i-a', TTL)).toBe(true);
  });

  it('a restart (same process key, new boot) takes its lease back at once; the old instance then fails to renew', async () => {
    const { id } = await server.createRoom({ participants: [] });
    expect((await repo.acquireLease(id, holder('i-1', 'http://a', 'boot-1'), TTL)).ok).toBe(true);
    expect((await repo.acquireLease(id, holder('i-2', 'http://a', 'boot-2'), TTL)).ok).toBe(true);
    expect(await repo.renewLease(id, 'i-1', TTL)).toBe(false);
    expect(await repo.renewLease(id, 'i-2', TTL)).toBe(true);
  });

  it('a dead boot is taken over by exactly one of two racing processes', async () => {
    const { id } = await server.createRoom({ participants: [] });
    expect((await repo.acquireLease(id, holder('i-dead', 'http://a', 'boot-dead'), TTL)).ok).toBe(true);
    const [b, c] = await Promise.all([
      repo.acquireLease(id, holder('i-b', 'http://b', 'boot-b'), TTL, 'boot-dead'),
      repo.acquireLease(id, holder('i-c', 'http://c', 'boot-c'), TTL, 'boot-dead'),
    ]);
    expect([b.ok, c.ok].sort()).toEqual([false, true]);
    const loser = b.ok ? c : b;
    expect(loser).toEqual({ ok: false, holderBoot: b.ok ? 'boot-b' : 'boot-c' });
  });

  it('an expired lease is free; a released one too', async () => {
    const { id } = await server.createRoom({ participants: [] });
    expect((await repo.acquireLease(id, holder('i-a', 'http://a', 'boot-a'), 0)).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    expect((await repo.acquireLease(id, holder('i-b', 'http://b', 'boot-b'), TTL)).ok).toBe(true);
    await repo.releaseLease(id, 'i-b');
    expect((await repo.acquireLease(id, holder('i-c', 'http://c', 'boot-c'), TTL)).ok).toBe(true);
  });
});
