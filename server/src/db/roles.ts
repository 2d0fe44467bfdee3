import pg from 'pg';
import type { Pool } from './pool.ts';

/**
 * Two database roles. The owner runs migrations and owns every table, the
 * append-only trigger included. The server connects as the app role, which may
 * only SELECT and INSERT on the audit tables: it cannot UPDATE, DELETE or
 * TRUNCATE them, nor disable their triggers (ALTER TABLE needs ownership).
 */
const AUDIT_TABLES = ['audit_log', 'audit_checkpoints'] as const;
/** Serializes concurrent grants (parallel starts): GRANT on one object at once can fail with "tuple concurrently updated". */
const GRANT_LOCK_KEY = 0x434f4e47;

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** Create a LOGIN role if missing and set its password. Safe against a concurrent creator. */
export async function ensureLoginRole(ownerUrl: string, role: string, password: string): Promise<void> {
  await withClient(ownerUrl, async (c) => {
    const id = c.escapeIdentifier(role);
    const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [role]);
    if (exists.rowCount === 0) {
      await c.query(`CREATE ROLE ${id} LOGIN`).catch((err: { code?: string }) => {
        if (err.code !== '42710' && err.code !== '23505') throw err; // created by someone else meanwhile
      });
    }
    await c.query(`ALTER ROLE ${id} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD ${c.escapeLiteral(password)}`);
  });
}

/** The role name of a postgres:// URL (the app role), or null when the URL names none. */
export function roleOfUrl(url: string): string | null {
  const user = decodeURIComponent(new URL(url).username);
  return user === '' ? null : user;
}

/** As the owner: give the app role what the server needs, and on the audit tables only SELECT and INSERT. */
export async function grantAppRole(ownerUrl: string, appRole: string): Promise<void> {
  await withClient(ownerUrl, async (c) => {
    const app = c.escapeIdentifier(appRole);
    const audit = AUDIT_TABLES.join(', ');
    await c.query('BEGIN');
    try {
      await c.query('SELECT pg_advisory_xact_lock($1)', [GRANT_LOCK_KEY]);
      await c.query(`GRANT USAGE ON SCHEMA public TO ${app}`);
      await c.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${app}`);
      await c.query(`GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${app}`);
      await c.query(`REVOKE ALL ON TABLE pgmigrations FROM ${app}`);
      await c.query(`REVOKE ALL ON TABLE ${audit} FROM ${app}, PUBLIC`);
      await c.query(`GRANT SELECT, INSERT ON TABLE ${audit} TO ${app}`);
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      throw err;
    }
  });
}

export interface RoleCheck {
  role: string;
  /** Why this role could rewrite the audit trail; empty when it cannot. */
  problems: string[];
  /** Audit tables that do not exist (migrations not applied). */
  missing: string[];
}

/** As the app: can this connection rewrite the audit trail? (superuser, owner, or UPDATE/DELETE/TRUNCATE granted) */
export async function checkAppRole(pool: Pool): Promise<RoleCheck> {
  const { rows } = await pool.query<{ role: string; table: string; superuser: boolean; owner: boolean; modify: boolean }>(
    `SELECT current_user AS role, c.relname AS table, r.rolsuper AS superuser,
            pg_has_role(current_user, c.relowner, 'MEMBER') AS owner,
            has_table_privilege(c.oid, 'UPDATE') OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE') AS modify
       FROM pg_roles r, pg_class c
      WHERE r.rolname = current_user AND c.relnamespace = 'public'::regnamespace AND c.relname = ANY($1)`,
    [[...AUDIT_TABLES]],
  );
  const role = rows[0]?.role ?? '?';
  const problems = new Set<string>();
  for (const r of rows) {
    if (r.superuser) problems.add(`role ${role} is a superuser`);
    else if (r.owner) problems.add(`role ${role} owns ${r.table} (it can disable its append-only trigger)`);
    else if (r.modify) problems.add(`role ${role} may UPDATE, DELETE or TRUNCATE ${r.table}`);
  }
  const missing = AUDIT_TABLES.filter((t) => !rows.some((r) => r.table === t));
  return { role, problems: [...problems], missing };
}
