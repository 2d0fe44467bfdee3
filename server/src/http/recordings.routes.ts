import { Router, type Response } from 'express';
import { OpenReplayBody, RecordingGrantBody, type RecordingDto } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { accessCovers, authorizeRecordingGrant, defaultScopes, parseScopes, recordingRights, recordingViewerAccess, type Invitation, type Principal } from '../auth/policy.ts';
import type { RecordingRecord, RecordingsRepo } from '../db/recordings.repo.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import { AppError } from '../errors.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';
import { authenticate, principalOf } from './authenticate.ts';
import { roomDto } from './rooms.routes.ts';
import { sendJson } from './respond.ts';
import { parseBody, uuidParam } from './validate.ts';

export interface RecordingsRoutesDeps {
  recordings: RecordingsRepo;
  rooms: RoomsRepo;
  identity: IdentityVerifier;
  live: LiveRooms;
  audit: AuditLog;
}

interface Seen {
  rec: RecordingRecord;
  rights: 'manage' | 'watch';
  grant: Invitation | null;
  replayInvitation: Invitation | null;
}

/**
 * The recordings library: list what you may see, look at one (its timeline,
 * filtered by your access), open it in a replay room (alone, or for a group
 * when you manage it), grant and revoke watching, delete. A recording nobody
 * let you see answers RECORDING_NOT_FOUND, as if it did not exist.
 */
