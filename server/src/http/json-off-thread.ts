import { Worker } from 'node:worker_threads';

export type OffThreadResult = { ok: true; value: unknown } | { ok: false; reason: 'json' | 'depth' };

const WORKER_URL = new URL('./json-parse.worker.ts', import.meta.url);
/** Parses at a time; more wait (only administrators import). */
const MAX_CONCURRENT = 2;
let running = 0;
const waiting: (() => void)[] = [];

/**
 * JSON.parse on a short-lived worker thread with its own heap cap, so a huge
 * or hostile document costs that thread, not the event loop (the parsed value
 * comes back by structured clone, which is cheaper than parsing on the loop).
 */
export async function parseJsonOffThread(bytes: Buffer): Promise<OffThreadResult> {
  if (running >= MAX_CONCURRENT) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await runWorker(bytes);
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function runWorker(bytes: Buffer): Promise<OffThreadResult> {
  return new Promise((resolve, reject) => {
    const data = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const worker = new Worker(WORKER_URL, {
      workerData: data,
      transferList: bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? [bytes.buffer as ArrayBuffer] : [],
      resourceLimits: { maxOldGenerationSizeMb: 512 },
      stdout: false,
      stderr: false,
    });
    let settled = false;
    worker.once('message', (m: OffThreadResult) => {
      settled = true;
      resolve(m);
      void worker.terminate();
    });
    // Failures of the thread itself (it could not load, or hit its heap cap) carry no input: the
    // error handler logs them and answers INTERNAL. Parse errors never get here (the worker reports them).
    worker.once('error', (err) => {
      if (!settled) reject(err);
      settled = true;
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`JSON worker exited with code ${code} before answering`));
    });
  });
}
