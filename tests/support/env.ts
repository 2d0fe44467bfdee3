/**
 * The PostgreSQL server tests run against: DATABASE_URL (CI sets it), else the
 * machine's local server. Each test file creates and drops its own database there.
 */
export const ADMIN_DATABASE_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** Redis for the multi-process test (a random database index of it per run). */
export const TEST_REDIS_URL = (process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379').replace(/\/\d*$/, '');
