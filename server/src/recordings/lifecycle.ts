import type { AuditEvent } from '../audit/audit-log.ts';
import type { RecordingsRepo } from '../db/recordings.repo.ts';
import type { RoomsRepo } from '../db/rooms.repo.ts';
import type { RecordingAudioFiles } from '../media/recording-audio-files.ts';

/**
 * How a replay room ends and how a recording is deleted — one way each, whoever
 * asks: the library's DELETE route, the check before a replay ticket
 * (recording-access.ts) and retention (ops/retention.ts, in the server and from
 * the command line).
 */
export interface ReplayEndDeps {
  rooms: Pick<RoomsRepo, 'close'>;
  audit: { record(event: AuditEvent): Promise<void> };
  /**
   * Close the room's live instance, wherever it runs (the server: `LiveRooms.call(id, 'close')`).
   * Absent: the command line, which reaches no live room.
   */
  closeLiveRoom?: (roomId: string) => Promise<void>;
}

export interface RecordingDeleteDeps extends ReplayEndDeps {
  recordings: Pick<RecordingsRepo, 'delete' | 'openReplays'>;
  audioFiles: Pick<RecordingAudioFiles, 'remove'>;
}

/**
 * A replay room is over: closed in the database, audited (`room.close` with the recording and why),
 * then its live instance closes (everyone in it is put out). False when it was closed already — then
 * nothing else happens (no second audit row).
 */
export async function endReplayRoom(
  deps: ReplayEndDeps,
  room: { id: string; recordingId: string | null },
  why: { actor: string; reason: string; details?: Record<string, unknown> },
): Promise<boolean> {
  if (!(await deps.rooms.close(room.id))) return false;
  await deps.audit.record({ actor: why.actor, action: 'room.close', roomId: room.id, details: { recordingId: room.recordingId, reason: why.reason, ...why.details } });
  await deps.closeLiveRoom?.(room.id);
  return true;
}

export type RecordingDeletion =
  | { deleted: true; replayRoomsClosed: number; audioDeleted: boolean }
  /** Without `closeLiveRoom` (the command line) a recording whose replay is live now is left for the server. */
  | { deleted: false; replayLive: true };

/**
 * A recording is deleted: its chunks, grants and markers (RecordingsRepo.delete), its voice file, and
 * its open replay rooms close (live ones at once). One `recording.delete` audit row says how many rooms
 * closed and whether a voice file went; `details` adds the caller's reason (retention: when it expired).
 */
export async function deleteRecording(
  deps: RecordingDeleteDeps,
  rec: { id: string; roomId: string; caseId: string | null },
  why: { actor: string; details?: Record<string, unknown> },
): Promise<RecordingDeletion> {
  const replays = await deps.recordings.openReplays(rec.id);
  if (!deps.closeLiveRoom && replays.some((r) => r.live)) return { deleted: false, replayLive: true };
  await deps.recordings.delete(rec.id);
  const audioDeleted = await deps.audioFiles.remove(rec.id);
  for (const r of replays) {
    await deps.rooms.close(r.roomId);
    // Every one, not only those with a lease now: a live instance whose lease lapsed is put out too.
    await deps.closeLiveRoom?.(r.roomId);
  }
  const replayRoomsClosed = replays.length;
  await deps.audit.record({ actor: why.actor, action: 'recording.delete', roomId: rec.roomId, caseId: rec.caseId, details: { recordingId: rec.id, ...why.details, replayRoomsClosed, audioDeleted } });
  return { deleted: true, replayRoomsClosed, audioDeleted };
}
