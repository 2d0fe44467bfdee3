import { Router, type ErrorRequestHandler, type Request } from 'express';
import { z } from 'zod';
import type { ImagingVariant } from '../../../shared/src/imaging.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { imagingAccess, type DataAccess, type Principal } from '../auth/policy.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import { patientMismatch } from '../domain/dicom-patient-match.ts';
import { mayCarryBurnedInIdentity, seriesView, uidFor } from '../domain/dicom-view.ts';
import { AppError } from '../errors.ts';
import { frameFor } from '../domain/frame-sanitize.ts';
import { FrameOutOfRange, frameParts, NotDicom, num, str, type DicomHeader, type InstanceIndex, unsupportedSyntax, UnsupportedImage } from '../domain/dicom.ts';
import { indexDicomFile } from '../imaging/dicom-off-thread.ts';
import { ImagingService, PatientMismatch, readFrameBytes, unreviewedBurnedIn, type AttachedStudy } from '../imaging/imaging-service.ts';
import { UploadTooLarge, type LocalImagingStore } from '../imaging/local-store.ts';
import { ImagingSourceError } from '../imaging/source.ts';
import { authenticate, principalOf, requireAdmin } from './authenticate.ts';
import { caseAccessOrDeny } from './case-access.ts';
import { sendJson } from './respond.ts';
import { parseBody, uuidParam } from './validate.ts';

/** The frame route's path under /api (it has a rate budget of its own: app.ts). */
export const IMAGING_FRAME_PATH = /^\/cases\/[^/]+\/imaging\/series\/[^/]+\/instances\/[^/]+\/frames\/[^/]+$/;

export interface ImagingRoutesDeps {
  cases: CasesRepo;
  rooms: RoomsRepo;
  identity: IdentityVerifier;
  audit: AuditLog;
  imaging: ImagingService;
  local: LocalImagingStore;
}

const RoomQuery = z.looseObject({ room: z.string().uuid().optional() });
const UID = /^[0-9]{1,40}(\.[0-9]{1,40}){0,30}$/;
const uidParam = (v: string | string[] | undefined): string => {
  if (typeof v === 'string' && v.length <= 64 && UID.test(v)) return v;
  throw new AppError('IMAGING_NOT_FOUND');
};

/**
 * A case's DICOM images over HTTP, read through a room like the case itself
 * (`?room=`): access is decided afresh on every request, so a revoked or
 * kicked participant's next slice is refused. Only readers whose access
 * includes ImagingStudy get anything; each series opened is audited.
 */
