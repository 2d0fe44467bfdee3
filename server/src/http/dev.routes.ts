import { Router } from 'express';
import { DevLoginBody } from '../../../shared/src/http.ts';
import type { DevIssuer } from '../auth/dev-issuer.ts';
import { parseBody } from './validate.ts';
import { sendJson } from './respond.ts';

/** Development identity provider endpoints; mounted only when it is enabled. */
export function devRoutes(issuer: DevIssuer): Router {
  const router = Router();
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.json(issuer.jwks);
  });
  router.post('/api/dev/login', async (req, res) => {
    const body = parseBody(DevLoginBody, req.body);
    sendJson(res, 'POST /api/dev/login', await issuer.login(body));
  });
  return router;
}
