import { z } from 'zod';

/**
 * The one text rule every string from outside passes (room messages, HTTP
 * bodies and query strings, FHIR imports). No Node imports: the server and the
 * browser client share it.
 *
 * Refused:
 * - control characters (Unicode Cc: U+0000–U+001F, U+007F–U+009F) except tab,
 *   line feed and carriage return. NUL breaks PostgreSQL `text`/`jsonb`; the
 *   others have no place in clinical text and hide content from reviewers.
 *   CR is allowed because FHIR's own `string` type allows exactly tab, CR and
 *   LF (clinical systems send CRLF line ends), and browsers and pino escape it.
 * - unpaired UTF-16 surrogates (either half): they are not Unicode text, cannot
 *   be encoded as UTF-8, and PostgreSQL refuses them.
 */
const UNSAFE = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const UNSAFE_TEXT_MESSAGE = 'must not contain control characters (other than tab and line breaks) or unpaired surrogates';

export function isSafeText(value: string): boolean {
  return !UNSAFE.test(value);
}

/**
 * A zod string that obeys the text rule. The length limit is checked first and
 * aborts, so a huge string is refused without scanning it.
 */
export function safeText(opts: { max: number }) {
  return z
    .string()
    .max(opts.max, { abort: true })
    .refine(isSafeText, { message: UNSAFE_TEXT_MESSAGE });
}

export interface UnsafeTextFinding {
  /** JSON path of the first offending string or key, e.g. `entry[2].resource.name[0].family`. */
  path: string;
  message: string;
}

/**
 * Walk parsed JSON (iteratively: hostile nesting cannot overflow the stack)
 * and report the first string value or object key that breaks the text rule.
 */
export function findUnsafeText(value: unknown): UnsafeTextFinding | null {
  const stack: { value: unknown; path: string }[] = [{ value, path: '' }];
  while (stack.length > 0) {
    const item = stack.pop()!;
    const v = item.value;
    if (typeof v === 'string') {
      if (!isSafeText(v)) return { path: item.path || '(root)', message: UNSAFE_TEXT_MESSAGE };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], path: `${item.path}[${i}]` });
    } else if (v !== null && typeof v === 'object') {
      const keys = Object.keys(v);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i]!;
        const path = item.path ? `${item.path}.${isSafeText(key) ? key : '(key)'}` : isSafeText(key) ? key : '(key)';
        if (!isSafeText(key)) return { path, message: `object keys ${UNSAFE_TEXT_MESSAGE}` };
        stack.push({ value: (v as Record<string, unknown>)[key], path });
      }
    }
  }
  return null;
}