export function imagingRoutes(deps: ImagingRoutesDeps): Router {
  const router = Router();
  router.use('/api/cases/:id/imaging', authenticate(deps.identity));

  /** An admin uploads one DICOM Part 10 file (Content-Type: application/dicom), checked against the case's patient. */
  router.post('/api/cases/:id/imaging/instances', async (req, res) => {
    const principal = requireAdmin(res, 'imaging.upload');
    const caseId = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const head = await deps.cases.head(caseId);
    if (!head) throw new AppError('CASE_NOT_FOUND');
    if ((req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/dicom') throw new AppError('IMAGING_NOT_DICOM', 'Send one DICOM Part 10 file as application/dicom');
    const file = await deps.local.receive(req).catch((err: unknown) => {
      throw err instanceof UploadTooLarge ? new AppError('BODY_INVALID', `A DICOM file may be at most ${err.limit} bytes`) : err;
    });
    try {
      let index: InstanceIndex;
      try {
        // Off the event loop, within an element budget (domain/dicom-scan.ts), a heap cap and a time limit.
        index = await indexDicomFile(file.tmp);
      } catch (err) {
        throw err instanceof NotDicom ? new AppError('IMAGING_NOT_DICOM', `Not a DICOM Part 10 file: ${err.message}`) : err;
      }
      const h = index.header;
      const [studyUid, seriesUid, sopUid] = [str(h, 'studyInstanceUid'), str(h, 'seriesInstanceUid'), str(h, 'sopInstanceUid')];
      if (!studyUid || !seriesUid || !sopUid || ![studyUid, seriesUid, sopUid].every((u) => UID.test(u) && u.length <= 64)) throw new AppError('IMAGING_NOT_DICOM', 'The file lacks valid Study, Series or SOP Instance UIDs');
      const syntax = unsupportedSyntax(str(h, 'transferSyntaxUid'));
      if (syntax) throw new AppError('IMAGING_UNSUPPORTED', syntax);
      const differs = patientMismatch(h, await deps.imaging.patient(caseId));
      if (differs.length) {
        await deps.audit.record({ actor: principal.userId, action: 'imaging.upload', outcome: 'failure', caseId, patientId: head.patientId, details: { code: 'IMAGING_PATIENT_MISMATCH', differs } });
        throw new AppError('IMAGING_PATIENT_MISMATCH', new PatientMismatch(differs).message, { differs });
      }
      const stored = await deps.local.storedHash(caseId, sopUid);
      if (stored && stored !== file.sha256) throw new AppError('IMAGING_NOT_DICOM', 'Another file with this SOP Instance UID is already stored in this case');
      const created = stored ? false : await deps.local.keep(caseId, file.tmp, file, index, principal.userId);
      await deps.imaging.attach(caseId, studyUid, 'upload', principal.userId);
      await deps.audit.record({ actor: principal.userId, action: 'imaging.upload', caseId, patientId: head.patientId, details: { studyUid, seriesUid, sopUid, bytes: file.bytes } });
      sendJson(res, 'POST /api/cases/:id/imaging/instances', { studyUid, seriesUid, sopUid, created }, created ? 201 : 200);
    } finally {
      await deps.local.discard(file.tmp);
    }
  });

  /** An admin has looked at a series and found no identity burned into it: de-identified viewers may see the instances it holds now. */
  router.post('/api/cases/:id/imaging/series/:seriesUid/clean', async (req, res) => {
    const principal = requireAdmin(res, 'imaging.mark-clean');
    const caseId = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const head = await deps.cases.head(caseId);
    if (!head) throw new AppError('CASE_NOT_FOUND');
    const seriesUid = uidParam(req.params.seriesUid);
    const found = await deps.imaging.resolveSeries(caseId, 'identified', head.pseudonymKey, seriesUid);
    if (!found) throw new AppError('IMAGING_NOT_FOUND');
    const instances = await deps.imaging.markClean(caseId, found.study, seriesUid, principal.userId);
    await deps.audit.record({ actor: principal.userId, action: 'imaging.mark-clean', caseId, patientId: head.patientId, details: { seriesUid, instances } });
    sendJson(res, 'POST /api/cases/:id/imaging/series/:seriesUid/clean', { ok: true });
  });

  /** Who reads, as what: null → no ImagingStudy in their access (SCOPE_DENIED, audited). */
  async function reader(req: Request, principal: Principal, action: 'case.read' | 'imaging.series-open') {
    const caseId = uuidParam(req.params['id'], 'CASE_NOT_FOUND');
    const head = await deps.cases.head(caseId);
    if (!head) throw new AppError('CASE_NOT_FOUND');
    const { room } = parseBody(RoomQuery, req.query, 'QUERY_INVALID');
    const access: DataAccess = await caseAccessOrDeny(deps, principal, caseId, head.patientId, room, action);
    const base = imagingAccess(access, { burnedInRisk: false, markedClean: false });
    if (!base || base.variant === null) {
      await deps.audit.record({ actor: principal.userId, action, outcome: 'failure', caseId, patientId: head.patientId, roomId: room ?? null, details: { code: 'SCOPE_DENIED', type: 'ImagingStudy' } });
      throw new AppError('SCOPE_DENIED');
    }
    return { caseId, head, access, room: room ?? null, variant: base.variant as ImagingVariant, key: head.pseudonymKey };
  }

  /** A series the viewer names, resolved, patient-checked (study and every instance), and not withheld from them. */
  async function openSeries(r: Awaited<ReturnType<typeof reader>>, shownSeries: string): Promise<{ study: AttachedStudy; seriesUid: string; studyHeader: DicomHeader; instances: DicomHeader[]; patient: Record<string, unknown> }> {
    const found = await deps.imaging.resolveSeries(r.caseId, r.variant, r.key, shownSeries);
    if (!found) throw new AppError('IMAGING_NOT_FOUND');
    const patient = await deps.imaging.patient(r.caseId);
    const studyHeader = await deps.imaging.checkedStudy(r.caseId, found.study, patient);
    const instances = await deps.imaging.checkedInstances(r.caseId, found.study, found.seriesUid, patient);
    // Clean only when every instance that may show identity was marked: one added after the mark withholds the series again.
    const unreviewed = unreviewedBurnedIn(found.seriesUid, instances, await deps.imaging.cleanInstances(r.caseId));
    const decision = imagingAccess(r.access, { burnedInRisk: instances.some(mayCarryBurnedInIdentity), markedClean: !unreviewed });
    if (!decision || 'withheld' in decision) throw new AppError('IMAGING_WITHHELD');
    return { ...found, studyHeader, instances, patient };
  }

  router.get('/api/cases/:id/imaging', async (req, res) => {
    const r = await reader(req, principalOf(res), 'case.read');
    sendJson(res, 'GET /api/cases/:id/imaging', await deps.imaging.list(r.caseId, r.variant, r.key));
  });

  router.get('/api/cases/:id/imaging/series/:seriesUid', async (req, res) => {
    const principal = principalOf(res);
    const r = await reader(req, principal, 'imaging.series-open');
    const { study, seriesUid, studyHeader, instances } = await openSeries(r, uidParam(req.params.seriesUid));
    await deps.audit.record({ actor: principal.userId, action: 'imaging.series-open', caseId: r.caseId, patientId: r.head.patientId, roomId: r.room, details: { variant: r.variant, studyUid: study.studyUid, seriesUid, instances: instances.length, resources: [] } });
    sendJson(res, 'GET /api/cases/:id/imaging/series/:seriesUid', seriesView(r.variant, r.key, studyHeader, instances));
  });

  /** One frame's pixel data as stored: raw little-endian samples (octet-stream) or a JPEG baseline bitstream. */
  router.get('/api/cases/:id/imaging/series/:seriesUid/instances/:sopUid/frames/:frame', async (req, res) => {
    const r = await reader(req, principalOf(res), 'case.read');
    const { study, seriesUid, instances, patient } = await openSeries(r, uidParam(req.params.seriesUid));
    const shownSop = uidParam(req.params.sopUid);
    const sop = instances.map((h) => str(h, 'sopInstanceUid')).find((u) => u !== undefined && uidFor(r.variant, r.key, u) === shownSop);
    if (!sop) throw new AppError('IMAGING_NOT_FOUND');
    const frame = Number(req.params.frame);
    // Parsed once (at upload or when cached, off the event loop); a frame read only reads its own bytes.
    const { file, index } = await deps.imaging.indexedInstance(r.caseId, study, seriesUid, sop);
    const h = index.header;
    // The file must be what the index says it is: another study's or series' bytes are never served under this one.
    if (str(h, 'studyInstanceUid') !== study.studyUid || str(h, 'seriesInstanceUid') !== seriesUid || str(h, 'sopInstanceUid') !== sop) throw new AppError('IMAGING_NOT_FOUND');
    // And it must name the case's patient itself: the archive's metadata and the file it serves can disagree.
    const differs = patientMismatch(h, patient);
    if (differs.length) throw new PatientMismatch(differs, 'instance');
    const { kind, parts } = frameParts(index.pixels, frame);
    // Only identified viewers get the frame as stored: for everyone else JPEG text segments are dropped and bits outside BitsStored cleared.
    const px = frameFor(r.variant === 'identified', { kind, bytes: await readFrameBytes(file, parts) }, { bitsAllocated: num(h, 'bitsAllocated'), bitsStored: num(h, 'bitsStored'), highBit: num(h, 'highBit'), pixelRepresentation: num(h, 'pixelRepresentation') });
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('Content-Type', px.kind === 'jpeg' ? 'image/jpeg' : 'application/octet-stream');
    res.end(Buffer.from(px.bytes.buffer, px.bytes.byteOffset, px.bytes.byteLength));
  });

  router.use('/api/cases/:id/imaging', ((err, _req, _res, next) => next(imagingErrorToAppError(err) ?? err)) as ErrorRequestHandler);
  return router;
}

/** Imaging failures as stable error codes, with the plain message. */
export function imagingErrorToAppError(err: unknown): AppError | null {
  if (err instanceof ImagingSourceError) return new AppError(err.code, err.message);
  if (err instanceof PatientMismatch) return new AppError('IMAGING_PATIENT_MISMATCH', err.message, { differs: err.differs });
  if (err instanceof UnsupportedImage) return new AppError('IMAGING_UNSUPPORTED', err.message);
  if (err instanceof FrameOutOfRange) return new AppError('IMAGING_NOT_FOUND', err.message);
  if (err instanceof NotDicom) return new AppError('IMAGING_NOT_DICOM', err.message);
  return null;
}
