import type { Marker } from '../domain/recording.ts';
import type { RecordingRecord, RecordingStore } from '../domain/storage.ts';
import { GRANTABLE_ROOM_KINDS } from '../../../shared/src/recording-policy.ts';
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
  audio_offset_ms: number | null;
  markers: Marker[];
  expires_at: Date | null;
  case_deleted: boolean;
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
  audioOffsetMs: r.audio_offset_ms,
  markers: r.markers,
  expiresAt: r.expires_at,
  caseDeleted: r.case_deleted,
});

/** Only recordings not deleted and not past their retention are anything at all. */
const live = (t: string) => `${t}.deleted_at IS NULL AND (${t}.expires_at IS NULL OR ${t}.expires_at > now())`;
const LIVE = live('recordings');
/** A recording's row, with whether the case it showed has been deleted since (`r` is the recording). */
const SELECT = `SELECT r.*, (r.case_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM cases c WHERE c.id = r.case_id AND c.deleted_at IS NULL)) AS case_deleted FROM recordings r`;

/** A training room's grant as one member holds it: the grant's access and theirs in that room (with its ceiling). */
export interface CohortSeat {
  roomId: string;
  grant: RecordingGrant;
  member: { role: RoomRole; scopes: string[] | null };
  ceiling: string[] | null;
}

export interface RecordingGrants {
  people: (RecordingGrant & { grantedBy: string; grantedAt: Date })[];
  rooms: { roomId: string; title: string; role: RoomRole; scopes: string[] | null; members: number; grantedBy: string; grantedAt: Date }[];
}

/** An open replay room of a recording and the entry of whoever opened it (null: no longer a participant). */
export interface ReplayRoomSeat {
  roomId: string;
  createdBy: string;
  opener: { role: RoomRole; scopes: string[] | null } | null;
}

