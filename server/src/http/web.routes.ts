import { existsSync } from 'node:fs';
import path from 'node:path';
import compression from 'compression';
import express, { Router } from 'express';
import type { AuthConfig } from '../config.ts';
import { sendJson } from './respond.ts';

export const CLIENT_DIST = path.resolve(import.meta.dirname, '../../../client/dist');

/** Vite names built files `name-<8+ char content hash>.ext`: such a URL never changes meaning. */
const HASHED = /[/\\]assets[/\\][^/\\]+-[A-Za-z0-9_-]{8,}\.(?:js|mjs|css|woff2?|png|svg|jpg|webp|wasm)$/;

/**
 * The browser app at `/`, the admin console at `/admin`, and what they need to sign in.
 * Responses are compressed (brotli or gzip, as the browser accepts); hashed build files are
 * cached for a year as immutable, HTML is revalidated every time so a deploy shows at once.
 */
export function webRoutes(auth: AuthConfig, client: { imagingViewerUrl: string | null; fhirServer?: boolean; publicUrl?: () => string } = { imagingViewerUrl: null }): Router {
  const router = Router();
  router.use(compression({ threshold: 1024 }));
  router.get('/api/auth/config', (_req, res) => {
    sendJson(res, 'GET /api/auth/config', auth.mode === 'dev' ? { mode: 'dev' } : { mode: 'oidc', issuer: auth.issuer, clientId: auth.clientId, audience: auth.audience, scopes: auth.scopes });
  });
  // Site settings the browser app needs (no secrets): where imaging studies open.
  router.get('/api/client-config', (_req, res) => {
    sendJson(res, 'GET /api/client-config', { imagingViewerUrl: client.imagingViewerUrl, fhirServer: client.fhirServer === true, publicUrl: client.publicUrl?.() ?? '' });
  });
  if (!existsSync(path.join(CLIENT_DIST, 'index.html'))) return router;
  router.use(express.static(CLIENT_DIST, { index: false, setHeaders: cacheHeaders }));
  router.get('/', (_req, res) => res.sendFile(path.join(CLIENT_DIST, 'index.html'), { headers: { 'cache-control': 'no-cache' } }));
  router.get(['/admin', '/admin/'], (_req, res) => res.sendFile(path.join(CLIENT_DIST, 'admin.html'), { headers: { 'cache-control': 'no-cache' } }));
  return router;
}

function cacheHeaders(res: express.Response, file: string): void {
  if (file.endsWith('.html')) res.setHeader('cache-control', 'no-cache');
  else if (HASHED.test(file)) res.setHeader('cache-control', 'public, max-age=31536000, immutable');
  else res.setHeader('cache-control', 'public, max-age=3600');
}
