import { ErrorCodes, type ErrorBody, type ErrorCode } from '../../shared/src/errors.ts';

/** An expected failure with a stable code from the shared catalogue. */
export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message?: string,
    public readonly details?: unknown,
  ) {
    super(message ?? ErrorCodes[code].message);
    this.name = 'AppError';
  }

  get status(): number {
    return ErrorCodes[this.code].status;
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}
