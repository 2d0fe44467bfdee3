import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { DEMO_ROOM_ID } from '../../server/src/demo/seed.ts';
import { eventually } from '../support/eventually.ts';

/**
 * `npm start` on a fresh machine: no DATABASE_URL, so the server starts its
 * embedded PostgreSQL, seeds the demo room and prints how to join it.
 */
const root = path.resolve(import.meta.dirname, '../..');
// A private (0700) folder: run as root, the server must let the 'postgres' user reach it itself.
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'consilium-embedded-'));
const children: ChildProcess[] = [];
afterAll(() => {
  children.forEach((c) => c.exitCode === null && c.kill('SIGKILL'));
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const env: Record<string, string> = { ...(process.env as Record<string, string>), PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, NODE_ENV: 'test', LOG_LEVEL: 'warn' };
  delete env['DATABASE_URL'];
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await eventually(() => /running at (http:\/\/\S+)/.exec(out)?.[1], 60_000, 50).catch(() => {
    throw new Error(`server did not start:\n${out}`);
  });
  return { child, url, output: () => out };
}

function stop(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGTERM');
  });
}

describe('npm start with nothing configured', () => {
  it('runs on embedded PostgreSQL, seeds the demo room, and keeps the scene across restarts', async () => {
    const first = await start();
    expect(first.output()).toContain(`Demo room: ${DEMO_ROOM_ID}  (seeded just now)`);
    expect(first.output()).toContain('DEVELOPMENT IDENTITY PROVIDER ENABLED');

    const adams = new ConsiliumClient(first.url);
    await adams.api.devLogin({ userId: 'dr.adams', name: 'Dr. Adams', scopes: ['patient/*.rs'] });
    const baker = new ConsiliumClient(first.url);
    await baker.api.devLogin({ userId: 'dr.baker', name: 'Dr. Baker' });
    const a = await adams.join(DEMO_ROOM_ID);
    const b = await baker.join(DEMO_ROOM_ID);
    await Promise.all([a.ready(), b.ready()]);
    expect(b.objects().map((o) => o.id).sort()).toEqual(['femur', 'heart', 'marker-1', 'skull']);
    // The demo room shows a fictional patient's case; the host sees it identified.
    await eventually(() => a.caseResources('Observation').length === 9); // the demo case: 4 heart rates, 2 blood pressures, 3 labs
    expect(JSON.stringify(a.caseResources('Patient'))).toContain('Peter Doe');
    // …with his CT attached: pydicom's five-slice series, read through the room.
    const images = await adams.api.call('GET /api/cases/:id/imaging', { params: { id: a.state.info.caseId }, query: { room: DEMO_ROOM_ID } });
    expect(images.refused).toEqual([]);
    expect(images.studies.map((s) => s.series.map((x) => [x.modality, x.instances]))).toEqual([[['CT', 5]]]);

    a.sendPose({ head: { p: [0, 1.7, 1.5], q: [0, 0, 0, 1] }, left: { p: [-0.2, 1.3, 1.2], q: [0, 0, 0, 1] }, right: { p: [0.2, 1.3, 1.2], q: [0, 0, 0, 1] } });
    await eventually(() => b.participants().some((p) => p.userId === 'dr.adams' && !!b.avatarPose(p)?.right && Math.abs(b.avatarPose(p)!.head.p[2] - 1.5) < 0.002));
    expect((await a.grab('heart')).ok).toBe(true);
    a.move('heart', { position: [0.3, 1.4, 0.2], rotation: [0, 0, 0, 1] });
    await eventually(() => b.state.objects.get('heart')?.px === Math.fround(0.3));

    // Two roles set up by the server itself: no warning that its role could rewrite the audit trail.
    expect(first.output()).not.toContain('can rewrite the audit trail');
    expect(statSync(path.join(dataDir, 'audit-checkpoint-key.pem')).mode & 0o777).toBe(0o600);
    expect(await stop(first.child)).toBe(0);

    // The shutdown checkpoint covers the whole trail; the verifier finds the key in the data folder.
    const env: Record<string, string> = { ...(process.env as Record<string, string>), DATA_DIR: dataDir, NODE_ENV: 'test' };
    delete env['DATABASE_URL'];
    const verify = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/audit-verify.ts'], { cwd: root, env, encoding: 'utf8' });
    expect(verify.stdout + verify.stderr).toMatch(/audit trail intact: (\d+) rows, .*consistent with signed checkpoint \d+ \(\1 rows/);
    expect(verify.status).toBe(0);

    const second = await start();
    expect(second.output()).toContain('(already seeded)');
    const again = new ConsiliumClient(second.url);
    await again.api.devLogin({ userId: 'dr.chen', name: 'Dr. Chen' });
    const c = await again.join(DEMO_ROOM_ID);
    await c.ready();
    await eventually(() => c.caseResources('Condition').length === 1);
    expect(c.state.objects.get('heart')).toMatchObject({ px: Math.fround(0.3), py: Math.fround(1.4), grabbedBy: '' });
    await c.leave();
    expect(await stop(second.child)).toBe(0);
  }, 120_000);
});
