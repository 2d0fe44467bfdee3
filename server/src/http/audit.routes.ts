import { Router } from 'express';
import { z } from 'zod';
import { UserId } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import { toAuditEvent } from '../audit/fhir-audit-event.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { authenticate, requireAdmin } from './authenticate.ts';
import { parseBody } from './validate.ts';

const AuditQueryParams = z.strictObject({
  room: z.string().uuid().optional(),
  user: UserId.optional(),
  patient: z.string().uuid().optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'fhir']).default('json'),
});

export function auditRoutes(deps: { audit: AuditLog; identity: IdentityVerifier }): Router {
  const router = Router();
  router.use('/api/audit', authenticate(deps.identity));

  router.get('/api/audit', async (req, res) => {
    const principal = requireAdmin(res, 'audit.read');
    const q = parseBody(AuditQueryParams, req.query, 'QUERY_INVALID');
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
    res.json({ events: rows, next });
  });

  router.get('/api/audit/verify', async (_req, res) => {
    requireAdmin(res, 'audit.read');
    await deps.audit.flush();
    res.json(await deps.audit.verify());
  });

  return router;
}
