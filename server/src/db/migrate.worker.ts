/**
 * Worker thread: apply pending migrations (node-pg-migrate) and answer the names applied. Plain,
 * erasable TypeScript: Node runs it without a loader. See migrate.ts for why it is a thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { runner } from 'node-pg-migrate';

const { databaseUrl, dir } = workerData as { databaseUrl: string; dir: string };
try {
  const applied = await runner({
    databaseUrl,
    dir,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    // Processes starting together (a scaled deployment) wait their turn; the default ('fail') made all but one exit.
    advisoryLockMode: 'wait',
    log: () => {},
  });
  parentPort!.postMessage({ ok: true, applied: applied.map((m) => m.name) });
} catch (err) {
  parentPort!.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
}
