import type { Marker } from '../domain/recording.ts';
import type { RecordingRecord, RecordingStore } from '../domain/storage.ts';
import type { RoomRole } from '../../../shared/src/roles.ts';
import { withTransaction, type Pool } from './pool.ts';

export type { RecordingRecord };

export interface RecordingGrant {
  userId: string;
  role: RoomRole;
  scopes: string[] | null;
}

interface Row {
  id: string;
  room_id: string;
  case_id: string | null;
  title: string;
  started_by: string;
  host_scope: string;
  started_at: Date;
  ended_at: Date | null;
  duration_ms: number;
  chunk_ms: number;
  bytes: string;
  audio: 'none' | 'egress' | 'failed';
  markers: Marker[];
  expires_at: Date | null;
}

const toRecord = (r: Row): RecordingRecord => ({
  id: r.id,
  roomId: r.room_id,
  caseId: r.case_id,
  title: r.title,
  startedBy: r.started_by,
  hostScope: r.host_scope,
  startedAt: r.started_at,
  endedAt: r.ended_at,
  durationMs: r.duration_ms,
  chunkMs: r.chunk_ms,
  bytes: Number(r.bytes),
  audio: r.audio,
  markers: r.markers,
  expiresAt: r.expires_at,
});

/** Only recordings not deleted and not past their retention are anything at all. */
const LIVE = `deleted_at IS NULL AND (expires_at IS NULL OR expires_at > now())`;

/** Recordings in PostgreSQL: one row each, their chunks (bytea), and who may watch them. */
export class RecordingsRepo implements RecordingStore {
  constructor(private readonly pool: Pool) {}

  async begin(r: { id: string; roomId: string; caseId: string | null; title: string; startedBy: string; hostScope: string; chunkMs: number; retentionDays: number | null }): Promise<void> {
    await this.pool.query(
      `INSERT INTO recordings (id, room_id, case_id, title, started_by, host_scope, chunk_ms, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8::int IS NULL THEN NULL ELSE now() + make_interval(days => $8::int) END)`,
      [r.id, r.roomId, r.caseId, r.title, r.startedBy, r.hostScope, r.chunkMs, r.retentionDays],
    );
  }