export function recordingsRoutes(deps: RecordingsRoutesDeps): Router {
  const router = Router();
  router.use('/api/recordings', authenticate(deps.identity));

  const seen = async (res: Response, rawId: string | string[] | undefined): Promise<Seen> => {
    const principal = principalOf(res);
    const id = uuidParam(rawId, 'NOT_FOUND');
    const rec = await deps.recordings.get(id);
    if (!rec) throw new AppError('RECORDING_NOT_FOUND');
    const grant = await deps.recordings.grantOf(id, principal.userId);
    const invited = (await deps.recordings.replayRooms(id, principal.userId)).find((r) => r.role !== null);
    const replayInvitation = invited ? { role: invited.role!, scopes: invited.scopes } : null;
    const rights = recordingRights(principal, rec, grant, replayInvitation);
    if (!rights) throw new AppError('RECORDING_NOT_FOUND');
    return { rec, rights, grant, replayInvitation };
  };

  const toDto = (principal: Principal, s: Seen): RecordingDto => {
    const access = recordingViewerAccess(principal, s.rec, s.grant, s.replayInvitation);
    return {
      id: s.rec.id,
      roomId: s.rec.roomId,
      title: s.rec.title,
      startedBy: s.rec.startedBy,
      startedAt: s.rec.startedAt.toISOString(),
      endedAt: s.rec.endedAt?.toISOString() ?? null,
      durationMs: s.rec.durationMs,
      bytes: s.rec.bytes,
      audio: s.rec.audio,
      expiresAt: s.rec.expiresAt?.toISOString() ?? null,
      // An annotation's marker carries its author's access, like the annotation.
      markers: s.rec.markers.filter((m) => !m.scope || accessCovers(access, parseScopes(m.scope))).map((m) => ({ t: m.t, kind: m.kind, who: m.who })),
      mayManage: s.rights === 'manage',
    };
  };

  const manage = (s: Seen) => {
    if (s.rights !== 'manage') throw new AppError('FORBIDDEN', 'only an administrator or the host who recorded it may do this');
  };

  router.get('/api/recordings', async (_req, res) => {
    const principal = principalOf(res);
    const list = await deps.recordings.listFor(principal.admin ? null : principal.userId);
    const out: RecordingDto[] = [];
    for (const rec of list) {
      const grant = await deps.recordings.grantOf(rec.id, principal.userId);
      const rights = recordingRights(principal, rec, grant, null);
      if (rights) out.push(toDto(principal, { rec, rights, grant, replayInvitation: null }));
    }
    sendJson(res, 'GET /api/recordings', { recordings: out });
  });

  router.get('/api/recordings/:id', async (req, res) => {
    sendJson(res, 'GET /api/recordings/:id', toDto(principalOf(res), await seen(res, req.params.id)));
  });

  /**
   * A replay room for this recording. Whoever opens it is its host (they drive
   * the replay) under the access they watch with; learners they invite keep
   * the access their invitation gives (observers: de-identified by default).
   */
  router.post('/api/recordings/:id/replays', async (req, res) => {
    const principal = principalOf(res);
    const s = await seen(res, req.params.id);
    const body = parseBody(OpenReplayBody, req.body);
    if (body.participants.length > 0) manage(s);
    // A seat in someone else's group replay is not a right to the recording: leaving it (or being removed) ends it.
    if (s.rights !== 'manage' && !s.grant) throw new AppError('FORBIDDEN', "ask the recording's host for access to open it yourself");
    if (body.participants.some((p) => p.userId === principal.userId)) throw new AppError('BODY_INVALID', 'you are the replay room host');
    for (const p of body.participants) {
      const decision = authorizeRecordingGrant(s.rec, p);
      if (!decision.allow) throw new AppError(decision.code, `${p.userId}: ${decision.reason}`);
    }
    const own: Invitation = s.grant ?? { role: 'host', scopes: s.rec.startedBy === principal.userId && !principal.admin ? s.rec.hostScope.split(' ').filter(Boolean) : null };
    const scopes = own.scopes ?? defaultScopes(own.role);
    const room = await deps.rooms.create({
      title: body.title ?? `Replay: ${s.rec.title}`.slice(0, 200),
      kind: 'replay',
      caseId: s.rec.caseId,
      createdBy: principal.userId,
      participants: [{ userId: principal.userId, role: 'host', scopes: [...scopes] }, ...body.participants],
      // Nobody sees more through the replay than its host could when recording (break-glass included).
      scopeCeiling: s.rec.hostScope.split(' ').filter(Boolean),
      recordingId: s.rec.id,
    });
    await deps.audit.record({ actor: principal.userId, action: 'room.create', roomId: room.id, caseId: room.caseId, details: { kind: 'replay', recordingId: s.rec.id, participants: room.participants } });
    sendJson(res, 'POST /api/recordings/:id/replays', roomDto(room, new Set(), new Set()), 201);
  });

  router.post('/api/recordings/:id/grants', async (req, res) => {
    const principal = principalOf(res);
    const s = await seen(res, req.params.id);
    manage(s);
    const body = parseBody(RecordingGrantBody, req.body);
    const grant = { userId: body.userId, role: body.role ?? 'observer', scopes: body.scopes ?? null };
    const decision = authorizeRecordingGrant(s.rec, grant);
    if (!decision.allow) throw new AppError(decision.code, decision.reason);
    await deps.recordings.grant(s.rec.id, grant, principal.userId);
    await deps.audit.record({ actor: principal.userId, action: 'recording.grant', subject: body.userId, roomId: s.rec.roomId, caseId: s.rec.caseId, details: { recordingId: s.rec.id, role: grant.role, scopes: grant.scopes } });
    sendJson(res, 'POST /api/recordings/:id/grants', { ok: true });
  });

  /** Revoked: gone from the library, and out of every replay room of it they are in now. */
  router.delete('/api/recordings/:id/grants/:userId', async (req, res) => {
    const principal = principalOf(res);
    const s = await seen(res, req.params.id);
    manage(s);
    const userId = String(req.params.userId);
    await deps.recordings.revoke(s.rec.id, userId);
    for (const r of await deps.recordings.replayRooms(s.rec.id, userId)) {
      if (r.role === null) continue;
      await deps.rooms.removeParticipant(r.roomId, userId);
      await deps.live.call(r.roomId, 'removeParticipant', userId);
    }
    await deps.audit.record({ actor: principal.userId, action: 'recording.revoke', subject: userId, roomId: s.rec.roomId, caseId: s.rec.caseId, details: { recordingId: s.rec.id } });
    res.status(204).end();
  });

  /** Deleted: its chunks are gone and its replay rooms close. */
  router.delete('/api/recordings/:id', async (req, res) => {
    const principal = principalOf(res);
    const s = await seen(res, req.params.id);
    manage(s);
    const replays = await deps.recordings.replayRooms(s.rec.id, principal.userId);
    await deps.recordings.delete(s.rec.id);
    for (const r of replays) {
      await deps.rooms.close(r.roomId);
      await deps.live.call(r.roomId, 'close');
    }
    await deps.audit.record({ actor: principal.userId, action: 'recording.delete', roomId: s.rec.roomId, caseId: s.rec.caseId, details: { recordingId: s.rec.id, replayRoomsClosed: replays.length } });
    res.status(204).end();
  });

  return router;
}
