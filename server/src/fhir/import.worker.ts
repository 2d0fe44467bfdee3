/**
 * Worker thread: one case import, from bytes to the rows the database stores
 * (fhir/case-importer.ts runs it). Parsing, checking, re-identifying and serialising
 * twelve thousand resources takes hundreds of milliseconds; here it costs this
 * thread, not the event loop the rooms are served from. The answer carries the
 * rows as transferred UTF-8 chunks (domain/import-rows.ts), so receiving it is
 * cheap too. Plain, erasable TypeScript: Node runs it without a loader.
 */
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { importBundle } from '../domain/fhir-bundle.ts';
import { prepareImport } from '../domain/import-rows.ts';
import { heldIds, type ImportAnswer, type ImportJob } from './import-job.ts';
import { lowerThisThread } from '../thread-priority.ts';

lowerThisThread();

const job = workerData as ImportJob;
const decoder = new TextDecoder('utf-8');

function answer(a: ImportAnswer): void {
  parentPort!.postMessage(a, a.ok ? a.prepared.chunks.map((c) => c.buffer as ArrayBuffer) : []);
}

function parse(bytes: Uint8Array): unknown {
  return JSON.parse(decoder.decode(bytes));
}

function run(): ImportAnswer {
  let body: unknown;
  try {
    if (job.kind === 'body') body = parse(job.body);
    else {
      // A searchset's pages (the client skimmed each as a Bundle; here they are parsed): their entries are imported together.
      const entries = job.pages.flatMap((page) => {
        const bundle = parse(page) as { resourceType?: unknown; entry?: unknown } | null;
        if (bundle?.resourceType !== 'Bundle') throw new Error('not a Bundle');
        return Array.isArray(bundle.entry) ? bundle.entry : [];
      });
      const hasPatient = entries.some((e) => (e as { resource?: { resourceType?: unknown } } | null)?.resource?.resourceType === 'Patient');
      body = { resourceType: 'Bundle', type: 'searchset', entry: hasPatient || !job.anchor ? entries : [job.anchor, ...entries] };
    }
  } catch {
    // The parser's message quotes the input: it stays here.
    return { ok: false, reason: 'json' };
  }
  const knownIds = job.kind === 'pages' && job.held !== undefined ? heldIds(job.held) : undefined;
  const result = importBundle(body, randomUUID, { allOrNothing: job.allOrNothing ?? false, ...(knownIds ? { knownIds } : {}) });
  if (!result.ok) return { ok: false, reason: 'invalid', problems: result.problems };
  return { ok: true, prepared: prepareImport(result, knownIds ? new Set(knownIds.values()) : undefined) };
}

answer(run());
