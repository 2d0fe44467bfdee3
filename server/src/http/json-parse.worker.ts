/**
 * Worker thread: parse one JSON document and apply the shared text rule.
 * Plain, erasable TypeScript: Node (>= 22.18) runs it without a loader.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { findUnsafeText } from '../../../shared/src/text.ts';

const bytes = workerData as Uint8Array;
let value: unknown;
try {
  value = JSON.parse(new TextDecoder('utf-8').decode(bytes));
} catch {
  // The parser's message quotes the input: it stays here.
  parentPort!.postMessage({ ok: false, reason: 'json' });
  process.exit(0);
}
const finding = findUnsafeText(value);
parentPort!.postMessage(finding ? { ok: false, reason: 'text', finding } : { ok: true, value });
