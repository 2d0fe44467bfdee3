import type { AuditLog } from '../audit/audit-log.ts';
import {
  accessToScope,
  authorizeRecordingAction,
  NO_HOLDS,
  recordingRights,
  recordingViewerAccess,
  replayReadHold,
  seatExceeds,
  type DataAccess,
  type Principal,
  type RecordingAction,
  type RecordingHolds,
  type RecordingRelation,
} from '../auth/policy.ts';
import type { RecordingRecord, RecordingsRepo } from '../db/recordings.repo.ts';
import type { RoomRecord, RoomsRepo } from '../db/rooms.repo.ts';
import type { UsersRepo } from '../db/users.repo.ts';
import { AppError } from '../errors.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';
import { endReplayRoom, type ReplayEndDeps } from '../recordings/lifecycle.ts';

export interface RecordingAccessDeps {
  recordings: RecordingsRepo;
  rooms: RoomsRepo;
  users: Pick<UsersRepo, 'isAdmin'>;
  live: Pick<LiveRooms, 'call'>;
  audit: Pick<AuditLog, 'record'>;
  /** How long a replay room lasts (REPLAY_ROOM_HOURS): a seat in a group replay is a hold on the recording, and it ends. */
  replayRoomMs: number;
  now?: () => number;
}

/** A recording as one principal sees it: why (relation), what they hold, and the access they watch under. */
export interface SeenRecording {
  rec: RecordingRecord;
  relation: RecordingRelation;
  holds: RecordingHolds;
  access: DataAccess;
}

/** The scopes a seat gets for an access (a replay room's participant entry). */
export const scopesOf = (access: DataAccess): string[] => accessToScope(access).split(' ').filter(Boolean);

/**
 * Who holds a recording, from the database, and keeping replay rooms in step
 * with it. A private replay room's seat is no right of its own: its opener
 * watches there only while they still hold the recording (by name, through a
 * training room, or managing it), under no more than that hold gives now. So
 * whenever a hold may have changed — a grant revoked or narrowed, a training
 * room's membership changed, a ticket asked for a replay room — the openers'
 * seats are checked again: gone (and put out of the live room at once) or
 * narrowed. Seats a manager gave learners in a group replay are theirs until
 * the manager or an administrator takes them away (or a grant to them is revoked).
 */
export class RecordingAccess {
  /** How a replay room ends here: as everywhere (recordings/lifecycle.ts), live instance included. */
  private readonly ending: ReplayEndDeps;

  constructor(private readonly deps: RecordingAccessDeps) {
    this.ending = { rooms: deps.rooms, audit: deps.audit, closeLiveRoom: async (id) => void (await deps.live.call(id, 'close')) };
  }

  /** What a user holds of a recording besides managing it. */
  async holdsOf(recordingId: string, userId: string): Promise<RecordingHolds> {
    const [grant, cohort, rooms] = await Promise.all([
      this.deps.recordings.grantOf(recordingId, userId),
      this.deps.recordings.cohortOf(recordingId, userId),
      this.deps.recordings.replayRooms(recordingId, userId),
    ]);
    // Only a seat someone else gave: one's own replay room is no right to the recording. And only for its
    // session: a room past REPLAY_ROOM_HOURS that no ticket or retention run has closed yet holds nothing.
    const since = this.sessionsOpenedAfter().getTime();
    const seated = rooms.find((r) => r.role !== null && r.createdBy !== userId && r.createdAt.getTime() > since);
    return { grant, cohort, seat: seated ? { role: seated.role!, scopes: seated.scopes } : null };
  }

  /** The recording as this principal may see it, for this act; RECORDING_NOT_FOUND when they may not see it at all. */
  async seen(principal: Principal, id: string, action: RecordingAction = 'watch'): Promise<SeenRecording> {
    const rec = await this.deps.recordings.get(id);
    if (!rec) throw new AppError('RECORDING_NOT_FOUND');
    const s = await this.judge(principal, rec);
    if (!s) throw new AppError('RECORDING_NOT_FOUND');
    const decision = authorizeRecordingAction(s.relation, action);
    if (!decision.allow) throw new AppError(decision.code, decision.reason);
    return s;
  }

  /** The same judgement for a recording already read (the library list); null: not theirs to see. */
  async judge(principal: Principal, rec: RecordingRecord): Promise<SeenRecording | null> {
    // Administrators and the recorder need nothing else looked up.
    const holds = principal.admin || rec.startedBy === principal.userId ? NO_HOLDS : await this.holdsOf(rec.id, principal.userId);
    const relation = recordingRights(principal, rec, holds);
    return relation ? { rec, relation, holds, access: recordingViewerAccess(relation, rec, holds) } : null;
  }