  /** One chunk, with the markers it added and the recording's length so far (one transaction). */
  async appendChunk(id: string, c: { seq: number; startMs: number; endMs: number; data: Uint8Array }, markers: Marker[]): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      await tx.query(`INSERT INTO recording_chunks (recording_id, seq, start_ms, end_ms, data) VALUES ($1, $2, $3, $4, $5)`, [id, c.seq, c.startMs, c.endMs, Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength)]);
      await tx.query(
        `UPDATE recordings SET duration_ms = GREATEST(duration_ms, $2), bytes = bytes + $3, markers = markers || $4::jsonb WHERE id = $1`,
        [id, c.endMs, c.data.byteLength, JSON.stringify(markers)],
      );
    });
  }

  async finish(id: string, durationMs: number): Promise<void> {
    await this.pool.query(`UPDATE recordings SET ended_at = now(), duration_ms = GREATEST(duration_ms, $2) WHERE id = $1`, [id, durationMs]);
  }

  async setAudio(id: string, audio: 'none' | 'egress' | 'failed', egressId: string | null): Promise<void> {
    await this.pool.query(`UPDATE recordings SET audio = $2, egress_id = $3 WHERE id = $1`, [id, audio, egressId]);
  }

  /** Recordings a previous instance of the room left running (a crash): they end where their last chunk ended. */
  async closeOpen(roomId: string): Promise<void> {
    await this.pool.query(`UPDATE recordings SET ended_at = now() WHERE room_id = $1 AND ended_at IS NULL`, [roomId]);
  }

  async active(roomId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(`SELECT id FROM recordings WHERE room_id = $1 AND ended_at IS NULL AND ${LIVE} LIMIT 1`, [roomId]);
    return rows[0]?.id ?? null;
  }

  /** Rooms recording now. */
  async activeRooms(): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ room_id: string }>(`SELECT room_id FROM recordings WHERE ended_at IS NULL AND ${LIVE}`);
    return new Set(rows.map((r) => r.room_id));
  }

  async get(id: string): Promise<RecordingRecord | null> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM recordings WHERE id = $1 AND ${LIVE}`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Finished recordings a user may see: all (administrators), or those they recorded or were granted. */
  async listFor(userId: string | null): Promise<RecordingRecord[]> {
    const { rows } = userId
      ? await this.pool.query<Row>(
          `SELECT r.* FROM recordings r WHERE r.ended_at IS NOT NULL AND ${LIVE}
             AND (r.started_by = $1 OR EXISTS (SELECT 1 FROM recording_grants g WHERE g.recording_id = r.id AND g.user_id = $1))
           ORDER BY r.started_at DESC LIMIT 200`,
          [userId],
        )
      : await this.pool.query<Row>(`SELECT * FROM recordings WHERE ended_at IS NOT NULL AND ${LIVE} ORDER BY started_at DESC LIMIT 200`);
    return rows.map(toRecord);
  }

  /** The chunk holding instant t: the last one starting at or before it. */
  async chunkAt(id: string, t: number): Promise<Uint8Array | null> {
    const { rows } = await this.pool.query<{ data: Buffer }>(
      `SELECT data FROM recording_chunks WHERE recording_id = $1 AND start_ms <= $2 ORDER BY start_ms DESC, seq DESC LIMIT 1`,
      [id, Math.max(0, Math.floor(t))],
    );
    return rows[0]?.data ?? null;
  }

  async grant(id: string, g: RecordingGrant, by: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO recording_grants (recording_id, user_id, role, scopes, granted_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (recording_id, user_id) DO UPDATE SET role = EXCLUDED.role, scopes = EXCLUDED.scopes, granted_by = EXCLUDED.granted_by, granted_at = now()`,
      [id, g.userId, g.role, g.scopes, by],
    );
  }

  async revoke(id: string, userId: string): Promise<boolean> {
    const res = await this.pool.query(`DELETE FROM recording_grants WHERE recording_id = $1 AND user_id = $2`, [id, userId]);
    return (res.rowCount ?? 0) > 0;
  }

  async grantOf(id: string, userId: string): Promise<RecordingGrant | null> {
    const { rows } = await this.pool.query<{ user_id: string; role: RoomRole; scopes: string[] | null }>(`SELECT user_id, role, scopes FROM recording_grants WHERE recording_id = $1 AND user_id = $2`, [id, userId]);
    return rows[0] ? { userId: rows[0].user_id, role: rows[0].role, scopes: rows[0].scopes } : null;
  }

  /** Open replay rooms playing this recording, with the caller's invitation in each (null when not invited). */
  async replayRooms(id: string, userId: string): Promise<{ roomId: string; role: RoomRole | null; scopes: string[] | null }[]> {
    const { rows } = await this.pool.query<{ id: string; role: RoomRole | null; scopes: string[] | null }>(
      `SELECT r.id, p.role, p.scopes FROM rooms r LEFT JOIN room_participants p ON p.room_id = r.id AND p.user_id = $2
       WHERE r.recording_id = $1 AND r.status = 'open'`,
      [id, userId],
    );
    return rows.map((r) => ({ roomId: r.id, role: r.role, scopes: r.scopes }));
  }

  /** Deleted: its chunks go at once; the row stays (marked) for the audit trail's references. */
  async delete(id: string): Promise<boolean> {
    const res = await this.pool.query(`UPDATE recordings SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [id]);
    await this.pool.query(`DELETE FROM recording_chunks WHERE recording_id = $1`, [id]);
    await this.pool.query(`DELETE FROM recording_grants WHERE recording_id = $1`, [id]);
    return (res.rowCount ?? 0) > 0;
  }
}
