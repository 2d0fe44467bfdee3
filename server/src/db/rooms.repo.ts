import { randomUUID } from 'node:crypto';
import type { RoomKind, RoomRole } from '../../../shared/src/roles.ts';
import type { ParticipantDto } from '../../../shared/src/http.ts';
import type { ClinicStore, LiveRoomRecord } from '../domain/storage.ts';
import { withTransaction, type Pool, type PoolClient } from './pool.ts';

/** A room as stored: what a live room needs (LiveRoomRecord, declared by the engine), and its bookkeeping. */
export interface RoomRecord extends LiveRoomRecord {
  status: 'open' | 'closed';
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

interface RoomRow {
  id: string;
  title: string;
  kind: RoomKind;
  case_id: string | null;
  status: 'open' | 'closed';
  created_by: string;
  created_at: Date;
  updated_at: Date;
  scope_ceiling: string[] | null;
  observer_video: boolean;
  recording_allowed: boolean;
  recording_id: string | null;
}

export interface NewRoom {
  id?: string;
  title: string;
  kind: RoomKind;
  caseId: string | null;
  createdBy: string;
  participants: ParticipantDto[];
  scopeCeiling?: string[] | null;
  observerVideo?: boolean;
  recordingAllowed?: boolean;
  recordingId?: string | null;
}

export interface RoomChanges {
  title?: string;
  kind?: RoomKind;
  caseId?: string | null;
  participants?: ParticipantDto[];
  scopeCeiling?: string[] | null;
  observerVideo?: boolean;
  recordingAllowed?: boolean;
}

/** Who takes a live-instance lease: the room instance, its process's stable key and the process's current boot. */
export interface LeaseHolder {
  instanceId: string;
  processKey: string;
  boot: string;
}

export class RoomsRepo implements ClinicStore {
  constructor(private readonly pool: Pool) {}

