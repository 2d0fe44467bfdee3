import { isSafeText } from '../../../shared/src/text.ts';

/**
 * Text from outside (FHIR imports) passes the one shared text rule
 * (shared/src/text.ts: no control characters but tab and line breaks — NUL
 * breaks PostgreSQL's jsonb — and no unpaired UTF-16 surrogates), here per
 * entry with the path inside the resource. The walk is iterative and
 * depth-bounded, so a hostile, deeply nested body cannot exhaust the stack.
 */
export const MAX_JSON_DEPTH = 64;
export const FHIR_ID_RE = /^[A-Za-z0-9\-.]{1,64}$/;

export const isCleanText = isSafeText;

/** The first offending place in `value` (path like `resource.name.0.family`), or null when all text is clean. */
export function badTextPath(value: unknown): { path: string; reason: string } | null {
  const stack: { v: unknown; path: string; depth: number }[] = [{ v: value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      if (!isCleanText(v)) return { path, reason: 'contains a control character or an unpaired surrogate' };
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_JSON_DEPTH) return { path, reason: `nested deeper than ${MAX_JSON_DEPTH} levels` };
    const entries: [string, unknown][] = Array.isArray(v) ? v.map((x, i) => [String(i), x]) : Object.entries(v);
    for (const [k, x] of entries) {
      const p = path ? `${path}.${k}` : k;
      if (!isCleanText(k)) return { path: path || '(root)', reason: 'a key contains a control character or an unpaired surrogate' };
      stack.push({ v: x, path: p, depth: depth + 1 });
    }
  }
  return null;
}
