import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { Router } from 'express';
import type { AuthConfig } from '../config.ts';

export const CLIENT_DIST = path.resolve(import.meta.dirname, '../../../client/dist');

/** The browser app at `/`, the admin console at `/admin`, and what they need to sign in. */
export function webRoutes(auth: AuthConfig): Router {
  const router = Router();
  router.get('/api/auth/config', (_req, res) => {
    res.json(auth.mode === 'dev' ? { mode: 'dev' } : { mode: 'oidc', issuer: auth.issuer, clientId: auth.clientId, audience: auth.audience });
  });
  if (!existsSync(path.join(CLIENT_DIST, 'index.html'))) return router;
  router.use(express.static(CLIENT_DIST, { index: false, maxAge: '1h', setHeaders: noCacheHtml }));
  router.get('/', (_req, res) => res.sendFile(path.join(CLIENT_DIST, 'index.html'), { headers: { 'cache-control': 'no-cache' } }));
  router.get(['/admin', '/admin/'], (_req, res) => res.sendFile(path.join(CLIENT_DIST, 'admin.html'), { headers: { 'cache-control': 'no-cache' } }));
  return router;
}

function noCacheHtml(res: express.Response, file: string): void {
  if (file.endsWith('.html')) res.setHeader('cache-control', 'no-cache');
}
