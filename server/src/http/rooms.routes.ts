import { Router, type Response } from 'express';
import { CreateRoomBody, PatchRoomBody, type RoomDto, type TicketResponse } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { accessInput, authorizeAdmin, authorizeRoomRead, participantAccess } from '../auth/policy.ts';
import type { TicketService } from '../auth/tickets.ts';
import type { RoomRecord, RoomsRepo } from '../db/rooms.repo.ts';
import type { RecordingsRepo } from '../db/recordings.repo.ts';
import type { UsersRepo } from '../db/users.repo.ts';
import { AppError } from '../errors.ts';
import { liveRecord, type LiveRooms } from '../rooms/live-rooms.ts';
import type { MediaTokens } from '../media/livekit.ts';
import { authenticate, principalOf, requireAdmin } from './authenticate.ts';
import { parseBody, uuidParam } from './validate.ts';
import { sendJson } from './respond.ts';

export interface RoomsRoutesDeps {
  rooms: RoomsRepo;
  recordings: Pick<RecordingsRepo, 'active' | 'activeRooms'>;
  users: UsersRepo;
  tickets: TicketService;
  identity: IdentityVerifier;
  live: LiveRooms;
  audit: AuditLog;
  /** LiveKit token minting (media/setup.ts); null → voice off. */
  media: MediaTokens | null;
  /** Base URL clients connect to (known once the server listens). */
  endpoint: () => string;
  /** Who is in the room changed (or it closed): recordings granted to it follow (recording-access.ts). */
  membershipChanged?: (roomId: string, actor: string) => Promise<void>;
  /** A replay room's opener watches only while they hold its recording: checked again before each ticket. */
  beforeReplayTicket?: (room: RoomRecord, actor: string) => Promise<void>;
}

/** A room as the API shows it. */
export const roomDto = (r: RoomRecord, live: Set<string>, recording: Set<string>): RoomDto => ({
  id: r.id,
  title: r.title,
  kind: r.kind,
  caseId: r.caseId,
  status: r.status,
  participants: r.participants,
  scopeCeiling: r.scopeCeiling,
  observerVideo: r.observerVideo,
  recordingAllowed: r.recordingAllowed,
  recording: recording.has(r.id),
  recordingId: r.recordingId,
  live: live.has(r.id),
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});


