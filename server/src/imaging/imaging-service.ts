import { createHash, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImagingListResponse, ImagingSeriesDto, ImagingVariant } from '../../../shared/src/imaging.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import type { Pool } from '../db/pool.ts';
import { patientMismatch } from '../domain/dicom-patient-match.ts';
import { dateFor, mayCarryBurnedInIdentity, pseudonymUid, uidFor } from '../domain/dicom-view.ts';
import { num, str, type DicomHeader, type InstanceIndex } from '../domain/dicom.ts';
import { indexDicomFile } from './dicom-off-thread.ts';
import type { DicomWebSource } from './dicomweb-source.ts';
import type { LocalImagingStore } from './local-store.ts';
import { ImagingSourceError, type ImagingSource } from './source.ts';

export type StudySource = 'dicomweb' | 'upload';
export interface AttachedStudy { studyUid: string; source: StudySource }

export class PatientMismatch extends Error {
  constructor(
    public readonly differs: string[],
    of: 'study' | 'series' | 'instance' = 'study',
  ) {
    super(`the ${of}'s ${differs.join(', ')} ${differs.length === 1 ? 'differs' : 'differ'} from the case's patient`);
    this.name = 'PatientMismatch';
  }
}

/** Series metadata is asked for by every slice request of a pseudonymous viewer: keep it briefly. */
const METADATA_TTL_MS = 30_000;
const METADATA_ENTRIES = 200;

/**
 * A case's images, from whichever source holds each study. A study is shown
 * only after its patient was checked against the case's Patient
 * (patientMismatch), on every listing and series open: an archive whose study
 * was re-assigned to another patient stops showing at once.
 */
export class ImagingService {
  private readonly metadata = new Map<string, { at: number; value: Promise<DicomHeader[]> }>();

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

  /**
   * The study's attributes, once its patient matches the case's; throws PatientMismatch otherwise.
   * An archive may hold several patients' studies under one Study Instance UID (a bad merge, a
   * misconfigured modality): the row that matches is used, and each series is checked again below.
   */
  async checkedStudy(caseId: string, study: AttachedStudy, patient: Record<string, unknown>): Promise<DicomHeader> {
    const rows = await this.studyRows(caseId, study);
    if (!rows.length) throw new ImagingSourceError('the archive has no such study', 'IMAGING_NOT_FOUND');
    const match = rows.find((h) => patientMismatch(h, patient).length === 0);
    if (!match) throw new PatientMismatch(patientMismatch(rows[0]!, patient));
    return match;
  }

  /**
   * A series' instances, once every one of them names the case's patient: the study-level check
   * alone let another patient's series under a shared Study Instance UID through. A series with
   * any mismatching instance is refused whole (a mixed series is itself a safety event).
   */
  async checkedInstances(caseId: string, study: AttachedStudy, seriesUid: string, patient: Record<string, unknown>): Promise<DicomHeader[]> {
    const instances = await this.instances(caseId, study, seriesUid);
    const differs = new Set(instances.flatMap((h) => patientMismatch(h, patient)));
    if (differs.size) throw new PatientMismatch([...differs], 'series');
    return instances;
  }

  /** Study rows are asked for by every slice request: kept as briefly as series metadata (the check itself runs every time). */
  private studyRows(caseId: string, study: AttachedStudy): Promise<DicomHeader[]> {
    return this.cached(study, `${caseId}|${study.source}|${study.studyUid}|study`, () => this.sourceOf(study.source).study(caseId, study.studyUid));
  }

  async instances(caseId: string, study: AttachedStudy, seriesUid: string): Promise<DicomHeader[]> {
    return this.cached(study, `${caseId}|${study.source}|${study.studyUid}|${seriesUid}`, () => this.sourceOf(study.source).instances(caseId, study.studyUid, seriesUid));
  }

  /** Archive answers only: uploads are an indexed query, and must show a new instance at once. */
  private cached(study: AttachedStudy, key: string, load: () => Promise<DicomHeader[]>): Promise<DicomHeader[]> {
    if (study.source === 'upload') return load();
    const hit = this.metadata.get(key);
    if (hit && Date.now() - hit.at < METADATA_TTL_MS) return hit.value;
    const value = load();
    value.catch(() => this.metadata.delete(key));
    if (this.metadata.size >= METADATA_ENTRIES) this.metadata.delete(this.metadata.keys().next().value!);
    this.metadata.set(key, { at: Date.now(), value });
    return value;
  }

  /** Instances an administrator has looked at and found free of burned-in identity, as `series|sop`. */
  async cleanInstances(caseId: string): Promise<Set<string>> {
    const { rows } = await this.deps.pool.query<{ series_uid: string; sop_uid: string }>(`SELECT series_uid, sop_uid FROM imaging_instance_clean WHERE case_id = $1`, [caseId]);
    return new Set(rows.map((r) => `${r.series_uid}|${r.sop_uid}`));
  }