/** Members of a training room as a grant counts them: invited, not kicked, the room open and still a training room. */
const MEMBER = `JOIN rooms tr ON tr.id = rg.room_id AND tr.status = 'open' AND tr.kind IN (${GRANTABLE_ROOM_KINDS.map((k) => `'${k}'`).join(', ')})
  JOIN room_participants m ON m.room_id = rg.room_id
  WHERE NOT EXISTS (SELECT 1 FROM room_kicks k WHERE k.room_id = m.room_id AND k.user_id = m.user_id AND (k.until IS NULL OR k.until > now()))`;

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

  async setAudioOffset(id: string, offsetMs: number): Promise<void> {
    await this.pool.query(`UPDATE recordings SET audio_offset_ms = $2 WHERE id = $1`, [id, Math.round(offsetMs)]);
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
    const { rows } = await this.pool.query<Row>(`${SELECT} WHERE r.id = $1 AND ${live('r')}`, [id]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  /** Finished recordings a user may see: all (administrators), or those they recorded, were granted, or their training room was. */
  async listFor(userId: string | null): Promise<RecordingRecord[]> {
    const { rows } = userId
      ? await this.pool.query<Row>(
          `${SELECT} WHERE r.ended_at IS NOT NULL AND ${live('r')}
             AND (r.started_by = $1 OR EXISTS (SELECT 1 FROM recording_grants g WHERE g.recording_id = r.id AND g.user_id = $1)
                  OR EXISTS (SELECT 1 FROM recording_room_grants rg ${MEMBER} AND rg.recording_id = r.id AND m.user_id = $1))
           ORDER BY r.started_at DESC LIMIT 200`,
          [userId],
        )
      : await this.pool.query<Row>(`${SELECT} WHERE r.ended_at IS NOT NULL AND ${live('r')} ORDER BY r.started_at DESC LIMIT 200`);
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

  /** Open replay rooms playing this recording, with the caller's invitation in each (null when not invited) and who opened each. */
  async replayRooms(id: string, userId: string): Promise<{ roomId: string; createdBy: string; createdAt: Date; role: RoomRole | null; scopes: string[] | null }[]> {
    const { rows } = await this.pool.query<{ id: string; created_by: string; created_at: Date; role: RoomRole | null; scopes: string[] | null }>(
      `SELECT r.id, r.created_by, r.created_at, p.role, p.scopes FROM rooms r LEFT JOIN room_participants p ON p.room_id = r.id AND p.user_id = $2
       WHERE r.recording_id = $1 AND r.status = 'open'`,
      [id, userId],
    );
    return rows.map((r) => ({ roomId: r.id, createdBy: r.created_by, createdAt: r.created_at, role: r.role, scopes: r.scopes }));
  }

  /** Their own open replay room of this recording with nobody else in it, opened with exactly these scopes after `since` (its session not over); null when none. */
  async soloReplayRoom(id: string, userId: string, scopes: readonly string[], since: Date): Promise<string | null> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT r.id FROM rooms r JOIN room_participants p ON p.room_id = r.id AND p.user_id = $2 AND p.role = 'host'
       WHERE r.recording_id = $1 AND r.status = 'open' AND r.created_by = $2 AND p.scopes IS NOT DISTINCT FROM $3::text[]
         AND NOT EXISTS (SELECT 1 FROM room_participants o WHERE o.room_id = r.id AND o.user_id <> $2)
         AND r.created_at > $4
       ORDER BY r.created_at DESC LIMIT 1`,
      [id, userId, [...scopes], since],
    );
    return rows[0]?.id ?? null;
  }

  /** Every open replay room of this recording, and whether an instance of it holds a live lease now (somewhere). */
  async openReplays(id: string): Promise<{ roomId: string; live: boolean }[]> {
    const { rows } = await this.pool.query<{ id: string; live: boolean }>(
      `SELECT r.id, EXISTS (SELECT 1 FROM live_instances l WHERE l.room_id = r.id AND l.expires_at > now()) AS live
         FROM rooms r WHERE r.recording_id = $1 AND r.status = 'open'`,
      [id],
    );
    return rows.map((r) => ({ roomId: r.id, live: r.live }));
  }

  /** Every open replay room of this recording, with its opener's entry in it. */
  async replaySeats(id: string): Promise<ReplayRoomSeat[]> {
    const { rows } = await this.pool.query<{ id: string; created_by: string; role: RoomRole | null; scopes: string[] | null }>(
      `SELECT r.id, r.created_by, p.role, p.scopes FROM rooms r LEFT JOIN room_participants p ON p.room_id = r.id AND p.user_id = r.created_by
       WHERE r.recording_id = $1 AND r.status = 'open'`,
      [id],
    );
    return rows.map((r) => ({ roomId: r.id, createdBy: r.created_by, opener: r.role ? { role: r.role, scopes: r.scopes } : null }));
  }

  // ---- training rooms (cohorts) ----------------------------------------------------------------

  async grantRoom(id: string, roomId: string, g: { role: RoomRole; scopes: string[] | null }, by: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO recording_room_grants (recording_id, room_id, role, scopes, granted_by) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (recording_id, room_id) DO UPDATE SET role = EXCLUDED.role, scopes = EXCLUDED.scopes, granted_by = EXCLUDED.granted_by, granted_at = now()`,
      [id, roomId, g.role, g.scopes, by],
    );
  }

  async revokeRoom(id: string, roomId: string): Promise<boolean> {
    const res = await this.pool.query(`DELETE FROM recording_room_grants WHERE recording_id = $1 AND room_id = $2`, [id, roomId]);
    return (res.rowCount ?? 0) > 0;
  }

  /** The training-room grants of this recording that reach this user (a member, not kicked, the room open). */
  async cohortOf(id: string, userId: string): Promise<CohortSeat[]> {
    const { rows } = await this.pool.query<{ room_id: string; role: RoomRole; scopes: string[] | null; m_role: RoomRole; m_scopes: string[] | null; ceiling: string[] | null }>(
      `SELECT rg.room_id, rg.role, rg.scopes, m.role AS m_role, m.scopes AS m_scopes, tr.scope_ceiling AS ceiling
         FROM recording_room_grants rg ${MEMBER} AND rg.recording_id = $1 AND m.user_id = $2`,
      [id, userId],
    );
    return rows.map((r) => ({ roomId: r.room_id, grant: { userId, role: r.role, scopes: r.scopes }, member: { role: r.m_role, scopes: r.m_scopes }, ceiling: r.ceiling }));
  }

  /** Live recordings granted to a room (its membership changing changes who may watch them). */
  async grantedToRoom(roomId: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ recording_id: string }>(
      `SELECT rg.recording_id FROM recording_room_grants rg JOIN recordings r ON r.id = rg.recording_id WHERE rg.room_id = $1 AND ${live('r')}`,
      [roomId],
    );
    return rows.map((r) => r.recording_id);
  }

  /** Who may watch it besides those who manage it: people, and training rooms with their member count now. */
  async grants(id: string): Promise<RecordingGrants> {
    const people = await this.pool.query<{ user_id: string; role: RoomRole; scopes: string[] | null; granted_by: string; granted_at: Date }>(
      `SELECT user_id, role, scopes, granted_by, granted_at FROM recording_grants WHERE recording_id = $1 ORDER BY granted_at, user_id`,
      [id],
    );
    const rooms = await this.pool.query<{ room_id: string; title: string; role: RoomRole; scopes: string[] | null; granted_by: string; granted_at: Date; members: string }>(
      `SELECT g.room_id, tr.title, g.role, g.scopes, g.granted_by, g.granted_at,
              (SELECT count(*) FROM recording_room_grants rg ${MEMBER} AND rg.recording_id = g.recording_id AND rg.room_id = g.room_id) AS members
         FROM recording_room_grants g JOIN rooms tr ON tr.id = g.room_id WHERE g.recording_id = $1 ORDER BY g.granted_at, tr.title`,
      [id],
    );
    return {
      people: people.rows.map((r) => ({ userId: r.user_id, role: r.role, scopes: r.scopes, grantedBy: r.granted_by, grantedAt: r.granted_at })),
      rooms: rooms.rows.map((r) => ({ roomId: r.room_id, title: r.title, role: r.role, scopes: r.scopes, members: Number(r.members), grantedBy: r.granted_by, grantedAt: r.granted_at })),
    };
  }

  /**
   * Deleted: its chunks, grants and markers (which quote annotations) go at once; the row stays (marked)
   * for the audit trail's references.
   */
  async delete(id: string): Promise<boolean> {
    return withTransaction(this.pool, async (tx) => {
      const res = await tx.query(`UPDATE recordings SET deleted_at = now(), markers = '[]' WHERE id = $1 AND deleted_at IS NULL`, [id]);
      await tx.query(`DELETE FROM recording_chunks WHERE recording_id = $1`, [id]);
      await tx.query(`DELETE FROM recording_grants WHERE recording_id = $1`, [id]);
      await tx.query(`DELETE FROM recording_room_grants WHERE recording_id = $1`, [id]);
      return (res.rowCount ?? 0) > 0;
    });
  }
}
