import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');
const RUNNER = fileURLToPath(new URL('./migrate-run.mjs', import.meta.url));

/**
 * Apply pending migrations (node-pg-migrate, advisory-locked so concurrent starts are safe); resolves
 * the names applied. When one is pending, node-pg-migrate runs in a child process (migrate-run.mjs):
 * it loads a TypeScript loader (jiti) and a glob library, ≈ 2.5 MB of heap and 6 MB resident that a
 * server would keep for good after one use at start; a worker thread instead left its malloc arena
 * behind, more than it saved (bench/memory). A restart on an up-to-date database starts nothing.
 */
export async function migrate(databaseUrl: string): Promise<string[]> {
  if (await upToDate(databaseUrl)) return [];
  const out = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [RUNNER, MIGRATIONS_DIR], { env: { ...process.env, CONSILIUM_MIGRATE_URL: databaseUrl }, maxBuffer: 1 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`migration process failed: ${stderr.trim().split('\n').slice(-3).join(' ') || err.message}`)) : resolve(stdout),
    );
  });
  const answer = JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as { ok: true; applied: string[] } | { ok: false; message: string };
  if (!answer.ok) throw new Error(`migration failed: ${answer.message}`);
  return answer.applied;
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
