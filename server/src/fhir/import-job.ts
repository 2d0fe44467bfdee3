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
      /** What the case already holds, as `source<TAB>server` id lines (CasesRepo.heldSourceIds): those keep their ids and are left out of the rows. */
      held?: string;
      allOrNothing?: boolean;
    };

export type ImportAnswer = { ok: true; prepared: PreparedImport } | { ok: false; reason: 'json' } | { ok: false; reason: 'invalid'; problems: ImportProblem[] };

/** `source<TAB>server` lines → source id → server id. */
export function heldIds(lines: string): Map<string, string> {
  const held = new Map<string, string>();
  for (const line of lines.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) held.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return held;
}
