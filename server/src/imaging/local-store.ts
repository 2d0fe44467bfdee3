import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { withTransaction, type Pool, type PoolClient } from '../db/pool.ts';
import { str, type DicomHeader, type InstanceIndex, type PixelIndex } from '../domain/dicom.ts';
import { ImagingSourceError, MAX_UPLOAD_BYTES, type ImagingSource } from './source.ts';

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
/** Uploads hold it shared while they move files into place and insert their rows; a purge holds it alone. Distinct from the other advisory locks (0x434f4e47, 0x434f4e52, 0x434f4e53). */
export const IMAGING_FILES_LOCK = 0x434f4e49;

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

  /** Remove an upload's temporary file, or a zip's work folder. */
  async discard(tmp: string): Promise<void> {
    await rm(tmp, { force: true, recursive: true });
  }

  /** Keep a received, checked instance: the file under its hash, the index row (false: already stored). */
  async keep(caseId: string, tmp: string, file: { bytes: number; sha256: string }, index: InstanceIndex, by: string): Promise<boolean> {
    return (await this.keepMany(caseId, [{ file: tmp, bytes: file.bytes, sha256: file.sha256, index }], by)) > 0;
  }

  /**
   * Keep received, checked instances (a zip's): each file moved under its hash, all index rows in one
   * transaction; returns how many rows are new. Under the files lock, shared: a purge (purgeCase), which
   * takes it alone, never removes a file another case is storing at that moment.
   */
  async keepMany(caseId: string, files: { file: string; bytes: number; sha256: string; index: InstanceIndex }[], by: string): Promise<number> {
    if (!files.length) return 0;
    try {
      return await this.insertMany(caseId, files, by);
    } catch (err) {
      // Refused after the files were moved into place: queued, so the next sweep removes those no row names.
      if (err instanceof SopTaken) await this.pool.query(`INSERT INTO imaging_file_purges (sha256) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, [files.map((f) => f.sha256)]);
      throw err;
    }
  }

  private insertMany(caseId: string, files: { file: string; bytes: number; sha256: string; index: InstanceIndex }[], by: string): Promise<number> {
    return withTransaction(this.pool, async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock_shared($1)', [IMAGING_FILES_LOCK]);
      let created = 0;
      for (let i = 0; i < files.length; i += 500) {
        const chunk = files.slice(i, i + 500);
        for (const f of chunk) await rename(f.file, this.fileOf(f.sha256));
        const h = chunk.map((f) => f.index.header);
        const res = await tx.query(
          `INSERT INTO imaging_instances (case_id, study_uid, series_uid, sop_uid, sha256, bytes, header, pixels, uploaded_by)
           SELECT $1, s, r, o, sha, b, hd, px, $9 FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::jsonb[], $8::jsonb[]) AS x(s, r, o, sha, b, hd, px)
           ON CONFLICT (case_id, sop_uid) DO NOTHING`,
          [caseId, h.map((x) => str(x, 'studyInstanceUid')), h.map((x) => str(x, 'seriesInstanceUid')), h.map((x) => str(x, 'sopInstanceUid')), chunk.map((f) => f.sha256), chunk.map((f) => f.bytes), h.map((x) => JSON.stringify(x)), chunk.map((f) => JSON.stringify(f.index.pixels)), by],
        );
        created += res.rowCount ?? 0;
      }
      // A concurrent upload may have stored other bytes under one of these UIDs since the caller checked
      // (ON CONFLICT waited for it, then did nothing): refuse the whole upload rather than answer "stored".
      const { rows } = await tx.query<{ sop_uid: string; sha256: string }>(`SELECT sop_uid, sha256 FROM imaging_instances WHERE case_id = $1 AND sop_uid = ANY($2)`, [caseId, files.map((f) => str(f.index.header, 'sopInstanceUid'))]);
      const ours = new Map(files.map((f) => [str(f.index.header, 'sopInstanceUid'), f.sha256]));
      const taken = rows.find((r) => ours.get(r.sop_uid) !== r.sha256);
      if (taken) throw new SopTaken(taken.sop_uid);
      return created;
    });
  }

  /** A private folder for one zip's entries while they are read and checked; the caller removes it. */
  async workDir(): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    return mkdtemp(path.join(this.dir, '.zip-'));
  }

  /**
   * Remove a case's uploaded images: its index rows, clean marks and attached studies, then every file
   * no other case's row names (the same bytes uploaded to two cases are one file). Under the files lock,
   * alone. The files are queued in the rows' transaction and dequeued once removed, so a crash between
   * leaves them to the next sweep. Returns how many files were removed.
   */
  async purgeCase(caseId: string): Promise<number> {
    return this.alone(async (client) => {
      await client.query('BEGIN');
      try {
        await client.query(`DELETE FROM imaging_instance_clean WHERE case_id = $1`, [caseId]);
        await client.query(`DELETE FROM case_imaging_studies WHERE case_id = $1`, [caseId]);
        await client.query(
          `WITH gone AS (DELETE FROM imaging_instances WHERE case_id = $1 RETURNING sha256)
           INSERT INTO imaging_file_purges (sha256) SELECT DISTINCT g.sha256 FROM gone g
            WHERE NOT EXISTS (SELECT 1 FROM imaging_instances i WHERE i.sha256 = g.sha256 AND i.case_id <> $1)
           ON CONFLICT DO NOTHING`,
          [caseId],
        );
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
      return this.removeQueued(client);
    });
  }

  /**
   * What a crash left: queued files of purged cases (removed only if no row names them again), and
   * abandoned upload temporaries older than `minAgeMs` (an upload in progress is younger). Files this
   * database never queued are never touched, whatever DATA_DIR holds. Returns how many were removed.
   */
  async sweep(minAgeMs = 3_600_000): Promise<number> {
    let removed = 0;
    const cutoff = Date.now() - minAgeMs;
    for (const name of await readdir(this.dir).catch(() => [] as string[])) {
      if (!/^\.(upload|zip)-/.test(name)) continue;
      const at = (await stat(path.join(this.dir, name)).catch(() => null))?.mtimeMs ?? Infinity;
      if (at >= cutoff) continue;
      await rm(path.join(this.dir, name), { recursive: true, force: true });
      removed++;
    }
    return removed + (await this.alone((client) => this.removeQueued(client)));
  }

  /**
   * Remove the queued files no row names (an upload may have stored the same bytes again meanwhile: then
   * only the queue entry goes). Run where DATA_DIR/imaging is not there at all (the command line on
   * another machine), nothing is dequeued: the server's own run removes them.
   */
  private async removeQueued(client: PoolClient): Promise<number> {
    if (!(await stat(this.dir).then((s) => s.isDirectory(), () => false))) return 0;
    const { rows } = await client.query<{ sha256: string; named: boolean }>(
      `SELECT p.sha256, EXISTS (SELECT 1 FROM imaging_instances i WHERE i.sha256 = p.sha256) AS named FROM imaging_file_purges p ORDER BY p.queued_at LIMIT 10000`,
    );
    let removed = 0;
    for (const r of rows) {
      if (!r.named) {
        const existed = await stat(this.fileOf(r.sha256)).then(() => true, () => false);
        await rm(this.fileOf(r.sha256), { force: true });
        if (existed) removed++;
      }
      await client.query(`DELETE FROM imaging_file_purges WHERE sha256 = $1`, [r.sha256]);
    }
    return removed;
  }

  /** Run with the files lock held alone (session lock on one connection). */
  private async alone<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [IMAGING_FILES_LOCK]);
      try {
        return await fn(client);
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [IMAGING_FILES_LOCK]);
      }
    } finally {
      client.release();
    }
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
    return (await this.storedHashes(caseId, [sopUid])).get(sopUid) ?? null;
  }

  /** The stored copies' hashes of these SOP Instance UIDs in this case. */
  async storedHashes(caseId: string, sopUids: string[]): Promise<Map<string, string>> {
    const { rows } = await this.pool.query<{ sop_uid: string; sha256: string }>(`SELECT sop_uid, sha256 FROM imaging_instances WHERE case_id = $1 AND sop_uid = ANY($2)`, [caseId, sopUids]);
    return new Map(rows.map((r) => [r.sop_uid, r.sha256]));
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

  /**
   * One series' instances with their files and frame indexes (header and frame positions, from that very
   * file at upload), in one query: what the frame route keeps per series. pixels null for rows stored
   * before frames were indexed.
   */
  async seriesRows(caseId: string, studyUid: string, seriesUid: string): Promise<{ file: string; header: DicomHeader; pixels: PixelIndex | null }[]> {
    const { rows } = await this.pool.query<{ sha256: string; header: DicomHeader; pixels: PixelIndex | null }>(
      `SELECT sha256, header, pixels FROM imaging_instances WHERE case_id = $1 AND study_uid = $2 AND series_uid = $3 ORDER BY sop_uid LIMIT 5000`,
      [caseId, studyUid, seriesUid],
    );
    return rows.map((r) => ({ file: this.fileOf(r.sha256), header: r.header, pixels: r.pixels }));
  }

  async savePixelIndex(caseId: string, sopUid: string, pixels: PixelIndex): Promise<void> {
    await this.pool.query(`UPDATE imaging_instances SET pixels = $3 WHERE case_id = $1 AND sop_uid = $2`, [caseId, sopUid, JSON.stringify(pixels)]);
  }

  private fileOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ImagingSourceError('bad file name');
    return path.join(this.dir, `${sha256}.dcm`);
  }
}

/** Another file is stored under this SOP Instance UID in the case (stored meanwhile by a concurrent upload). */
export class SopTaken extends Error {
  constructor(public readonly sopUid: string) {
    super('another file with this SOP Instance UID is already stored in this case');
    this.name = 'SopTaken';
  }
}

export class UploadTooLarge extends Error {
  constructor(public readonly limit: number) {
    super(`upload larger than ${limit} bytes`);
    this.name = 'UploadTooLarge';
  }
}
