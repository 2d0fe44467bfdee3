import { isSafeText } from '../../../shared/src/text.ts';

/**
 * Pre-flight check of an audit event, so that one event PostgreSQL would refuse
 * never reaches the batch: text passes the one shared text rule (shared/src/text.ts),
 * UUID columns hold UUIDs, details are plain JSON of bounded size.
 */
// Generous: a disclosure lists every resource id of a case (bundles may be 10 MB); the cap only
// stops absurd rows. Past it the event fails closed (nothing is disclosed unaudited).
const MAX_DETAILS_CHARS = 4 * 1024 * 1024;
const MAX_TEXT_CHARS = 512;
const MAX_DEPTH = 8;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The shared text rule's refusals (control characters but tab, LF and CR; C1; DEL; unpaired surrogates), located. */
const FORBIDDEN = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string is refused, or null. Never echoes the string (it may be patient data). */
export function textProblem(s: string): string | null {
  if (isSafeText(s)) return null;
  const m = FORBIDDEN.exec(s);
  const c = m ? m[0].charCodeAt(0) : 0;
  return c >= 0xd800 ? 'an unpaired surrogate' : `control character U+${c.toString(16).padStart(4, '0').toUpperCase()}`;
}

export interface CheckableEvent {
  actor: string;
  action: string;
  roomId?: string | null;
  caseId?: string | null;
  patientId?: string | null;
  subject?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Returns the details as they will be stored (a JSON round trip, so the hash
 * covers exactly what jsonb keeps: Dates become strings, undefined disappears),
 * or a problem naming the field, never its value.
 */
export function checkAuditEvent(event: CheckableEvent): { details: Record<string, unknown> } | { problem: string } {
  for (const field of ['actor', 'action', 'subject'] as const) {
    const v = event[field];
    if (v === undefined || v === null) {
      if (field === 'subject') continue;
      return { problem: `${field} is missing` };
    }
    if (typeof v !== 'string') return { problem: `${field} is not a string` };
    if (v.length > MAX_TEXT_CHARS) return { problem: `${field} is longer than ${MAX_TEXT_CHARS} characters` };
    const p = textProblem(v);
    if (p) return { problem: `${field} contains ${p}` };
  }
  for (const field of ['roomId', 'caseId', 'patientId'] as const) {
    const v = event[field];
    if (v !== undefined && v !== null && (typeof v !== 'string' || !UUID.test(v))) return { problem: `${field} is not a UUID` };
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(event.details ?? {});
  } catch {
    return { problem: 'details are not serializable JSON' };
  }
  if (json === undefined) return { problem: 'details are not a JSON object' };
  if (json.length > MAX_DETAILS_CHARS) return { problem: `details exceed ${MAX_DETAILS_CHARS} characters` };
  const details = JSON.parse(json) as unknown;
  if (details === null || typeof details !== 'object' || Array.isArray(details)) return { problem: 'details are not a JSON object' };
  const p = jsonProblem(details, 'details', 0);
  return p ? { problem: p } : { details: details as Record<string, unknown> };
}

function jsonProblem(value: unknown, path: string, depth: number): string | null {
  if (depth > MAX_DEPTH) return `${path} nests deeper than ${MAX_DEPTH} levels`;
  if (typeof value === 'string') {
    const p = textProblem(value);
    return p ? `${path} contains ${p}` : null;
  }
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = jsonProblem(value[i], `${path}[${i}]`, depth + 1);
      if (p) return p;
    }
    return null;
  }
  for (const [k, v] of Object.entries(value)) {
    const kp = textProblem(k);
    // The key itself may be hostile: name its position, not its text.
    if (kp) return `a key in ${path} contains ${kp}`;
    const p = jsonProblem(v, `${path}.${safeKey(k)}`, depth + 1);
    if (p) return p;
  }
  return null;
}

function safeKey(k: string): string {
  return /^[A-Za-z0-9_-]{1,40}$/.test(k) ? k : '<key>';
}
