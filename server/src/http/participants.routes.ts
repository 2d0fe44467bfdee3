import { Router } from 'express';
import { ParticipantUpdateBody, UserId } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { authorizeParticipantChange, defaultScopes } from '../auth/policy.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import { AppError } from '../errors.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';
import { authenticate, principalOf } from './authenticate.ts';
import { parseBody, uuidParam } from './validate.ts';

export interface ParticipantsRoutesDeps {
  rooms: RoomsRepo;
  identity: IdentityVerifier;
  live: LiveRooms;
  audit: AuditLog;
}

/** Change what a participant may do and see — live, while they are in the room. */
export function participantsRoutes(deps: ParticipantsRoutesDeps): Router {
  const router = Router();
  router.use('/api/rooms/:id/participants', authenticate(deps.identity));

  const load = async (roomIdParam: string | string[] | undefined, userIdParam: string | string[] | undefined, callerId: string, admin: boolean) => {
    const roomId = uuidParam(roomIdParam, 'ROOM_NOT_FOUND');
    const userId = UserId.safeParse(userIdParam);
    if (!userId.success) throw new AppError('NOT_FOUND');
    const room = await deps.rooms.get(roomId);
    if (!room) throw new AppError('ROOM_NOT_FOUND');
    const callerRole = room.participants.find((p) => p.userId === callerId)?.role ?? null;
    const decision = authorizeParticipantChange({ userId: callerId, name: '', admin, scopes: [] }, callerRole);
    if (!decision.allow) throw new AppError(callerRole === null && !admin ? 'ROOM_NOT_FOUND' : decision.code);
    if (room.status !== 'open') throw new AppError('ROOM_CLOSED');
    return { room, userId: userId.data };
  };

  router.put('/api/rooms/:id/participants/:userId', async (req, res) => {
    const principal = principalOf(res);
    const { room, userId } = await load(req.params.id, req.params.userId, principal.userId, principal.admin);
    const body = parseBody(ParticipantUpdateBody, req.body);
    const before = room.participants.find((p) => p.userId === userId) ?? null;
    const participant = { userId, role: body.role, scopes: body.scopes ?? null };
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
    deps.live.get(room.id)?.updateParticipant(participant);
    res.json(participant);
  });

  router.delete('/api/rooms/:id/participants/:userId', async (req, res) => {
    const principal = principalOf(res);
    const { room, userId } = await load(req.params.id, req.params.userId, principal.userId, principal.admin);
    const removed = await deps.rooms.removeParticipant(room.id, userId);
    await deps.audit.record({ actor: principal.userId, action: 'participant.remove', roomId: room.id, caseId: room.caseId, subject: userId, details: { wasInvited: removed } });
    deps.live.get(room.id)?.removeParticipant(userId);
    res.status(204).end();
  });

  return router;
}
