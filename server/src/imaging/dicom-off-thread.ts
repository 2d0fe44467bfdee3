import type { ImagingZipSkipReason } from '../../../shared/src/imaging.ts';
import { NotDicom, UnsupportedImage, type InstanceIndex } from '../domain/dicom.ts';
import { WorkerPool, WorkerTimeout } from '../worker-once.ts';
import { ZIP_LIMITS, type ZipLimits } from './source.ts';

type Answer = { ok: true; index: InstanceIndex } | { ok: false; kind: 'not-dicom' | 'unsupported' | 'failed'; message: string };

/**
 * Parsing a file costs time and memory in proportion to its elements (and a hostile file is built to
 * make that large): it runs on a worker with a 256 MB heap and 20 s, two at a time, and only once per
 * file — at upload, or when an archive instance is cached — since frame reads use the index it returns.
 */
const pool = new WorkerPool(new URL('./dicom-index.worker.ts', import.meta.url), { concurrency: 2, heapMb: 256, timeoutMs: 20_000 });

/** Parse and index the Part 10 file at this path; throws NotDicom or UnsupportedImage as parsing on the loop would. */
export async function indexDicomFile(file: string): Promise<InstanceIndex> {
  let answer: Answer;
  try {
    answer = await pool.run<Answer>({ file });
  } catch (err) {
    // Its heap cap or time limit: the file is refused, as one past the element budget is.
    if (err instanceof WorkerTimeout || (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') throw new NotDicom('the file is too complex to read');
    throw err;
  }
  if (answer.ok) return answer.index;
  if (answer.kind === 'not-dicom') throw new NotDicom(answer.message);
  if (answer.kind === 'unsupported') throw new UnsupportedImage(answer.message);
  throw new Error('indexing the DICOM file failed');
}

/** Why a zip entry was not stored (shared/src/imaging.ts); the worker decides all but 'no-uids'. */
export type ZipSkipReason = Exclude<ImagingZipSkipReason, 'no-uids'>;
export interface ZipJob {
  zip: string;
  /** Where the worker writes each entry (one file per entry, numbered); the caller removes it. */
  outDir: string;
  limits: ZipLimits;
}
/** One DICOM entry, written to `file` and indexed. */
export interface ZipEntryFile {
  name: string;
  file: string;
  bytes: number;
  sha256: string;
  index: InstanceIndex;
}
export type ZipAnswer =
  | { ok: true; entries: ZipEntryFile[]; skipped: { reason: ZipSkipReason; count: number; names: string[] }[] }
  | { ok: false; refused: boolean; message: string };

/** The zip's whole reading is one job: one at a time, more time than a single file (a 300-slice CT zip is ~150 MB). */
const zipPool = new WorkerPool(new URL('./dicom-zip.worker.ts', import.meta.url), { concurrency: 1, heapMb: 256, timeoutMs: 300_000 });

export class ZipRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ZipRefused';
  }
}

/** Read the zip at this path into `outDir`, entry by entry, off the event loop; throws ZipRefused when it must not be read. */
export async function indexDicomZip(zip: string, outDir: string, limits: ZipLimits = ZIP_LIMITS): Promise<Extract<ZipAnswer, { ok: true }>> {
  let answer: ZipAnswer;
  try {
    answer = await zipPool.run<ZipAnswer>({ zip, outDir, limits } satisfies ZipJob);
  } catch (err) {
    if (err instanceof WorkerTimeout || (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') throw new ZipRefused('the zip takes too long or too much memory to read');
    throw err;
  }
  if (answer.ok) return answer;
  if (answer.refused) throw new ZipRefused(answer.message);
  throw new Error('reading the zip failed');
}
