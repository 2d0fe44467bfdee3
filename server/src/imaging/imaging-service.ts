import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImagingListResponse, ImagingSeriesDto, ImagingVariant } from '../../../shared/src/imaging.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import type { Pool } from '../db/pool.ts';
import { patientMismatch } from '../domain/dicom-patient-match.ts';
import { dateFor, mayCarryBurnedInIdentity, pseudonymUid, uidFor } from '../domain/dicom-view.ts';
import { num, str, type DicomHeader, type InstanceIndex } from '../domain/dicom.ts';
import { CheckedSeries, type FrameSource } from './checked-series.ts';
import { FrameFiles } from './frame-files.ts';
import { indexDicomFile } from './dicom-off-thread.ts';
import type { DicomWebSource } from './dicomweb-source.ts';
import type { LocalImagingStore } from './local-store.ts';
import { ByteBudget } from './byte-budget.ts';
import { RevisionCache } from './revision-cache.ts';
import { ImagingSourceError, PatientMismatch, type AttachedStudy, type ImagingSource, type StudySource } from './source.ts';

export { PatientMismatch, type AttachedStudy, type StudySource } from './source.ts';

/** What a PACS answered (series metadata, study rows, series lists) is kept this long: it changes without telling us. */
const ARCHIVE_TTL_MS = 30_000;
/** At most this many frame bytes in memory at once (a frame is at most MAX_UPLOAD_BYTES, 64 MiB: larger ones go alone). */
const FRAME_BYTES_IN_FLIGHT = 96 * 1024 * 1024;

/** A clean mark named an instance the series does not hold. */
export class NotInSeries extends Error {
  constructor() {
    super('an instance named is not in this series');
    this.name = 'NotInSeries';
  }
}

/**
 * A case's images, from whichever source holds each study. A study is shown
 * only after its patient was checked against the case's Patient
 * (patientMismatch), and each series only once every instance in it was: an
 * archive whose study was re-assigned to another patient stops showing within
 * ARCHIVE_TTL_MS, an upload or a clean mark shows at the next request.
 *
 * What is derived from the images (the series' checked instances, where each
 * frame lies, which UID names which series) is kept per case imaging revision
 * (RevisionCache): the revision is read with the case on every request, so a
 * frame costs no query beyond the reader's own access.
 */
export class ImagingService {
  private readonly patients = new RevisionCache<Record<string, unknown>>({ maxEntries: 500, maxWeight: 500, weigh: () => 1, keepFailure: () => false });
  private readonly studyChecks = new RevisionCache<DicomHeader>({ maxEntries: 1000, maxWeight: 1000, weigh: () => 1, keepFailure: (e) => e instanceof PatientMismatch });
  /** Real series behind the UIDs viewers name: `i:<uid>` for identified classes, `d:<pseudonym>` for de-identified. */
  private readonly resolutions = new RevisionCache<Map<string, { study: AttachedStudy; seriesUid: string }>>({ maxEntries: 500, maxWeight: 200_000, weigh: (m) => m.size, keepFailure: () => false });
  /** At most 100 series or 200,000 instances' headers (a few hundred MB at worst; a 300-slice CT is ~1 MB). */
  /** Frames are read through kept-open files: one positioned read each. */
  private readonly files = new FrameFiles();
  /** Frame bytes read and not yet sent, across every reader: many readers of a large frame wait rather than each hold a copy. */
  readonly frameBytes = new ByteBudget(FRAME_BYTES_IN_FLIGHT);
  private readonly series = new RevisionCache<CheckedSeries>({ maxEntries: 100, maxWeight: 200_000, weigh: (s) => s.instances.length, keepFailure: (e) => e instanceof PatientMismatch });

  constructor(
    private readonly deps: { pool: Pool; cases: CasesRepo; local: LocalImagingStore; dicomweb: DicomWebSource | null; cacheDir: string },
  ) {}