  async create(room: NewRoom): Promise<RoomRecord> {
    const id = room.id ?? randomUUID();
    await withTransaction(this.pool, async (tx) => {
      await tx.query(`INSERT INTO rooms (id, title, kind, case_id, created_by, scope_ceiling, observer_video, recording_allowed, recording_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
        id,
        room.title,
        room.kind,
        room.caseId,
        room.createdBy,
        room.scopeCeiling ?? null,
        room.observerVideo ?? false,
        room.recordingAllowed ?? false,
        room.recordingId ?? null,
      ]);
      await replaceParticipants(tx, id, room.participants);
    });
    return (await this.get(id))!;
  }

  async get(id: string): Promise<RoomRecord | null> {
    const { rows } = await this.pool.query<RoomRow>(`SELECT * FROM rooms WHERE id = $1`, [id]);
    const row = rows[0];
    if (!row) return null;
    const participants = await this.pool.query<ParticipantRow>(
      `SELECT user_id, role, scopes FROM room_participants WHERE room_id = $1 ORDER BY added_at, user_id`,
      [id],
    );
    return toRecord(row, participants.rows.map(toParticipant));
  }

  /**
   * What decides one user's read of a case through this room, in one query (an image viewer asks it
   * twenty times a second per reader): the room's status, case and ceiling, this user's invitation
   * alone (participants holds it, or nothing) and whether a kick holds now. null: no such room.
   */
  async readerOf(roomId: string, userId: string): Promise<{ room: Pick<RoomRecord, 'id' | 'kind' | 'status' | 'caseId' | 'scopeCeiling' | 'participants' | 'recordingId' | 'createdAt' | 'createdBy'>; kicked: boolean } | null> {
    const { rows } = await this.pool.query<Pick<RoomRow, 'id' | 'kind' | 'status' | 'case_id' | 'scope_ceiling' | 'recording_id' | 'created_at' | 'created_by'> & { user_id: string | null; role: RoomRole | null; scopes: string[] | null; kicked: boolean }>(
      `SELECT r.id, r.kind, r.status, r.case_id, r.scope_ceiling, r.recording_id, r.created_at, r.created_by, p.user_id, p.role, p.scopes,
              EXISTS (SELECT 1 FROM room_kicks k WHERE k.room_id = r.id AND k.user_id = $2 AND (k.until IS NULL OR k.until > now())) AS kicked
         FROM rooms r LEFT JOIN room_participants p ON p.room_id = r.id AND p.user_id = $2
        WHERE r.id = $1`,
      [roomId, userId],
    );
    const row = rows[0];
    if (!row) return null;
    const participants = row.user_id && row.role ? [toParticipant({ user_id: row.user_id, role: row.role, scopes: row.scopes })] : [];
    return { room: { id: row.id, kind: row.kind, status: row.status, caseId: row.case_id, scopeCeiling: row.scope_ceiling, participants, recordingId: row.recording_id, createdAt: row.created_at, createdBy: row.created_by }, kicked: row.kicked };
  }

  /** Open rooms; all of them, or those a user is invited to. */
  async listOpen(forUser?: string): Promise<RoomRecord[]> {
    const { rows } = forUser
      ? await this.pool.query<RoomRow>(
          `SELECT r.* FROM rooms r JOIN room_participants p ON p.room_id = r.id
           WHERE r.status = 'open' AND p.user_id = $1 ORDER BY r.created_at DESC`,
          [forUser],
        )
      : await this.pool.query<RoomRow>(`SELECT * FROM rooms WHERE status = 'open' ORDER BY created_at DESC`);
    if (rows.length === 0) return [];
    const parts = await this.pool.query<ParticipantRow & { room_id: string }>(
      `SELECT room_id, user_id, role, scopes FROM room_participants WHERE room_id = ANY($1) ORDER BY added_at, user_id`,
      [rows.map((r) => r.id)],
    );
    const byRoom = new Map<string, ParticipantDto[]>();
    for (const p of parts.rows) {
      const list = byRoom.get(p.room_id) ?? [];
      list.push(toParticipant(p));
      byRoom.set(p.room_id, list);
    }
    return rows.map((r) => toRecord(r, byRoom.get(r.id) ?? []));
  }

  /** Set one participant's role and scopes (adding them if needed). */
  async setParticipant(roomId: string, p: ParticipantDto): Promise<void> {
    await this.pool.query(
      `INSERT INTO room_participants (room_id, user_id, role, scopes) VALUES ($1, $2, $3, $4)
       ON CONFLICT (room_id, user_id) DO UPDATE SET role = EXCLUDED.role, scopes = EXCLUDED.scopes`,
      [roomId, p.userId, p.role, p.scopes ?? null],
    );
    await this.pool.query(`UPDATE rooms SET updated_at = now() WHERE id = $1`, [roomId]);
  }

  /** Remove a participant and revoke every ticket issued to them for this room so far. */
  async removeParticipant(roomId: string, userId: string): Promise<boolean> {
    return withTransaction(this.pool, async (tx) => {
      const res = await tx.query(`DELETE FROM room_participants WHERE room_id = $1 AND user_id = $2`, [roomId, userId]);
      await revoke(tx, roomId, [userId]);
      await tx.query(`UPDATE rooms SET updated_at = now() WHERE id = $1`, [roomId]);
      return (res.rowCount ?? 0) > 0;
    });
  }

  /** Refuse every ticket issued to this user for this room so far (kick). */
  async revokeTickets(roomId: string, userId: string): Promise<void> {
    await withTransaction(this.pool, (tx) => revoke(tx, roomId, [userId]));
  }

  /** Was this ticket (issued at `issuedAt`, seconds) revoked? */
  async isTicketRevoked(roomId: string, userId: string, issuedAt: number): Promise<boolean> {
    const { rows } = await this.pool.query(
      `SELECT 1 FROM ticket_revocations WHERE room_id = $1 AND user_id = $2 AND revoked_at >= to_timestamp($3)`,
      [roomId, userId, issuedAt],
    );
    return rows.length > 0;
  }

  async update(id: string, changes: RoomChanges): Promise<RoomRecord | null> {
    const found = await withTransaction(this.pool, async (tx) => {
      const sets: string[] = [];
      const values: unknown[] = [id];
      const set = (column: string, value: unknown) => {
        values.push(value);
        sets.push(`${column} = $${values.length}`);
      };
      if (changes.title !== undefined) set('title', changes.title);
      if (changes.kind !== undefined) set('kind', changes.kind);
      if (changes.caseId !== undefined) set('case_id', changes.caseId);
      if (changes.scopeCeiling !== undefined) set('scope_ceiling', changes.scopeCeiling);
      if (changes.observerVideo !== undefined) set('observer_video', changes.observerVideo);
      if (changes.recordingAllowed !== undefined) set('recording_allowed', changes.recordingAllowed);
      const res = await tx.query(
        `UPDATE rooms SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 AND status = 'open'`,
        values,
      );
      if (res.rowCount === 0) return false;
      if (changes.participants) await replaceParticipants(tx, id, changes.participants);
      return true;
    });
    return found ? this.get(id) : null;
  }

  // ---- kicks, single-use tickets ---------------------------------------------------

  /** Keep a user out of the room (until `until`, or until re-admitted) and revoke their tickets so far. */
  async kick(roomId: string, userId: string, by: string, until: Date | null): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      await tx.query(
        `INSERT INTO room_kicks (room_id, user_id, kicked_by, until) VALUES ($1, $2, $3, $4)
         ON CONFLICT (room_id, user_id) DO UPDATE SET kicked_by = EXCLUDED.kicked_by, kicked_at = now(), until = EXCLUDED.until`,
        [roomId, userId, by, until],
      );
      await revoke(tx, roomId, [userId]);
    });
  }

  /** Lift a kick; returns whether there was one in force. */
  async readmit(roomId: string, userId: string): Promise<boolean> {
    return withTransaction(this.pool, async (tx) => {
      const { rows } = await tx.query<{ active: boolean }>(
        `DELETE FROM room_kicks WHERE room_id = $1 AND user_id = $2 RETURNING (until IS NULL OR until > now()) AS active`,
        [roomId, userId],
      );
      // Re-admitted: tickets issued from now on are good, even within the second of the kick (tickets carry iat in seconds).
      if (rows[0]) await tx.query(`DELETE FROM ticket_revocations WHERE room_id = $1 AND user_id = $2`, [roomId, userId]);
      return rows[0]?.active === true;
    });
  }

  async isKicked(roomId: string, userId: string): Promise<boolean> {
    const { rows } = await this.pool.query(`SELECT 1 FROM room_kicks WHERE room_id = $1 AND user_id = $2 AND (until IS NULL OR until > now())`, [roomId, userId]);
    return rows.length > 0;
  }

  /** The kick in force on this user in this room, if any (until: null = until re-admitted). */
  async kickOf(roomId: string, userId: string): Promise<{ until: Date | null } | null> {
    const { rows } = await this.pool.query<{ until: Date | null }>(`SELECT until FROM room_kicks WHERE room_id = $1 AND user_id = $2 AND (until IS NULL OR until > now())`, [roomId, userId]);
    return rows[0] ?? null;
  }

  async activeKicks(roomId: string): Promise<{ userId: string; until: Date | null }[]> {
    const { rows } = await this.pool.query<{ user_id: string; until: Date | null }>(
      `SELECT user_id, until FROM room_kicks WHERE room_id = $1 AND (until IS NULL OR until > now())`,
      [roomId],
    );
    return rows.map((r) => ({ userId: r.user_id, until: r.until }));
  }

  /** Mark a ticket used at join; false when it was used before (tickets open one seat). */
  async consumeTicket(jti: string, roomId: string, userId: string): Promise<boolean> {
    const res = await this.pool.query(
      `INSERT INTO ticket_uses (jti, room_id, user_id) VALUES ($1, $2, $3) ON CONFLICT (jti) DO NOTHING`,
      [jti, roomId, userId],
    );
    return (res.rowCount ?? 0) === 1;
  }

  /** Forget uses older than any ticket can live (tickets last at most 5 minutes). */
  async pruneTicketUses(olderThanSeconds = 600): Promise<void> {
    await this.pool.query(`DELETE FROM ticket_uses WHERE used_at < now() - make_interval(secs => $1)`, [olderThanSeconds]);
  }

  // ---- the one live instance per room ------------------------------------------------

  /**
   * Take the room's lease for this instance. Granted when it is free or expired,
   * already this instance's, held by an earlier boot of this same process (a
   * restart: that boot is dead), or held by `deadBoot` (a boot the caller found
   * gone from presence; compare-and-swap, so two takers cannot both win).
   * Otherwise answers the holder's boot, for the caller to check.
   */
  async acquireLease(roomId: string, holder: LeaseHolder, ttlSeconds: number, deadBoot: string | null = null): Promise<{ ok: true } | { ok: false; holderBoot: string | null }> {
    const { rows } = await this.pool.query(
      `INSERT INTO live_instances (room_id, instance_id, process_key, boot_id, expires_at)
       VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
       ON CONFLICT (room_id) DO UPDATE SET instance_id = EXCLUDED.instance_id, process_key = EXCLUDED.process_key,
         boot_id = EXCLUDED.boot_id, expires_at = EXCLUDED.expires_at
       WHERE live_instances.expires_at < now() OR live_instances.instance_id = EXCLUDED.instance_id
          OR (live_instances.process_key = EXCLUDED.process_key AND live_instances.boot_id <> EXCLUDED.boot_id)
          OR (live_instances.boot_id <> '' AND live_instances.boot_id = $6)
       RETURNING instance_id`,
      [roomId, holder.instanceId, holder.processKey, holder.boot, ttlSeconds, deadBoot],
    );
    if (rows.length === 1) return { ok: true };
    const current = await this.pool.query<{ boot_id: string }>(`SELECT boot_id FROM live_instances WHERE room_id = $1`, [roomId]);
    return { ok: false, holderBoot: current.rows[0]?.boot_id || null };
  }

  /** Extend the lease; false when this instance no longer holds it. */
  async renewLease(roomId: string, instanceId: string, ttlSeconds: number): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE live_instances SET expires_at = now() + make_interval(secs => $3) WHERE room_id = $1 AND instance_id = $2`,
      [roomId, instanceId, ttlSeconds],
    );
    return (res.rowCount ?? 0) === 1;
  }

  async releaseLease(roomId: string, instanceId: string): Promise<void> {
    await this.pool.query(`DELETE FROM live_instances WHERE room_id = $1 AND instance_id = $2`, [roomId, instanceId]);
  }

  /** Close a room (kept for the record); returns false when it was not open. */
  async close(id: string): Promise<boolean> {
    const res = await this.pool.query(
      `UPDATE rooms SET status = 'closed', closed_at = now(), updated_at = now() WHERE id = $1 AND status = 'open'`,
      [id],
    );
    return (res.rowCount ?? 0) > 0;
  }
}

async function replaceParticipants(tx: PoolClient, roomId: string, participants: ParticipantDto[]): Promise<void> {
  const removed = await tx.query<{ user_id: string }>(
    `DELETE FROM room_participants WHERE room_id = $1 AND NOT (user_id = ANY($2)) RETURNING user_id`,
    [roomId, participants.map((p) => p.userId)],
  );
  await revoke(tx, roomId, removed.rows.map((r) => r.user_id));
  for (const p of participants) {
    await tx.query(
      `INSERT INTO room_participants (room_id, user_id, role, scopes) VALUES ($1, $2, $3, $4)
       ON CONFLICT (room_id, user_id) DO UPDATE SET role = EXCLUDED.role, scopes = EXCLUDED.scopes`,
      [roomId, p.userId, p.role, p.scopes ?? null],
    );
  }
}

async function revoke(tx: PoolClient, roomId: string, userIds: string[]): Promise<void> {
  for (const userId of userIds) {
    await tx.query(
      `INSERT INTO ticket_revocations (room_id, user_id) VALUES ($1, $2)
       ON CONFLICT (room_id, user_id) DO UPDATE SET revoked_at = now()`,
      [roomId, userId],
    );
  }
}

interface ParticipantRow {
  user_id: string;
  role: RoomRole;
  scopes: string[] | null;
}

function toParticipant(p: ParticipantRow): ParticipantDto {
  return { userId: p.user_id, role: p.role, scopes: p.scopes };
}

function toRecord(row: RoomRow, participants: ParticipantDto[]): RoomRecord {
  return {
    id: row.id,
    title: row.title,
    kind: row.kind,
    caseId: row.case_id,
    status: row.status,
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    participants,
    scopeCeiling: row.scope_ceiling,
    observerVideo: row.observer_video,
    recordingAllowed: row.recording_allowed,
    recordingId: row.recording_id,
  };
}
