import type { FhirResource } from '../../../shared/src/fhir.ts';
import type { ParticipantDto } from '../../../shared/src/http.ts';
import type { RoomKind } from '../../../shared/src/roles.ts';

/**
 * What the live-room engine (server/src/rooms) keeps and reads, declared on
 * the engine's side: PostgreSQL (server/src/db) implements these, and so does
 * the in-memory store the engine's unit tests use (tests/support/memory-store.ts).
 * One contract suite holds both to the same behaviour
 * (tests/integration/store-contract.test.ts).
 */

/** A room as a live room needs it: who is invited, what they may see, how it runs. */
export interface LiveRoomRecord {
  id: string;
  title: string;
  kind: RoomKind;
  caseId: string | null;
  participants: ParticipantDto[];
  /** The admin's ceiling on what anyone in the room may see; null: patient/*.rs. */
  scopeCeiling: string[] | null;
  /** Surgical guidance: observers may watch the surgeon's camera video. */
  observerVideo: boolean;
  /** An administrator allows the host to record this room. */
  recordingAllowed: boolean;
  /** Replay rooms: the recording they play. */
  recordingId: string | null;
}

/** What the clinic needs from the rooms store (RoomsRepo in production). */
export interface ClinicStore {
  /** The room, open or closed; null when there is no such room. */
  get(roomId: string): Promise<(LiveRoomRecord & { status: 'open' | 'closed' }) | null>;
  /** Kicks in force now (lapsed ones are not listed); `until` null: until re-admitted. */
  activeKicks(roomId: string): Promise<{ userId: string; until: Date | null }[]>;
  /** Record a kick (a second kick replaces the first) and revoke every ticket issued to the user for this room so far. */
  kick(roomId: string, userId: string, by: string, until: Date | null): Promise<void>;
  /** Was a ticket issued at `issuedAt` (seconds, as in a JWT's iat) revoked — issued no later than the last revocation's second? */
  isTicketRevoked(roomId: string, userId: string, issuedAt: number): Promise<boolean>;
}

/** A scene object as stored: the same fields the synced state carries. */
export interface SceneObjectRecord {
  id: string;
  kind: string;
  asset: string;
  label: string;
  createdBy: string;
  /** Author's access for annotations ('' = visible to everyone in the room). */
  authorScope: string;
  /** Case resource a model shows ('' = none). */
  resourceRef: string;
  /** Stroke points "x,y,z,…" ('' for other kinds). */
  points: string;
  color: string;
  frame: string;
  sentAt: number;
  videoTime: number;
  ackedAt: number;
  ackedBy: string;
  dismissed: boolean;
  /** Slice annotations: "<series key>/<index>" ('' otherwise). */
  slice: string;
  px: number; py: number; pz: number;
  qx: number; qy: number; qz: number; qw: number;
  sx: number; sy: number; sz: number;
}

/** A registered patient frame (surgical guidance). */
export interface AnchorRecord {
  version: number;
  p: readonly [number, number, number];
  q: readonly [number, number, number, number];
  setBy: string;
  setAt: number;
}

/** Where a room's scene is kept (SceneRepo in production). */
export interface SceneStorage {
  /** In creation order (the order first written, within one upsert too): undo and "next" follow it. */
  load(roomId: string): Promise<SceneObjectRecord[]>;
  /** Insert or update; an update keeps the object's place in creation order. */
  upsert(roomId: string, objects: SceneObjectRecord[]): Promise<void>;
  /** Removing what is not there is no error. */
  remove(roomId: string, objectId: string): Promise<void>;
  /** null: never registered. */
  loadAnchor(roomId: string): Promise<AnchorRecord | null>;
  /** Replaces the previous one. */
  saveAnchor(roomId: string, anchor: AnchorRecord): Promise<void>;
}

/** A stored case as the engine shows it. */
export interface CaseRecord {
  id: string;
  patientId: string;
  /** The key of the pseudonyms in its de-identified view. */
  pseudonymKey: string;
  /** The Patient first, then the other resources in arrival order. */
  resources: FhirResource[];
}

/** A recording of a room (teaching): its events are in chunks, never case data. */
export interface RecordingRecord {
  id: string;
  roomId: string;
  caseId: string | null;
  title: string;
  startedBy: string;
  hostScope: string;
  startedAt: Date;
  endedAt: Date | null;
  durationMs: number;
  chunkMs: number;
  bytes: number;
  audio: 'none' | 'egress' | 'failed';
  /** Where the voice starts in the recording (ms; null: not known, taken as 0): the audio file's 0 is this instant. */
  audioOffsetMs: number | null;
  markers: Marker[];
  expiresAt: Date | null;
  /** The recording showed a case that has since been deleted (its replays show no case data). */
  caseDeleted: boolean;
}

/** What recording and replay need of the store (RecordingsRepo implements it in PostgreSQL). */
export interface RecordingStore {
  begin(r: { id: string; roomId: string; caseId: string | null; title: string; startedBy: string; hostScope: string; chunkMs: number; retentionDays: number | null }): Promise<void>;
  appendChunk(id: string, c: { seq: number; startMs: number; endMs: number; data: Uint8Array }, markers: Marker[]): Promise<void>;
  finish(id: string, durationMs: number): Promise<void>;
  setAudio(id: string, audio: 'none' | 'egress' | 'failed', egressId: string | null): Promise<void>;
  /** The voice began `offsetMs` after the recording (LiveKit's egress start). */
  setAudioOffset(id: string, offsetMs: number): Promise<void>;
  /** Finish whatever a room left open (a crash mid-recording). */
  closeOpen(roomId: string): Promise<void>;
  get(id: string): Promise<RecordingRecord | null>;
  /** The chunk holding time `t` (ms from the start); null: none. */
  chunkAt(id: string, t: number): Promise<Uint8Array | null>;
}

export interface Marker {
  t: number;
  kind: 'annotation' | 'presenter' | 'join' | 'pointing';
  /** Whose act (a user id). */
  who: string;
  /** Annotation markers carry their author's access: a viewer whose access does not cover it reads no text of it. */
  scope?: string;
  /**
   * Annotation markers (recorded since markers named their object): what was added, as the recorded object
   * says it — its text travels only to viewers who may read it (objectTextVisible), and a marker of an object
   * a viewer may not see at all (objectVisible) is left out. Deleting the recording clears markers with it.
   */
  obj?: { id: string; kind: string; asset: string; frame: string; label: string; resourceRef: string };
}
