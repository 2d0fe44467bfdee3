import pg from 'pg';
import { pino } from 'pino';
import { ensureClientBuilt } from '../../server/src/web-build.ts';
import { ADMIN_DATABASE_URL } from './env.ts';

/** Fail the whole run loudly when PostgreSQL is unreachable: integration tests never skip. */
export default async function globalSetup(): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (err) {
    throw new Error(
      `PostgreSQL is required for the test suite and is not reachable at ${ADMIN_DATABASE_URL.replace(/:[^:@/]*@/, ':***@')}: ${(err as Error).message}. ` +
        'Start it (see README) or set DATABASE_URL.',
    );
  } finally {
    await client.end().catch(() => {});
  }
  // Build the web client once, before the browser test files run in parallel.
  await ensureClientBuilt(pino({ level: 'silent' }));
}
