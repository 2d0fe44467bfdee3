import { WorkerPool } from '../worker-once.ts';

export type OffThreadResult = { ok: true; value: unknown } | { ok: false; reason: 'json' | 'depth' };

/** Parses at a time: 2, more wait (only administrators import). */
const pool = new WorkerPool(new URL('./json-parse.worker.ts', import.meta.url), { concurrency: 2, heapMb: 512 });

/**
 * JSON.parse on a short-lived worker thread with its own heap cap, so a huge
 * or hostile document costs that thread, not the event loop (the parsed value
 * comes back by structured clone, which is cheaper than parsing on the loop).
 * Failures of the thread itself (it could not load, or hit its heap cap) carry
 * no input: the error handler logs them and answers INTERNAL. Parse errors are
 * answers (the worker reports them).
 */
export function parseJsonOffThread(bytes: Buffer): Promise<OffThreadResult> {
  const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return pool.run<OffThreadResult>(data, bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [bytes.buffer as ArrayBuffer] : []);
}
