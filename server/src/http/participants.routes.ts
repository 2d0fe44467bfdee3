import { Router } from 'express';
import { AccessDecisionBody, ModerationBody, ParticipantUpdateBody, UserId } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { authorizeConsoleModeration, authorizeParticipantChange, authorizeRoomConsole, defaultScopes, type Principal } from '../auth/policy.ts';
import type { RoomRecord, RoomsRepo } from '../db/rooms.repo.ts';
import { AppError } from '../errors.ts';
import type { LiveRoomHandle, LiveRooms } from '../rooms/live-rooms.ts';
import { kickUntil, storeKick } from '../rooms/moderation.ts';
import type { Logger } from '../logger.ts';
import { authenticate, principalOf } from './authenticate.ts';
import { parseBody, uuidParam } from './validate.ts';
import { sendJson } from './respond.ts';

export interface ParticipantsRoutesDeps {
  rooms: RoomsRepo;
  identity: IdentityVerifier;
  live: LiveRooms;
  audit: AuditLog;
  /** For live-room calls that fail (optional: tests may leave it out). */
  logger?: Logger;
  /** Who is in the room (or kicked from it) changed: recordings granted to it follow (recording-access.ts). */
  membershipChanged?: (roomId: string, actor: string) => Promise<void>;
  /** May this principal seat anyone in this room? In a replay room only those who manage its recording (recording-access.ts). */
  maySeat: (principal: Principal, room: RoomRecord) => Promise<boolean>;
}

/**
 * Change who is in a room and what they may do and see — live, for every seat
 * of theirs, connected or dropped. Admins and the room's hosts may; the policy
 * module decides the limits (no self-widening, hosts within the ceiling, only
 * admins make or touch hosts).
 */