  /**
   * Mark the instances the series holds now (what the administrator could have looked at). The mark is
   * per instance, not per series: one added later is not covered, and withholds the series again if it
   * may carry identity, until the series is marked again. Returns how many instances were marked.
   */
  async markClean(caseId: string, study: AttachedStudy, seriesUid: string, by: string): Promise<number> {
    const sops = (await this.instances(caseId, study, seriesUid)).map((h) => str(h, 'sopInstanceUid')).filter((u): u is string => !!u);
    await this.deps.pool.query(
      `INSERT INTO imaging_instance_clean (case_id, series_uid, sop_uid, marked_by) SELECT $1, $2, unnest($3::text[]), $4 ON CONFLICT DO NOTHING`,
      [caseId, seriesUid, sops, by],
    );
    return sops.length;
  }

  /** Every checked study's series, as this viewer sees them; refused studies are named with their reason. */
  async list(caseId: string, variant: ImagingVariant, key: string): Promise<ImagingListResponse> {
    const patient = await this.patient(caseId);
    const clean = await this.cleanInstances(caseId);
    const out: ImagingListResponse = { variant, studies: [], refused: [] };
    for (const study of await this.studies(caseId)) {
      try {
        const header = await this.checkedStudy(caseId, study, patient);
        const series: ImagingSeriesDto[] = [];
        for (const s of await this.sourceOf(study.source).series(caseId, study.studyUid)) {
          const seriesUid = str(s, 'seriesInstanceUid');
          if (!seriesUid) continue;
          let instances: DicomHeader[];
          try {
            instances = await this.checkedInstances(caseId, study, seriesUid, patient);
          } catch (err) {
            if (!(err instanceof PatientMismatch)) throw err;
            out.refused.push({ studyUid: uidFor(variant, key, study.studyUid), seriesUid: uidFor(variant, key, seriesUid), code: 'IMAGING_PATIENT_MISMATCH', message: err.message });
            continue;
          }
          const withheld = variant !== 'identified' && unreviewedBurnedIn(seriesUid, instances, clean);
          series.push({
            seriesUid: uidFor(variant, key, seriesUid),
            key: pseudonymUid(key, seriesUid),
            modality: str(s, 'modality') ?? null,
            description: variant === 'deidentified' ? null : (str(s, 'seriesDescription') ?? null),
            number: num(s, 'seriesNumber') ?? null,
            instances: num(s, 'numberOfSeriesRelatedInstances') ?? 0,
            withheld: withheld ? 'burned-in' : null,
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

  /** The real study and series behind the UID a viewer names (a pseudonym for de-identified viewers). */
  async resolveSeries(caseId: string, variant: ImagingVariant, key: string, shown: string): Promise<{ study: AttachedStudy; seriesUid: string } | null> {
    for (const study of await this.studies(caseId)) {
      let series: DicomHeader[];
      try {
        series = await this.sourceOf(study.source).series(caseId, study.studyUid);
      } catch {
        continue;
      }
      for (const s of series) {
        const uid = str(s, 'seriesInstanceUid');
        if (uid && uidFor(variant, key, uid) === shown) return { study, seriesUid: uid };
      }
    }
    return null;
  }

  /**
   * One instance's file and index (header and frame positions), parsed once off the event loop
   * (indexDicomFile): uploads at upload time (the index row), archive instances when first cached
   * under DATA_DIR/imaging-cache (by a hash of source and UIDs; the index beside it as .idx.json),
   * so scrolling never goes back to the PACS and never re-parses a file.
   */
  async indexedInstance(caseId: string, study: AttachedStudy, seriesUid: string, sopUid: string): Promise<{ file: string; index: InstanceIndex }> {
    if (study.source === 'upload') {
      const row = await this.deps.local.instanceFile(caseId, study.studyUid, seriesUid, sopUid);
      if (row.pixels) return { file: row.file, index: { header: row.header, pixels: row.pixels } };
      const index = await indexDicomFile(row.file);
      await this.deps.local.savePixelIndex(caseId, sopUid, index.pixels);
      return { file: row.file, index };
    }
    const base = path.join(this.deps.cacheDir, createHash('sha256').update(`${study.studyUid}|${seriesUid}|${sopUid}`).digest('hex'));
    const file = `${base}.dcm`;
    try {
      return { file, index: JSON.parse(await readFile(`${base}.idx.json`, 'utf8')) as InstanceIndex };
    } catch {
      // Not cached yet (or cached before frames were indexed): fetch if needed, index, then keep both.
    }
    await mkdir(this.deps.cacheDir, { recursive: true, mode: 0o700 });
    const tmp = `${base}.${process.pid}.${randomUUID()}`;
    const cached = await stat(file).then(() => true, () => false);
    if (!cached) await writeFile(tmp, await this.sourceOf(study.source).instance(caseId, study.studyUid, seriesUid, sopUid), { mode: 0o600 });
    try {
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
}

/** One frame's bytes, read from the file at the indexed positions (not the whole file). */
export async function readFrameBytes(file: string, parts: [number, number][]): Promise<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const out = Buffer.alloc(parts.reduce((n, [, len]) => n + len, 0));
    let at = 0;
    for (const [position, length] of parts) {
      const { bytesRead } = await fh.read(out, at, length, position);
      if (bytesRead !== length) throw new ImagingSourceError('the stored file is shorter than its index says');
      at += length;
    }
    return out;
  } finally {
    await fh.close();
  }
}

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
