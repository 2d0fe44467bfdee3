import type { ImagingListResponse, ImagingSeriesResponse, ImagingUploadResponse } from './imaging.ts';
import { z } from 'zod';
import { RoomKind, RoomRole } from './roles.ts';
import { R4_RESOURCE_TYPES, type CaseView } from './fhir.ts';
import { safeText } from './text.ts';

/** HTTP request and response bodies. Free text obeys the shared text rule (text.ts). */
export const UserId = z.string().regex(/^[A-Za-z0-9._@:-]{1,128}$/, 'user ids are 1–128 of A-Z a-z 0-9 . _ @ : -');

export const DevLoginBody = z.strictObject({
  userId: UserId,
  name: safeText({ max: 120 }).trim().min(1),
  admin: z.boolean().optional(),
  /** SMART scopes the development identity token carries (for direct case reads). */
  scopes: z.array(safeText({ max: 100 })).max(20).optional(),
});
export type DevLoginBody = z.infer<typeof DevLoginBody>;
export interface DevLoginResponse {
  token: string;
  expiresAt: string;
}

/** SMART v2 style: `patient/<Type|*>.<cruds>` with any FHIR R4 type (read needs r or s) or `deidentified`. */
export const Scope = z
  .string()
  .regex(new RegExp(`^(deidentified|patient/(\\*|${R4_RESOURCE_TYPES.join('|')})\\.([cruds]{1,5}|read))$`), 'scopes are patient/<Type|*>.<cruds> or deidentified');
export const Scopes = z.array(Scope).max(20);

export const ParticipantInput = z.strictObject({
  userId: UserId,
  role: RoomRole,
  /** Explicit scopes; omitted → the role's defaults. */
  scopes: Scopes.optional(),
});
export type ParticipantInput = z.infer<typeof ParticipantInput>;

const participants = z
  .array(ParticipantInput)
  .max(200)
  .refine((list) => new Set(list.map((p) => p.userId)).size === list.length, 'each userId may appear once');

/** The most anyone in the room may see, set by an administrator; hosts grant only within it. */
const ScopeCeiling = Scopes.min(1);

export const CreateRoomBody = z.strictObject({
  title: safeText({ max: 200 }).trim().min(1),
  kind: RoomKind,
  caseId: z.string().uuid().optional(),
  participants: participants.default([]),
  scopeCeiling: ScopeCeiling.nullable().optional(),
  /** Surgical guidance: observers may watch the surgeon's camera video (default false). */
  observerVideo: z.boolean().optional(),
  /** The host may record the room (default false); everyone is told before they join. */
  recordingAllowed: z.boolean().optional(),
});
export type CreateRoomBody = z.input<typeof CreateRoomBody>;

export const PatchRoomBody = z
  .strictObject({
    title: safeText({ max: 200 }).trim().min(1).optional(),
    kind: RoomKind.optional(),
    caseId: z.string().uuid().nullable().optional(),
    participants: participants.optional(),
    scopeCeiling: ScopeCeiling.nullable().optional(),
    observerVideo: z.boolean().optional(),
    recordingAllowed: z.boolean().optional(),
  })
  .refine((b) => Object.keys(b).length > 0, 'nothing to change');
export type PatchRoomBody = z.input<typeof PatchRoomBody>;

export interface ParticipantDto {
  userId: string;
  role: RoomRole;
  /** null → the role's default scopes */
  scopes?: string[] | null;
}

export const ParticipantUpdateBody = z.strictObject({ role: RoomRole, scopes: Scopes.nullable().optional() });

/** Console moderation; `minutes` only for kick (a cool-down instead of "until re-admitted"). */
export const ModerationBody = z.strictObject({
  action: z.enum(['mute', 'unmute', 'kick']),
  userId: UserId,
  minutes: z.number().int().min(1).max(7 * 24 * 60).optional(),
});
export const AccessDecisionBody = z.strictObject({ decision: z.enum(['approve', 'deny']) });
export type ParticipantUpdateBody = z.input<typeof ParticipantUpdateBody>;

