import { pino, type DestinationStream, type Logger } from 'pino';
import { isDatabaseError, scrubDatabaseMessage } from './safe-error.ts';

export type { Logger };

/**
 * Structured logs. Tokens and tickets are redacted wherever they might
 * appear; patient data is never passed to the logger at all, and errors are
 * reduced to fields that cannot carry it (see safeError).
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'token', 'ticket', '*.token', '*.ticket'],
      censor: '[redacted]',
    },
    serializers: { err: safeError, error: safeError },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * The same error serializers on any logger (tests inject their own): every
 * `logger.x({ err })` below the composition root goes through safeError.
 */
export function withSafeErrors(logger: Logger): Logger {
  return logger.child({}, { serializers: { err: safeError, error: safeError } });
}

/**
 * An error as it may appear in a log line. pino's standard serializer copies
 * every enumerable property, and a PostgreSQL error carries the statement's
 * `detail`, `where` and `internalQuery` — which quote the row, i.e. patient
 * data. So: an allowlist. Database errors keep only their SQLSTATE code and
 * their message with every quoted value removed (PostgreSQL quotes offending
 * input there: `invalid input syntax for type integer: "<value>"`); other
 * errors keep type, code, message, stack and a cause chain treated alike.
 */
export function safeError(err: unknown, depth = 0): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { type: typeof err, message: '[non-error value thrown]' };
  if (reduced.has(err)) return err as Record<string, unknown>; // already reduced (explicitly, then by the serializer)
  const out = reduce(err, depth);
  reduced.add(out);
  return out;
}

const reduced = new WeakSet<object>();

function reduce(err: object, depth: number): Record<string, unknown> {
  const e = err as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown; cause?: unknown };
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? e.code : undefined;
  if (isDatabaseError(err)) {
    return { type: 'DatabaseError', code, message: scrubDatabaseMessage(typeof e.message === 'string' ? e.message : '') };
  }
  const out: Record<string, unknown> = {
    type: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : '',
  };
  if (code !== undefined) out['code'] = code;
  if (typeof e.stack === 'string') out['stack'] = e.stack;
  if (e.cause !== undefined && depth < 3) out['cause'] = safeError(e.cause, depth + 1);
  return out;
}
