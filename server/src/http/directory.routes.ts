import { Router } from 'express';
import { DirectoryAuditQuery, DirectoryCasesQuery, DirectoryUsersQuery } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import type { Pool } from '../db/pool.ts';
import type { UsersRepo } from '../db/users.repo.ts';
import { authenticate, requireAdmin } from './authenticate.ts';
import { parseBody } from './validate.ts';
import { sendJson } from './respond.ts';

/**
 * What the admin console needs to provision rooms without copying ids: the users who have
 * signed in (the identity provider's directory as Consilium has seen it), the cases with
 * their patient's name, and the audit trail newest first. Admin only; reading the case
 * list and the audit trail is itself audited (ids and counts, never names).
 */
export function directoryRoutes(deps: { pool: Pool; users: Pick<UsersRepo, 'search'>; audit: AuditLog; identity: IdentityVerifier }): Router {
  const router = Router();
  router.use('/api/directory', authenticate(deps.identity));

  router.get('/api/directory/users', async (req, res) => {
    requireAdmin(res, 'directory.users');
    const q = parseBody(DirectoryUsersQuery, req.query, 'QUERY_INVALID');
    const users = await deps.users.search(q.q, q.limit);
    sendJson(res, 'GET /api/directory/users', { users: users.map((u) => ({ userId: u.id, name: u.name, admin: u.admin, lastSeenAt: u.lastSeenAt.toISOString() })) });
  });

  router.get('/api/directory/cases', async (req, res) => {
    const principal = requireAdmin(res, 'directory.cases');
    const q = parseBody(DirectoryCasesQuery, req.query, 'QUERY_INVALID');
    const { rows } = await deps.pool.query<{ id: string; patient_id: string; created_at: Date; resources: string; patient: Record<string, unknown> | null }>(
      `SELECT c.id, c.patient_id, c.created_at,
              (SELECT count(*) FROM case_resources r WHERE r.case_id = c.id) AS resources,
              (SELECT r.resource FROM case_resources r WHERE r.case_id = c.id AND r.resource_type = 'Patient' LIMIT 1) AS patient
         FROM cases c WHERE c.deleted_at IS NULL ORDER BY c.created_at DESC LIMIT $1`,
      [q.q ? 500 : q.limit],
    );
    let cases = rows.map((r) => ({ caseId: r.id, patientId: r.patient_id, createdAt: r.created_at.toISOString(), resources: Number(r.resources), ...patientSummary(r.patient) }));
    if (q.q) {
      const needle = q.q.toLowerCase();
      cases = cases.filter((c) => `${c.patientName} ${c.mrn ?? ''} ${c.caseId}`.toLowerCase().includes(needle)).slice(0, q.limit);
    }
    await deps.audit.record({ actor: principal.userId, action: 'case.read', details: { directory: true, cases: cases.map((c) => c.caseId) } });
    sendJson(res, 'GET /api/directory/cases', { cases });
  });

  router.get('/api/directory/audit', async (req, res) => {
    const principal = requireAdmin(res, 'audit.read');
    const q = parseBody(DirectoryAuditQuery, req.query, 'QUERY_INVALID');
    await deps.audit.flush();
    const rows = await deps.audit.query({
      roomId: q.room,
      userId: q.user,
      patientId: q.patient,
      actionPrefix: q.action,
      from: q.from ? new Date(q.from) : undefined,
      to: q.to ? new Date(q.to) : undefined,
      beforeSeq: q.before,
      order: 'newest-first',
      limit: q.limit,
    });
    await deps.audit.record({ actor: principal.userId, action: 'audit.read', details: { query: { ...q }, order: 'newest-first' } });
    const events = rows.map(({ prevHash: _p, hash: _h, ...event }) => event);
    sendJson(res, 'GET /api/directory/audit', { events, next: events.length === q.limit ? events[events.length - 1]!.seq : null });
  });

  return router;
}

/** Name, sex, birth year and MRN from an identified Patient (admins provisioning rooms see who it is). */
function patientSummary(p: Record<string, unknown> | null): { patientName: string; gender: string | null; birthYear: string | null; mrn: string | null } {
  const name = (p?.['name'] as { text?: string; family?: string; given?: string[] }[] | undefined)?.[0];
  const display = name?.text ?? [...(name?.given ?? []), name?.family].filter(Boolean).join(' ');
  const ids = (p?.['identifier'] as { value?: string; system?: string; type?: { coding?: { code?: string }[] } }[] | undefined) ?? [];
  const mrn = (ids.find((i) => i?.type?.coding?.some((c) => c.code === 'MR')) ?? ids.find((i) => !/ssn|social/i.test(String(i?.system ?? ''))))?.value ?? null;
  return { patientName: display || 'Unnamed patient', gender: typeof p?.['gender'] === 'string' ? (p['gender'] as string) : null, birthYear: typeof p?.['birthDate'] === 'string' ? (p['birthDate'] as string).slice(0, 4) : null, mrn };
}
