import { Router, type ErrorRequestHandler, type Request } from 'express';
import { z } from 'zod';
import { DICOM_UID, MarkCleanBody, type ImagingVariant, type ImagingZipUploadResponse } from '../../../shared/src/imaging.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { imagingAccess, type DataAccess, type Principal } from '../auth/policy.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import { patientMismatch } from '../domain/dicom-patient-match.ts';
import { AppError } from '../errors.ts';
import { frameFor } from '../domain/frame-sanitize.ts';
import { FrameOutOfRange, frameParts, NotDicom, num, str, type InstanceIndex, unsupportedSyntax, UnsupportedImage } from '../domain/dicom.ts';
import { WrongFile, type CheckedSeries } from '../imaging/checked-series.ts';
import { indexDicomFile, ZipRefused } from '../imaging/dicom-off-thread.ts';
import { ImagingService, NotInSeries, PatientMismatch } from '../imaging/imaging-service.ts';
import { SopTaken, UploadTooLarge, type LocalImagingStore } from '../imaging/local-store.ts';
import { ImagingSourceError, ZIP_LIMITS } from '../imaging/source.ts';
import { instanceUids, NoImages, SopConflict, storeZip, ZipPatientMismatch } from '../imaging/uploads.ts';
import { authenticate, principalOf, requireAdmin } from './authenticate.ts';
import { caseAccessOrDeny, type ReplayReadHolds } from './case-access.ts';
import { jsonUpTo, MARK_CLEAN_BODY_LIMIT } from './body.ts';
import { sendJson } from './respond.ts';
import { parseBody, uuidParam } from './validate.ts';

/** The frame route's path under /api (it has a rate budget of its own: app.ts). */
export const IMAGING_FRAME_PATH = /^\/cases\/[^/]+\/imaging\/series\/[^/]+\/instances\/[^/]+\/frames\/[^/]+$/;

export interface ImagingRoutesDeps {
  cases: CasesRepo;
  rooms: RoomsRepo;
  /** A replay room shows its case only while the reader holds its recording. */
  replays: ReplayReadHolds;
  identity: IdentityVerifier;
  audit: AuditLog;
  imaging: ImagingService;
  local: LocalImagingStore;
}

