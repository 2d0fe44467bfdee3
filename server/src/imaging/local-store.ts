import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Pool } from '../db/pool.ts';
import { str, type DicomHeader, type InstanceIndex, type PixelIndex } from '../domain/dicom.ts';
import { ImagingSourceError, MAX_INSTANCE_BYTES, MAX_UPLOAD_BYTES, type ImagingSource } from './source.ts';

/**
 * Studies uploaded to Consilium (no PACS: the embedded default and the demo).
 * Files, not PostgreSQL large objects: an instance is written once and read
 * many times whole, which a file does without holding a transaction or a
 * connection; large objects would also need grants beyond the app role's
 * table rights and would swell every database backup with pixels. The files
 * live under DATA_DIR/imaging/ named by their SHA-256 (the same bytes are
 * stored once); the index — which case, study, series and instance, and the
 * header attributes (never pixels) — is in PostgreSQL, so lists and metadata
 * never open a file. Processes that share a database must share DATA_DIR
 * (or use a PACS: DICOMWEB_URL).
 */
export class LocalImagingStore implements ImagingSource {
  private readonly dir: string;

  constructor(private readonly pool: Pool, dataDir: string) {
    this.dir = path.join(dataDir, 'imaging');
  }

  /** Stream an upload to a temporary file, at most `limit` bytes; resolves with its path, size and hash. */
  async receive(body: Readable, limit = MAX_UPLOAD_BYTES): Promise<{ tmp: string; bytes: number; sha256: string }> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.dir, `.upload-${randomUUID()}`);
    const hash = createHash('sha256');
    let bytes = 0;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            bytes += chunk.length;
            if (bytes > limit) throw new UploadTooLarge(limit);
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tmp, { mode: 0o600 }),
      );
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { tmp, bytes, sha256: hash.digest('hex') };
  }

  async discard(tmp: string): Promise<void> {
    await rm(tmp, { force: true });
  }

  /** Keep a received, checked instance: the file under its hash, the index row (false: already stored). */
  async keep(caseId: string, tmp: string, file: { bytes: number; sha256: string }, index: InstanceIndex, by: string): Promise<boolean> {
    const target = this.fileOf(file.sha256);
    await rename(tmp, target);
    const h = index.header;
    const res = await this.pool.query(
      `INSERT INTO imaging_instances (case_id, study_uid, series_uid, sop_uid, sha256, bytes, header, pixels, uploaded_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (case_id, sop_uid) DO NOTHING`,
      [caseId, str(h, 'studyInstanceUid'), str(h, 'seriesInstanceUid'), str(h, 'sopInstanceUid'), file.sha256, file.bytes, JSON.stringify(h), JSON.stringify(index.pixels), by],
    );
    return (res.rowCount ?? 0) > 0;
  }

  /** Keep a file the server itself holds (the demo's images), like an upload. */
  async keepBytes(caseId: string, bytes: Uint8Array, index: InstanceIndex, by: string): Promise<boolean> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = path.join(this.dir, `.upload-${randomUUID()}`);
    await writeFile(tmp, bytes, { mode: 0o600 });
    return this.keep(caseId, tmp, { bytes: bytes.byteLength, sha256: createHash('sha256').update(bytes).digest('hex') }, index, by);
  }

  /** The stored copy's hash of this SOP Instance UID in this case, if any. */
  async storedHash(caseId: string, sopUid: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ sha256: string }>(`SELECT sha256 FROM imaging_instances WHERE case_id = $1 AND sop_uid = $2`, [caseId, sopUid]);
    return rows[0]?.sha256 ?? null;
  }

  async study(caseId: string, studyUid: string): Promise<DicomHeader[]> {
    const { rows } = await this.pool.query<{ header: DicomHeader }>(`SELECT DISTINCT ON (header->>'patientId') header FROM imaging_instances WHERE case_id = $1 AND study_uid = $2 ORDER BY header->>'patientId', sop_uid LIMIT 20`, [caseId, studyUid]);
    return rows.map((r) => r.header);
  }

  async series(caseId: string, studyUid: string): Promise<DicomHeader[]> {
    const { rows } = await this.pool.query<{ header: DicomHeader; n: string }>(
      `SELECT DISTINCT ON (series_uid) header, count(*) OVER (PARTITION BY series_uid) AS n FROM imaging_instances WHERE case_id = $1 AND study_uid = $2 ORDER BY series_uid, sop_uid`,
      [caseId, studyUid],
    );
    return rows.map((r) => ({ ...r.header, numberOfSeriesRelatedInstances: Number(r.n) }));
  }

  async instances(caseId: string, studyUid: string, seriesUid: string): Promise<DicomHeader[]> {
    const { rows } = await this.pool.query<{ header: DicomHeader }>(`SELECT header FROM imaging_instances WHERE case_id = $1 AND study_uid = $2 AND series_uid = $3 ORDER BY sop_uid LIMIT 5000`, [caseId, studyUid, seriesUid]);
    return rows.map((r) => r.header);
  }

  async instance(caseId: string, studyUid: string, seriesUid: string, sopUid: string): Promise<Uint8Array> {
    const { rows } = await this.pool.query<{ sha256: string }>(`SELECT sha256 FROM imaging_instances WHERE case_id = $1 AND study_uid = $2 AND series_uid = $3 AND sop_uid = $4`, [caseId, studyUid, seriesUid, sopUid]);
    if (!rows[0]) throw new ImagingSourceError('no such instance', 'IMAGING_NOT_FOUND');
    const file = this.fileOf(rows[0].sha256);
    const { size } = await stat(file).catch(() => ({ size: -1 }));
    if (size < 0) throw new ImagingSourceError('the stored file is missing', 'IMAGING_NOT_FOUND');
    if (size > MAX_INSTANCE_BYTES) throw new ImagingSourceError('the stored file is larger than an instance may be');
    return new Uint8Array(await readFile(file));
  }

  /** An instance's file and its index (header and frame positions, from that very file at upload); pixels null for rows stored before frames were indexed. */
  async instanceFile(caseId: string, studyUid: string, seriesUid: string, sopUid: string): Promise<{ file: string; header: DicomHeader; pixels: PixelIndex | null }> {
    const { rows } = await this.pool.query<{ sha256: string; header: DicomHeader; pixels: PixelIndex | null }>(
      `SELECT sha256, header, pixels FROM imaging_instances WHERE case_id = $1 AND study_uid = $2 AND series_uid = $3 AND sop_uid = $4`,
      [caseId, studyUid, seriesUid, sopUid],
    );
    if (!rows[0]) throw new ImagingSourceError('no such instance', 'IMAGING_NOT_FOUND');
    return { file: this.fileOf(rows[0].sha256), header: rows[0].header, pixels: rows[0].pixels };
  }

  async savePixelIndex(caseId: string, sopUid: string, pixels: PixelIndex): Promise<void> {
    await this.pool.query(`UPDATE imaging_instances SET pixels = $3 WHERE case_id = $1 AND sop_uid = $2`, [caseId, sopUid, JSON.stringify(pixels)]);
  }

  private fileOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ImagingSourceError('bad file name');
    return path.join(this.dir, `${sha256}.dcm`);
  }
}

export class UploadTooLarge extends Error {
  constructor(public readonly limit: number) {
    super(`upload larger than ${limit} bytes`);
    this.name = 'UploadTooLarge';
  }
}
