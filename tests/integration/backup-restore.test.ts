import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { runCli } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * docs/OPERATIONS.md's procedure, end to end: a used deployment is backed up with `consilium backup`
 * (database dump + the checkpoint key kept apart), restored into a new, empty database, and the restored
 * deployment serves the same rooms and cases with an intact audit trail that verifies against its
 * signed checkpoints — with the CLI, with `npm run audit:verify`, and through the running server.
 */
const root = path.resolve(import.meta.dirname, '../..');
let source: TestServer;
let target: TestDatabase;
let tmp: string;
let roomId: string;
let caseId: string;
let sourceRows: number;

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'consilium-backup-'));
  source = await startTestServer();
  const admin = await source.as('it.admin', { admin: true, scopes: ['patient/*.rs'] });
  const imported = await admin.api.call('POST /api/cases', { body: caseBundle({ name: 'Zqxbackup', mrn: 'MRN-BACKUP', note: 'Zqxnote' }) });
  caseId = imported.caseId;
  roomId = (await source.createRoom({ title: 'Restored board', caseId, participants: [{ userId: 'dr.a', role: 'host' }] })).id;
  const session = await source.join('dr.a', roomId);
  await session.leave();
  await admin.api.call('GET /api/cases/:id', { params: { id: caseId } });
  target = await createTestDatabase();
});
afterAll(async () => {
  await source?.db.drop().catch(() => {});
  await target?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

const verifyScript = (env: Record<string, string>) =>
  new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/audit-verify.ts'], { cwd: root, env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => resolve({ code, out }));
  });

describe('backup and restore', () => {
  const dir = () => path.join(tmp, 'backup');
  const keys = () => path.join(tmp, 'keys');
  const targetEnv = () => ({ ...target.env, AUDIT_CHECKPOINT_KEY_FILE: path.join(keys(), path.basename(source.db.env['AUDIT_CHECKPOINT_KEY_FILE']!)) });

  it('backs up the database with a manifest, and the checkpoint key to a separate place', async () => {
    // The server stops first: its last checkpoint covers every row (a running server's backup is consistent too, minus its newest rows).
    await source.app.close();
    const r = await runCli(['backup', '--out', dir(), '--keys-out', keys(), '--json'], source.db.env);
    expect(r.code, r.stderr).toBe(0);
    const manifest = JSON.parse(r.stdout) as { counts: { rooms: number; cases: number; auditRows: number }; latestCheckpoint: { treeSize: number } | null; schema: string };
    expect(manifest.counts).toMatchObject({ rooms: 1, cases: 1 });
    expect(manifest.latestCheckpoint?.treeSize).toBe(manifest.counts.auditRows);
    sourceRows = manifest.counts.auditRows;
    expect(readFileSync(path.join(keys(), path.basename(source.db.env['AUDIT_CHECKPOINT_KEY_FILE']!)), 'utf8')).toContain('PRIVATE KEY');
    // The key never travels with the dump.
    expect((await runCli(['backup', '--out', path.join(tmp, 'b2'), '--keys-out', path.join(tmp, 'b2')], source.db.env)).code).toBe(2);
  });

  it('refuses a damaged backup and a database that is not empty', async () => {
    const damaged = path.join(tmp, 'damaged');
    cpSync(dir(), damaged, { recursive: true });
    const dump = path.join(damaged, 'database.dump');
    const bytes = readFileSync(dump);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 10) ^ 0xff, bytes.length - 10);
    writeFileSync(dump, bytes);
    const r1 = await runCli(['restore', '--from', damaged], targetEnv());
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain('does not match its manifest');
    const r2 = await runCli(['restore', '--from', dir()], source.db.env);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('not empty');
  });

  it('restores into a new database: same rooms and cases, an intact trail under the signed checkpoint', async () => {
    const r = await runCli(['restore', '--from', dir()], targetEnv());
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`restored 1 rooms, 1 cases, ${sourceRows} audit rows \\(intact, signed checkpoint at ${sourceRows} rows\\)`));

    const verified = await verifyScript(targetEnv());
    expect(verified.code, verified.out).toBe(0);
    expect(verified.out).toMatch(/audit trail intact: \d+ rows.*consistent with signed checkpoint/);

    const restored = await startTestServer({}, { AUDIT_CHECKPOINT_KEY_FILE: targetEnv().AUDIT_CHECKPOINT_KEY_FILE }, target);
    try {
      const admin = await restored.as('it.admin', { admin: true, scopes: ['patient/*.rs'] });
      const rooms = await admin.api.listRooms();
      expect(rooms.map((x) => [x.id, x.title, x.caseId])).toEqual([[roomId, 'Restored board', caseId]]);
      const view = await admin.api.call('GET /api/cases/:id', { params: { id: caseId } });
      expect(view.resources.some((x) => x.resourceType === 'Patient')).toBe(true);
      const check = await admin.api.call('GET /api/audit/verify', {});
      expect(check).toMatchObject({ ok: true, checkpointsChecked: true });
      expect(check.checkpoint!.treeSize).toBeGreaterThanOrEqual(sourceRows);
      // Rooms open again: a participant joins the restored room (its ticket key came with the dump).
      const session = await restored.join('dr.a', roomId);
      await session.leave();
    } finally {
      await restored.app.close();
    }
  });

  it('a restored database whose checkpoint key is lost says so instead of claiming an intact trail', async () => {
    const other = await createTestDatabase();
    try {
      const r = await runCli(['restore', '--from', dir()], { ...other.env, AUDIT_CHECKPOINT_KEY_FILE: path.join(tmp, 'missing-key.pem') });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('checkpoint key is not available');
    } finally {
      await other.drop();
    }
  });
});
