import type { Pool, PoolClient } from '../db/pool.ts';
import { safeDbError } from '../safe-error.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { GENESIS_HASH, rowHash, type ChainedRow } from './canonical.ts';
import type { Checkpoint, CheckpointPublicKey } from './checkpoints.ts';
import { checkAuditEvent } from './event-check.ts';
import { fromDb, type AuditRow, type DbRow } from './rows.ts';
import { verifyAuditTrail, type VerifyResult } from './verify.ts';

export type { VerifyResult };

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
  | 'audit.export'
  | 'key.rotate'
  | 'backup.restore'
  | 'voice.mute'
  | 'voice.unmute'
  | 'participant.kick'
  | 'participant.readmit'
  | 'annotation.add'
  | 'annotation.remove'
  | 'annotation.move'
  | 'anchor.set'
  | 'guidance.ack'
  | 'guidance.dismiss'
  | 'imaging.upload'
  | 'imaging.series-open'
  | 'imaging.mark-clean'
  /** Decision support: a call to a CDS service (the resources sent), a card shared with the room, a card accepted or dismissed. */
  | 'cds.call'
  | 'cds.share'
  | 'cds.feedback'
  | 'recording.start'
  | 'recording.stop'
  | 'recording.view'
  /** A link to a recording's voice was given (who, which recording, under which role). */
  | 'recording.audio'
  | 'recording.grant'
  | 'recording.revoke'
  | 'recording.delete';

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

export type { AuditRow };

/** One query over the trail, for the audit API (oldest first, paging after a seq) and the console (newest first, paging before one). */
export interface AuditQuery {
  roomId?: string;
  /** As actor or as subject. */
  userId?: string;
  patientId?: string;
  /** Actions starting with this (e.g. `break-glass.`). */
  actionPrefix?: string;
  from?: Date;
  to?: Date;
  afterSeq?: number;
  beforeSeq?: number;
  /** Default oldest first. */
  order?: 'oldest-first' | 'newest-first';
  limit: number;
}

/** Serializes appends across processes: the chain needs one writer at a time. */
const AUDIT_LOCK_KEY = 0x434f4e53;
const BATCH_MAX = 500;

interface Pending {
  event: AuditEvent;
  at: Date;
  resolve: () => void;
  reject: (err: unknown) => void;
}

interface Prepared {
  p: Pending;
  details: Record<string, unknown>;
}

export interface AuditLogOptions {
  logger?: Logger;
  /** Public keys that checkpoints must be signed with (verify); none → checkpoints are not checked. */
  trustedKeys?: CheckpointPublicKey[];
}

export class AuditLog {
  private queue: Pending[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly options: AuditLogOptions = {},
  ) {}

  /**
   * Resolves once the event is committed. Rejects with AUDIT_EVENT_INVALID when
   * the event itself is unfit (hostile text, not JSON), or AUDIT_WRITE_FAILED
   * when the database refuses it; either way only this event fails.
   */
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
    const batch: Prepared[] = [];
    for (const p of this.queue.splice(0, BATCH_MAX)) {
      const checked = checkAuditEvent(p.event);
      if ('problem' in checked) {
        // The problem names a field, never its text.
        this.options.logger?.warn({ action: p.event.action, problem: checked.problem }, 'audit event refused before writing');
        p.reject(new AppError('AUDIT_EVENT_INVALID', `Audit event refused: ${checked.problem}`));
      } else batch.push({ p, details: checked.details });
    }
    if (batch.length === 0) return;
    const client = await this.pool.connect().catch((err: unknown) => {
      this.failAll(batch, err);
      return null;
    });
    if (!client) return;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_LOCK_KEY]);
      const last = await client.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
      const head = { seq: last.rows[0] ? Number(last.rows[0].seq) : 0, hash: last.rows[0]?.hash ?? GENESIS_HASH };
      // Fast path: the whole batch in one statement. If the database refuses any row, undo just
      // that statement and insert row by row, each under its own savepoint, chaining only the
      // rows that went in: one refused event never fails the others.
      await client.query('SAVEPOINT audit_batch');
      let committed: Prepared[];
      try {
        await insertRows(client, chain(batch, head));
        committed = batch;
      } catch (err) {
        await client.query('ROLLBACK TO SAVEPOINT audit_batch');
        this.logDbError(err, 'audit batch refused; retrying row by row');
        committed = [];
        for (const item of batch) {
          const [row] = chain([item], head);
          await client.query('SAVEPOINT audit_row');
          try {
            await insertRows(client, [row!]);
            await client.query('RELEASE SAVEPOINT audit_row');
            head.seq = row!.seq;
            head.hash = row!.hash;
            committed.push(item);
          } catch (rowErr) {
            await client.query('ROLLBACK TO SAVEPOINT audit_row');
            this.logDbError(rowErr, 'audit event refused by the database; the rest of its batch goes on');
            item.p.reject(writeFailed(rowErr));
          }
        }
      }
      await client.query('COMMIT');
      committed.forEach((c) => c.p.resolve());
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      this.logDbError(err, 'audit batch failed');
      this.failAll(batch, err);
    } finally {
      client.release();
    }
  }

  private failAll(batch: Prepared[], err: unknown): void {
    const e = writeFailed(err);
    batch.forEach((b) => b.p.reject(e));
  }

  /** Code and message only: a driver error's detail, where, query or parameters may quote patient data. */
  private logDbError(err: unknown, msg: string): void {
    this.options.logger?.error({ db: safeDbError(err) }, msg);
  }

  /** Walk the whole chain and check it against the signed checkpoints (see verify.ts). */
  verify(extraCheckpoints: Checkpoint[] = []): Promise<VerifyResult> {
    return verifyAuditTrail(this.pool, { trustedKeys: this.options.trustedKeys ?? [], extraCheckpoints });
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
    if (q.actionPrefix) add('action LIKE ?', `${q.actionPrefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
    if (q.from) add('at >= ?', q.from);
    if (q.to) add('at < ?', q.to);
    if (q.afterSeq !== undefined) add('seq > ?', q.afterSeq);
    if (q.beforeSeq !== undefined) add('seq < ?', q.beforeSeq);
    params.push(q.limit);
    const { rows } = await this.pool.query<DbRow>(
      `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${q.order === 'newest-first' ? 'DESC' : 'ASC'} LIMIT $${params.length}`,
      params,
    );
    return rows.map(fromDb);
  }
}

/** Number and hash the items after `head`, without moving it. */
function chain(items: Prepared[], head: { seq: number; hash: string }): AuditRow[] {
  let seq = head.seq;
  let prevHash = head.hash;
  return items.map(({ p, details }) => {
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
      details,
      prevHash,
    };
    prevHash = rowHash(row);
    return { ...row, hash: prevHash };
  });
}

async function insertRows(client: PoolClient, rows: AuditRow[]): Promise<void> {
  const params: unknown[] = [];
  const tuples = rows.map((r) => {
    const base = params.length;
    params.push(r.seq, r.at, r.actor, r.action, r.outcome, r.roomId, r.caseId, r.patientId, r.subject, JSON.stringify(r.details), r.prevHash, r.hash);
    return `(${Array.from({ length: 12 }, (_, i) => `$${base + i + 1}`).join(', ')})`;
  });
  await client.query(
    `INSERT INTO audit_log (seq, at, actor, action, outcome, room_id, case_id, patient_id, subject, details, prev_hash, hash) VALUES ${tuples.join(', ')}`,
    params,
  );
}

function writeFailed(err: unknown): AppError {
  const { code } = safeDbError(err);
  return new AppError('AUDIT_WRITE_FAILED', `Audit event could not be written (database error ${code})`);
}