  sourceOf(source: StudySource): ImagingSource {
    if (source === 'upload') return this.deps.local;
    if (!this.deps.dicomweb) throw new ImagingSourceError('no image archive is configured (DICOMWEB_URL)', 'IMAGING_NOT_FOUND');
    return this.deps.dicomweb;
  }

  /** Attached rows, plus the Study Instance UIDs of the case's ImagingStudy resources when a PACS is configured. */
  async studies(caseId: string): Promise<AttachedStudy[]> {
    const { rows } = await this.deps.pool.query<{ study_uid: string; source: StudySource }>(`SELECT study_uid, source FROM case_imaging_studies WHERE case_id = $1 ORDER BY attached_at`, [caseId]);
    const out: AttachedStudy[] = rows.map((r) => ({ studyUid: r.study_uid, source: r.source }));
    if (this.deps.dicomweb) {
      for (const r of await this.deps.cases.listResources(caseId, { types: ['ImagingStudy'], limit: 200, offset: 0 })) {
        for (const uid of studyUids(r)) if (!out.some((s) => s.studyUid === uid)) out.push({ studyUid: uid, source: 'dicomweb' });
      }
    }
    return out;
  }

  async attach(caseId: string, studyUid: string, source: StudySource, by: string): Promise<void> {
    await this.deps.pool.query(`INSERT INTO case_imaging_studies (case_id, study_uid, source, attached_by) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, [caseId, studyUid, source, by]);
  }

  async patient(caseId: string): Promise<Record<string, unknown>> {
    const [p] = await this.deps.cases.listResources(caseId, { types: ['Patient'], limit: 1, offset: 0 });
    return p ?? {};
  }

  /** The case's Patient at this imaging revision (its Patient resources bump it). */
  private patientAt(caseId: string, rev: number): Promise<Record<string, unknown>> {
    return this.patients.get(`${caseId}|`, rev, null, () => this.patient(caseId));
  }

  /**
   * The study's attributes, once its patient matches the case's; throws PatientMismatch otherwise.
   * An archive may hold several patients' studies under one Study Instance UID (a bad merge, a
   * misconfigured modality): the row that matches is used, and each series is checked again below.
   */
  private checkedStudy(caseId: string, rev: number, study: AttachedStudy, patient: Record<string, unknown>): Promise<DicomHeader> {
    return this.studyChecks.get(`${caseId}|${study.source}|${study.studyUid}`, rev, ttlOf(study), async () => {
      const rows = await this.studyRows(caseId, study);
      if (!rows.length) throw new ImagingSourceError('the archive has no such study', 'IMAGING_NOT_FOUND');
      const match = rows.find((h) => patientMismatch(h, patient).length === 0);
      if (!match) throw new PatientMismatch(patientMismatch(rows[0]!, patient));
      return match;
    });
  }

  /**
   * A series, checked: its study's patient, then every instance's — the study-level check alone let
   * another patient's series under a shared Study Instance UID through, so a series with any
   * mismatching instance is refused whole (a mixed series is itself a safety event) — and its clean
   * marks. Kept per case imaging revision (archive series at most ARCHIVE_TTL_MS); a refusal is kept too.
   */
  checkedSeries(caseId: string, rev: number, study: AttachedStudy, seriesUid: string): Promise<CheckedSeries> {
    return this.series.get(`${caseId}|${study.source}|${study.studyUid}|${seriesUid}`, rev, ttlOf(study), async () => {
      const patient = await this.patientAt(caseId, rev);
      const studyHeader = await this.checkedStudy(caseId, rev, study, patient);
      const rows = study.source === 'upload' ? await this.deps.local.seriesRows(caseId, study.studyUid, seriesUid) : null;
      const instances = rows ? rows.map((r) => r.header) : await this.instances(caseId, study, seriesUid);
      const differs = new Set(instances.flatMap((h) => patientMismatch(h, patient)));
      if (differs.size) throw new PatientMismatch([...differs], 'series');
      const { rows: marks } = await this.deps.pool.query<{ sop_uid: string }>(`SELECT sop_uid FROM imaging_instance_clean WHERE case_id = $1 AND series_uid = $2`, [caseId, seriesUid]);
      const clean = new Set(marks.map((m) => `${seriesUid}|${m.sop_uid}`));
      const files = new Map(rows?.map((r) => [str(r.header, 'sopInstanceUid') ?? '', r]));
      const locate = async (sop: string): Promise<FrameSource> => {
        const row = files.get(sop);
        if (!row) return this.archiveInstance(caseId, study, seriesUid, sop);
        if (row.pixels) return { file: row.file, index: { header: row.header, pixels: row.pixels } };
        // Stored before frames were indexed: indexed now, once, off the event loop.
        const index = await indexDicomFile(row.file);
        await this.deps.local.savePixelIndex(caseId, sop, index.pixels);
        return { file: row.file, index };
      };
      return new CheckedSeries(study, seriesUid, studyHeader, instances, patient, unreviewedBurnedIn(seriesUid, instances, clean), locate);
    });
  }

  /** A study's rows as its source answers now (kept only as part of a checked study or series). */
  private studyRows(caseId: string, study: AttachedStudy): Promise<DicomHeader[]> {
    return this.sourceOf(study.source).study(caseId, study.studyUid);
  }

  /** A series' instances as its source answers now. */
  private instances(caseId: string, study: AttachedStudy, seriesUid: string): Promise<DicomHeader[]> {
    return this.sourceOf(study.source).instances(caseId, study.studyUid, seriesUid);
  }

  /**
   * Mark clean the instances the administrator looked at; every one must be in the series now
   * (NotInSeries otherwise: a typo marks nothing). The mark is per instance, not per series: one not
   * named — added since they looked, or later — is not covered, and withholds the series again if it
   * may carry identity, until it is marked too. Returns how many instances were marked.
   */
  async markClean(caseId: string, study: AttachedStudy, seriesUid: string, reviewed: readonly string[], by: string): Promise<number> {
    const held = new Set((await this.instances(caseId, study, seriesUid)).map((h) => str(h, 'sopInstanceUid')).filter((u): u is string => !!u));
    const sops = [...new Set(reviewed)];
    if (sops.some((sop) => !held.has(sop))) throw new NotInSeries();
    await this.deps.pool.query(
      `INSERT INTO imaging_instance_clean (case_id, series_uid, sop_uid, marked_by) SELECT $1, $2, unnest($3::text[]), $4 ON CONFLICT DO NOTHING`,
      [caseId, seriesUid, sops, by],
    );
    return sops.length;
  }

  /** Every checked study's series, as this viewer sees them; refused studies are named with their reason. */
  async list(caseId: string, rev: number, variant: ImagingVariant, key: string): Promise<ImagingListResponse> {
    const patient = await this.patientAt(caseId, rev);
    const out: ImagingListResponse = { variant, studies: [], refused: [] };
    for (const study of await this.studies(caseId)) {
      try {
        const header = await this.checkedStudy(caseId, rev, study, patient);
        const series: ImagingSeriesDto[] = [];
        for (const s of await this.sourceOf(study.source).series(caseId, study.studyUid)) {
          const seriesUid = str(s, 'seriesInstanceUid');
          if (!seriesUid) continue;
          let checked: CheckedSeries;
          try {
            checked = await this.checkedSeries(caseId, rev, study, seriesUid);
          } catch (err) {
            if (!(err instanceof PatientMismatch)) throw err;
            out.refused.push({ studyUid: uidFor(variant, key, study.studyUid), seriesUid: uidFor(variant, key, seriesUid), code: 'IMAGING_PATIENT_MISMATCH', message: err.message });
            continue;
          }
          series.push({
            seriesUid: uidFor(variant, key, seriesUid),
            key: pseudonymUid(key, seriesUid),
            modality: str(s, 'modality') ?? null,
            description: variant === 'deidentified' ? null : (str(s, 'seriesDescription') ?? null),
            number: num(s, 'seriesNumber') ?? null,
            instances: num(s, 'numberOfSeriesRelatedInstances') ?? 0,
            withheld: variant !== 'identified' && checked.unreviewedBurnedIn ? 'burned-in' : null,
          });
        }
        out.studies.push({ studyUid: uidFor(variant, key, study.studyUid), date: dateFor(variant, str(header, 'studyDate')), description: variant === 'deidentified' ? null : (str(header, 'studyDescription') ?? null), source: study.source, series });
      } catch (err) {
        const code = err instanceof PatientMismatch ? 'IMAGING_PATIENT_MISMATCH' : err instanceof ImagingSourceError ? err.code : 'IMAGING_SOURCE_ERROR';
        out.refused.push({ studyUid: uidFor(variant, key, study.studyUid), code, message: err instanceof Error ? err.message : 'failed' });
      }
    }
    return out;
  }

  /**
   * The real study and series behind the UID a viewer names (a pseudonym for de-identified viewers), from
   * a map of the case's series kept per imaging revision. A map missing a study whose source failed is not kept.
   */
  async resolveSeries(caseId: string, rev: number, variant: ImagingVariant, key: string, shown: string): Promise<{ study: AttachedStudy; seriesUid: string } | null> {
    const mapKey = `${caseId}|${key}`;
    let partial = false;
    const map = await this.resolutions.get(mapKey, rev, this.deps.dicomweb ? ARCHIVE_TTL_MS : null, async () => {
      const found = new Map<string, { study: AttachedStudy; seriesUid: string }>();
      for (const study of await this.studies(caseId)) {
        let series: DicomHeader[];
        try {
          series = await this.sourceOf(study.source).series(caseId, study.studyUid);
        } catch {
          partial = true;
          continue;
        }
        for (const s of series) {
          const uid = str(s, 'seriesInstanceUid');
          if (!uid) continue;
          found.set(`i:${uid}`, { study, seriesUid: uid });
          found.set(`d:${pseudonymUid(key, uid)}`, { study, seriesUid: uid });
        }
      }
      return found;
    });
    if (partial) this.resolutions.forget(mapKey);
    return map.get(`${variant === 'deidentified' ? 'd' : 'i'}:${shown}`) ?? null;
  }

  /**
   * An archive instance's file and index, fetched and parsed once: streamed from the PACS into
   * DATA_DIR/imaging-cache/<case>/ (by a hash of the UIDs; the index beside it as .idx.json) and indexed
   * off the event loop (indexDicomFile), so scrolling never goes back to the PACS and never re-parses a
   * file. Kept per case, so deleting the case deletes its cached images (purgeCase).
   */
  private async archiveInstance(caseId: string, study: AttachedStudy, seriesUid: string, sopUid: string): Promise<FrameSource> {
    const dir = this.caseCacheDir(caseId);
    const base = path.join(dir, createHash('sha256').update(`${study.studyUid}|${seriesUid}|${sopUid}`).digest('hex'));
    const file = `${base}.dcm`;
    try {
      return { file, index: JSON.parse(await readFile(`${base}.idx.json`, 'utf8')) as InstanceIndex };
    } catch {
      // Not cached yet (or cached before frames were indexed): fetch if needed, index, then keep both.
    }
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = `${base}.${process.pid}.${randomUUID()}`;
    const cached = await stat(file).then(() => true, () => false);
    try {
      if (!cached) await this.deps.dicomweb!.instanceToFile(study.studyUid, seriesUid, sopUid, tmp);
      const index = await indexDicomFile(cached ? file : tmp);
      if (!cached) await rename(tmp, file);
      await writeFile(`${tmp}.idx`, JSON.stringify(index), { mode: 0o600 });
      await rename(`${tmp}.idx`, `${base}.idx.json`);
      return { file, index };
    } finally {
      await rm(tmp, { force: true });
      await rm(`${tmp}.idx`, { force: true });
    }
  }

  /** One frame's bytes: the [position, length] parts of the file (from its frame index), in one buffer. */
  readFrame(file: string, parts: [number, number][]): Promise<Buffer> {
    return this.files.read(file, parts);
  }

  private caseCacheDir(caseId: string): string {
    if (!CASE_ID.test(caseId)) throw new ImagingSourceError('bad case id');
    return path.join(this.deps.cacheDir, caseId);
  }

  /**
   * Delete a case's images (the case was deleted: by an admin or by retention): its uploaded files no
   * other case holds, their index rows and marks, its cached archive instances, and what is kept in memory.
   */
  async purgeCase(caseId: string): Promise<{ files: number }> {
    const files = await this.deps.local.purgeCase(caseId);
    await rm(this.caseCacheDir(caseId), { recursive: true, force: true });
    for (const cache of [this.patients, this.studyChecks, this.resolutions, this.series]) cache.forget(`${caseId}|`);
    this.files.closeAll(); // removed files' space is let go now, not when their handles age out
    return { files };
  }

  /**
   * Retention's sweep: images of cases deleted while their purge could not run (a crash between the case's
   * deletion and its images'), queued files a crash left (LocalImagingStore.sweep), and archive cache folders
   * of cases not live in this database, or from before the cache was kept per case (a cache: anything in it
   * can be fetched again). Returns what was removed.
   */
  async sweep(): Promise<{ cases: number; files: number }> {
    const { rows } = await this.deps.pool.query<{ id: string }>(
      `SELECT id FROM cases c WHERE deleted_at IS NOT NULL AND (EXISTS (SELECT 1 FROM imaging_instances i WHERE i.case_id = c.id) OR EXISTS (SELECT 1 FROM case_imaging_studies s WHERE s.case_id = c.id))`,
    );
    for (const r of rows) await this.purgeCase(r.id);
    let files = await this.deps.local.sweep();
    const entries = await readdir(this.deps.cacheDir, { withFileTypes: true }).catch(() => []);
    const dirs = entries.filter((e) => e.isDirectory() && CASE_ID.test(e.name)).map((e) => e.name);
    const { rows: live } = await this.deps.pool.query<{ id: string }>(`SELECT id::text FROM cases WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL`, [dirs]);
    const keep = new Set(live.map((r) => r.id));
    for (const e of entries) {
      if (e.isDirectory() && keep.has(e.name)) continue;
      await rm(path.join(this.deps.cacheDir, e.name), { recursive: true, force: true });
      files++;
    }
    return { cases: rows.length, files };
  }
}

const CASE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ttlOf = (study: AttachedStudy) => (study.source === 'upload' ? null : ARCHIVE_TTL_MS);

/** Does an instance that may show identity in its pixels lack an administrator's clean mark? */
export function unreviewedBurnedIn(seriesUid: string, instances: DicomHeader[], clean: Set<string>): boolean {
  return instances.some((h) => mayCarryBurnedInIdentity(h) && !clean.has(`${seriesUid}|${str(h, 'sopInstanceUid') ?? ''}`));
}

/** Study Instance UIDs named by an ImagingStudy (identifier system urn:dicom:uid, value urn:oid:<uid>). */
export function studyUids(r: Record<string, unknown>): string[] {
  const ids = Array.isArray(r['identifier']) ? (r['identifier'] as unknown[]) : [];
  return ids
    .map((i) => (typeof i === 'object' && i !== null ? (i as Record<string, unknown>)['value'] : null))
    .filter((v): v is string => typeof v === 'string' && /^urn:oid:[0-9]+(\.[0-9]+)*$/.test(v) && v.length <= 72)
    .map((v) => v.slice(8));
}
