import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ADMIN_DATABASE_URL } from './env.ts';

export interface TestDatabase {
  /** As the owner (the cluster admin): migrations, and attacks on the audit trail. */
  url: string;
  /** As this database's own least-privileged app role. */
  appUrl: string;
  name: string;
  /** The environment a server process for this database gets: app and owner URLs, its own checkpoint key file. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

/**
 * A throwaway database on the machine's PostgreSQL, with its own app role
 * `<name>_app` (roles are cluster-wide: a per-database name keeps parallel test
 * files apart), both dropped when the file finishes.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `consilium_t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const role = `${name}_app`;
  const password = randomBytes(24).toString('hex'); // 48 characters: production mode refuses database passwords under 32 bytes
  const admin = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${name}`;
  const appUrl = new URL(url);
  appUrl.username = role;
  appUrl.password = password;
  const keyFile = path.join(os.tmpdir(), `${name}-checkpoint-key.pem`);
  return {
    url: url.toString(),
    appUrl: appUrl.toString(),
    name,
    env: { DATABASE_URL: appUrl.toString(), DATABASE_OWNER_URL: url.toString(), AUDIT_CHECKPOINT_KEY_FILE: keyFile },
    async drop() {
      rmSync(keyFile, { force: true });
      const c = new pg.Client({ connectionString: ADMIN_DATABASE_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS ${role}`);
      } finally {
        await c.end();
      }
    },
  };
}
