import type { z } from 'zod';
import { AppError } from '../errors.ts';

/** Parse a request body or throw BODY_INVALID listing each problem with its path. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, code: 'BODY_INVALID' | 'QUERY_INVALID' = 'BODY_INVALID'): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    throw new AppError(
      code,
      undefined,
      result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    );
  }
  return result.data;
}

/** Route parameter that must be a UUID; anything else is simply not found. */
export function uuidParam(value: string | string[] | undefined, code: 'ROOM_NOT_FOUND' | 'CASE_NOT_FOUND' | 'NOT_FOUND' = 'NOT_FOUND'): string {
  if (typeof value === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) {
    return value.toLowerCase();
  }
  throw new AppError(code);
}