  /**
   * Every open replay room of this recording: its opener still holds the
   * recording (else they leave it at once), under no more than they hold now
   * (else their seat narrows, live). Returns the openers put out.
   */
  async reconcile(rec: RecordingRecord, actor: string): Promise<string[]> {
    const removed: string[] = [];
    for (const seat of await this.deps.recordings.replaySeats(rec.id)) {
      if (!seat.opener) continue;
      const userId = seat.createdBy;
      const admin = await this.deps.users.isAdmin(userId);
      const holds = admin || rec.startedBy === userId ? NO_HOLDS : await this.holdsOf(rec.id, userId);
      const relation = recordingRights({ userId, admin, name: userId, scopes: [] }, rec, holds);
      if (relation === null) {
        await this.deps.rooms.removeParticipant(seat.roomId, userId);
        await this.deps.live.call(seat.roomId, 'removeParticipant', userId);
        await this.deps.audit.record({ actor, action: 'participant.remove', roomId: seat.roomId, caseId: rec.caseId, subject: userId, details: { recordingId: rec.id, reason: 'no longer holds the recording' } });
        removed.push(userId);
        continue;
      }
      const access = recordingViewerAccess(relation, rec, holds);
      if (!seatExceeds(seat.opener, access)) continue;
      const narrowed = { userId, role: seat.opener.role, scopes: scopesOf(access) };
      await this.deps.rooms.setParticipant(seat.roomId, narrowed);
      await this.deps.live.call(seat.roomId, 'updateParticipant', narrowed);
      await this.deps.audit.record({ actor, action: 'participant.scope-change', roomId: seat.roomId, caseId: rec.caseId, subject: userId, details: { recordingId: rec.id, after: { role: narrowed.role, scopes: narrowed.scopes }, reason: 'the recording is held with less access now' } });
    }
    return removed;
  }

  /** A training room's participants changed (or it closed): the recordings granted to it follow. */
  async roomMembershipChanged(roomId: string, actor: string): Promise<void> {
    for (const id of await this.deps.recordings.grantedToRoom(roomId)) {
      const rec = await this.deps.recordings.get(id);
      if (rec) await this.reconcile(rec, actor);
    }
  }

  /**
   * Before a ticket to a replay room: its recording's holds are checked again
   * (a change no route saw — an in-room kick from the training room, an expired
   * grant — takes effect at the latest here). A recording that is gone (deleted,
   * or past its retention and not yet collected) closes the room: a replay of
   * an expired recording does not play on until the retention run. So does a
   * replay room older than REPLAY_ROOM_HOURS (retention closes the others).
   */
  async beforeReplayTicket(room: Pick<RoomRecord, 'id' | 'kind' | 'recordingId' | 'createdAt'>, actor: string): Promise<void> {
    if (room.kind !== 'replay' || !room.recordingId) return;
    const rec = await this.playing(room, actor);
    if (rec) await this.reconcile(rec, actor);
  }

  /**
   * What this principal may read of a replay room's case now, over HTTP (case reads, image frames):
   * the room record says who sits there, but it follows a change only when a route sees it — an
   * expired recording, a session past REPLAY_ROOM_HOURS, an administrator no longer one, a training
   * room closed from the command line. So each read asks the recording (policy.ts replayReadHold);
   * a room whose recording or session is over closes here, as at a ticket.
   */
  async readHold(room: Pick<RoomRecord, 'id' | 'kind' | 'recordingId' | 'createdAt' | 'createdBy'>, principal: Principal): Promise<DataAccess | null> {
    const rec = await this.playing(room, principal.userId);
    const opener = room.createdBy === principal.userId;
    // Only the opener's hold is asked again: a learner's seat is the room record itself.
    const judged = rec && opener ? await this.judge(principal, rec) : null;
    return replayReadHold({ over: rec === null, opener }, rec ? { rec, relation: judged?.relation ?? null, holds: judged?.holds ?? NO_HOLDS } : null);
  }

  /** The recording a replay room plays, or null when its session is over or the recording gone (deleted, expired) — then the room ends. */
  private async playing(room: Pick<RoomRecord, 'id' | 'recordingId' | 'createdAt'>, actor: string): Promise<RecordingRecord | null> {
    const ended = (this.deps.now ?? Date.now)() - room.createdAt.getTime() >= this.deps.replayRoomMs;
    const rec = ended || !room.recordingId ? null : await this.deps.recordings.get(room.recordingId);
    if (rec) return rec;
    const reason = ended ? 'the replay session is over (REPLAY_ROOM_HOURS)' : 'the recording is deleted or expired';
    await endReplayRoom(this.ending, room, { actor, reason });
    return null;
  }

  /** Replay rooms opened before this are over (REPLAY_ROOM_HOURS). */
  sessionsOpenedAfter(): Date {
    return new Date((this.deps.now ?? Date.now)() - this.deps.replayRoomMs);
  }

  /**
   * May this principal change who sits in this room? In a replay room, only
   * those who manage its recording (its host, an administrator) seat anyone:
   * the opener of a private replay is its room's host, and a seat there is a
   * hold on the recording — a grantee must not hand it on.
   */
  async maySeat(principal: Principal, room: Pick<RoomRecord, 'kind' | 'recordingId'>): Promise<boolean> {
    if (room.kind !== 'replay') return true;
    const rec = room.recordingId ? await this.deps.recordings.get(room.recordingId) : null;
    const s = rec ? await this.judge(principal, rec) : null;
    return authorizeRecordingAction(s?.relation ?? null, 'replay-to-group').allow;
  }
}
