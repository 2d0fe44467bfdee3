import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, MIGRATIONS_DIR } from '../../server/src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';

/**
 * Migrations run in a child process (node-pg-migrate stays out of the server's memory) and only when
 * one is pending (issue 20, memory). What the server sees must not change: the names applied, nothing
 * the second time, a failure as a rejection that names the cause, not the credentials.
 */
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

describe('migrate', () => {
  it('applies every migration to a fresh database, in order, and nothing on the next start', async () => {
    const files = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).map((f) => f.replace(/\.sql$/, '')).sort();
    expect(await migrate(db.url)).toEqual(files);
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const { rows } = await c.query<{ name: string }>('SELECT name FROM pgmigrations ORDER BY id');
    await c.end();
    expect(rows.map((r) => r.name)).toEqual(files);
    expect(await migrate(db.url)).toEqual([]);
  });

  it('a migration recorded as not run is run (the database is not taken as up to date)', async () => {
    const last = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql')).sort().at(-1)!;
    const down = readFileSync(path.join(MIGRATIONS_DIR, last), 'utf8').split('-- Down Migration')[1]!;
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    // Undo the newest migration by its own Down section and forget it: it is pending again.
    await c.query(down);
    await c.query('DELETE FROM pgmigrations WHERE name = $1', [last.replace(/\.sql$/, '')]);
    await c.end();
    expect(await migrate(db.url)).toEqual([last.replace(/\.sql$/, '')]);
    expect(await migrate(db.url)).toEqual([]);
  });

  it('a database it cannot reach is a rejection naming the cause, without the password', async () => {
    const url = new URL(db.appUrl);
    url.port = '1';
    const err = await migrate(url.toString()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^migration failed: .*ECONNREFUSED/);
    expect((err as Error).message).not.toContain(url.password);
  });
});
