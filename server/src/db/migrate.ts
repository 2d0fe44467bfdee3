import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerPool } from '../worker-once.ts';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../migrations');

/**
 * node-pg-migrate loads a TypeScript compiler (jiti) and a glob library with it, ≈ 4 MB of heap
 * that a server would keep for the rest of its life after one use at start: it runs on a worker
 * thread, whose heap is returned when it ends.
 */
const worker = new WorkerPool(new URL('./migrate.worker.ts', import.meta.url), { concurrency: 1, heapMb: 256 });

/** Apply pending migrations (node-pg-migrate, advisory-locked so concurrent starts are safe); resolves the names applied. */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const answer = await worker.run<{ ok: true; applied: string[] } | { ok: false; message: string }>({ databaseUrl, dir: MIGRATIONS_DIR });
  if (!answer.ok) throw new Error(`migration failed: ${answer.message}`);
  return answer.applied;
}
