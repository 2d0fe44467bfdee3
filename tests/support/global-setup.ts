import pg from 'pg';
import { pino } from 'pino';
import { ensureClientBuilt } from '../../server/src/web-build.ts';
import { Redis } from 'ioredis';
import { ADMIN_DATABASE_URL, TEST_REDIS_URL } from './env.ts';

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
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null });
  redis.on('error', () => {}); // reported below, once
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is required for the multi-process test and is not reachable at ${TEST_REDIS_URL}: ${(err as Error).message}. Start it (see README) or set TEST_REDIS_URL.`);
  } finally {
    redis.disconnect();
  }
  // Build the web client once, before the browser test files run in parallel.
  await ensureClientBuilt(pino({ level: 'silent' }));
}
