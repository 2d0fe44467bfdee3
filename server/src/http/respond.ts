import type { Response } from 'express';
import { ApiResponseSchemas, type ApiResponses, type ApiRoute } from '../../../shared/src/http.ts';

/** `app.locals` flag: check each body against its schema before sending (on outside production; see app.ts). */
export const VALIDATE_RESPONSES = 'validateResponses';

/**
 * Answer a route with its declared body (shared/src/http.ts `ApiResponseSchemas`):
 * the compiler holds each route's answer to the type the SDK reads it as, and
 * outside production the body is checked against the same schema the OpenAPI
 * description is generated from, so the published contract cannot drift from
 * what is sent. A mismatch is a server bug: 500, with only the paths and issue
 * codes (never values: they may be patient data) in the error's details.
 */
export function sendJson<R extends ApiRoute>(res: Response, route: R, body: ApiResponses[R], status = 200): void {
  if (res.app?.locals[VALIDATE_RESPONSES] === true) {
    const checked = ApiResponseSchemas[route].safeParse(body);
    if (!checked.success) {
      throw new ResponseContractError(route, checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.code}`));
    }
  }
  res.status(status).json(body);
}

/** Not an AppError on purpose: the error handler logs it and answers INTERNAL with a request id. */
export class ResponseContractError extends Error {
  constructor(
    readonly route: string,
    readonly issues: string[],
  ) {
    super(`response to ${route} does not match its schema: ${issues.slice(0, 5).join('; ')}`);
    this.name = 'ResponseContractError';
  }
}
