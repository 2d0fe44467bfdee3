import type { IncomingMessage } from 'node:http';
import express, { type Request, type RequestHandler } from 'express';
import { findUnsafeText } from '../../../shared/src/text.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { AppError } from '../errors.ts';
import { authenticate } from './authenticate.ts';
import { parseJsonOffThread } from './json-off-thread.ts';

/**
 * Request bodies. An anonymous client cannot make the server read, buffer or
 * parse a body (authenticateBeforeBody); bodies are small by default
 * (SMALL_BODY_LIMIT); only the admin case import reads a large one, after
 * authentication and authorization, and parses it on a worker thread.
 */
export const SMALL_BODY_LIMIT = 64 * 1024;
export const LARGE_BODY_LIMIT = 10 * 1024 * 1024;
const JSON_TYPES = ['application/json', 'application/fhir+json'];

export function hasBody(req: Request | IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
}

/**
 * Requests with a body must carry a valid identity token before a byte of it
 * is read, except on the listed public routes (the development sign-in and the
 * signed LiveKit webhook). The principal is kept for the route's own check.
 */
export function authenticateBeforeBody(verifier: IdentityVerifier, publicPaths: readonly string[]): RequestHandler {
  const auth = authenticate(verifier);
  const open = new Set(publicPaths);
  return (req, res, next) => {
    if (!hasBody(req) || open.has(req.originalUrl.split('?')[0]!)) return next();
    return auth(req, res, next);
  };
}

/** Small JSON bodies, then the shared text rule over every string and key in them. */
export function smallJson(): RequestHandler[] {
  return [refuseDeclaredOver(SMALL_BODY_LIMIT), express.json({ limit: SMALL_BODY_LIMIT, type: JSON_TYPES }), refuseUnsafeBody];
}

/** body-parser drains an oversized body before it reports it; a declared length over the limit is refused at once. */
function refuseDeclaredOver(limit: number): RequestHandler {
  return (req, _res, next) => {
    if (Number(req.headers['content-length'] ?? 0) > limit) throw new AppError('BODY_INVALID', 'Request body is too large');
    next();
  };
}

export const refuseUnsafeBody: RequestHandler = (req, _res, next) => {
  const found = findUnsafeText(req.body);
  if (found) throw new AppError('BODY_INVALID', undefined, [found]);
  next();
};

export const refuseUnsafeQuery: RequestHandler = (req, _res, next) => {
  const found = findUnsafeText(req.query);
  if (found) throw new AppError('QUERY_INVALID', undefined, [found]);
  next();
};

/**
 * Read a large JSON body (≤ limit bytes) as a stream and parse it on a worker
 * thread, which also applies the text rule: a 10 MB bundle never blocks the
 * event loop other clients are served from.
 */
export async function readLargeJson(req: Request, limit = LARGE_BODY_LIMIT): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!JSON_TYPES.includes(type)) throw new AppError('BODY_INVALID', `Send the bundle as ${JSON_TYPES.join(' or ')}`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw new AppError('BODY_INVALID', 'Request body is too large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new AppError('BODY_INVALID', 'Request body is too large');
    chunks.push(chunk);
  }
  const parsed = await parseJsonOffThread(Buffer.concat(chunks, size));
  if (!parsed.ok) {
    if (parsed.reason === 'json') throw new AppError('BODY_INVALID', 'Request body is not valid JSON');
    throw new AppError('BODY_INVALID', undefined, [parsed.finding]);
  }
  return parsed.value;
}

/**
 * Response bodies of our own outgoing requests (FHIR server, token endpoints,
 * JWKS). Read as a stream and abandoned the moment they pass `limit` bytes
 * (decoded bytes, so compression does not hide the size); a declared
 * Content-Length over the limit is refused before reading. The header is only
 * a shortcut: it may be absent (chunked) or lie, and the count is what holds.
 */
export class ResponseTooLarge extends Error {
  constructor(public readonly limit: number) {
    super(`response larger than ${limit} bytes`);
    this.name = 'ResponseTooLarge';
  }
}

export async function readBoundedResponse(res: Response, limit: number): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => {});
    throw new ResponseTooLarge(limit);
  }
  if (!res.body) return Buffer.alloc(0);
  // One buffer that grows in place up to the limit (memory is committed as it grows): no list of chunks, no copy to join them.
  const store = new GrowableArrayBuffer(0, { maxByteLength: limit });
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const at = store.byteLength;
    if (at + value.byteLength > limit) {
      // Cancelling closes the connection: the rest is never received.
      await reader.cancel().catch(() => {});
      throw new ResponseTooLarge(limit);
    }
    store.resize(at + value.byteLength);
    new Uint8Array(store, at).set(value);
  }
  return Buffer.from(store);
}

/** ES2024 resizable ArrayBuffer (Node ≥ 20), which the ES2023 library types do not declare. */
const GrowableArrayBuffer = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & { resize(length: number): void };

/** A redirect answer to a request made with `redirect: 'manual'` (never followed: it could carry credentials or data elsewhere). */
export const isRedirect = (res: Response): boolean => res.status >= 300 && res.status < 400;
