import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../../server/src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Upgrades keep data: a database exactly as the previous release left it (tests/fixtures/schema/previous.sql,
 * made by make-previous.ts from that release's migrations) is started with this release's server, which
 * migrates it forward; its rooms, participants, case and signed audit trail must come through intact.
 */
const fixtures = path.resolve(import.meta.dirname, '../fixtures/schema');
const previous = JSON.parse(readFileSync(path.join(fixtures, 'previous-migrations.json'), 'utf8')) as { commit: string; migrations: Record<string, string>; roomId: string; closedRoomId: string; caseId: string; auditRows: number };
let db: TestDatabase;
let server: TestServer;
let tmp: string;

beforeAll(async () => {
  db = await createTestDatabase();
  // psql: the dump loads its rows with COPY … FROM stdin.
  execFileSync('psql', ['--quiet', '--set', 'ON_ERROR_STOP=1', '--no-psqlrc', '--file', path.join(fixtures, 'previous.sql'), db.url], { stdio: ['ignore', 'ignore', 'pipe'] });
  tmp = mkdtempSync(path.join(os.tmpdir(), 'consilium-upgrade-'));
  const key = path.join(tmp, 'audit-checkpoint-key.pem');
  copyFileSync(path.join(fixtures, 'previous-checkpoint-key.pem'), key);
  chmodSync(key, 0o600);
  server = await startTestServer({}, { AUDIT_CHECKPOINT_KEY_FILE: key }, db);
});
afterAll(async () => {
  await server?.app.close();
  await db?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

describe(`upgrading from ${previous.commit}`, () => {
  it('migrations only move forward: released ones are unchanged, new ones sort after them', () => {
    const now = readdirSync(MIGRATIONS_DIR).sort();
    const released = Object.keys(previous.migrations);
    expect(now.slice(0, released.length)).toEqual(released);
    for (const [file, sha] of Object.entries(previous.migrations)) {
      expect(createHash('sha256').update(readFileSync(path.join(MIGRATIONS_DIR, file))).digest('hex'), `${file} was edited after release: add a new migration instead`).toBe(sha);
    }
  });

  it('the server migrates the old database to head on start', async () => {
    const owner = new pg.Client({ connectionString: db.url }); // the app role cannot read pgmigrations
    await owner.connect();
    try {
      const { rows } = await owner.query<{ name: string }>(`SELECT name FROM pgmigrations ORDER BY id`);
      expect(rows.map((r) => `${r.name}.sql`)).toEqual(readdirSync(MIGRATIONS_DIR).sort());
    } finally {
      await owner.end();
    }
    // The previous release's lease row got the new columns' defaults.
    const lease = await server.app.pool.query(`SELECT process_key, boot_id FROM live_instances WHERE room_id = $1`, [previous.roomId]);
    expect(lease.rows).toEqual([{ process_key: '', boot_id: '' }]);
  });

  it('keeps rooms, participants and the case', async () => {
    const admin = await server.as('it.admin', { admin: true, scopes: ['patient/*.rs'] });
    const room = await admin.api.getRoom(previous.roomId);
    expect(room).toMatchObject({ title: 'Upgrade board', kind: 'case-conference', caseId: previous.caseId, status: 'open' });
    expect(room.participants).toEqual([
      { userId: 'dr.grey', role: 'host', scopes: null },
      { userId: 'dr.yang', role: 'specialist', scopes: ['patient/Observation.rs'] },
    ]);
    expect((await admin.api.getRoom(previous.closedRoomId)).status).toBe('closed');
    const view = await admin.api.call('GET /api/cases/:id', { params: { id: previous.caseId } });
    expect(view.resources.filter((r) => r.resourceType === 'Observation').length).toBeGreaterThan(0);
    expect((await admin.api.directoryUsers()).map((u) => u.userId)).toEqual(expect.arrayContaining(['dr.grey', 'dr.yang']));
  });

  it('keeps the audit trail intact under the checkpoint the old release signed, and keeps appending to it', async () => {
    const admin = await server.as('it.admin', { admin: true });
    const before = await admin.api.call('GET /api/audit/verify', {});
    expect(before).toMatchObject({ ok: true, checkpointsChecked: true });
    expect(before.checkpoint!.treeSize).toBeGreaterThanOrEqual(previous.auditRows);
    // The old room opens on the new release (its expired lease of the old process is taken over).
    const session = await server.join('dr.grey', previous.roomId);
    await session.leave();
    await server.app.auditCheckpoints!.signer.checkpoint();
    const after = await admin.api.call('GET /api/audit/verify', {});
    expect(after.ok).toBe(true);
    expect(after.rows).toBeGreaterThan(before.rows);
    const owner = new pg.Client({ connectionString: db.url });
    await owner.connect();
    try {
      const joined = await owner.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'room.join' AND room_id = $1`, [previous.roomId]);
      expect(joined.rows[0].n).toBe(1);
    } finally {
      await owner.end();
    }
  });
});
