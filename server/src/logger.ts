import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured logs. Tokens and tickets are redacted wherever they might
 * appear; patient data is never passed to the logger at all.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'token', 'ticket', '*.token', '*.ticket'],
      censor: '[redacted]',
    },
  });
}
