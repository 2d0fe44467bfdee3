import { Router } from 'express';
import { z } from 'zod';
import { ParticipantUpdateBody, UserId } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { authorizeParticipantChange, defaultScopes } from '../auth/policy.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import { AppError } from '../errors.ts';
import { isErrorCode, type ErrorCode } from '../../../shared/src/errors.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';
import { authenticate, principalOf } from './authenticate.ts';
import { parseBody, uuidParam } from './validate.ts';

const ModerationBody = z.strictObject({ action: z.enum(['mute', 'unmute', 'kick']), userId: UserId });
const isKnown = (code: string | undefined): code is ErrorCode => isErrorCode(code);

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
  router.use('/api/rooms/:id/live', authenticate(deps.identity));
  router.use('/api/rooms/:id/moderation', authenticate(deps.identity));

  /** Admin or room host: who is in the live room (no patient data). */
  router.get('/api/rooms/:id/live', async (req, res) => {
    const principal = principalOf(res);
    const { room } = await load(req.params.id, principal.userId, principal.userId, principal.admin);
    const snapshot = await deps.live.call(room.id, 'snapshot');
    res.json(snapshot ? { live: true, ...snapshot } : { live: false, voice: 'off', presenter: '', participants: [] });
  });

  /** Admin or room host: mute, unmute or kick from outside the room (the admin console). */
  router.post('/api/rooms/:id/moderation', async (req, res) => {
    const principal = principalOf(res);
    const { room } = await load(req.params.id, principal.userId, principal.userId, principal.admin);
    const body = parseBody(ModerationBody, req.body);
    const result = await deps.live.call(room.id, 'moderate', { userId: principal.userId, name: principal.name }, body.action, body.userId);
    if (!result) throw new AppError('PARTICIPANT_NOT_FOUND', 'the room is not live');
    if (!result.ok) throw new AppError(isKnown(result.code) ? result.code : 'INTERNAL');
    res.json({ ok: true });
  });

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
    await deps.live.call(room.id, 'updateParticipant', participant);
    res.json(participant);
  });

  router.delete('/api/rooms/:id/participants/:userId', async (req, res) => {
    const principal = principalOf(res);
    const { room, userId } = await load(req.params.id, req.params.userId, principal.userId, principal.admin);
    const removed = await deps.rooms.removeParticipant(room.id, userId);
    await deps.audit.record({ actor: principal.userId, action: 'participant.remove', roomId: room.id, caseId: room.caseId, subject: userId, details: { wasInvited: removed } });
    await deps.live.call(room.id, 'removeParticipant', userId);
    res.status(204).end();
  });

  return router;
}
