import { spawn } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer } from '../support/server.ts';

const dbs: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(dbs.map((d) => d.drop()));
});

describe('graceful shutdown', () => {
  it('persists unreleased moves and the scene comes back after restart', async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    // A long flush interval: only the shutdown path can have saved the move.
    let server = await startTestServer({ flushIntervalMs: 600_000 }, {}, db);
    const room = await server.createRoom({ participants: [{ userId: 'sur', role: 'surgeon' }] });
    const session = await (await server.as('sur')).join(room.id);
    await session.add({ id: 'scope', kind: 'model', asset: 'builtin:heart', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } });
    await session.grab('scope');
    session.move('scope', { position: [0.42, 1.3, -0.1], rotation: [0, 0, 0, 1] });
    await eventually(() => session.state.objects.get('scope')?.px === Math.fround(0.42));
    let closedWith: number | undefined;
    session.onStatus((s, code) => s !== 'connected' && (closedWith ??= code ?? -1));

    await server.app.close();
    await eventually(() => closedWith !== undefined);
    const direct = new pg.Client({ connectionString: db.url });
    await direct.connect();
    const { rows } = await direct.query<{ px: number }>('SELECT px FROM scene_objects WHERE id = $1', ['scope']);
    await direct.end();
    expect(rows[0]!.px).toBeCloseTo(0.42, 6);

    server = await startTestServer({}, {}, db);
    const back = await (await server.as('sur')).join(room.id);
    await back.ready();
    expect(back.state.objects.get('scope')).toMatchObject({ px: Math.fround(0.42), grabbedBy: '' });
    await back.leave();
    await server.app.close();
  });

  it('the server process exits 0 on SIGTERM after persisting', async () => {
    const db = await createTestDatabase();
    dbs.push(db);
    const root = path.resolve(import.meta.dirname, '../..');
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
      cwd: root,
      env: { ...process.env, ...db.env, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'test', LOG_LEVEL: 'info', SEED_DEMO: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const url = await eventually(() => /running at (http:\/\/\S+)/.exec(out)?.[1], 30_000, 50);

    // Two SDK clients join the seeded demo room and move in it.
    const host = new ConsiliumClient(url);
    await host.api.devLogin({ userId: 'dr.adams', name: 'Dr. Adams' });
    const rooms = await host.api.listRooms();
    expect(rooms.map((r) => r.title)).toContain('Demo case conference');
    const a = await host.join(rooms[0]!.id);
    const guest = new ConsiliumClient(url);
    await guest.api.devLogin({ userId: 'dr.baker', name: 'Dr. Baker' });
    const b = await guest.join(rooms[0]!.id);
    await Promise.all([a.ready(), b.ready()]);
    expect(a.objects().length).toBeGreaterThanOrEqual(3);
    a.sendPose({ head: { p: [0.5, 1.6, 1], q: [0, 0, 0, 1] } });
    await eventually(() => b.participants().some((p) => p.userId === 'dr.adams' && Math.abs((b.avatarPose(p, { interpolate: false })?.head.p[0] ?? 0) - 0.5) < 0.002));

    const code = await new Promise<number | null>((resolve) => {
      child.once('exit', (c) => resolve(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
    expect(out).toContain('shutting down');
  });
});
