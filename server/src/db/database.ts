import type { Config } from '../config.ts';
import type { Logger } from '../logger.ts';
import { startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.ts';
import { migrate } from './migrate.ts';
import { createPool, type Pool } from './pool.ts';
import { checkAppRole, grantAppRole } from './roles.ts';

export interface Database {
  /** Connected as the app role. */
  pool: Pool;
  /** Close the pool and stop the embedded server, if any. */
  close(): Promise<void>;
}

/**
 * Start (embedded) or reach PostgreSQL, migrate as the owner, grant the app
 * role, and connect as the app role. Refuses to run in production with a role
 * that could rewrite the audit trail; warns elsewhere.
 */
export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  let embedded: EmbeddedDatabase | null = null;
  let appUrl: string;
  let ownerUrl: string | null;
  if (config.databaseUrl) {
    appUrl = config.databaseUrl;
    ownerUrl = config.databaseOwnerUrl;
  } else {
    embedded = await startEmbeddedPostgres(config.dataDir, (message) => logger.warn(message));
    logger.info({ dataDir: config.dataDir }, 'DATABASE_URL unset: started embedded PostgreSQL');
    appUrl = embedded.appUrl;
    ownerUrl = embedded.url;
  }
  const pool = createPool(appUrl);
  const close = async () => {
    await pool.end();
    await embedded?.stop();
  };
  try {
    if (ownerUrl) {
      await migrate(ownerUrl);
      const { rows } = await pool.query<{ role: string }>('SELECT current_user AS role');
      await grantAppRole(ownerUrl, rows[0]!.role);
    } else if (config.nodeEnv !== 'production') {
      // One role for everything: development convenience, flagged below.
      await migrate(appUrl);
    }
    const check = await checkAppRole(pool);
    if (check.missing.length > 0) throw new Error(`Database not migrated (no ${check.missing.join(', ')}): set DATABASE_OWNER_URL or run \`npm run db:migrate\` with it.`);
    if (check.problems.length > 0) {
      const message = `The server's database role can rewrite the audit trail: ${check.problems.join('; ')}. Run migrations as the owner (DATABASE_OWNER_URL) and connect with a role that has only SELECT and INSERT on the audit tables (see docs/AUDIT.md).`;
      if (config.nodeEnv === 'production') throw new Error(message);
      logger.warn(message);
    }
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
  return { pool, close };
}
