import type { AuditLog } from '../audit/audit-log.ts';
import { accessInput, caseReadAccess, readsThroughRoom, type DataAccess, type Principal } from '../auth/policy.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import { AppError } from '../errors.ts';

/** What someone holds of a replay room's recording now (RecordingAccess.readHold; policy.ts replayReadHold). */
export interface ReplayReadHolds {
  readHold(room: NonNullable<Awaited<ReturnType<RoomsRepo['readerOf']>>>['room'], principal: Principal): Promise<DataAccess | null>;
}

/**
 * What this caller may read of a case over HTTP, decided afresh on every
 * request (a revocation or a kick applies to the very next read): an
 * administrator under their token's scopes; anyone else only through an open
 * room that shows the case and admits them (`?room=`) — through a replay room,
 * only while they hold its recording, within what they hold. Refusals are audited.
 */
export async function caseAccessOrDeny(...args: Parameters<typeof caseReadOrDeny>): Promise<DataAccess> {
  return (await caseReadOrDeny(...args)).access;
}

/** caseAccessOrDeny, and the room the read went through (null: none, or one the caller merely named): the audit row's room. */
export async function caseReadOrDeny(
  deps: { rooms: RoomsRepo; audit: AuditLog; replays: ReplayReadHolds },
  principal: Principal,
  caseId: string,
  patientId: string,
  roomId: string | undefined,
  action: 'case.read' | 'imaging.series-open' | 'imaging.mark-clean' = 'case.read',
  /** RoomsRepo.readerOf(roomId, principal.userId), when the caller read it already (alongside the case). */
  fetched?: Awaited<ReturnType<RoomsRepo['readerOf']>>,
): Promise<{ access: DataAccess; roomId: string | null }> {
  // One query: the room, this user's invitation in it and any kick in force (never cached: a revocation applies to the next read).
  const reader = fetched !== undefined ? fetched : roomId ? await deps.rooms.readerOf(roomId, principal.userId) : null;
  const room = reader?.room ?? null;
  const through = reader && room && room.status === 'open' && room.caseId === caseId
    ? accessInput(room, { userId: principal.userId, admin: false }, { kicked: reader.kicked, at: Date.now() })
    : null;
  // A replay room's record follows its recording only when a route sees a change: the recording is asked too
  // (only for someone the room admits: nobody else reads through it anyway, nor ends it by asking).
  const replayHold = room && room.kind === 'replay' && !principal.admin && readsThroughRoom(through) ? await deps.replays.readHold(room, principal) : undefined;
  const access = caseReadAccess(principal, through, replayHold);
  if (!access) {
    await deps.audit.record({ actor: principal.userId, action, outcome: 'failure', caseId, patientId, roomId: room ? room.id : null, details: { code: 'SCOPE_DENIED' } });
    throw new AppError('SCOPE_DENIED', principal.admin || roomId ? undefined : 'read a case through a room that shows it: ?room=<roomId>');
  }
  return { access, roomId: room && readsThroughRoom(through) ? room.id : null };
}
