import { isErrorCode, type ErrorCode } from '../../../shared/src/errors.ts';

/** Every SDK failure carries a stable code from the shared catalogue. */
export class ConsiliumError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly status?: number,
    public readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ConsiliumError';
  }
}

/** Join refusals arrive as `"<CODE>: message"` in Colyseus' matchmaking error. */
export function fromJoinError(err: unknown): ConsiliumError {
  const e = err as { message?: unknown; code?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const status = typeof e?.code === 'number' ? e.code : undefined;
  const match = /^([A-Z_]+):\s*(.*)$/s.exec(message);
  if (match && isErrorCode(match[1])) return new ConsiliumError(match[1], match[2] ?? message, status);
  return new ConsiliumError('UNAVAILABLE', message, status);
}
