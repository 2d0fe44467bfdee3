import type { AuditEvent } from '../audit/audit-log.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import type { Pool } from '../db/pool.ts';
import type { RecordingsRepo } from '../db/recordings.repo.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import { deleteRecording, endReplayRoom } from '../recordings/lifecycle.ts';
import type { Logger } from '../logger.ts';
import type { RecordingAudioFiles } from '../media/recording-audio-files.ts';

/**
 * Retention: cases no room has used for `caseDays` (and no kept recording shows), and recordings past their
 * `expires_at`, are deleted
 * (patient data, uploaded and cached images, and chunks go; the marked row stays so the audit trail keeps its referent), each with an
 * audit row giving `reason: 'retention'`. The audit trail itself is never deleted here (docs/OPERATIONS.md,
 * "Retention": archives are cut by hand). One run at a time across processes: a PostgreSQL advisory lock.
 *
 *   const report = await runRetention(deps, { caseDays: 90, dryRun: true });
 */
export interface RetentionDeps {
  pool: Pool;
  cases: CasesRepo;
  recordings: RecordingsRepo;
  rooms: RoomsRepo;
  audit: { record(event: AuditEvent): Promise<void> };
  /** The recordings' voice files: an expired recording's voice goes with it. */
  audioFiles: RecordingAudioFiles;
  /** A deleted case's images go with it; each run also sweeps what a crash left behind (ImagingService). */
  imaging: { purgeCase(caseId: string): Promise<{ files: number }>; sweep(): Promise<{ cases: number; files: number }> };
  /** Who the audit rows name: `system` in the server, `cli:<user>` from the command line. */
  actor: string;
  /**
   * Close a live replay room of a deleted recording (the server: `LiveRooms.call`). Absent (the command line):
   * a recording whose replay is live right now is left for the server's own run.
   */
  closeLiveRoom?: (roomId: string) => Promise<void>;
  /** The clock (tests move it). */
  now?: () => Date;
}

export interface RetentionOptions {
  /** Days a case may go without a room; null: cases are kept until deleted by hand. */
  caseDays: number | null;
  /** Replay rooms older than this close (REPLAY_ROOM_HOURS; absent: left open). */
  replayRoomMs?: number;
  /** List what is due, change nothing, write no audit row. */
  dryRun?: boolean;
  /** At most this many of each per run (the next run takes the rest). */
  batch?: number;
}

export interface RetentionItem {
  kind: 'case' | 'recording' | 'replay-room';
  id: string;
  /** Case: the last time a room used it (or its import); recording: when it expired. */
  since: string;
  /** deleted (a case, a recording), closed (a replay room), or, in a dry run, due. */
  action: 'deleted' | 'closed' | 'due' | 'skipped';
  note?: string;
}

export interface RetentionReport {
  /** false: another process holds the lock and is running retention now. */
  ran: boolean;
  dryRun: boolean;
  at: string;
  items: RetentionItem[];
}

/** Distinct from the audit (0x434f4e53) and grant (0x434f4e47) locks. */
export const RETENTION_LOCK_KEY = 0x434f4e52;
const DAY_MS = 86_400_000;

export async function runRetention(deps: RetentionDeps, opts: RetentionOptions): Promise<RetentionReport> {
  const now = (deps.now ?? (() => new Date()))();
  const dryRun = opts.dryRun === true;
  const batch = opts.batch ?? 500;
  const lock = await deps.pool.connect();
  try {
    const { rows } = await lock.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [RETENTION_LOCK_KEY]);
    if (!rows[0]?.ok) return { ran: false, dryRun, at: now.toISOString(), items: [] };
    try {
      // Recordings first: a case kept only by a recording that expires now goes in the same run.
      const recordings = await expireRecordings(deps, now, batch, dryRun);
      const cases = opts.caseDays === null ? [] : await expireCases(deps, now, opts.caseDays, batch, dryRun, dryRun ? new Set(recordings.map((r) => r.id)) : new Set());
      const replays = opts.replayRoomMs === undefined ? [] : await closeEndedReplays(deps, now, opts.replayRoomMs, batch, dryRun);
      const items = [...cases, ...recordings, ...replays];
      // Images of cases deleted while their purge could not finish, and files no row names (a crash mid-upload or mid-purge).
      if (!dryRun) await deps.imaging.sweep();
      return { ran: true, dryRun, at: now.toISOString(), items };
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK_KEY]);
    }
  } finally {
    lock.release();
  }
}

/**
 * A case is in use while any room showing it is open, and kept while a recording that showed it is kept
 * (not deleted, not expired: its replays read the case). After that, it goes `days` after its last room
 * closed (or its import). Replay rooms do not count as rooms here: they live and die with their recording.
 * `expiring`: recordings a dry run found due (a real run has deleted them already).
 */
