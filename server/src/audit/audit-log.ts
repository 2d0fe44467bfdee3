import type { Pool, PoolClient } from '../db/pool.ts';
import { GENESIS_HASH, rowHash, type ChainedRow } from './canonical.ts';

/**
 * Append-only, hash-chained audit trail (HIPAA 164.312(b) audit controls).
 * Events are batched: `record()` resolves once its row is committed. Rows
 * name resources by server id and type, never by content: no PHI here.
 */
export type AuditAction =
  | 'ticket.issued'
  | 'ticket.refused'
  | 'room.join'
  | 'room.leave'
  | 'room.create'
  | 'room.update'
  | 'room.close'
  | 'participant.scope-change'
  | 'participant.remove'
  | 'disclosure'
  | 'disclosure.revoked'
  | 'case.import'
  | 'case.read'
  | 'case.delete'
  | 'observation.ingest'
  | 'break-glass.request'
  | 'break-glass.approve'
  | 'break-glass.deny'
  | 'break-glass.expire'
  | 'audit.read'
  | 'voice.mute'
  | 'voice.unmute'
  | 'participant.kick'
  | 'participant.readmit';

export interface AuditEvent {
  actor: string;
  action: AuditAction;
  outcome?: 'success' | 'failure';
  roomId?: string | null;
  caseId?: string | null;
  patientId?: string | null;
  /** The user the event is about, when not the actor. */
  subject?: string | null;
  details?: Record<string, unknown>;
}

export interface AuditRow extends ChainedRow {
  hash: string;
}

export interface AuditQuery {
  roomId?: string;
  userId?: string;
  patientId?: string;
  from?: Date;
  to?: Date;
  afterSeq?: number;
  limit: number;
}

export type VerifyResult = { ok: true; rows: number; lastHash: string } | { ok: false; rows: number; firstBroken: { seq: number; reason: string } };

/** Serializes appends across processes: the chain needs one writer at a time. */
const AUDIT_LOCK_KEY = 0x434f4e53;

interface Pending {
  event: AuditEvent;
  at: Date;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class AuditLog {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;

  constructor(private readonly pool: Pool) {}

  record(event: AuditEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ event, at: new Date(), resolve, reject });
      this.schedule();
    });
  }

  /** Resolves when everything recorded so far is committed. */
  async flush(): Promise<void> {
    while (this.queue.length > 0 || this.flushing) {
      if (!this.flushing) this.schedule();
      await this.flushing?.catch(() => {});
    }
  }

  private schedule(): void {
    if (this.flushing) return;
    this.flushing = new Promise<void>((r) => setImmediate(r))
      .then(() => this.writeBatch())
      .finally(() => {
        this.flushing = null;
        if (this.queue.length > 0) this.schedule();
      });
  }

  private async writeBatch(): Promise<void> {
    const batch = this.queue.splice(0, 500);
    if (batch.length === 0) return;
    const client = await this.pool.connect().catch((err: unknown) => {
      batch.forEach((p) => p.reject(err));
      return null;
    });
    if (!client) return;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY]);
      const last = await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
      let seq = last.rows[0] ? Number(last.rows[0].seq) : 0;
      let prevHash = last.rows[0]?.hash ?? GENESIS_HASH;
      for (const p of batch) {
        seq += 1;
        const row: ChainedRow = {
          seq,
          at: p.at.toISOString(),
          actor: p.event.actor,
          action: p.event.action,
          outcome: p.event.outcome ?? 'success',
          roomId: p.event.roomId ?? null,
          caseId: p.event.caseId ?? null,
          patientId: p.event.patientId ?? null,
          subject: p.event.subject ?? null,
          details: p.event.details ?? {},
          prevHash,
        };
        const hash = rowHash(row);
        await insert(client, { ...row, hash });
        prevHash = hash;
      }
      await client.query('COMMIT');
      batch.forEach((p) => p.resolve());
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      batch.forEach((p) => p.reject(err));
    } finally {
      client.release();
    }
  }

  async query(q: AuditQuery): Promise<AuditRow[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.roomId) add('room_id = ?', q.roomId);
    if (q.userId) add('? IN (actor, subject)', q.userId);
    if (q.patientId) add('patient_id = ?', q.patientId);
    if (q.from) add('at >= ?', q.from);
    if (q.to) add('at < ?', q.to);
    if (q.afterSeq !== undefined) add('seq > ?', q.afterSeq);
    params.push(q.limit);
    const { rows } = await this.pool.query<DbRow>(
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT $${params.length}`,
      params,
    );
    return rows.map(fromDb);
  }

  /** Walk the whole chain; report the first row whose hash or link does not hold. */
  async verify(): Promise<VerifyResult> {
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1;
    let count = 0;
    const pageSize = 2000;
    for (;;) {
      const { rows } = await this.pool.query<DbRow>('SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2', [expectedSeq, pageSize]);
      for (const db of rows) {
        const row = fromDb(db);
        if (row.seq !== expectedSeq) return { ok: false, rows: count, firstBroken: { seq: expectedSeq, reason: `row ${expectedSeq} is missing` } };
        if (row.prevHash !== prevHash) return { ok: false, rows: count, firstBroken: { seq: row.seq, reason: 'does not link to the previous row' } };
        if (rowHash(row) !== row.hash) return { ok: false, rows: count, firstBroken: { seq: row.seq, reason: 'contents do not match the row hash' } };
        prevHash = row.hash;
        expectedSeq++;
        count++;
      }
      if (rows.length < pageSize) return { ok: true, rows: count, lastHash: prevHash };
    }
  }
}

interface DbRow {
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

function fromDb(r: DbRow): AuditRow {
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

async function insert(client: PoolClient, r: AuditRow): Promise<void> {
  await client.query(
    `INSERT INTO audit_log (seq, at, actor, action, outcome, room_id, case_id, patient_id, subject, details, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
    [r.seq, r.at, r.actor, r.action, r.outcome, r.roomId, r.caseId, r.patientId, r.subject, r.details, r.prevHash, r.hash],
  );
}
