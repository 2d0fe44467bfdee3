import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import type { CaseImportResponse } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { parseScopes } from '../auth/policy.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import { caseViewFor } from '../domain/case-view.ts';
import { importBundle, importResource } from '../domain/fhir-bundle.ts';
import { AppError } from '../errors.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';
import { preparedCase } from '../rooms/case-loader.ts';
import { authenticate, authorize, principalOf, requireAdmin } from './authenticate.ts';
import { readLargeJson, smallJson } from './body.ts';
import { uuidParam } from './validate.ts';

export interface CasesRoutesDeps {
  cases: CasesRepo;
  identity: IdentityVerifier;
  live: LiveRooms;
  audit: AuditLog;
}

export function casesRoutes(deps: CasesRoutesDeps): Router {
  const router = Router();
  router.use('/api/cases', authenticate(deps.identity));

  // Case bundles (with imaging metadata, documents) are bigger than other bodies: read only
  // after authorization, streamed and parsed off the event loop, with the text rule applied
  // to the raw bundle before the importer sees it.
  router.post('/api/cases', authorize('case.import'), async (req, res) => {
    const principal = principalOf(res);
    const bundle = await readLargeJson(req);
    const result = importBundle(bundle, randomUUID);
    if (!result.ok) throw new AppError('BODY_INVALID', 'The FHIR bundle is invalid', result.problems);
    const caseId = await deps.cases.createImported(result.patient, result.resources, principal.userId);
    const counts: Record<string, number> = {};
    for (const r of [result.patient, ...result.resources]) counts[r.resourceType] = (counts[r.resourceType] ?? 0) + 1;
    await deps.audit.record({ actor: principal.userId, action: 'case.import', caseId, patientId: result.patient.id, details: { counts } });
    const body: CaseImportResponse = { caseId, patientId: result.patient.id, resources: result.resources.length + 1 };
    res.status(201).json(body);
  });

  /** The case filtered by the caller's own SMART scopes — the same selection a room makes. */
  router.get('/api/cases/:id', async (req, res) => {
    const principal = principalOf(res);
    const id = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const record = await deps.cases.get(id);
    if (!record) throw new AppError('CASE_NOT_FOUND');
    const access = parseScopes(principal.scopes);
    if (access.types.size === 0) {
      await deps.audit.record({ actor: principal.userId, action: 'case.read', outcome: 'failure', caseId: id, patientId: record.patientId, details: { code: 'SCOPE_DENIED' } });
      throw new AppError('SCOPE_DENIED');
    }
    const { view, disclosed } = caseViewFor(preparedCase(record), record.resources, access);
    await deps.audit.record({
      actor: principal.userId,
      action: 'case.read',
      caseId: id,
      patientId: record.patientId,
      details: { variant: access.identified ? 'identified' : 'deidentified', basis: 'scope', scope: principal.scopes.filter((s) => s.startsWith('patient/') || s === 'deidentified'), resources: disclosed.map((e) => `${e.resourceType}/${e.resourceId}`) },
    });
    res.json(view);
  });

  router.delete('/api/cases/:id', async (req, res) => {
    const principal = requireAdmin(res, 'case.delete');
    const id = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const patientId = await deps.cases.patientOf(id);
    if (!patientId || !(await deps.cases.delete(id))) throw new AppError('CASE_NOT_FOUND');
    await deps.audit.record({ actor: principal.userId, action: 'case.delete', caseId: id, patientId });
    await deps.live.callShowingCase(id, 'caseDeleted');
    res.status(204).end();
  });

  /** Live vitals from a monitor or integration engine; delivered to every live room showing the case. */
  router.post('/api/cases/:id/observations', authorize('case.ingest'), ...smallJson(), async (req, res) => {
    const principal = principalOf(res);
    const id = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const patientId = await deps.cases.patientOf(id);
    if (!patientId) throw new AppError('CASE_NOT_FOUND');
    const result = importResource(req.body, 'Observation', patientId, randomUUID);
    if (!result.ok) throw new AppError('BODY_INVALID', 'The Observation is invalid', result.problems);
    await deps.cases.addResource(id, result.resource);
    await deps.audit.record({ actor: principal.userId, action: 'observation.ingest', caseId: id, patientId, details: { resources: [`Observation/${result.resource.id}`] } });
    const deliveredToRooms = await deps.live.callShowingCase(id, 'addCaseResource', result.resource);
    res.status(201).json({ id: result.resource.id, deliveredToRooms });
  });

  return router;
}
