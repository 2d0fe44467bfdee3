import type { ImportProblem } from '../domain/fhir-bundle.ts';
import type { PreparedImport } from '../domain/import-rows.ts';

/** What the import worker (import.worker.ts) is given: one document, or a searchset's pages. */
export type ImportJob =
  | { kind: 'body'; body: Uint8Array; allOrNothing?: boolean }
  | {
      kind: 'pages';
      pages: Uint8Array[];
      /** Prepended when no page holds a Patient (a poll's Observations are anchored on the case's Patient). */
      anchor?: unknown;
      /** Source id → server id of what the case already holds: those keep their ids and are left out of the rows. */
      knownIds?: Map<string, string>;
      allOrNothing?: boolean;
    };

export type ImportAnswer = { ok: true; prepared: PreparedImport } | { ok: false; reason: 'json' } | { ok: false; reason: 'invalid'; problems: ImportProblem[] };