/** A problem with one bundle entry (or the bundle, entry null): where and why it was not stored. */
export interface ImportProblemDto {
  entry: number | null;
  path: string;
  reason: string;
}
export interface CaseImportResponse {
  caseId: string;
  patientId: string;
  /** Resources stored (Patient included). */
  resources: number;
  /** Stored resources by type. */
  stored: Record<string, number>;
  /** Entries refused, each with its index, path and reason. */
  refused: ImportProblemDto[];
  /** Entries that were not patient data (search outcomes). */
  skipped: ImportProblemDto[];
}
export interface RoomDto {
  id: string;
  title: string;
  kind: RoomKind;
  caseId: string | null;
  status: 'open' | 'closed';
  participants: ParticipantDto[];
  /** null: no ceiling beyond patient/*.rs. */
  scopeCeiling: string[] | null;
  /** Surgical guidance: observers may watch the surgeon's camera video. */
  observerVideo: boolean;
  /** The host may record this room: joiners are told before they enter. */
  recordingAllowed: boolean;
  /** A recording is running now. */
  recording: boolean;
  /** Replay rooms: the recording they play. */
  recordingId: string | null;
  live: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface TicketResponse {
  ticket: string;
  expiresAt: string;
  roomId: string;
  role: RoomRole;
  scopes: string[];
  /** WebSocket/HTTP endpoint the Colyseus client connects to. */
  endpoint: string;
  /** LiveKit connection for voice; null when voice is off. */
  voice: { url: string; token: string } | null;
  /**
   * LiveKit connection for the surgeon's camera video (surgical guidance only): a separate LiveKit
   * room whose token the server mints only for those the policy lets see it. null: no video for you.
   */
  video: { url: string; token: string } | null;
  /** Consent: whether this room may be recorded, and whether it is recording now — shown before joining. */
  recording: { allowed: boolean; active: boolean };
}

// ---- Responses -------------------------------------------------------------------
// Every JSON body the API answers with, declared once here: the server's routes
// send them through `sendJson(res, route, body)` (server/src/http/respond.ts) and
// the SDK's ConsiliumApi reads them by the same route key.

/** A case pull's refresh: what was new, what was refused, and how many live rooms got it. */
export interface CaseRefreshResponse {
  caseId: string;
  added: Record<string, number>;
  unchanged: number;
  refused: ImportProblemDto[];
  skipped: ImportProblemDto[];
  deliveredToRooms: number;
}
/** Resources on demand, newest first; `nextOffset` pages on (null: no more). */
export interface CaseResourcesPage extends CaseView {
  nextOffset: number | null;
}
export interface ObservationIngestResponse {
  id: string;
  deliveredToRooms: number;
}
/** Who is in a live room (admin console), no patient data. */
export interface LiveParticipantDto {
  sessionId: string;
  userId: string;
  name: string;
  role: string;
  connected: boolean;
  voiceConnected: boolean;
  publishing: boolean;
  muted: boolean;
}
export interface LiveRoomDto {
  live: boolean;
  voice: string;
  presenter: string;
  participants: LiveParticipantDto[];
}
export interface OkResponse {
  ok: true;
}
/** One audit row as stored (hash-chained: docs/AUDIT.md). */
export interface AuditEventDto {
  seq: number;
  at: string;
  actor: string;
  action: string;
  outcome: string;
  roomId: string | null;
  caseId: string | null;
  patientId: string | null;
  subject: string | null;
  details: Record<string, unknown>;
}
/** A row with its place in the hash chain. */
export interface AuditRowDto extends AuditEventDto {
  prevHash: string;
  hash: string;
}
export interface AuditPage {
  events: AuditRowDto[];
  /** Pass as `after` for the next page; null at the end. */
  next: number | null;
}
/** A signed tree head of the audit chain (docs/AUDIT.md). */
export interface Checkpoint {
  id: number | null;
  /** Rows covered: seq 1..treeSize. */
  treeSize: number;
  /** Hash of row `treeSize`. */
  rootHash: string;
  /** ISO 8601 with milliseconds. */
  signedAt: string;
  keyId: string;
  /** Base64 Ed25519 signature of the checkpoint message. */
  signature: string;
}
export interface CheckpointResponse extends Checkpoint {
  /** The exact bytes signed. */
  message: string;
}
export interface CheckpointKeyResponse {
  algorithm: 'Ed25519';
  keyId: string;
  publicKeyPem: string;
  previousKeys: { keyId: string; publicKeyPem: string }[];
  messageFormat: string;
}
export interface VerifyProblem {
  /** The first row concerned (for an untrusted checkpoint: the size it claims). */
  seq: number;
  reason: string;
}
export interface VerifyResult {
  ok: boolean;
  /** Rows that verified before the first problem (all rows when ok). */
  rows: number;
  lastHash: string;
  /** The newest trusted checkpoint the chain was checked against; null when none. */
  checkpoint: Checkpoint | null;
  /** Whether checkpoints were checked at all (a trusted key was configured). */
  checkpointsChecked: boolean;
  /** The first thing that broke (absent when ok). */
  firstBroken?: VerifyProblem;
  problems: VerifyProblem[];
}
export interface DirectoryUser {
  userId: string;
  name: string;
  admin: boolean;
  lastSeenAt: string;
}
export interface DirectoryCase {
  caseId: string;
  patientId: string;
  createdAt: string;
  resources: number;
  patientName: string;
  gender: string | null;
  birthYear: string | null;
  mrn: string | null;
}
export type AuthConfigResponse = { mode: 'dev' } | { mode: 'oidc'; issuer: string; clientId: string | null; audience: string };
export interface ClientConfigResponse {
  imagingViewerUrl: string | null;
  fhirServer: boolean;
}

// ---- recordings (teaching) -------------------------------------------------------------

/** A timeline marker: when, what, whose act. Markers of annotations the viewer may not see are left out. */
export interface RecordingMarkerDto {
  t: number;
  kind: 'annotation' | 'presenter' | 'join' | 'pointing';
  who: string;
}
export interface RecordingDto {
  id: string;
  roomId: string;
  title: string;
  startedBy: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number;
  bytes: number;
  /** 'none': recorded without LiveKit, so there is no audio; 'egress': LiveKit recorded the voice; 'failed': LiveKit did not. */
  audio: 'none' | 'egress' | 'failed';
  expiresAt: string | null;
  markers: RecordingMarkerDto[];
  /** The caller may grant, revoke, delete and open it for a group. */
  mayManage: boolean;
}
/** Open a replay room: alone (no participants) or, for those who manage the recording, with learners. */
export const OpenReplayBody = z.strictObject({
  title: safeText({ max: 200 }).trim().min(1).optional(),
  participants: participants.default([]),
});
export type OpenReplayBody = z.input<typeof OpenReplayBody>;
/** Who may watch a recording besides its host, and under which access (default: observer, de-identified). */
export const RecordingGrantBody = z.strictObject({ userId: UserId, role: RoomRole.optional(), scopes: Scopes.nullable().optional() });
export type RecordingGrantBody = z.input<typeof RecordingGrantBody>;

/** Every JSON response of the API by `METHOD /path` (204 routes answer no body and are not listed). */
export interface ApiResponses {
  'GET /api/cases/:id/imaging': ImagingListResponse;
  'GET /api/cases/:id/imaging/series/:seriesUid': ImagingSeriesResponse;
  'POST /api/cases/:id/imaging/instances': ImagingUploadResponse;
  'POST /api/cases/:id/imaging/series/:seriesUid/clean': OkResponse;
  'POST /api/dev/login': DevLoginResponse;
  'GET /api/auth/config': AuthConfigResponse;
  'GET /api/client-config': ClientConfigResponse;
  'GET /api/rooms': { rooms: RoomDto[] };
  'POST /api/rooms': RoomDto;
  'GET /api/rooms/:id': RoomDto;
  'PATCH /api/rooms/:id': RoomDto;
  'POST /api/rooms/:id/tickets': TicketResponse;
  'GET /api/rooms/:id/live': LiveRoomDto;
  'POST /api/rooms/:id/moderation': OkResponse;
  'POST /api/rooms/:id/access-requests/:requestId': OkResponse;
  'PUT /api/rooms/:id/participants/:userId': ParticipantDto;
  'POST /api/cases': CaseImportResponse;
  'POST /api/cases/pull': CaseImportResponse;
  'POST /api/cases/:id/refresh': CaseRefreshResponse;
  'GET /api/cases/:id': CaseView;
  'GET /api/cases/:id/resources': CaseResourcesPage;
  'POST /api/cases/:id/observations': ObservationIngestResponse;
  'GET /api/audit': AuditPage;
  'GET /api/audit/verify': VerifyResult;
  'GET /api/audit/checkpoint-key': CheckpointKeyResponse;
  'GET /api/audit/checkpoints/latest': CheckpointResponse;
  'GET /api/directory/users': { users: DirectoryUser[] };
  'GET /api/directory/cases': { cases: DirectoryCase[] };
  'GET /api/directory/audit': { events: AuditEventDto[]; next: number | null };
  'GET /api/recordings': { recordings: RecordingDto[] };
  'GET /api/recordings/:id': RecordingDto;
  'POST /api/recordings/:id/replays': RoomDto;
  'POST /api/recordings/:id/grants': OkResponse;
}
export type ApiRoute = keyof ApiResponses;
/** Routes that answer 204 No Content. */
export type ApiEmptyRoute = 'DELETE /api/recordings/:id' | 'DELETE /api/recordings/:id/grants/:userId' | 'DELETE /api/rooms/:id' | 'DELETE /api/rooms/:id/kicks/:userId' | 'DELETE /api/rooms/:id/participants/:userId' | 'DELETE /api/cases/:id';
