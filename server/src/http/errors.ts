import type { ErrorRequestHandler, RequestHandler } from 'express';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';

export const notFound: RequestHandler = (_req, _res, next) => next(new AppError('NOT_FOUND'));

/** Maps every error to `{ error: { code, message } }`; unexpected ones become INTERNAL and are logged. */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let appError: AppError;
    if (err instanceof AppError) appError = err;
    else if (isBodyParserError(err)) appError = new AppError('BODY_INVALID', err.type === 'entity.too.large' ? 'Request body is too large' : 'Request body is not valid JSON');
    else {
      logger.error({ err, method: req.method, path: req.path }, 'unhandled request error');
      appError = new AppError('INTERNAL');
    }
    res.status(appError.status).json({ error: appError.toBody() });
  };
}

function isBodyParserError(err: unknown): err is { type: string } {
  return typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string' && 'status' in err;
}
