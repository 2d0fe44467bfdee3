/**
 * Worker thread: parse one JSON document. (The text rule is the caller's: the
 * case import applies it per entry, so one bad entry does not sink a bundle.)
 * Plain, erasable TypeScript: Node (>= 22.18) runs it without a loader.
 */
import { parentPort, workerData } from 'node:worker_threads';

const bytes = workerData as Uint8Array;
let value: unknown;
try {
  value = JSON.parse(new TextDecoder('utf-8').decode(bytes));
} catch {
  // The parser's message quotes the input: it stays here.
  parentPort!.postMessage({ ok: false, reason: 'json' });
  process.exit(0);
}
try {
  parentPort!.postMessage({ ok: true, value });
} catch {
  // Structured clone recurses: a document nested deeper than it can copy is refused, not a crash.
  parentPort!.postMessage({ ok: false, reason: 'depth' });
}
