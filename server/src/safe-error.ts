/**
 * What of a PostgreSQL error may reach a log or an answer: its SQLSTATE and
 * its message with every quoted segment removed. The driver's error also
 * carries `detail`, `where`, `hint`, the query position and sometimes the
 * statement, which quote the offending row: patient data. The one rule, for
 * the logger's serializer (logger.ts) and for code that reports a database
 * failure itself (the audit log).
 */

/** A PostgreSQL server error (pg's DatabaseError): SQLSTATE code plus severity. */
export function isDatabaseError(err: unknown): err is { code: string; message: string; severity: string } {
  if (typeof err !== 'object' || err === null) return false;
  const e = err as { code?: unknown; severity?: unknown; constructor?: { name?: unknown } };
  return e.constructor?.name === 'DatabaseError' || (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string');
}

/** Remove every double-quoted segment (values and identifiers alike) and cap the length. */
export function scrubDatabaseMessage(message: string): string {
  return message.replace(/"(?:[^"]|"")*"?/g, '"…"').slice(0, 200);
}

/** SQLSTATE and scrubbed message of any thrown value ('unknown' where it has none). */
export function safeDbError(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : 'unknown';
  const message = typeof e?.message === 'string' ? scrubDatabaseMessage(e.message) : 'unknown error';
  return { code, message };
}
