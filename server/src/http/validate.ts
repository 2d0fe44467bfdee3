import type { z } from 'zod';
import { AppError } from '../errors.ts';

/** Problems listed in a refusal: a 64 KB body of bad array items would otherwise be answered with a megabyte of them. */
export const MAX_LISTED_PROBLEMS = 20;

/** Parse a request body or throw BODY_INVALID listing each problem with its path (the first MAX_LISTED_PROBLEMS, then how many more). */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown, code: 'BODY_INVALID' | 'QUERY_INVALID' = 'BODY_INVALID'): z.output<S> {
  const result = schema.safeParse(body ?? {});
  if (!result.success) {
    const issues = result.error.issues;
    const listed = issues.slice(0, MAX_LISTED_PROBLEMS).map((i) => ({ path: i.path.join('.'), message: i.message }));
    if (issues.length > listed.length) listed.push({ path: '', message: `and ${issues.length - listed.length} more problems` });
    throw new AppError(code, undefined, listed);
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