async function expireCases(deps: RetentionDeps, now: Date, days: number, batch: number, dryRun: boolean, expiring: ReadonlySet<string>): Promise<RetentionItem[]> {
  const cutoff = new Date(now.getTime() - days * DAY_MS);
  const { rows } = await deps.pool.query<{ id: string; patient_id: string; last_used: Date }>(
    `SELECT c.id, c.patient_id, GREATEST(c.created_at, MAX(COALESCE(r.closed_at, r.updated_at))) AS last_used
       FROM cases c LEFT JOIN rooms r ON r.case_id = c.id AND r.kind <> 'replay'
      WHERE c.deleted_at IS NULL
        AND NOT EXISTS (SELECT 1 FROM recordings rec WHERE rec.case_id = c.id AND rec.deleted_at IS NULL
                          AND (rec.expires_at IS NULL OR rec.expires_at > $3) AND NOT (rec.id = ANY($4::uuid[])))
      GROUP BY c.id
     HAVING bool_and(r.status IS DISTINCT FROM 'open') AND GREATEST(c.created_at, MAX(COALESCE(r.closed_at, r.updated_at))) < $1
      ORDER BY last_used, c.id LIMIT $2`,
    [cutoff, batch, now, [...expiring]],
  );
  const items: RetentionItem[] = [];
  for (const r of rows) {
    const item: RetentionItem = { kind: 'case', id: r.id, since: r.last_used.toISOString(), action: 'due' };
    items.push(item);
    if (dryRun) continue;
    // Re-checked in the statement's own time: a room opened on the case since the query keeps it.
    if (!(await stillUnused(deps.pool, r.id, now)) || !(await deps.cases.delete(r.id))) {
      item.action = 'skipped';
      item.note = 'in use again or already deleted';
      continue;
    }
    item.action = 'deleted';
    const { files } = await deps.imaging.purgeCase(r.id);
    await deps.audit.record({ actor: deps.actor, action: 'case.delete', caseId: r.id, patientId: r.patient_id, details: { reason: 'retention', retentionDays: days, lastUsedAt: item.since, imagingFiles: files } });
  }
  return items;
}

async function stillUnused(pool: Pool, caseId: string, now: Date): Promise<boolean> {
  const { rows } = await pool.query(
    `SELECT 1 FROM rooms WHERE case_id = $1 AND status = 'open'
     UNION ALL SELECT 1 FROM recordings WHERE case_id = $1 AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > $2) LIMIT 1`,
    [caseId, now],
  );
  return rows.length === 0;
}

async function expireRecordings(deps: RetentionDeps, now: Date, batch: number, dryRun: boolean): Promise<RetentionItem[]> {
  // Finished recordings only: one still being written ends (and is then collected) first.
  const { rows } = await deps.pool.query<{ id: string; room_id: string; case_id: string | null; expires_at: Date }>(
    `SELECT id, room_id, case_id, expires_at FROM recordings
      WHERE deleted_at IS NULL AND ended_at IS NOT NULL AND expires_at IS NOT NULL AND expires_at <= $1
      ORDER BY expires_at, id LIMIT $2`,
    [now, batch],
  );
  const items: RetentionItem[] = [];
  for (const r of rows) {
    const item: RetentionItem = { kind: 'recording', id: r.id, since: r.expires_at.toISOString(), action: 'due' };
    items.push(item);
    if (dryRun) continue;
    const done = await deleteRecording(deps, { id: r.id, roomId: r.room_id, caseId: r.case_id }, { actor: deps.actor, details: { reason: 'retention', expiredAt: item.since } });
    if (!done.deleted) {
      item.action = 'skipped';
      item.note = 'a replay of it is live: the server deletes it (and closes the replay) on its own run';
      continue;
    }
    item.action = 'deleted';
  }
  return items;
}

/**
 * Replay rooms whose session is over (opened more than `replayRoomMs` ago) close, live ones too: a seat in a
 * group replay holds the recording (timeline, voice, the case through the room), and that hold ends with the session.
 */
async function closeEndedReplays(deps: RetentionDeps, now: Date, replayRoomMs: number, batch: number, dryRun: boolean): Promise<RetentionItem[]> {
  const { rows } = await deps.pool.query<{ id: string; recording_id: string | null; created_at: Date }>(
    `SELECT id, recording_id, created_at FROM rooms WHERE kind = 'replay' AND status = 'open' AND created_at <= $1 ORDER BY created_at LIMIT $2`,
    [new Date(now.getTime() - replayRoomMs), batch],
  );
  const items: RetentionItem[] = [];
  for (const r of rows) {
    const item: RetentionItem = { kind: 'replay-room', id: r.id, since: new Date(r.created_at.getTime() + replayRoomMs).toISOString(), action: 'due' };
    items.push(item);
    if (dryRun || !(await endReplayRoom(deps, { id: r.id, recordingId: r.recording_id }, { actor: deps.actor, reason: 'retention', details: { sessionEndedAt: item.since } }))) continue;
    item.action = 'closed';
  }
  return items;
}

/** In the server: a run at start, then every `intervalMs`; `stop()` waits for a run in progress. */
export function scheduleRetention(deps: RetentionDeps, opts: { caseDays: number | null; replayRoomMs?: number; intervalMs: number; logger: Logger }): { stop(): Promise<void> } {
  let running: Promise<void> | null = null;
  const run = () => {
    running ??= runRetention(deps, { caseDays: opts.caseDays, ...(opts.replayRoomMs === undefined ? {} : { replayRoomMs: opts.replayRoomMs }) })
      .then((r) => {
        const deleted = r.items.filter((i) => i.action === 'deleted');
        if (r.items.length > 0) {
          opts.logger.info({ cases: deleted.filter((i) => i.kind === 'case').length, recordings: deleted.filter((i) => i.kind === 'recording').length, replayRooms: r.items.filter((i) => i.action === 'closed').length, skipped: r.items.filter((i) => i.action === 'skipped').length }, 'retention: expired data deleted');
        }
      })
      .catch((err: unknown) => opts.logger.error({ err }, 'retention run failed'))
      .finally(() => {
        running = null;
      });
  };
  run();
  const timer = setInterval(run, opts.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
