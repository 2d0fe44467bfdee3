import { Writable } from 'node:stream';
import { pino, type Level, type Logger } from 'pino';

/** A real pino logger at `level` whose output lines are kept in `lines`: tests read what the server logged (never patient data). */
export function capturedLogger(level: Level): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
