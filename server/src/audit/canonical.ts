import type { AuditEventDto } from '../../../shared/src/http.ts';
import { createHash } from 'node:crypto';

/** Deterministic JSON: object keys sorted at every level, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const obj = value as Record<string, unknown>;
  return `{${Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`)
    .join(',')}}`;
}

export const GENESIS_HASH = '0'.repeat(64);

/** What a row's hash covers: every column but the hash itself, chained to the previous row. */
export interface ChainedRow extends AuditEventDto {
  prevHash: string;
}

export function rowHash(row: ChainedRow): string {
  // Name every covered field explicitly: a row read back also carries its own hash.
  const covered = {
    seq: row.seq,
    at: row.at,
    actor: row.actor,
    action: row.action,
    outcome: row.outcome,
    roomId: row.roomId,
    caseId: row.caseId,
    patientId: row.patientId,
    subject: row.subject,
    details: row.details,
  };
  return createHash('sha256').update(`${row.prevHash}\n${canonicalJson(covered)}`).digest('hex');
}
