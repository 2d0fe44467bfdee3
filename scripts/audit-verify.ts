/**
 * `npm run audit:verify`: walk the audit hash chain of the configured database
 * (DATABASE_URL, or the embedded one when the server is not running) and
 * report the first broken row. Exit 0 when intact, 1 when broken.
 */
import { AuditLog } from '../server/src/audit/audit-log.ts';
import { loadConfig } from '../server/src/config.ts';
import { startEmbeddedPostgres } from '../server/src/db/embedded.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { createPool } from '../server/src/db/pool.ts';

const config = loadConfig(process.env);
const embedded = config.databaseUrl ? null : await startEmbeddedPostgres(config.dataDir, (message) => console.warn(message));
const url = config.databaseUrl ?? embedded!.url;
await migrate(url);
const pool = createPool(url);
try {
  const result = await new AuditLog(pool).verify();
  if (result.ok) {
    console.log(`audit trail intact: ${result.rows} rows, head ${result.lastHash}`);
  } else {
    console.error(`audit trail BROKEN at row ${result.firstBroken.seq}: ${result.firstBroken.reason} (${result.rows} rows verified before it)`);
  }
  process.exitCode = result.ok ? 0 : 1;
} finally {
  await pool.end();
  await embedded?.stop();
}