export function participantsRoutes(deps: ParticipantsRoutesDeps): Router {
  const router = Router();
  for (const path of ['participants', 'live', 'moderation', 'kicks', 'access-requests']) router.use(`/api/rooms/:id/${path}`, authenticate(deps.identity));

  /** The open room and the caller's role in it; 404 for callers who are neither admin nor host (ids do not leak). */
  const load = async (roomIdParam: unknown, principal: Principal): Promise<{ room: RoomRecord; callerRole: RoomRecord['participants'][number]['role'] | null }> => {
    const roomId = uuidParam(roomIdParam as string, 'ROOM_NOT_FOUND');
    const room = await deps.rooms.get(roomId);
    if (!room) throw new AppError('ROOM_NOT_FOUND');
    const invited = room.participants.find((p) => p.userId === principal.userId)?.role ?? null;
    const kicked = invited !== null && !principal.admin && (await deps.rooms.isKicked(room.id, principal.userId));
    const { decision, callerRole } = authorizeRoomConsole(principal, invited, kicked);
    if (!decision.allow) throw new AppError(decision.code);
    if (room.status !== 'open') throw new AppError('ROOM_CLOSED');
    return { room, callerRole };
  };
  /**
   * Tell the live room of something already decided (and stored): its answer,
   * undefined when it is live nowhere, 'unreachable' when the call itself fails
   * (the listing names a process that does not answer) — never a 500.
   */
  const tellLive = async <M extends keyof LiveRoomHandle>(roomId: string, method: M, ...args: Parameters<LiveRoomHandle[M]>) => {
    try {
      return await deps.live.call(roomId, method, ...args);
    } catch (err) {
      deps.logger?.warn({ err, roomId, method }, 'live room call failed');
      return 'unreachable' as const;
    }
  };
  const userParam = (value: unknown): string => {
    const userId = UserId.safeParse(value);
    if (!userId.success) throw new AppError('NOT_FOUND');
    return userId.data;
  };

  /** Admin or room host: who is in the live room (no patient data). */
  router.get('/api/rooms/:id/live', async (req, res) => {
    const { room } = await load(req.params.id, principalOf(res));
    const snapshot = await deps.live.call(room.id, 'snapshot');
    sendJson(res, 'GET /api/rooms/:id/live', snapshot ? { live: true, ...snapshot } : { live: false, voice: 'off', presenter: '', participants: [] });
  });

  /**
   * Admin or room host: mute, unmute or kick from outside the room (the admin
   * console). The same table as in the room decides (MODERATION_RULES), on the
   * room record. A kick is stored first, whether or not the room is live or
   * reachable; the live room is told afterwards, best effort. Mute needs the
   * live media session.
   */
  router.post('/api/rooms/:id/moderation', async (req, res) => {
    const principal = principalOf(res);
    const { room, callerRole } = await load(req.params.id, principal);
    const body = parseBody(ModerationBody, req.body);
    const targetRole = room.participants.find((p) => p.userId === body.userId)?.role ?? null;
    const decision = authorizeConsoleModeration(principal, callerRole, body.action, body.userId, targetRole);
    if (!decision.allow) throw new AppError(decision.code, decision.reason);
    if (targetRole === null) throw new AppError('PARTICIPANT_NOT_FOUND');
    if (body.action === 'kick') {
      const until = kickUntil(Date.now(), body.minutes);
      await storeKick({ store: deps.rooms, audit: (e) => deps.audit.record(e) }, { roomId: room.id, by: principal.userId, userId: body.userId, until, via: 'console' });
      // Stored, so new tickets are refused at once. A live room that cannot be reached (its process gone, its
      // listing stale) is not told: it loads the kick when it next opens.
      await tellLive(room.id, 'moderate', principal.userId, 'kick', body.userId, until?.getTime() ?? null);
      await deps.membershipChanged?.(room.id, principal.userId);
      return void sendJson(res, 'POST /api/rooms/:id/moderation', { ok: true });
    }
    const result = await tellLive(room.id, 'moderate', principal.userId, body.action, body.userId, null);
    if (result === 'unreachable') throw new AppError('UNAVAILABLE', 'the live room cannot be reached; try again');
    if (result === undefined) throw new AppError('PARTICIPANT_NOT_FOUND', 'the room is not live');
    if (!result.ok) throw new AppError(result.code ?? 'INTERNAL');
    sendJson(res, 'POST /api/rooms/:id/moderation', { ok: true });
  });

  /** Admin or a host other than the requester: decide a break-glass request. */
  router.post('/api/rooms/:id/access-requests/:requestId', async (req, res) => {
    const principal = principalOf(res);
    const { room } = await load(req.params.id, principal);
    const requestId = uuidParam(req.params.requestId, 'NOT_FOUND');
    const body = parseBody(AccessDecisionBody, req.body);
    const result = await deps.live.call(room.id, 'decide', principal, requestId, body.decision);
    if (!result) throw new AppError('REQUEST_NOT_FOUND', 'the room is not live');
    if (!result.ok) throw new AppError(result.code ?? 'INTERNAL');
    sendJson(res, 'POST /api/rooms/:id/access-requests/:requestId', { ok: true });
  });

  /** Admin or room host: re-admit a kicked user (they may get a ticket again); the moderation table decides (a kicked host: an admin). */
  router.delete('/api/rooms/:id/kicks/:userId', async (req, res) => {
    const principal = principalOf(res);
    const { room, callerRole } = await load(req.params.id, principal);
    const userId = userParam(req.params.userId);
    const targetRole = room.participants.find((p) => p.userId === userId)?.role ?? null;
    const decision = authorizeConsoleModeration(principal, callerRole, 'readmit', userId, targetRole);
    if (!decision.allow) throw new AppError(decision.code, decision.reason);
    const lifted = await deps.rooms.readmit(room.id, userId);
    if (!lifted) throw new AppError('NOT_FOUND', 'that user is not kicked from this room');
    await deps.audit.record({ actor: principal.userId, action: 'participant.readmit', roomId: room.id, subject: userId });
    await tellLive(room.id, 'readmit', userId);
    res.status(204).end();
  });

  router.put('/api/rooms/:id/participants/:userId', async (req, res) => {
    const principal = principalOf(res);
    const { room, callerRole } = await load(req.params.id, principal);
    const userId = userParam(req.params.userId);
    const body = parseBody(ParticipantUpdateBody, req.body);
    const before = room.participants.find((p) => p.userId === userId) ?? null;
    const participant = { userId, role: body.role, scopes: body.scopes ?? null };
    const decision = authorizeParticipantChange(principal, callerRole, { targetUserId: userId, before, after: participant, ceiling: room.scopeCeiling });
    if (!decision.allow) throw new AppError(decision.code, decision.reason);
    // A replay room's host may be a grantee watching alone: a seat there would hand the recording on.
    if (!(await deps.maySeat(principal, room))) throw new AppError('FORBIDDEN', 'only an administrator or the host who recorded it seats learners in its replay');
    await deps.rooms.setParticipant(room.id, participant);
    await deps.audit.record({
      actor: principal.userId,
      action: 'participant.scope-change',
      roomId: room.id,
      caseId: room.caseId,
      subject: userId,
      details: {
        before: before ? { role: before.role, scopes: before.scopes ?? defaultScopes(before.role) } : null,
        after: { role: body.role, scopes: body.scopes ?? defaultScopes(body.role) },
      },
    });
    await deps.live.call(room.id, 'updateParticipant', participant);
    await deps.membershipChanged?.(room.id, principal.userId);
    sendJson(res, 'PUT /api/rooms/:id/participants/:userId', participant);
  });

  router.delete('/api/rooms/:id/participants/:userId', async (req, res) => {
    const principal = principalOf(res);
    const { room, callerRole } = await load(req.params.id, principal);
    const userId = userParam(req.params.userId);
    const before = room.participants.find((p) => p.userId === userId) ?? null;
    const decision = authorizeParticipantChange(principal, callerRole, { targetUserId: userId, before, after: null, ceiling: room.scopeCeiling });
    if (!decision.allow) throw new AppError(decision.code, decision.reason);
    const removed = await deps.rooms.removeParticipant(room.id, userId);
    await deps.audit.record({ actor: principal.userId, action: 'participant.remove', roomId: room.id, caseId: room.caseId, subject: userId, details: { wasInvited: removed } });
    await deps.live.call(room.id, 'removeParticipant', userId);
    await deps.membershipChanged?.(room.id, principal.userId);
    res.status(204).end();
  });

  return router;
}

