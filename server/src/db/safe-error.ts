/**
 * What of a PostgreSQL error may reach a log: its SQLSTATE and its message up
 * to the first quoted value. The driver's error also carries `detail`, `where`,
 * `hint`, the query position and sometimes the statement, which quote the
 * offending row: patient data.
 */
export function isDbError(err: unknown): err is { code: string; message: string; severity: string } {
  const e = err as { code?: unknown; severity?: unknown } | null;
  return typeof e === 'object' && e !== null && typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string';
}

export function safeDbError(err: unknown): { code: string; message: string } {
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : 'unknown';
  const message = typeof e?.message === 'string' ? e.message.replace(/:?\s*["'].*$/s, '').slice(0, 200) : 'unknown error';
  return { code, message };
}
