import type { ChainedRow } from './canonical.ts';

/** A row of the hash-chained trail. */
export interface AuditRow extends ChainedRow {
  hash: string;
}

/** An audit_log row as PostgreSQL returns it (read by the query API and by the chain's verifier). */
export interface DbRow {
  seq: string;
  at: Date;
  actor: string;
  action: string;
  outcome: string;
  room_id: string | null;
  case_id: string | null;
  patient_id: string | null;
  subject: string | null;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export function fromDb(r: DbRow): AuditRow {
  return {
    seq: Number(r.seq),
    at: r.at.toISOString(),
    actor: r.actor,
    action: r.action,
    outcome: r.outcome,
    roomId: r.room_id,
    caseId: r.case_id,
    patientId: r.patient_id,
    subject: r.subject,
    details: r.details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}