export function roomsRoutes(deps: RoomsRoutesDeps): Router {
  const router = Router();
  router.use('/api/rooms', authenticate(deps.identity));

  const toDto = roomDto;

  /** The room if the caller may see it; 404 otherwise so ids do not leak. */
  const readableRoom = async (res: Response, id: string): Promise<RoomRecord> => {
    const principal = principalOf(res);
    const room = await deps.rooms.get(id);
    if (!room) throw new AppError('ROOM_NOT_FOUND');
    const invited = room.participants.find((p) => p.userId === principal.userId)?.role ?? null;
    if (!authorizeRoomRead(principal, invited).allow) throw new AppError('ROOM_NOT_FOUND');
    return room;
  };

  router.post('/api/rooms', async (req, res) => {
    const principal = requireAdmin(res, 'room.create');
    const body = parseBody(CreateRoomBody, req.body);
    if (body.kind === 'replay') throw new AppError('BODY_INVALID', 'replay rooms are opened from a recording (POST /api/recordings/:id/replays)');
    const room = await deps.rooms.create({
      title: body.title,
      kind: body.kind,
      caseId: body.caseId ?? null,
      createdBy: principal.userId,
      participants: body.participants,
      scopeCeiling: body.scopeCeiling ?? null,
      observerVideo: body.observerVideo ?? false,
      recordingAllowed: body.recordingAllowed ?? false,
    });
    await deps.audit.record({ actor: principal.userId, action: 'room.create', roomId: room.id, caseId: room.caseId, details: { kind: room.kind, participants: room.participants, scopeCeiling: room.scopeCeiling, observerVideo: room.observerVideo, recordingAllowed: room.recordingAllowed } });
    sendJson(res, 'POST /api/rooms', toDto(room, new Set(), new Set()), 201);
  });

  router.get('/api/rooms', async (_req, res) => {
    const principal = principalOf(res);
    // The web client's first call after signing in: from then on they are someone a recording can be granted to by name.
    await deps.users.touch({ id: principal.userId, name: principal.name, admin: principal.admin });
    const all = authorizeAdmin(principal, 'room.list-all').allow;
    const rooms = await deps.rooms.listOpen(all ? undefined : principal.userId);
    const live = await deps.live.liveRoomIds();
    const recording = await deps.recordings.activeRooms();
    // A removed participant still sees the room, marked, so the app does not offer a Join that would be refused.
    const kicks = await Promise.all(rooms.map((r) => deps.rooms.kickOf(r.id, principal.userId)));
    sendJson(res, 'GET /api/rooms', { rooms: rooms.map((r, i) => ({ ...toDto(r, live, recording), ...(kicks[i] ? { removed: { until: kicks[i].until?.toISOString() ?? null } } : {}) })) });
  });

  router.get('/api/rooms/:id', async (req, res) => {
    const room = await readableRoom(res, uuidParam(req.params.id, 'ROOM_NOT_FOUND'));
    sendJson(res, 'GET /api/rooms/:id', toDto(room, await deps.live.liveRoomIds(), await deps.recordings.activeRooms()));
  });

  router.patch('/api/rooms/:id', async (req, res) => {
    const principal = requireAdmin(res, 'room.update');
    const id = uuidParam(req.params.id, 'ROOM_NOT_FOUND');
    const body = parseBody(PatchRoomBody, req.body);
    const current = await deps.rooms.get(id);
    // A replay room stays one (it plays its recording); no other room becomes one.
    if (body.kind !== undefined && current && (body.kind === 'replay') !== (current.kind === 'replay')) throw new AppError('BODY_INVALID', 'a room cannot become or stop being a replay room');
    const room = await deps.rooms.update(id, body);
    if (!room) throw new AppError((await deps.rooms.get(id)) ? 'ROOM_CLOSED' : 'ROOM_NOT_FOUND');
    await deps.audit.record({ actor: principal.userId, action: 'room.update', roomId: id, caseId: room.caseId, details: { changed: Object.keys(body), participants: room.participants } });
    await deps.live.call(id, 'applyRoomChanges', liveRecord(room));
    await deps.membershipChanged?.(id, principal.userId);
    sendJson(res, 'PATCH /api/rooms/:id', toDto(room, await deps.live.liveRoomIds(), await deps.recordings.activeRooms()));
  });

  router.delete('/api/rooms/:id', async (req, res) => {
    const principal = requireAdmin(res, 'room.delete');
    const id = uuidParam(req.params.id, 'ROOM_NOT_FOUND');
    if (!(await deps.rooms.close(id))) {
      throw new AppError((await deps.rooms.get(id)) ? 'ROOM_CLOSED' : 'ROOM_NOT_FOUND');
    }
    await deps.audit.record({ actor: principal.userId, action: 'room.close', roomId: id });
    await deps.live.call(id, 'close');
    await deps.membershipChanged?.(id, principal.userId);
    res.status(204).end();
  });

  router.post('/api/rooms/:id/tickets', async (req, res) => {
    const principal = principalOf(res);
    const id = uuidParam(req.params.id, 'ROOM_NOT_FOUND');
    let room = await deps.rooms.get(id);
    const refuse = async (code: 'ROOM_NOT_FOUND' | 'ROOM_CLOSED' | 'NOT_INVITED' | 'KICKED') => {
      await deps.audit.record({ actor: principal.userId, action: 'ticket.refused', outcome: 'failure', roomId: room ? id : null, details: { code } });
      return new AppError(code);
    };
    if (!room) throw await refuse('ROOM_NOT_FOUND');
    if (room.status !== 'open') throw await refuse('ROOM_CLOSED');
    if (deps.beforeReplayTicket && room.kind === 'replay') {
      await deps.beforeReplayTicket(room, principal.userId);
      room = (await deps.rooms.get(id))!;
      // Its recording is gone (deleted, expired): the room closed with it.
      if (room.status !== 'open') throw await refuse('ROOM_CLOSED');
    }
    const kicked = await deps.rooms.isKicked(room.id, principal.userId);
    // The same derivation the live room uses (without break-glass, which lives only in the room).
    const input = accessInput(room, principal, { kicked, at: Date.now() });
    const access = participantAccess(input);
    if (!access) throw await refuse(kicked ? 'KICKED' : 'NOT_INVITED');
    await deps.users.touch({ id: principal.userId, name: principal.name, admin: principal.admin });
    const issued = await deps.tickets.issue({
      sub: principal.userId,
      name: principal.name,
      room: room.id,
      role: access.role,
      scope: access.scope,
      admin: input.invitation === null && principal.admin,
    });
    await deps.audit.record({ actor: principal.userId, action: 'ticket.issued', roomId: room.id, caseId: room.caseId, details: { jti: issued.claims.jti, role: access.role, scope: access.scope, expiresAt: issued.expiresAt.toISOString() } });
    const who = { roomId: room.id, kind: room.kind, userId: principal.userId, name: principal.name, role: access.role };
    const voice = deps.media ? await deps.media.voice(who) : null;
    const video = deps.media ? await deps.media.video(who, room) : null;
    const body: TicketResponse = {
      ticket: issued.ticket,
      expiresAt: issued.expiresAt.toISOString(),
      roomId: room.id,
      role: access.role,
      scopes: access.scope.split(' ').filter(Boolean),
      endpoint: deps.endpoint(),
      voice,
      video,
      // Consent: the client shows this before it joins.
      recording: { allowed: room.recordingAllowed, active: (await deps.recordings.active(room.id)) !== null },
    };
    sendJson(res, 'POST /api/rooms/:id/tickets', body, 201);
  });

  return router;
}
