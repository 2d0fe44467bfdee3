/**
 * Worker thread: read one Part 10 file, check its structure against the element budget, parse it and
 * index its frames (domain/dicom.ts). Plain, erasable TypeScript: Node runs it without a loader.
 */
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { NotDicom, parsePart10, pixelIndex, UnsupportedImage } from '../domain/dicom.ts';
import { lowerThisThread } from '../thread-priority.ts';

lowerThisThread();

const { file } = workerData as { file: string };
try {
  const parsed = parsePart10(new Uint8Array(readFileSync(file)));
  parentPort!.postMessage({ ok: true, index: { header: parsed.header, pixels: pixelIndex(parsed) } });
} catch (err) {
  const kind = err instanceof NotDicom ? 'not-dicom' : err instanceof UnsupportedImage ? 'unsupported' : 'failed';
  parentPort!.postMessage({ ok: false, kind, message: err instanceof Error ? err.message : 'unreadable DICOM' });
}
