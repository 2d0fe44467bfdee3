import type { Response } from 'express';
import type { ApiResponses, ApiRoute } from '../../../shared/src/http.ts';

/**
 * Answer a route with its declared body (shared/src/http.ts `ApiResponses`):
 * the compiler holds each route's answer to the type the SDK reads it as.
 */
export function sendJson<R extends ApiRoute>(res: Response, _route: R, body: ApiResponses[R], status = 200): void {
  res.status(status).json(body);
}
