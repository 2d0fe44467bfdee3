import { randomUUID } from 'node:crypto';
import express, { Router, type Response } from 'express';
import { R4_RESOURCE_TYPES } from '../../../shared/src/fhir.ts';
import { CaseQuery, CaseReadBody, ImportQuery, PullBody, ResourcesQuery, type CaseImportResponse } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { accessVariant, readerOf, resourceVariant, type DataAccess, type Principal } from '../auth/policy.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import { readTypes, type TypeDisclosure } from '../domain/case-read.ts';
import { caseViewFor, preparedCase, variantOf, type CaseEntry } from '../domain/case-view.ts';
import { importResource } from '../domain/fhir-bundle.ts';
import type { PreparedImport } from '../domain/import-rows.ts';
import { clinicalYear } from '../domain/case-summary.ts';
import { AppError } from '../errors.ts';
import type { CaseImporter } from '../fhir/case-importer.ts';
import type { CasePuller } from '../fhir/case-puller.ts';
import type { SmartBackendAuth } from '../fhir/smart-backend.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';
import { authenticate, authorize, principalOf } from './authenticate.ts';
import { IMPORT_BODY_LIMIT, JSON_TYPES, readLargeBody, SMALL_BODY_LIMIT, smallJson } from './body.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import type { ImagingService } from '../imaging/imaging-service.ts';
import { parseBody, uuidParam } from './validate.ts';
import { caseReadOrDeny, type ReplayReadHolds } from './case-access.ts';
import { sendJson } from './respond.ts';

export interface CasesRoutesDeps {
  cases: CasesRepo;
  /** Non-admins read a case through a room that shows it (its access record decides). */
  rooms: RoomsRepo;
  /** …and through a replay room only while they hold its recording. */
  replays: ReplayReadHolds;
  identity: IdentityVerifier;
  live: LiveRooms;
  audit: AuditLog;
  /** Imports run on its worker thread. */
  importer: CaseImporter;
  /** A deleted case's images go with it. */
  imaging: Pick<ImagingService, 'purgeCase'>;
  /** null → no FHIR server configured. */
  puller?: CasePuller | null;
  smartAuth?: SmartBackendAuth | null;
}

export { IMPORT_BODY_LIMIT };
/** The routes' own small bodies (mounted before the app's smallJson): entries get the text rule from the import, with their paths. */
const smallBody = express.json({ limit: SMALL_BODY_LIMIT, type: JSON_TYPES });

/** A de-identified year query scans at most this many resources of the requested types. */
const MAX_YEAR_SCAN = 50_000;

