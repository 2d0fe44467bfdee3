import { Router } from 'express';
import { AuditQuery } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { checkpointMessage, latestCheckpoint } from '../audit/checkpoints.ts';
import type { AuditCheckpoints } from '../audit/setup.ts';
import type { Pool } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import { toAuditEvent } from '../audit/fhir-audit-event.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { authenticate, requireAdmin } from './authenticate.ts';
import { parseBody } from './validate.ts';
import { sendJson } from './respond.ts';

export function auditRoutes(deps: { audit: AuditLog; identity: IdentityVerifier; pool: Pool; checkpoints: AuditCheckpoints | null }): Router {
  const router = Router();

  // Public, before authentication: an auditor pins the key and keeps copies of checkpoints.
  router.get('/api/audit/checkpoint-key', (_req, res) => {
    if (!deps.checkpoints) throw new AppError('NOT_FOUND', 'Audit checkpoints are off on this server');
    const { key, trustedKeys } = deps.checkpoints;
    sendJson(res, 'GET /api/audit/checkpoint-key', {
      algorithm: 'Ed25519',
      keyId: key.keyId,
      publicKeyPem: key.publicKeyPem,
      previousKeys: trustedKeys.filter((k) => k.keyId !== key.keyId).map((k) => ({ keyId: k.keyId, publicKeyPem: k.publicKeyPem })),
      messageFormat: 'consilium-audit-checkpoint/v1\\n<treeSize>\\n<rootHash>\\n<signedAt>\\n, signed with Ed25519; keyId = sha256 of the DER public key',
    });
  });
  router.get('/api/audit/checkpoints/latest', async (_req, res) => {
    if (!deps.checkpoints) throw new AppError('NOT_FOUND', 'Audit checkpoints are off on this server');
    const c = await latestCheckpoint(deps.pool, deps.checkpoints.trustedKeys);
    if (!c) throw new AppError('NOT_FOUND', 'No checkpoint has been signed yet');
    sendJson(res, 'GET /api/audit/checkpoints/latest', { ...c, message: checkpointMessage(c) });
  });

  router.use('/api/audit', authenticate(deps.identity));

  router.get('/api/audit', async (req, res) => {
    const principal = requireAdmin(res, 'audit.read');
    const q = parseBody(AuditQuery, req.query, 'QUERY_INVALID');
    await deps.audit.flush();
    const rows = await deps.audit.query({
      roomId: q.room,
      userId: q.user,
      patientId: q.patient,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      afterSeq: q.after,
      limit: q.limit,
    });
    // Reading the trail is itself audited.
    await deps.audit.record({ actor: principal.userId, action: 'audit.read', details: { query: { ...q } } });
    const next = rows.length === q.limit ? rows[rows.length - 1]!.seq : null;
    if (q.format === 'fhir') {
      res.type('application/fhir+json').json({
        resourceType: 'Bundle',
        type: 'searchset',
        total: rows.length,
        entry: rows.map((r) => ({ resource: toAuditEvent(r) })),
        link: next !== null ? [{ relation: 'next', url: `?after=${next}&limit=${q.limit}&format=fhir` }] : [],
      });
      return;
    }
    sendJson(res, 'GET /api/audit', { events: rows, next });
  });

  router.get('/api/audit/verify', async (_req, res) => {
    requireAdmin(res, 'audit.read');
    await deps.audit.flush();
    sendJson(res, 'GET /api/audit/verify', await deps.audit.verify());
  });

  return router;
}
