import { spawnSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../server/src/db/database.ts';
import { createPool } from '../../server/src/db/pool.ts';
import { checkAppRole } from '../../server/src/db/roles.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startTestServer, testConfig, type TestServer } from '../support/server.ts';

/**
 * The server's database role cannot rewrite the audit trail: whatever the
 * application (or someone holding its credentials) sends, UPDATE, DELETE,
 * TRUNCATE and disabling the append-only trigger all fail for lack of privilege.
 */
let server: TestServer;
let app: pg.Client;
const extraDbs: TestDatabase[] = [];

beforeAll(async () => {
  server = await startTestServer();
  const admin = await server.as('roles.admin', { admin: true });
  await admin.api.createRoom({ title: 'Roles', kind: 'training', participants: [{ userId: 'u1', role: 'host' }] });
  await server.app.audit.flush();
  app = new pg.Client({ connectionString: server.db.appUrl });
  await app.connect();
});
afterAll(async () => {
  await app?.end();
  await server?.stop();
  await Promise.all(extraDbs.map((d) => d.drop()));
});

const PERMISSION_DENIED = '42501';
async function sqlstate(sql: string): Promise<string> {
  try {
    await app.query(sql);
    return 'succeeded';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('database roles', () => {
  it('the server runs as the app role: not a superuser, not the owner of the audit tables', async () => {
    const { rows } = await server.app.pool.query<{ who: string; sup: boolean; owner: string }>(
      `SELECT current_user AS who, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS sup,
              (SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'audit_log'::regclass) AS owner`,
    );
    expect(rows[0]!.who).toBe(new URL(server.db.appUrl).username);
    expect(rows[0]!.sup).toBe(false);
    expect(rows[0]!.owner).not.toBe(rows[0]!.who);
    expect(await checkAppRole(server.app.pool)).toMatchObject({ problems: [], missing: [] });
  });

  it('as the app role, the audit tables refuse UPDATE, DELETE, TRUNCATE, ALTER … DISABLE TRIGGER, DROP and replica mode', async () => {
    const { rows } = await app.query<{ n: string }>('SELECT count(*) AS n FROM audit_log');
    expect(Number(rows[0]!.n)).toBeGreaterThan(0);
    for (const table of ['audit_log', 'audit_checkpoints']) {
      const set = table === 'audit_log' ? "actor = 'mallory'" : "signature = 'x'";
      expect(await sqlstate(`UPDATE ${table} SET ${set}`), table).toBe(PERMISSION_DENIED);
      expect(await sqlstate(`DELETE FROM ${table}`), table).toBe(PERMISSION_DENIED);
      expect(await sqlstate(`TRUNCATE ${table}`), table).toBe(PERMISSION_DENIED);
      expect(await sqlstate(`ALTER TABLE ${table} DISABLE TRIGGER ALL`), table).toBe(PERMISSION_DENIED);
      expect(await sqlstate(`ALTER TABLE ${table} DISABLE TRIGGER USER`), table).toBe(PERMISSION_DENIED);
      expect(await sqlstate(`DROP TABLE ${table}`), table).toBe(PERMISSION_DENIED);
      expect(await sqlstate(`CREATE TRIGGER sneaky BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`), table).toBe(PERMISSION_DENIED);
    }
    expect(await sqlstate(`CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$`)).toBe(PERMISSION_DENIED);
    expect(await sqlstate(`SET session_replication_role = 'replica'`)).toBe(PERMISSION_DENIED);
    expect(await sqlstate(`ALTER TABLE audit_log RENAME TO audit_log_old`)).toBe(PERMISSION_DENIED);
    // …and cannot hand itself more.
    await app.query(`GRANT UPDATE, DELETE, TRUNCATE ON audit_log TO CURRENT_USER`).catch(() => {}); // a warning at most
    const priv = await app.query<{ p: boolean }>(`SELECT has_table_privilege('audit_log', 'UPDATE') OR has_table_privilege('audit_log', 'DELETE') OR has_table_privilege('audit_log', 'TRUNCATE') AS p`);
    expect(priv.rows[0]!.p).toBe(false);
    // The rows are all still there and the chain verifies.
    const after = await app.query<{ n: string }>('SELECT count(*) AS n FROM audit_log');
    expect(after.rows[0]!.n).toBe(rows[0]!.n);
    expect(await server.app.audit.verify()).toMatchObject({ ok: true });
  });

  it('the app role keeps what the server needs: it reads and appends the audit trail and works the other tables', async () => {
    await expect(server.app.audit.record({ actor: 'roles.admin', action: 'audit.read', details: { probe: true } })).resolves.toBeUndefined();
    expect(await sqlstate(`UPDATE rooms SET title = title`)).toBe('succeeded');
    // but not the migrations' bookkeeping
    expect(await sqlstate(`SELECT * FROM pgmigrations`)).toBe(PERMISSION_DENIED);
  });

  it('a role that could rewrite the trail is reported, and refused in production', async () => {
    const owner = createPool(server.db.url);
    try {
      const check = await checkAppRole(owner);
      expect(check.problems.join(' ')).toMatch(/superuser/);
    } finally {
      await owner.end();
    }
    const db = await createTestDatabase();
    extraDbs.push(db);
    const logger = pino({ level: 'silent' });
    // Production with the app role but nothing migrated and no owner URL: refused with the way out.
    const unmigrated = testConfig(db, { NODE_ENV: 'production', DATABASE_OWNER_URL: '', PUBLIC_URL: 'https://c.example', AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' });
    await expect(openDatabase(unmigrated, logger)).rejects.toThrow(/not migrated.*db:migrate/);
    // Production, connecting as the owner itself: refused before anything listens.
    const prod = testConfig(db, { NODE_ENV: 'production', DATABASE_URL: db.url, PUBLIC_URL: 'https://c.example', AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' });
    await expect(openDatabase(prod, logger)).rejects.toThrow(/can rewrite the audit trail: role \S+ is a superuser/);
  });

  it('production without the owner password: `npm run db:migrate` as the owner, then the server with the app role alone', async () => {
    const db = await createTestDatabase();
    extraDbs.push(db);
    const root = path.resolve(import.meta.dirname, '../..');
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/db-migrate.ts'], { cwd: root, env: { ...process.env, ...db.env }, encoding: 'utf8' });
    expect(run.stdout + run.stderr).toMatch(new RegExp(`role ${db.name}_app granted`));
    expect(run.status).toBe(0);
    const prod = testConfig(db, { NODE_ENV: 'production', DATABASE_OWNER_URL: '', PUBLIC_URL: 'https://c.example', AUTH_JWKS_URL: 'https://idp.example/jwks', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a' });
    expect(prod.databaseOwnerUrl).toBeNull();
    const database = await openDatabase(prod, pino({ level: 'silent' }));
    try {
      expect(await checkAppRole(database.pool)).toEqual({ role: `${db.name}_app`, problems: [], missing: [] });
    } finally {
      await database.close();
    }
    // Without the owner it refuses to run at all.
    const bare = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/db-migrate.ts'], { cwd: root, env: { ...process.env, DATABASE_URL: db.appUrl }, encoding: 'utf8' });
    expect(bare.status).toBe(2);
  });
});
