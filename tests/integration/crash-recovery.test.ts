import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { sleep } from '../support/eventually.ts';
import { freePort, startServerProcess, type ServerProcess } from '../support/process.ts';
import { joinWhenPossible, signIn } from '../support/rejoin.ts';

/**
 * One server process (no Redis) killed with SIGKILL mid-room and started again
 * 0.8 s later, as a supervisor would: the room must be joinable at once, not
 * when the dead boot's live-instance lease runs out (30 s), and every write the
 * room acknowledged must still be there.
 */
let db: TestDatabase;
let proc: ServerProcess | null = null;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterAll(async () => {
  await proc?.stop();
  await db?.drop();
});

const at = (x: number) => ({ position: [x, 1, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] });

describe('crash recovery, one process', () => {
  it('a restarted process takes back its own rooms at once: joinable within 5 s, acknowledged writes kept', async () => {
    const port = await freePort();
    proc = await startServerProcess(port, db.env);
    const admin = await signIn(proc.url, 'root', true);
    const room = await admin.api.createRoom({ title: 'Crash', kind: 'case-conference', participants: [{ userId: 'cr-1', role: 'host' }, { userId: 'cr-2', role: 'clinician' }] });
    const one = await (await signIn(proc.url, 'cr-1')).join(room.id);
    await one.ready();
    for (let i = 0; i < 5; i++) expect((await one.add({ id: `ack-${i}`, kind: 'model', asset: 'builtin:heart', transform: at(i) })).ok).toBe(true);

    await proc.kill();
    const crashedAt = Date.now();
    await sleep(800);
    proc = await startServerProcess(port, db.env);
    const listeningAt = Date.now();
    const { session, ms, attempts, errors } = await joinWhenPossible(proc.url, 'cr-2', room.id, listeningAt, 15_000);
    console.info(`one process: restarted process listening ${listeningAt - crashedAt} ms after the kill; joined ${ms} ms later (${attempts} attempt(s)); ${Date.now() - crashedAt} ms from the kill`);
    expect(errors).toEqual([]);
    expect(ms).toBeLessThan(5000);
    expect([...session.state.objects.keys()].filter((id) => id.startsWith('ack-')).sort()).toEqual(['ack-0', 'ack-1', 'ack-2', 'ack-3', 'ack-4']);
    expect(proc.output()).not.toMatch(/starting in another process/);
    await session.leave();
  }, 60_000);
});
