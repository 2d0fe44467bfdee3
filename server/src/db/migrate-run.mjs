// Child process of migrate.ts: apply pending migrations with node-pg-migrate and print one JSON line, the
// names applied or the failure. Plain JavaScript, so it starts without a TypeScript loader. The database URL
// comes in the environment (CONSILIUM_MIGRATE_URL), not in the arguments, which every user of the host can list.
import { runner } from 'node-pg-migrate';

const answer = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
try {
  const applied = await runner({
    databaseUrl: process.env.CONSILIUM_MIGRATE_URL,
    dir: process.argv[2],
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    // Processes starting together (a scaled deployment) wait their turn; the default ('fail') made all but one exit.
    advisoryLockMode: 'wait',
    log: () => {},
  });
  answer({ ok: true, applied: applied.map((m) => m.name) });
} catch (err) {
  answer({ ok: false, message: err instanceof Error ? err.message : String(err) });
}