const RoomQuery = z.looseObject({ room: z.string().uuid().optional() });
const ZIP_TYPES = new Set(['application/zip', 'application/x-zip-compressed']);
const mediaType = (req: Request) => (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
const uidParam = (v: string | string[] | undefined): string => {
  if (typeof v === 'string' && v.length <= 64 && DICOM_UID.test(v)) return v;
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
    if (mediaType(req) !== 'application/dicom') throw new AppError('IMAGING_NOT_DICOM', 'Send one DICOM Part 10 file as application/dicom (a zip of them to …/imaging/zip)');
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
      const uids = instanceUids(h);
      if (!uids) throw new AppError('IMAGING_NOT_DICOM', 'The file lacks valid Study, Series or SOP Instance UIDs');
      const { studyUid, seriesUid, sopUid } = uids;
      const syntax = unsupportedSyntax(str(h, 'transferSyntaxUid'));
      if (syntax) throw new AppError('IMAGING_UNSUPPORTED', syntax);
      const differs = patientMismatch(h, await deps.imaging.patient(caseId));
      if (differs.length) {
        await deps.audit.record({ actor: principal.userId, action: 'imaging.upload', outcome: 'failure', caseId, patientId: head.patientId, details: { code: 'IMAGING_PATIENT_MISMATCH', differs } });
        throw new AppError('IMAGING_PATIENT_MISMATCH', new PatientMismatch(differs).message, { differs });
      }
      const stored = await deps.local.storedHash(caseId, sopUid);
      if (stored && stored !== file.sha256) throw new AppError('IMAGING_NOT_DICOM', 'Another file with this SOP Instance UID is already stored in this case');
      const created = stored ? false : await deps.local.keep(caseId, file.tmp, file, index, principal.userId).catch((err: unknown) => {
        throw err instanceof SopTaken ? new AppError('IMAGING_NOT_DICOM', 'Another file with this SOP Instance UID is already stored in this case') : err;
      });
      await deps.imaging.attach(caseId, studyUid, 'upload', principal.userId);
      await deps.audit.record({ actor: principal.userId, action: 'imaging.upload', caseId, patientId: head.patientId, details: { studyUid, seriesUid, sopUid, bytes: file.bytes } });
      sendJson(res, 'POST /api/cases/:id/imaging/instances', { studyUid, seriesUid, sopUid, created }, created ? 201 : 200);
    } finally {
      await deps.local.discard(file.tmp);
    }
  });

  /**
   * An admin uploads a study as one zip of DICOM Part 10 files (application/zip): streamed to disk, read
   * entry by entry on a worker within ZIP_LIMITS, every image checked as a single upload is, and stored
   * all together or not at all (uploads.ts storeZip). Entries that are not DICOM images are skipped and counted.
   */
  router.post('/api/cases/:id/imaging/zip', async (req, res) => {
    const principal = requireAdmin(res, 'imaging.upload');
    const caseId = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const head = await deps.cases.head(caseId);
    if (!head) throw new AppError('CASE_NOT_FOUND');
    if (!ZIP_TYPES.has(mediaType(req))) throw new AppError('IMAGING_ZIP_REFUSED', 'Send the study as one zip file (application/zip)');
    const file = await deps.local.receive(req, ZIP_LIMITS.zipBytes).catch((err: unknown) => {
      throw err instanceof UploadTooLarge ? new AppError('IMAGING_ZIP_REFUSED', `A zip may be at most ${err.limit} bytes; larger studies belong in the PACS (DICOMWEB_URL)`) : err;
    });
    const failed = (details: Record<string, unknown>) => deps.audit.record({ actor: principal.userId, action: 'imaging.upload', outcome: 'failure', caseId, patientId: head.patientId, details: { zip: true, bytes: file.bytes, ...details } });
    let stored: ImagingZipUploadResponse;
    try {
      stored = await storeZip(deps, caseId, file.tmp, principal.userId).catch(async (err: unknown) => {
        if (err instanceof ZipPatientMismatch) {
          await failed({ code: 'IMAGING_PATIENT_MISMATCH', differs: err.differs });
          throw new AppError('IMAGING_PATIENT_MISMATCH', err.message, { differs: err.differs, files: err.names });
        }
        if (err instanceof ZipRefused) {
          await failed({ code: 'IMAGING_ZIP_REFUSED' });
          throw new AppError('IMAGING_ZIP_REFUSED', `The zip was not read: ${err.message}. Nothing was stored.`);
        }
        if (err instanceof NoImages) throw new AppError('IMAGING_NOT_DICOM', 'The zip holds no DICOM Part 10 image (nothing was stored)', { skipped: err.skipped });
        if (err instanceof SopConflict) throw new AppError('IMAGING_NOT_DICOM', `${err.message}; nothing was stored`);
        throw err;
      });
    } finally {
      await deps.local.discard(file.tmp); // before answering: the answer means the upload's temporaries are gone
    }
    await deps.audit.record({
      actor: principal.userId, action: 'imaging.upload', caseId, patientId: head.patientId,
      details: { zip: true, bytes: file.bytes, studies: stored.studies.map((s) => s.studyUid), instances: stored.instances, created: stored.created, skipped: Object.fromEntries(stored.skipped.map((s) => [s.reason, s.count])) },
    });
    sendJson(res, 'POST /api/cases/:id/imaging/zip', stored, stored.created > 0 ? 201 : 200);
  });

  /**
   * An admin has looked at a series' instances and found no identity burned into them: de-identified
   * viewers may see those. The body names the instances looked at; an instance that reached the series
   * meanwhile is not among them and stays withheld (marking "whatever it holds now" would release it unseen).
   */
  router.post('/api/cases/:id/imaging/series/:seriesUid/clean', ...jsonUpTo(MARK_CLEAN_BODY_LIMIT), async (req, res) => {
    const principal = requireAdmin(res, 'imaging.mark-clean');
    const caseId = uuidParam(req.params.id, 'CASE_NOT_FOUND');
    const head = await deps.cases.head(caseId);
    if (!head) throw new AppError('CASE_NOT_FOUND');
    // The mark says someone looked at the identified pixels: only an administrator whose own token may see them.
    const access = await caseAccessOrDeny(deps, principal, caseId, head.patientId, undefined, 'imaging.mark-clean');
    if (imagingAccess(access, { burnedInRisk: true, markedClean: false })?.variant !== 'identified') {
      await deps.audit.record({ actor: principal.userId, action: 'imaging.mark-clean', outcome: 'failure', caseId, patientId: head.patientId, details: { code: 'SCOPE_DENIED', type: 'ImagingStudy' } });
      throw new AppError('SCOPE_DENIED', 'Marking a series clean needs a token that may see its identified images');
    }
    const seriesUid = uidParam(req.params.seriesUid);
    const body = parseBody(MarkCleanBody, req.body);
    const found = await deps.imaging.resolveSeries(caseId, head.imagingRev, 'identified', head.pseudonymKey, seriesUid);
    if (!found) throw new AppError('IMAGING_NOT_FOUND');
    const instances = await deps.imaging.markClean(caseId, found.study, seriesUid, body.instances, principal.userId).catch((err: unknown) => {
      throw err instanceof NotInSeries ? new AppError('IMAGING_NOT_FOUND', err.message) : err;
    });
    await deps.audit.record({ actor: principal.userId, action: 'imaging.mark-clean', caseId, patientId: head.patientId, details: { seriesUid, instances } });
    sendJson(res, 'POST /api/cases/:id/imaging/series/:seriesUid/clean', { ok: true });
  });

  /**
   * Who reads, as what: null → no ImagingStudy in their access (SCOPE_DENIED, audited). Decided afresh on
   * every request, from the database — the case (with its imaging revision) and the reader's room, their
   * invitation and any kick, in two queries run together — so a revocation stops the very next frame.
   */
  async function reader(req: Request, principal: Principal, action: 'case.read' | 'imaging.series-open') {
    const caseId = uuidParam(req.params['id'], 'CASE_NOT_FOUND');
    const { room } = parseBody(RoomQuery, req.query, 'QUERY_INVALID');
    const [head, through] = await Promise.all([deps.cases.head(caseId), room ? deps.rooms.readerOf(room, principal.userId) : null]);
    if (!head) throw new AppError('CASE_NOT_FOUND');
    const access: DataAccess = await caseAccessOrDeny(deps, principal, caseId, head.patientId, room, action, through);
    const base = imagingAccess(access, { burnedInRisk: false, markedClean: false });
    if (!base || base.variant === null) {
      await deps.audit.record({ actor: principal.userId, action, outcome: 'failure', caseId, patientId: head.patientId, roomId: room ?? null, details: { code: 'SCOPE_DENIED', type: 'ImagingStudy' } });
      throw new AppError('SCOPE_DENIED');
    }
    return { caseId, head, access, room: room ?? null, variant: base.variant as ImagingVariant, key: head.pseudonymKey, rev: head.imagingRev };
  }

  /** A series the viewer names, resolved, patient-checked (study and every instance), and not withheld from them. */
  async function openSeries(r: Awaited<ReturnType<typeof reader>>, shownSeries: string): Promise<CheckedSeries> {
    const found = await deps.imaging.resolveSeries(r.caseId, r.rev, r.variant, r.key, shownSeries);
    if (!found) throw new AppError('IMAGING_NOT_FOUND');
    const series = await deps.imaging.checkedSeries(r.caseId, r.rev, found.study, found.seriesUid);
    // Clean only when every instance that may show identity was marked: one added after the mark withholds the series again.
    const decision = imagingAccess(r.access, { burnedInRisk: series.burnedInRisk, markedClean: !series.unreviewedBurnedIn });
    if (!decision || 'withheld' in decision) throw new AppError('IMAGING_WITHHELD');
    return series;
  }

  router.get('/api/cases/:id/imaging', async (req, res) => {
    const principal = principalOf(res);
    const r = await reader(req, principal, 'case.read');
    const list = await deps.imaging.list(r.caseId, r.rev, r.variant, r.key);
    // The list discloses the patient's studies (dates, descriptions, series): a read like any other, audited with what was shown.
    const studies = list.studies.map((s) => ({ studyUid: s.studyUid, series: s.series.length }));
    await deps.audit.record({ actor: principal.userId, action: 'case.read', caseId: r.caseId, patientId: r.head.patientId, roomId: r.room, details: { type: 'ImagingStudy', imaging: true, variant: r.variant, studies, resources: [] } });
    sendJson(res, 'GET /api/cases/:id/imaging', list);
  });

  router.get('/api/cases/:id/imaging/series/:seriesUid', async (req, res) => {
    const principal = principalOf(res);
    const r = await reader(req, principal, 'imaging.series-open');
    const series = await openSeries(r, uidParam(req.params.seriesUid));
    await deps.audit.record({ actor: principal.userId, action: 'imaging.series-open', caseId: r.caseId, patientId: r.head.patientId, roomId: r.room, details: { variant: r.variant, studyUid: series.study.studyUid, seriesUid: series.seriesUid, instances: series.instances.length, resources: [] } });
    sendJson(res, 'GET /api/cases/:id/imaging/series/:seriesUid', series.view(r.variant, r.key));
  });

  /**
   * One frame's pixel data as stored: raw little-endian samples (octet-stream) or a JPEG baseline bitstream.
   * The reader's access is decided from the database; the series (its checks, where each frame lies) comes
   * from memory while the case's imaging revision is unchanged; only the frame's own bytes are read, in one
   * positioned read from a kept-open file (a frame, never a whole instance, is in memory).
   */
  router.get('/api/cases/:id/imaging/series/:seriesUid/instances/:sopUid/frames/:frame', async (req, res) => {
    const r = await reader(req, principalOf(res), 'case.read');
    const series = await openSeries(r, uidParam(req.params.seriesUid));
    const sop = series.sopFor(r.variant, r.key, uidParam(req.params.sopUid));
    if (!sop) throw new AppError('IMAGING_NOT_FOUND');
    const { file, index } = await series.frameSource(sop);
    const h = index.header;
    const { kind, parts } = frameParts(index.pixels, Number(req.params.frame));
    // Held from the read until the response is done with it (sent, or the reader went away).
    let release: (() => void) | null = null;
    let gone = false;
    res.once('close', () => ((gone = true), release?.()));
    release = await deps.imaging.frameBytes.acquire(parts.reduce((n, [, len]) => n + len, 0));
    if (gone) return release(); // the reader left while waiting its turn
    const bytes = await deps.imaging.readFrame(file, parts).catch((err: unknown) => {
      release!();
      throw err;
    });
    // Identified viewers get the frame as stored; everyone else a checked copy: JPEG text segments dropped, bits outside BitsStored cleared.
    const px = frameFor(r.variant === 'identified', { kind, bytes }, { bitsAllocated: num(h, 'bitsAllocated'), bitsStored: num(h, 'bitsStored'), highBit: num(h, 'highBit'), pixelRepresentation: num(h, 'pixelRepresentation') });
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
  if (err instanceof FrameOutOfRange || err instanceof WrongFile) return new AppError('IMAGING_NOT_FOUND', err.message);
  if (err instanceof NotDicom) return new AppError('IMAGING_NOT_DICOM', err.message);
  return null;
}
