/**
 * Worker thread: read one large page from the FHIR server far enough to follow
 * it — is it a Bundle, how many entries, where is the next page — without
 * parsing it on the event loop (fhir-client.ts). The page's bytes stay with
 * the caller for the import worker (moved here and back, never copied). Plain,
 * erasable TypeScript.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pageSummary } from './page-summary.ts';

const bytes = workerData as Uint8Array;
let value: unknown;
try {
  value = JSON.parse(new TextDecoder('utf-8').decode(bytes));
} catch {
  // The parser's message quotes the input: it stays here.
  value = undefined;
}
// The bytes were moved here; they go back the same way (the import worker parses them again).
parentPort!.postMessage({ summary: pageSummary(value), bytes }, [bytes.buffer as ArrayBuffer]);
