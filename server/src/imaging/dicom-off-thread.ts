import { NotDicom, UnsupportedImage, type InstanceIndex } from '../domain/dicom.ts';
import { WorkerPool, WorkerTimeout } from '../worker-once.ts';

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
