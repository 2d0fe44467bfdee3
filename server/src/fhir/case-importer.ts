import { AppError } from '../errors.ts';
import { WorkerPool, WorkerTimeout } from '../worker-once.ts';
import type { ImportAnswer, ImportJob } from './import-job.ts';

export type { ImportJob };

export interface ImportLimits {
  /** The worker's old-generation heap cap (the largest import, 32 MB of 20,000 entries, fits in 128 MB). */
  heapMb: number;
  timeoutMs: number;
}

/**
 * Case imports run on a short-lived worker thread (import.worker.ts), two at a
 * time: the body (or a FHIR server's pages) is parsed, checked and turned into
 * database rows there, and only the report and the rows' bytes come back. The
 * event loop keeps serving the rooms meanwhile.
 *
 * A worker that hits its heap cap or time limit stores nothing (the database
 * is written only after the answer) and the caller gets a stable code:
 * IMPORT_TOO_LARGE or IMPORT_TIMEOUT. Any other failure of the thread rejects
 * with an error that carries no input (logged as INTERNAL).
 */
export class CaseImporter {
  private readonly pool: WorkerPool;

  constructor(limits: ImportLimits) {
    this.pool = new WorkerPool(new URL('./import.worker.ts', import.meta.url), { concurrency: 2, heapMb: limits.heapMb, timeoutMs: limits.timeoutMs });
  }

  async run(job: ImportJob): Promise<ImportAnswer> {
    const buffers = job.kind === 'body' ? [job.body] : job.pages;
    try {
      return await this.pool.run<ImportAnswer>(job, buffers.filter(whole).map((b) => b.buffer as ArrayBuffer));
    } catch (err) {
      if (err instanceof WorkerTimeout) throw new AppError('IMPORT_TIMEOUT');
      if ((err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY') throw new AppError('IMPORT_TOO_LARGE');
      throw err;
    }
  }
}

/** Only a view of a whole buffer is moved to the worker (a small Buffer may share Node's pool with others): the rest are copied. */
const whole = (b: Uint8Array) => b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && !(b.buffer instanceof SharedArrayBuffer);
