import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');

/**
 * Apply pending migrations (node-pg-migrate, advisory-locked so concurrent starts are safe); resolves
 * the names applied. node-pg-migrate brings a TypeScript loader (jiti) and a glob library with it,
 * ≈ 2 MB of heap a server keeps for good once loaded, so it is loaded only when a migration is
 * pending: a restart on an up-to-date database does without it. (Running it on a worker thread
 * instead cost more resident memory than it saved: the thread's malloc arena stays. bench/memory.)
 */
export async function migrate(databaseUrl: string): Promise<string[]> {
  if (await upToDate(databaseUrl)) return [];
  const { runner } = await import('node-pg-migrate');
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    // Processes starting together (a scaled deployment) wait their turn; the default ('fail') made all but one exit.
    advisoryLockMode: 'wait',
    log: () => {},
  });
  return applied.map((m) => m.name);
}

/** Is every migration file recorded as run? (No table, any file not yet run, or any error: node-pg-migrate decides, and reports.) */
async function upToDate(databaseUrl: string): Promise<boolean> {
  const files = readdirSync(MIGRATIONS_DIR).filter((f) => /\.(sql|js|ts)$/.test(f)).map((f) => f.replace(/\.(sql|js|ts)$/, ''));
  const client = new pg.Client({ connectionString: databaseUrl });
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string }>(`SELECT name FROM pgmigrations`);
    const run = new Set(rows.map((r) => r.name));
    return files.every((f) => run.has(f));
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