export function casesRoutes(deps: CasesRoutesDeps): Router {
  const router = Router();

  /** Consilium's public key for SMART Backend Services: the hospital registers this URL (or its content) for the client. */
  router.get('/.well-known/fhir-client-jwks.json', async (_req, res) => {
    if (!deps.smartAuth) throw new AppError('NOT_FOUND');
    res.json(await deps.smartAuth.publicJwks());
  });

  // Authenticate before any body is read: an anonymous client never gets a large body parsed.
  router.use('/api/cases', authenticate(deps.identity));

  /** Store an import and answer with the honest report. */
  async function storeImport(res: Response, route: 'POST /api/cases' | 'POST /api/cases/pull', principal: Principal, result: PreparedImport, fhirPatientId?: string): Promise<CaseImportResponse> {
    const caseId = await deps.cases.createPrepared(result, principal.userId, fhirPatientId ? { fhirPatientId } : {});
    await deps.audit.record({
      actor: principal.userId,
      action: 'case.import',
      caseId,
      patientId: result.patientId,
      details: { counts: result.stored, refused: result.refused.length, skipped: result.skipped.length, ...(fhirPatientId ? { source: 'fhir-server' } : {}) },
    });
    const body: CaseImportResponse = { caseId, patientId: result.patientId, resources: result.count, stored: result.stored, refused: result.refused, skipped: result.skipped };
    sendJson(res, route, body, 201);
    return body;
  }

  /** The body is read only after the admin check; it is parsed, checked and turned into rows on the import worker. */
  router.post('/api/cases', authorize('case.import'), async (req, res) => {
    const principal = principalOf(res);
    const query = parseBody(ImportQuery, req.query, 'QUERY_INVALID');
    const body = await readLargeBody(req, IMPORT_BODY_LIMIT);
    // The text rule applies per entry there: one bad entry is refused alone (or sinks the bundle with allOrNothing).
    const answer = await deps.importer.run({ kind: 'body', body, allOrNothing: query.allOrNothing === 'true' });
    if (!answer.ok) throw answer.reason === 'json' ? new AppError('BODY_INVALID', 'Request body is not valid JSON') : new AppError('BODY_INVALID', 'The FHIR bundle is invalid', answer.problems);
    await storeImport(res, 'POST /api/cases', principal, answer.prepared);
  });

  /** Pull a patient's record from the hospital's FHIR server (`Patient/$everything`) into a new case; the answer is the import report. */
  router.post(
    '/api/cases/pull',
    authorize('case.import'),
    smallBody,
    async (req, res) => {
      const principal = principalOf(res);
      const body = parseBody(PullBody, req.body);
      if (!deps.puller) throw new AppError('FHIR_NOT_CONFIGURED');
      const { fhirPatientId, prepared } = await deps.puller.fetchPatient(body);
      await storeImport(res, 'POST /api/cases/pull', principal, prepared, fhirPatientId);
    },
  );

  /** Fetch the pulled case's record again and add what is new (new resources reach live rooms). */
  router.post('/api/cases/:id/refresh', authorize('case.import'), async (req, res) => {
    const principal = principalOf(res);
    const id = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    if (!deps.puller) throw new AppError('FHIR_NOT_CONFIGURED');
    sendJson(res, 'POST /api/cases/:id/refresh', await deps.puller.refresh(id, principal.userId));
  });

  /** The case filtered by the caller's own SMART scopes — the same selection a room makes. */
  router.get('/api/cases/:id', async (req, res) => {
    const principal = principalOf(res);
    const id = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const record = await deps.cases.get(id);
    if (!record) throw new AppError('CASE_NOT_FOUND');
    const { room } = parseBody(CaseQuery, req.query, 'QUERY_INVALID');
    const { access } = await readableOrDeny(principal, id, record.patientId, room);
    const { view, disclosed } = caseViewFor(preparedCase(record), record.resources, readerOf(access));
    await auditRead(principal, id, record.patientId, access, disclosed);
    sendJson(res, 'GET /api/cases/:id', view);
  });

  /**
   * Resources on demand (what the room state leaves out of a big case), newest
   * first, filtered by type, code and date, under the caller's scopes with the
   * same variant logic as the room. A de-identified caller may filter by year
   * only: a finer `before` would let them bisect real dates.
   */
  router.get('/api/cases/:id/resources', async (req, res) => {
    const principal = principalOf(res);
    const id = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const q = parseBody(ResourcesQuery, req.query, 'QUERY_INVALID');
    const head = await deps.cases.head(id);
    if (!head) throw new AppError('CASE_NOT_FOUND');
    const { access } = await readableOrDeny(principal, id, head.patientId, q.room);
    const visible = R4_RESOURCE_TYPES.filter((t) => resourceVariant(access, t) !== null);
    if (q.type && !visible.includes(q.type)) {
      await deps.audit.record({ actor: principal.userId, action: 'case.read', outcome: 'failure', caseId: id, patientId: head.patientId, details: { code: 'SCOPE_DENIED', type: q.type } });
      throw new AppError('SCOPE_DENIED');
    }
    if (q.before && !access.identified && !/^\d{4}$/.test(q.before)) throw new AppError('QUERY_INVALID', 'de-identified views page by year only (before=YYYY)');
    // De-identified callers page by the year as written (an instant-based boundary would tell them which side of
    // midnight a New Year's Eve reading in a local offset falls on); identified callers by the instant.
    const byYear = q.before !== undefined && !access.identified;
    const before = q.before && !byYear ? new Date(/^\d{4}$/.test(q.before) ? `${q.before}-01-01T00:00:00Z` : q.before) : undefined;
    if (before && Number.isNaN(before.getTime())) throw new AppError('QUERY_INVALID', 'before is not a valid date');
    const query = { types: q.type ? [q.type] : visible, ...(q.code ? { code: q.code } : {}) };
    const rows = byYear
      ? (await deps.cases.listResources(id, { ...query, limit: MAX_YEAR_SCAN, offset: 0 })).filter((r) => (clinicalYear(r) ?? Infinity) < Number(q.before)).slice(q.offset, q.offset + q.limit)
      : await deps.cases.listResources(id, { ...query, ...(before ? { before } : {}), limit: q.limit, offset: q.offset });
    // The Patient is read even when not disclosed: its identity is what a reader without Patient scope must not get.
    const patient = await deps.cases.listResources(id, { types: ['Patient'], limit: 1, offset: 0 });
    const { view, disclosed } = caseViewFor(preparedCase({ ...head, resources: patient }), rows, readerOf(access));
    await auditRead(principal, id, head.patientId, access, disclosed);
    // Paging by offset: a date cursor would hand de-identified callers real dates.
    sendJson(res, 'GET /api/cases/:id/resources', { ...view, nextOffset: rows.length === q.limit ? q.offset + q.limit : null });
  });

  /**
   * Several types at once, each paged as the single-type read pages it (no code or date filter):
   * what a view that needs several types asks for in one request, audited as one `case.read` that
   * lists per type the copy given and how many (none is still a read about the patient), or the
   * refusal. A type the policy gives this reader no copy of is withheld, named in the answer and
   * the row; when every type asked for is refused the read fails as a refused single-type read does.
   */
  router.post('/api/cases/:id/resources/query', ...smallJson(), async (req, res) => {
    const principal = principalOf(res);
    const id = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const q = parseBody(CaseReadBody, req.body);
    const head = await deps.cases.head(id);
    if (!head) throw new AppError('CASE_NOT_FOUND');
    // The row names the room only when the read went through it (not one an administrator merely named).
    const { access, roomId } = await readableOrDeny(principal, id, head.patientId, q.room);
    const reader = readerOf(access);
    const readable = q.types.filter((t) => reader.variantFor(t) !== null);
    if (readable.length === 0) {
      const types = Object.fromEntries(q.types.map((t) => [t, { code: 'SCOPE_DENIED' }]));
      await deps.audit.record({ actor: principal.userId, action: 'case.read', outcome: 'failure', caseId: id, patientId: head.patientId, roomId, details: { code: 'SCOPE_DENIED', types } });
      throw new AppError('SCOPE_DENIED');
    }
    // One more of each type than asked: whether it has more, without a count of the rest.
    const rows = await deps.cases.listResourcesPerType(id, readable, { limit: q.limit + 1, offset: q.offset });
    // The Patient is read even when not disclosed: its identity is what a reader without Patient scope must not get.
    const patient = await deps.cases.listResources(id, { types: ['Patient'], limit: 1, offset: 0 });
    const read = readTypes(preparedCase({ ...head, resources: patient }), q.types, rows, reader, q);
    await auditRead(principal, id, head.patientId, access, read.disclosed, { roomId, perType: read.perType });
    sendJson(res, 'POST /api/cases/:id/resources/query', { caseId: id, deidentified: !access.identified, types: read.answer });
  });

  router.delete('/api/cases/:id', authorize('case.delete'), async (req, res) => {
    const principal = principalOf(res);
    const id = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const patientId = await deps.cases.patientOf(id);
    if (!patientId || !(await deps.cases.delete(id))) throw new AppError('CASE_NOT_FOUND');
    const { files } = await deps.imaging.purgeCase(id);
    await deps.audit.record({ actor: principal.userId, action: 'case.delete', caseId: id, patientId, details: { imagingFiles: files } });
    await deps.live.callShowingCase(id, 'caseDeleted');
    res.status(204).end();
  });

  /** Live vitals from a monitor or integration engine; delivered to every live room showing the case. */
  router.post(
    '/api/cases/:id/observations',
    authorize('case.ingest'),
    smallBody,
    async (req, res) => {
      const principal = principalOf(res);
      const id = uuidParam(req.params.id, 'CASE_NOT_FOUND');
      const patientId = await deps.cases.patientOf(id);
      if (!patientId) throw new AppError('CASE_NOT_FOUND');
      const result = importResource(req.body, 'Observation', patientId, randomUUID);
      if (!result.ok) throw new AppError('BODY_INVALID', 'The Observation is invalid', result.problems);
      await deps.cases.addResource(id, result.resource);
      await deps.audit.record({ actor: principal.userId, action: 'observation.ingest', caseId: id, patientId, details: { resources: [`Observation/${result.resource.id}`] } });
      const deliveredToRooms = await deps.live.callShowingCase(id, 'addCaseResource', result.resource);
      sendJson(res, 'POST /api/cases/:id/observations', { id: result.resource.id, deliveredToRooms }, 201);
    },
  );

  const readableOrDeny = (principal: Principal, caseId: string, patientId: string, roomId: string | undefined) => caseReadOrDeny(deps, principal, caseId, patientId, roomId);

  /**
   * One row per read. `resources` names every copy sent (type/server id; the FHIR AuditEvent's
   * entities); a read of several types adds `types`: per type asked, the copy and count, or the refusal.
   */
  async function auditRead(principal: Principal, caseId: string, patientId: string, access: DataAccess, disclosed: CaseEntry[], several?: { roomId: string | null; perType: Partial<Record<string, TypeDisclosure>> }): Promise<void> {
    const resources = disclosed.map((e) => `${e.resourceType}/${e.resourceId}`);
    await deps.audit.record({
      actor: principal.userId,
      action: 'case.read',
      caseId,
      patientId,
      ...(several ? { roomId: several.roomId } : {}),
      details: {
        // Nothing found to send: the copy this reader would have been given (identity-withheld included).
        variant: disclosed.length ? variantOf(disclosed) : accessVariant(access),
        basis: 'scope',
        scope: principal.scopes.filter((s) => s.startsWith('patient/') || s === 'deidentified'),
        resources,
        ...(several ? { types: several.perType } : {}),
      },
    });
  }

  return router;
}

