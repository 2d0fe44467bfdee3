import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Router, type Response } from 'express';
import { RecordingAudioQuery } from '../../../shared/src/http.ts';
import type { AuditLog } from '../audit/audit-log.ts';
import type { AudioLinks } from '../auth/audio-links.ts';
import type { IdentityVerifier } from '../auth/identity.ts';
import { authorizeRecordingAudio, recordingViewerRole, type Principal } from '../auth/policy.ts';
import type { RecordingRecord } from '../db/recordings.repo.ts';
import { AppError } from '../errors.ts';
import type { RecordingAudioFiles } from '../media/recording-audio-files.ts';
import { authenticate, principalOf } from './authenticate.ts';
import type { RecordingAccess } from './recording-access.ts';
import { sendJson } from './respond.ts';
import { parseBody, uuidParam } from './validate.ts';

export interface RecordingAudioRoutesDeps {
  /** Who holds a recording (recording-access.ts): the same judgement every recordings route makes. */
  access: Pick<RecordingAccess, 'seen'>;
  identity: IdentityVerifier;
  audit: AuditLog;
  links: AudioLinks;
  /** RECORDING_AUDIO_DIR: where the egress's `<recording id>.ogg` files are (dir null: audio is not played back). */
  audioFiles: RecordingAudioFiles;
}

/** One range per request, and no more than this of the file in one range answer (a player asks again as it goes). */
const MAX_RANGE_BYTES = 8 * 1024 * 1024;
const CONTENT_TYPE = 'audio/ogg';

/**
 * A recording's voice, for replays (docs/TEACHING.md, "Voice"). LiveKit's egress
 * writes `consilium/<recording id>.ogg` to the hospital's storage; Consilium reads
 * it from RECORDING_AUDIO_DIR (that folder, shared or synced) and never anywhere
 * else: the file's name is the recording's id, a UUID checked before any path is
 * made, so no request names a path.
 *
 * - POST …/audio-link (bearer token): for whoever may watch the recording now (the
 *   judgement of recording-access.ts), under a role that hears the room's voice;
 *   audited (`recording.audio`). Answers a link
 *   good for 15 minutes, where the voice starts in the recording, and the file's size.
 * - GET …/audio?t=<link>: the file, with Range (one range, 206, at most 8 MiB an answer).
 *   Every request checks the link (ours, unexpired, this recording) and then, again,
 *   that its user may still watch and hear it: a revoked grant, a deleted or expired
 *   recording, or a learner removed from the group replay stops the sound at once.
 *
 * Mounted before the recordings router: that router authenticates everything under
 * /api/recordings with a bearer token, which an <audio> element cannot send.
 */
export function recordingAudioRoutes(deps: RecordingAudioRoutesDeps): Router {
  const router = Router();

  /** The recording, if this person may hear it now, and its file on disk. */
  const hearing = async (principal: Principal, rawId: string | string[] | undefined): Promise<{ rec: RecordingRecord; role: string; file: string; bytes: number }> => {
    const id = uuidParam(rawId, 'NOT_FOUND');
    const seen = await deps.access.seen(principal, id, 'watch'); // RECORDING_NOT_FOUND for whoever may not watch it now
    const role = recordingViewerRole(seen.relation, seen.holds);
    if (!role) throw new AppError('RECORDING_NOT_FOUND');
    const decision = authorizeRecordingAudio(role);
    if (!decision.allow) throw new AppError(decision.code, decision.reason);
    if (seen.rec.audio !== 'egress') throw new AppError('RECORDING_NO_AUDIO');
    const file = deps.audioFiles.fileOf(seen.rec.id);
    if (!file) throw new AppError('RECORDING_AUDIO_UNAVAILABLE', 'This server has no RECORDING_AUDIO_DIR: the egress storage is not shared with it');
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) throw new AppError('RECORDING_AUDIO_UNAVAILABLE');
    return { rec: seen.rec, role, file, bytes: info.size };
  };

  router.post('/api/recordings/:id/audio-link', authenticate(deps.identity), async (req, res) => {
    const principal = principalOf(res);
    const h = await hearing(principal, req.params.id);
    const link = await deps.links.issue(principal, h.rec.id);
    await deps.audit.record({ actor: principal.userId, action: 'recording.audio', roomId: h.rec.roomId, caseId: h.rec.caseId, details: { recordingId: h.rec.id, role: h.role, expiresAt: link.expiresAt.toISOString() } });
    sendJson(res, 'POST /api/recordings/:id/audio-link', {
      url: `/api/recordings/${h.rec.id}/audio?t=${encodeURIComponent(link.token)}`,
      expiresAt: link.expiresAt.toISOString(),
      offsetMs: h.rec.audioOffsetMs ?? 0,
      contentType: CONTENT_TYPE,
      bytes: h.bytes,
    });
  });

  router.get('/api/recordings/:id/audio', async (req, res) => {
    const id = uuidParam(req.params.id, 'NOT_FOUND');
    const { t } = parseBody(RecordingAudioQuery, req.query, 'QUERY_INVALID');
    const who = await deps.links.verify(t, id);
    // The link stands in for the identity token; the right to hear is decided again, now.
    const h = await hearing({ userId: who.userId, name: who.userId, admin: who.admin, scopes: [] }, id);
    const range = parseRange(req.headers.range, h.bytes);
    if (range === 'unsatisfiable') {
      res.setHeader('content-range', `bytes */${h.bytes}`);
      throw new AppError('RANGE_NOT_SATISFIABLE');
    }
    await send(res, h.file, h.bytes, range);
  });

  return router;
}

/**
 * A `Range: bytes=…` header: null (none: the whole file), one satisfiable range
 * (clipped to the file and to MAX_RANGE_BYTES, as RFC 9110 lets a server send less
 * than asked), or 'unsatisfiable' — several ranges, other units, a malformed or
 * inverted range, or one starting past the end.
 */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  if (header === undefined) return null;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  let start: number;
  let end: number;
  if (m[1] === '') {
    // The last N bytes.
    const n = Number(m[2]);
    if (n === 0 || size === 0) return 'unsatisfiable';
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (start >= size || end < start) return 'unsatisfiable';
  }
  return { start, end: Math.min(end, start + MAX_RANGE_BYTES - 1) };
}

async function send(res: Response, file: string, size: number, range: { start: number; end: number } | null): Promise<void> {
  const { start, end } = range ?? { start: 0, end: size - 1 };
  res.status(range ? 206 : 200);
  res.setHeader('content-type', CONTENT_TYPE);
  res.setHeader('accept-ranges', 'bytes');
  // Voice from a clinical room: never kept by a browser or a proxy.
  res.setHeader('cache-control', 'private, no-store');
  res.setHeader('content-length', String(Math.max(0, end - start + 1)));
  if (res.statusCode === 206) res.setHeader('content-range', `bytes ${start}-${end}/${size}`);
  if (size === 0) return void res.end();
  await new Promise<void>((resolve, reject) => {
    const stream = createReadStream(file, { start, end });
    stream.on('error', reject);
    res.on('close', () => {
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}
