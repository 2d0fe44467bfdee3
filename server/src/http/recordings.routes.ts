import { Router, type Response } from 'express';
import { OpenReplayBody, RecordingGrantBody, RecordingPeopleQuery, RecordingRoomGrantBody, UserId, type RecordingDto, type RecordingMarkerDto, type UserNames } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { accessCovers, authorizeRecordingAction, authorizeRecordingGrant, authorizeRoomRead, GRANTABLE_ROOM_KINDS, managesRecording, objectTextVisible, objectVisible, parseScopes, type DataAccess, type RecordingAction } from '../auth/policy.ts';
import { KeyedRateLimit, PEOPLE_SEARCH_LIMIT } from '../domain/rate-limit.ts';
import type { Marker } from '../domain/storage.ts';
import type { RecordingsRepo } from '../db/recordings.repo.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import type { RecordingAudioFiles } from '../media/recording-audio-files.ts';
import type { UsersRepo } from '../db/users.repo.ts';
import { AppError } from '../errors.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';
import { deleteRecording } from '../recordings/lifecycle.ts';
import { authenticate, principalOf } from './authenticate.ts';
import { scopesOf, type RecordingAccess, type SeenRecording } from './recording-access.ts';
import { roomDto } from './rooms.routes.ts';
import { sendJson } from './respond.ts';
import { parseBody, uuidParam } from './validate.ts';

export interface RecordingsRoutesDeps {
  recordings: RecordingsRepo;
  rooms: RoomsRepo;
  /** Who has signed in: names for the ids the library shows, the people a manager may find and grant. */
  users: Pick<UsersRepo, 'touch' | 'known' | 'namesOf' | 'search'>;
  identity: IdentityVerifier;
  live: LiveRooms;
  audit: AuditLog;
  access: RecordingAccess;
  /** The recordings' voice files (deleted with their recording). */
  audioFiles: RecordingAudioFiles;
}

/** How many people one search answers with: a name to pick, not the directory. */
const PEOPLE_FOUND = 20;

/** Those of `names` whose id is in `ids`. */
const pick = (names: UserNames, ids: readonly string[]): UserNames => Object.fromEntries(ids.filter((id) => Object.hasOwn(names, id)).map((id) => [id, names[id]!]));

/**
 * A timeline marker as this viewer may see it: an annotation's text only when
 * their access covers its author's (objectTextVisible), else `hidden` — the
 * live room's placeholder; the marker of an object they may not see at all
 * (objectVisible) is left out. Markers recorded before they named their object
 * carry only the author's access: shown when it is covered, as before.
 */
