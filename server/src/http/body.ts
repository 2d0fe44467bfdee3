import type { IncomingMessage } from 'node:http';
import express, { type Request, type RequestHandler } from 'express';
import { findUnsafeText } from '../../../shared/src/text.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { AppError } from '../errors.ts';
import { GrowableArrayBuffer } from '../outbound.ts';
import { authenticate } from './authenticate.ts';

/**
 * Request bodies. An anonymous client cannot make the server read, buffer or
 * parse a body (authenticateBeforeBody); bodies are small by default
 * (SMALL_BODY_LIMIT, smallJson); only the admin case import (POST /api/cases)
 * reads a large one (IMPORT_BODY_LIMIT, readLargeBody), after authentication
 * and authorization, and parses it on a worker thread.
 */
export const SMALL_BODY_LIMIT = 64 * 1024;
/** Real exports are big (a Synthea patient with decades of history is several MB); only admins, after authentication, may send that much. */
export const IMPORT_BODY_LIMIT = 32 * 1024 * 1024;
/** A clean mark names every instance reviewed (MAX_MARKED_INSTANCES UIDs of up to 64 characters, quoted). */
export const MARK_CLEAN_BODY_LIMIT = 768 * 1024;
export const JSON_TYPES = ['application/json', 'application/fhir+json'];

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
  return jsonUpTo(SMALL_BODY_LIMIT);
}

/** JSON bodies up to `limit` bytes (a route that needs more than SMALL_BODY_LIMIT says how much), then the text rule. */
export function jsonUpTo(limit: number): RequestHandler[] {
  return [refuseDeclaredOver(limit), express.json({ limit, type: JSON_TYPES }), refuseUnsafeBody];
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
 * Read a large JSON body (≤ limit bytes) as a stream, unparsed: the case import
 * parses it on its worker thread (fhir/case-importer.ts), so a 32 MB bundle
 * never blocks the event loop other clients are served from. Refusals are
 * BODY_INVALID, as from smallJson.
 */
export async function readLargeBody(req: Request, limit = IMPORT_BODY_LIMIT): Promise<Buffer> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!JSON_TYPES.includes(type)) throw new AppError('BODY_INVALID', `Send the bundle as ${JSON_TYPES.join(' or ')}`);
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limit) throw new AppError('BODY_INVALID', 'Request body is too large');
  // One buffer that grows in place as the body arrives (as readBoundedResponse does): no list of chunks, no
  // 32 MB copy at the end to join them — and a buffer of its own, which is moved to the worker, not copied.
  const store = new GrowableArrayBuffer(0, { maxByteLength: limit });
  for await (const chunk of req as AsyncIterable<Buffer>) {
    const at = store.byteLength;
    if (at + chunk.length > limit) throw new AppError('BODY_INVALID', 'Request body is too large');
    store.resize(at + chunk.length);
    new Uint8Array(store, at).set(chunk);
  }
  return Buffer.from(store);
}
