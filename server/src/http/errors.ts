import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import { AppError } from '../errors.ts';
import { safeError, type Logger } from '../logger.ts';
import { hasBody } from './body.ts';

export const notFound: RequestHandler = (_req, _res, next) => next(new AppError('NOT_FOUND'));

/** Every request gets an id (response header X-Request-Id); an INTERNAL error quotes it so support can find the log line. */
export const requestId: RequestHandler = (_req, res, next) => {
  const id = randomUUID();
  res.locals['requestId'] = id;
  res.setHeader('X-Request-Id', id);
  next();
};

export const requestIdOf = (res: Response): string => (res.locals['requestId'] as string | undefined) ?? 'none';

/**
 * Maps every error to `{ error: { code, message } }`. Unexpected ones become
 * `INTERNAL` with the request id, and are logged with that id and the error
 * reduced by safeError (a database error: SQLSTATE code and scrubbed message
 * only — never the statement, parameters, `detail` or `where`).
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    let appError: AppError;
    let requestIdField: { requestId: string } | null = null;
    if (err instanceof AppError) appError = err;
    else if (isBodyParserError(err)) appError = new AppError('BODY_INVALID', err.type === 'entity.too.large' ? 'Request body is too large' : 'Request body is not valid JSON');
    // A path parameter that is not valid percent-encoded UTF-8 (express: "Failed to decode param"): nothing by that name.
    else if (err instanceof URIError || (err instanceof Error && (err as { status?: unknown }).status === 400 && /decode param/i.test(err.message))) appError = new AppError('NOT_FOUND');
    else {
      const id = requestIdOf(res);
      logger.error({ err: safeError(err), requestId: id, method: req.method, path: req.path }, 'unhandled request error');
      appError = new AppError('INTERNAL');
      requestIdField = { requestId: id };
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A refused request whose body we never read: close rather than drain it.
    if (!req.complete && hasBody(req)) res.setHeader('Connection', 'close');
    res.status(appError.status).json({ error: { ...appError.toBody(), ...requestIdField } });
  };
}

function isBodyParserError(err: unknown): err is { type: string } {
  return typeof err === 'object' && err !== null && typeof (err as { type?: unknown }).type === 'string' && 'status' in err;
}