export function markerFor(m: Marker, access: DataAccess): RecordingMarkerDto | null {
  const base = { t: m.t, kind: m.kind, who: m.who };
  if (m.kind !== 'annotation') return base;
  if (!m.obj) return !m.scope || accessCovers(access, parseScopes(m.scope)) ? base : null;
  const obj = { ...m.obj, authorScope: m.scope ?? '' };
  if (!objectVisible(access, obj)) return null;
  if (!m.obj.label) return { ...base, what: m.obj.kind };
  return objectTextVisible(access, obj) ? { ...base, what: m.obj.kind, text: m.obj.label } : { ...base, what: m.obj.kind, hidden: true };
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
  const peopleSearches = new KeyedRateLimit({ ratePerSecond: PEOPLE_SEARCH_LIMIT.perMinute / 60, burst: PEOPLE_SEARCH_LIMIT.burst });
  /** One look into the directory by this user (a search, or an answer that an id is unknown); RATE_LIMITED past the budget. */
  const spendDirectoryLook = (res: Response, userId: string): void => {
    const waitMs = peopleSearches.take(userId);
    if (waitMs === null) return;
    res.setHeader('Retry-After', String(Math.ceil(waitMs / 1000)));
    throw new AppError('RATE_LIMITED', `too many searches for people; try again in ${Math.ceil(waitMs / 1000)} s`);
  };
  /**
   * Refuse an id nobody has signed in with (USER_NOT_FOUND). Each such answer says whether an id exists,
   * so it spends the same budget as a search: a manager cannot probe ids past what searching would show.
   */
  const requireKnown = async (res: Response, principalId: string, userId: string): Promise<void> => {
    if (await deps.users.known(userId)) return;
    spendDirectoryLook(res, principalId);
    throw new AppError('USER_NOT_FOUND', `nobody with the user id "${userId}" has signed in to Consilium`);
  };

  /** The recording as this viewer may see it, without names yet (`names` fills them: one query for a whole list). */
  const toDto = (s: SeenRecording): RecordingDto => ({
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
    markers: s.rec.markers.map((m) => markerFor(m, s.access)).filter((m): m is RecordingMarkerDto => m !== null),
    mayManage: managesRecording(s.relation),
    access: s.relation,
    caseDeleted: s.rec.caseDeleted,
    names: {},
  });

  /**
   * The display names of the people these answers name — the recorder and the authors of the markers this viewer
   * may see, nobody else — so the library shows people, not ids; no name is sent for an id the answer does not carry.
   */
  const named = async (dtos: RecordingDto[]): Promise<void> => {
    const ids = (d: RecordingDto) => [d.startedBy, ...d.markers.map((m) => m.who)];
    const all = await deps.users.namesOf(dtos.flatMap(ids));
    for (const d of dtos) d.names = pick(all, ids(d));
  };

  /**
   * A timeline that carries recorded notes' text (markers this viewer may read) is a viewing of the
   * recording, audited as a seat in its replay is (`recording.view`), with how it was read.
   */
  const auditTimeline = async (actor: string, s: SeenRecording, dto: RecordingDto, via: 'timeline' | 'library') => {
    if (!dto.markers.some((m) => m.text !== undefined)) return;
    await deps.audit.record({ actor, action: 'recording.view', roomId: s.rec.roomId, caseId: s.rec.caseId, details: { recordingId: s.rec.id, via, relation: s.relation, scope: scopesOf(s.access).join(' ') } });
  };

  const seen = (res: Response, id: string | string[] | undefined, action?: RecordingAction) => deps.access.seen(principalOf(res), uuidParam(id, 'NOT_FOUND'), action);

  router.get('/api/recordings', async (_req, res) => {
    const principal = principalOf(res);
    // Opening the library is signing in to it: from now on this person can be found and granted a recording by name.
    await deps.users.touch({ id: principal.userId, name: principal.name, admin: principal.admin });
    const list = await deps.recordings.listFor(principal.admin ? null : principal.userId);
    const out: RecordingDto[] = [];
    for (const rec of list) {
      const s = await deps.access.judge(principal, rec);
      if (!s) continue;
      const dto = toDto(s);
      await auditTimeline(principal.userId, s, dto, 'library');
      out.push(dto);
    }
    await named(out);
    sendJson(res, 'GET /api/recordings', { recordings: out });
  });

  router.get('/api/recordings/:id', async (req, res) => {
    const s = await seen(res, req.params.id);
    const dto = toDto(s);
    await auditTimeline(principalOf(res).userId, s, dto, 'timeline');
    await named([dto]);
    sendJson(res, 'GET /api/recordings/:id', dto);
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
    // A seat in someone else's group replay is not a right to the recording: leaving it (or being removed) ends it.
    const decision = authorizeRecordingAction(s.relation, body.participants.length > 0 ? 'replay-to-group' : 'open-alone');
    if (!decision.allow) throw new AppError(decision.code, decision.reason);
    if (body.participants.some((p) => p.userId === principal.userId)) throw new AppError('BODY_INVALID', 'you are the replay room host');
    for (const p of body.participants) {
      const decision = authorizeRecordingGrant(s.rec, p);
      if (!decision.allow) throw new AppError(decision.code, `${p.userId}: ${decision.reason}`);
    }
    // As for a grant: a seat for an id nobody has signed in with is a seat for nobody (or for whoever takes that id one day).
    // Asked only after every check above, so only those who may seat learners learn through it who has signed in.
    for (const p of body.participants) {
      await requireKnown(res, principal.userId, p.userId);
    }
    // Whether they are an administrator is remembered: their seat is checked again whenever a hold changes (recording-access.ts).
    await deps.users.touch({ id: principal.userId, name: principal.name, admin: principal.admin });
    // Watching alone again opens the room they watched it in before (same access): one room per viewer, not one per click.
    if (body.participants.length === 0) {
      const again = await deps.recordings.soloReplayRoom(s.rec.id, principal.userId, scopesOf(s.access), deps.access.sessionsOpenedAfter());
      const room = again ? await deps.rooms.get(again) : null;
      if (room) return sendJson(res, 'POST /api/recordings/:id/replays', roomDto(room, new Set(), new Set()), 201);
    }
    const room = await deps.rooms.create({
      title: body.title ?? `Replay: ${s.rec.title}`.slice(0, 200),
      kind: 'replay',
      caseId: s.rec.caseId,
      createdBy: principal.userId,
      // The opener drives it, under the access they hold the recording with now.
      participants: [{ userId: principal.userId, role: 'host', scopes: scopesOf(s.access) }, ...body.participants],
      // Nobody sees more through the replay than its host could when recording (break-glass included).
      scopeCeiling: s.rec.hostScope.split(' ').filter(Boolean),
      recordingId: s.rec.id,
    });
    await deps.audit.record({ actor: principal.userId, action: 'room.create', roomId: room.id, caseId: room.caseId, details: { kind: 'replay', recordingId: s.rec.id, participants: room.participants, relation: s.relation } });
    sendJson(res, 'POST /api/recordings/:id/replays', roomDto(room, new Set(), new Set()), 201);
  });

  router.get('/api/recordings/:id/grants', async (req, res) => {
    const s = await seen(res, req.params.id, 'see-grants');
    const g = await deps.recordings.grants(s.rec.id);
    const names = await deps.users.namesOf([...g.people.flatMap((p) => [p.userId, p.grantedBy]), ...g.rooms.map((r) => r.grantedBy)]);
    sendJson(res, 'GET /api/recordings/:id/grants', {
      people: g.people.map((p) => ({ userId: p.userId, role: p.role, scopes: p.scopes, grantedBy: p.grantedBy, grantedAt: p.grantedAt.toISOString() })),
      rooms: g.rooms.map((r) => ({ ...r, grantedAt: r.grantedAt.toISOString() })),
      names,
    });
  });

  /**
   * Whom may I let watch this? People who have signed in whose name or id contains `q`: their id and name,
   * nothing else (not whether they administer Consilium, not when they were last seen). Only for those who
   * grant it (the shared rule's `find-people`); a learner asking is refused as they are for granting.
   */
  router.get('/api/recordings/:id/people', async (req, res) => {
    const principal = principalOf(res);
    await seen(res, req.params.id, 'find-people');
    const { q } = parseBody(RecordingPeopleQuery, req.query, 'QUERY_INVALID');
    // Counted once they may search and the text is sound: only searches that read the directory spend the budget.
    spendDirectoryLook(res, principal.userId);
    // By name: the answer is a name to pick, and says nothing of who signed in last (not even which 20 of more).
    const found = await deps.users.search(q, PEOPLE_FOUND, principal.userId, 'name');
    sendJson(res, 'GET /api/recordings/:id/people', { people: found.map((u) => ({ userId: u.id, name: u.name })) });
  });

  router.post('/api/recordings/:id/grants', async (req, res) => {
    const principal = principalOf(res);
    const s = await seen(res, req.params.id, 'grant');
    const body = parseBody(RecordingGrantBody, req.body);
    const grant = { userId: body.userId, role: body.role ?? 'observer', scopes: body.scopes ?? null };
    const decision = authorizeRecordingGrant(s.rec, grant);
    if (!decision.allow) throw new AppError(decision.code, decision.reason);
    // A misspelt id would be a grant to nobody, silently (or to whoever signs in with it one day): refused.
    // Asked only of those who may grant, so nobody else learns through it who has signed in.
    await requireKnown(res, principal.userId, grant.userId);
    await deps.recordings.grant(s.rec.id, grant, principal.userId);
    await deps.audit.record({ actor: principal.userId, action: 'recording.grant', subject: body.userId, roomId: s.rec.roomId, caseId: s.rec.caseId, details: { recordingId: s.rec.id, role: grant.role, scopes: grant.scopes } });
    // A narrower grant than before narrows the replay they may be watching now.
    await deps.access.reconcile(s.rec, principal.userId);
    sendJson(res, 'POST /api/recordings/:id/grants', { ok: true });
  });

  /** Revoked: gone from the library, and out of every replay room of it they are in now — at once. */
  router.delete('/api/recordings/:id/grants/:userId', async (req, res) => {
    const principal = principalOf(res);
    const s = await seen(res, req.params.id, 'revoke');
    // A user id like everywhere else: a malformed one reaches neither PostgreSQL nor the audit trail.
    const parsed = UserId.safeParse(req.params.userId);
    if (!parsed.success) throw new AppError('NOT_FOUND');
    const userId = parsed.data;
    await deps.recordings.revoke(s.rec.id, userId);
    // Seats others gave them in group replays of it go; their own replays go unless they still hold it (a training room).
    for (const r of await deps.recordings.replayRooms(s.rec.id, userId)) {
      if (r.role === null || r.createdBy === userId) continue;
      await deps.rooms.removeParticipant(r.roomId, userId);
      await deps.live.call(r.roomId, 'removeParticipant', userId);
    }
    await deps.access.reconcile(s.rec, principal.userId);
    await deps.audit.record({ actor: principal.userId, action: 'recording.revoke', subject: userId, roomId: s.rec.roomId, caseId: s.rec.caseId, details: { recordingId: s.rec.id } });
    res.status(204).end();
  });

  /**
   * A training room's participants may watch it, each under their own access
   * there and no more than the grant's. Only a room the granter may see (an
   * administrator: any; others: one they are invited to), open, of a kind a
   * recording is granted to (GRANTABLE_ROOM_KINDS).
   */
  router.post('/api/recordings/:id/room-grants', async (req, res) => {
    const principal = principalOf(res);
    const s = await seen(res, req.params.id, 'grant');
    const body = parseBody(RecordingRoomGrantBody, req.body);
    const room = await deps.rooms.get(body.roomId);
    const invited = room?.participants.find((p) => p.userId === principal.userId)?.role ?? null;
    if (!room || !authorizeRoomRead(principal, invited).allow) throw new AppError('ROOM_NOT_FOUND');
    if (room.status !== 'open') throw new AppError('ROOM_CLOSED');
    if (!GRANTABLE_ROOM_KINDS.includes(room.kind)) throw new AppError('BODY_INVALID', `a recording is granted to a ${GRANTABLE_ROOM_KINDS.join(' or ')} room, not a ${room.kind} room`);
    const grant = { role: body.role ?? 'observer', scopes: body.scopes ?? null };
    const decision = authorizeRecordingGrant(s.rec, grant);
    if (!decision.allow) throw new AppError(decision.code, decision.reason);
    await deps.recordings.grantRoom(s.rec.id, room.id, grant, principal.userId);
    await deps.audit.record({ actor: principal.userId, action: 'recording.grant', roomId: s.rec.roomId, caseId: s.rec.caseId, details: { recordingId: s.rec.id, toRoom: room.id, role: grant.role, scopes: grant.scopes } });
    await deps.access.reconcile(s.rec, principal.userId);
    sendJson(res, 'POST /api/recordings/:id/room-grants', { ok: true });
  });

  /** The room's participants lose it (unless they hold it otherwise), and leave their own replays of it at once. */
  router.delete('/api/recordings/:id/room-grants/:roomId', async (req, res) => {
    const principal = principalOf(res);
    const s = await seen(res, req.params.id, 'revoke');
    const roomId = uuidParam(req.params.roomId, 'NOT_FOUND');
    await deps.recordings.revokeRoom(s.rec.id, roomId);
    const removed = await deps.access.reconcile(s.rec, principal.userId);
    await deps.audit.record({ actor: principal.userId, action: 'recording.revoke', roomId: s.rec.roomId, caseId: s.rec.caseId, details: { recordingId: s.rec.id, fromRoom: roomId, replaySeatsEnded: removed.length } });
    res.status(204).end();
  });

  /** Deleted: its chunks are gone and its replay rooms close. */
  router.delete('/api/recordings/:id', async (req, res) => {
    const principal = principalOf(res);
    const s = await seen(res, req.params.id, 'delete');
    await deleteRecording({ ...deps, closeLiveRoom: async (id) => void (await deps.live.call(id, 'close')) }, s.rec, { actor: principal.userId });
    res.status(204).end();
  });

  return router;
}
