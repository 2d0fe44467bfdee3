import { pino, type Logger } from 'pino';
import { isDbError, safeDbError } from './db/safe-error.ts';

export type { Logger };

/**
 * Structured logs. Tokens and tickets are redacted wherever they might
 * appear; patient data is never passed to the logger at all, and a database
 * error logged as `err` keeps only its code and message (safe-error.ts).
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      redact: {
        paths: ['req.headers.authorization', 'headers.authorization', 'token', 'ticket', '*.token', '*.ticket'],
        censor: '[redacted]',
      },
      serializers: { err: (err: Error) => (isDbError(err) ? { type: 'DatabaseError', ...safeDbError(err) } : pino.stdSerializers.err(err)) },
    },
    destination,
  );
}
