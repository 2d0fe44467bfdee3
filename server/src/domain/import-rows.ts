import type { FhirResource } from '../../../shared/src/fhir.ts';
import { clinicalTime, primaryCode } from './case-summary.ts';
import type { ImportedCase, ImportProblem } from './fhir-bundle.ts';

/**
 * An import as the database stores it, in a form that is cheap to hand from a
 * worker thread to the event loop: the report, and the rows as UTF-8 JSON text
 * in chunks of about ROW_CHUNK_BYTES (each one INSERT; transferred, not
 * copied). A row is `[resourceType, id, resource, sourceId, code, clinicalAt]`
 * (clinicalAt in epoch milliseconds, or null) — what CasesRepo writes per resource.
 * The event loop never walks the resources: it passes each chunk to
 * PostgreSQL as it is.
 */
export interface PreparedImport {
  patientId: string;
  /** Resources in the rows (a new case: the Patient included). */
  count: number;
  /** Per type, the Patient included: the import report's `stored`. */
  stored: Record<string, number>;
  refused: ImportProblem[];
  skipped: ImportProblem[];
  /** Resources left out of the rows because the case already holds them (refresh, polling). */
  unchanged: number;
  chunks: Uint8Array[];
}

/** Small enough that writing one chunk to PostgreSQL is well under a millisecond of the event loop, large enough for few statements. */
export const ROW_CHUNK_BYTES = 256 * 1024;

/**
 * The rows of an import. A new case gets the Patient and every resource;
 * with `held` (server ids the case already stores) those are left out and
 * counted as unchanged — a refresh adds only what is new.
 */
export function prepareImport(result: ImportedCase, held?: ReadonlySet<string>, chunkBytes = ROW_CHUNK_BYTES): PreparedImport {
  const rows = held ? result.resources.filter((r) => !held.has(r.id)) : [result.patient, ...result.resources];
  return {
    patientId: result.patient.id,
    count: rows.length,
    stored: result.stored,
    refused: result.refused,
    skipped: result.skipped,
    unchanged: held ? result.resources.length - rows.length : 0,
    chunks: rowChunks(rows, result.sourceIds, chunkBytes),
  };
}

export function rowChunks(resources: readonly FhirResource[], sourceIds: ReadonlyMap<string, string> | undefined, chunkBytes = ROW_CHUNK_BYTES): Uint8Array[] {
  const encoder = new TextEncoder();
  const chunks: Uint8Array[] = [];
  let rows: string[] = [];
  let size = 0;
  const flush = () => {
    if (rows.length > 0) chunks.push(encoder.encode(`[${rows.join(',')}]`));
    rows = [];
    size = 0;
  };
  for (const r of resources) {
    const row = JSON.stringify([r.resourceType, r.id, r, sourceIds?.get(r.id) ?? null, primaryCode(r), clinicalTime(r)]);
    // String length, not bytes: near enough for a size target.
    if (size > 0 && size + row.length > chunkBytes) flush();
    rows.push(row);
    size += row.length + 1;
  }
  flush();
  return chunks;
}
