import { ImagingListResponse, ImagingSeriesResponse, ImagingUploadResponse, ImagingZipUploadResponse } from './imaging.ts';
import { z } from 'zod';
import { RECORDING_RELATIONS } from './recording-policy.ts';
import { RoomKind, RoomRole } from './roles.ts';
import { R4_RESOURCE_TYPES, R4ResourceType, type CaseView } from './fhir.ts';
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


export const ParticipantUpdateBody = z.strictObject({ role: RoomRole, scopes: Scopes.nullable().optional() });

/** Console moderation; `minutes` only for kick (a cool-down instead of "until re-admitted"). */
export const ModerationBody = z.strictObject({
  action: z.enum(['mute', 'unmute', 'kick']),
  userId: UserId,
  minutes: z.number().int().min(1).max(7 * 24 * 60).optional(),
});
export const AccessDecisionBody = z.strictObject({ decision: z.enum(['approve', 'deny']) });
export type ParticipantUpdateBody = z.input<typeof ParticipantUpdateBody>;

// ---- Queries and other request bodies -------------------------------------------

/** A FHIR id, or an identifier search token (`system|value` or `value`). */
export const PullBody = z.union([
  z.strictObject({ patientId: z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'a FHIR id') }),
  z.strictObject({ identifier: z.string().regex(/^[\x21-\x7e]([\x20-\x7e]{0,254}[\x21-\x7e])?$/, 'system|value, printable ASCII').refine((v) => v.split('|').length <= 2, 'at most one |') }),
]);

export const ImportQuery = z.looseObject({ allOrNothing: z.enum(['true', 'false']).optional() });

export const ResourcesQuery = z.looseObject({
  type: R4ResourceType.optional(),
  code: z.string().regex(/^[\x21-\x7e]{1,300}$/, 'code is system|code').optional(),
  before: z.string().regex(/^\d{4}(-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?)?$/, 'before is a year, a date or a dateTime').optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
  /** The room the caller reads through (required unless an administrator). */
  room: z.string().uuid().optional(),
});
export const CaseQuery = z.looseObject({ room: z.string().uuid().optional() });

/** Types per read of several at once: every case type fits (the clinical summary asks for at most 13). */
export const MAX_READ_TYPES = 20;
/** Resources per type per read of several types (the single-type read pages by up to 1000). */
export const MAX_READ_LIMIT = 200;
/**
 * One read of several types of a case (`POST /api/cases/:id/resources/query`): what a view
 * that needs several types asks for at once, answered per type and audited as one `case.read`.
 * Each type is paged alike (newest first, `offset`/`limit` per type), so a view showing two
 * types in full asks again only for those that have more, at the next offset.
 */
export const CaseReadBody = z.strictObject({
  /** The room the caller reads through (required unless an administrator). */
  room: z.string().uuid().optional(),
  types: z
    .array(z.enum(R4_RESOURCE_TYPES, { error: 'not a FHIR R4 resource type' }))
    .min(1)
    .max(MAX_READ_TYPES)
    .refine((list) => new Set(list).size === list.length, 'each type may appear once')
    .meta({ uniqueItems: true, description: 'FHIR R4 resource types, each once' }),
  /** Per type. */
  limit: z.number().int().min(1).max(MAX_READ_LIMIT).default(100),
  /** Per type: how many of each type's newest to skip. */
  offset: z.number().int().min(0).max(1_000_000).default(0),
});
export type CaseReadBody = z.input<typeof CaseReadBody>;
export const AuditQuery = z.strictObject({
  room: z.string().uuid().optional(),
  user: UserId.optional(),
  patient: z.string().uuid().optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  format: z.enum(['json', 'fhir']).default('json'),
});

/** Free-text search: printable, short; NUL and control characters refused (PostgreSQL refuses NUL anyway). */
const Search = z.string().max(100).regex(/^[^\u0000-\u001f\u007f]*$/).optional();

/** People a recording's manager may let watch it (or seat in a group replay), found by part of their name or user id. */
export const RecordingPeopleQuery = z.strictObject({ q: z.string().min(1).max(100).regex(/^[^\u0000-\u001f\u007f]*$/) });
export const DirectoryUsersQuery = z.strictObject({ q: Search, limit: z.coerce.number().int().min(1).max(500).default(200) });
export const DirectoryCasesQuery = z.strictObject({ q: Search, limit: z.coerce.number().int().min(1).max(500).default(200) });
export const DirectoryAuditQuery = z.strictObject({
  room: z.string().uuid().optional(),
  user: UserId.optional(),
  patient: z.string().uuid().optional(),
  action: z.string().max(60).regex(/^[a-z.-]*$/).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

// ---- Responses -------------------------------------------------------------------
// Every JSON body the API answers with, declared once here: the server's routes
// send them through `sendJson(res, route, body)` (server/src/http/respond.ts) and
// the SDK's ConsiliumApi reads them by the same route key.

/** A participant as stored; `scopes` null or absent → the role's default scopes. */
export const ParticipantDto = z.strictObject({
  userId: z.string(),
  role: RoomRole,
  scopes: z.array(z.string()).nullable().optional(),
});
export type ParticipantDto = z.infer<typeof ParticipantDto>;

export const DevLoginResponse = z.strictObject({ token: z.string(), expiresAt: z.string() });
export type DevLoginResponse = z.infer<typeof DevLoginResponse>;

/** A problem with one bundle entry (or the bundle, entry null): where and why it was not stored. */
export const ImportProblemDto = z.strictObject({ entry: z.number().int().nullable(), path: z.string(), reason: z.string() });
export type ImportProblemDto = z.infer<typeof ImportProblemDto>;

const Counts = z.record(z.string(), z.number().int());

export const CaseImportResponse = z.strictObject({
  caseId: z.string(),
  patientId: z.string(),
  /** Resources stored (Patient included). */
  resources: z.number().int(),
  /** Stored resources by type. */
  stored: Counts,
  /** Entries refused, each with its index, path and reason. */
  refused: z.array(ImportProblemDto),
  /** Entries that were not patient data (search outcomes). */
  skipped: z.array(ImportProblemDto),
});
export type CaseImportResponse = z.infer<typeof CaseImportResponse>;

export const RoomDto = z.strictObject({
  id: z.string(),
  title: z.string(),
  kind: RoomKind,
  caseId: z.string().nullable(),
  status: z.enum(['open', 'closed']),
  participants: z.array(ParticipantDto),
  /** null: no ceiling beyond patient/*.rs. */
  scopeCeiling: z.array(z.string()).nullable(),
  /** Surgical guidance: observers may watch the surgeon's camera video. */
  observerVideo: z.boolean(),
  /** The host may record this room: joiners are told before they enter. */
  recordingAllowed: z.boolean(),
  /** A recording is running now. */
  recording: z.boolean(),
  /** Replay rooms: the recording they play. */
  recordingId: z.string().nullable(),
  live: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  /** In the caller's own room list: they were removed (kicked) and may not join until re-admitted (or `until`). */
  removed: z.strictObject({ until: z.string().nullable() }).optional(),
});
export type RoomDto = z.infer<typeof RoomDto>;

const MediaConnection = z.strictObject({ url: z.string(), token: z.string() });

export const TicketResponse = z.strictObject({
  ticket: z.string(),
  expiresAt: z.string(),
  roomId: z.string(),
  role: RoomRole,
  scopes: z.array(z.string()),
  /** WebSocket/HTTP endpoint the Colyseus client connects to. */
  endpoint: z.string(),
  /** LiveKit connection for voice; null when voice is off. */
  voice: MediaConnection.nullable(),
  /**
   * LiveKit connection for the surgeon's camera video (surgical guidance only): a separate LiveKit
   * room whose token the server mints only for those the policy lets see it. null: no video for you.
   */
  video: MediaConnection.nullable(),
  /** Consent: whether this room may be recorded, and whether it is recording now — shown before joining. */
  recording: z.strictObject({ allowed: z.boolean(), active: z.boolean() }),
});
export type TicketResponse = z.infer<typeof TicketResponse>;

// ---- recordings (teaching) -------------------------------------------------------------

/**
 * A timeline marker: when, what, whose act. An annotation's marker says what was added (`what`: label, stroke,
 * marker…) and, when the viewer's access covers its author's, its text; otherwise `hidden` (a placeholder, as the
 * live room shows). The marker of an object the viewer may not see at all is left out.
 */
/** user id → display name, for the ids an answer names (and no others). */
export const UserNames = z.record(z.string(), z.string());
export type UserNames = z.infer<typeof UserNames>;
export const RecordingMarkerDto = z.strictObject({
  t: z.number(),
  kind: z.enum(['annotation', 'presenter', 'join', 'pointing']),
  who: z.string(),
  what: z.string().optional(),
  text: z.string().optional(),
  hidden: z.literal(true).optional(),
});
export type RecordingMarkerDto = z.infer<typeof RecordingMarkerDto>;
export const RecordingDto = z.strictObject({
  id: z.string(),
  roomId: z.string(),
  title: z.string(),
  startedBy: z.string(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  durationMs: z.number(),
  bytes: z.number(),
  /** 'none': recorded without LiveKit, so there is no audio; 'egress': LiveKit recorded the voice; 'failed': LiveKit did not. */
  audio: z.enum(['none', 'egress', 'failed']),
  expiresAt: z.string().nullable(),
  markers: z.array(RecordingMarkerDto),
  /** The caller may grant, revoke, delete and open it for a group. */
  mayManage: z.boolean(),
  /** Why the caller sees it (shared/src/recording-policy.ts): what they may do with it follows from this. */
  access: z.enum(RECORDING_RELATIONS),
  /** The recording showed a case that has since been deleted: its replays show the room without patient data. */
  caseDeleted: z.boolean(),
  /**
   * Display names of the user ids this answer names (its recorder, the markers' authors), as Consilium last saw
   * them; an id without a name here has not signed in since, and is shown as it is.
   */
  names: UserNames,
});
export type RecordingDto = z.infer<typeof RecordingDto>;
/** Open a replay room: alone (no participants) or, for those who manage the recording, with learners. */
export const OpenReplayBody = z.strictObject({
  title: safeText({ max: 200 }).trim().min(1).optional(),
  participants: participants.default([]),
});
export type OpenReplayBody = z.input<typeof OpenReplayBody>;
/**
 * A short-lived link to a recording's voice, for the browser's <audio> element (which cannot send
 * the bearer token): GET `url` with Range requests until `expiresAt`, then ask for a new one. The
 * file's 0 is `offsetMs` into the recording (the voice began that long after the recording did).
 */
export const RecordingAudioLinkDto = z.strictObject({
  url: z.string(),
  expiresAt: z.string(),
  offsetMs: z.number(),
  contentType: z.string(),
  bytes: z.number().int(),
});
export type RecordingAudioLinkDto = z.infer<typeof RecordingAudioLinkDto>;
/** GET /api/recordings/:id/audio: the link's token (nothing else; the link names user and recording). */
export const RecordingAudioQuery = z.strictObject({ t: z.string().min(1).max(2048).describe('The audio link token (from POST /api/recordings/{id}/audio-link)') });
/** Who may watch a recording besides its host, and under which access (default: observer, de-identified). */
export const RecordingGrantBody = z.strictObject({ userId: UserId, role: RoomRole.optional(), scopes: Scopes.nullable().optional() });
export type RecordingGrantBody = z.input<typeof RecordingGrantBody>;
/** Let a training room's participants watch a recording: each under their own access there, at most the grant's (default: observer, de-identified). */
export const RecordingRoomGrantBody = z.strictObject({ roomId: z.string().uuid(), role: RoomRole.optional(), scopes: Scopes.nullable().optional() });
export type RecordingRoomGrantBody = z.input<typeof RecordingRoomGrantBody>;
/** Who may watch a recording besides those who manage it: people, and training rooms (with how many they hold now). */
export const RecordingGrantsDto = z.strictObject({
  people: z.array(z.strictObject({ userId: z.string(), role: RoomRole, scopes: z.array(z.string()).nullable(), grantedBy: z.string(), grantedAt: z.string() })),
  rooms: z.array(z.strictObject({ roomId: z.string(), title: z.string(), role: RoomRole, scopes: z.array(z.string()).nullable(), members: z.number().int(), grantedBy: z.string(), grantedAt: z.string() })),
  /** Display names of the people granted and of those who granted (see RecordingDto.names). */
  names: UserNames,
});
/** Someone found for a recording's manager to let watch it: who, by name — nothing else of their account. */
export const RecordingPersonDto = z.strictObject({ userId: z.string(), name: z.string() });
export type RecordingPersonDto = z.infer<typeof RecordingPersonDto>;
export type RecordingGrantsDto = z.infer<typeof RecordingGrantsDto>;

/** A case pull's refresh: what was new, what was refused, and how many live rooms got it. */
export const CaseRefreshResponse = z.strictObject({
  caseId: z.string(),
  added: Counts,
  unchanged: z.number().int(),
  refused: z.array(ImportProblemDto),
  skipped: z.array(ImportProblemDto),
  deliveredToRooms: z.number().int(),
});
export type CaseRefreshResponse = z.infer<typeof CaseRefreshResponse>;

/** A case as one reader may see it (shared/src/fhir.ts `CaseView`): FHIR resources, filtered and possibly de-identified. */
export const CaseViewBody = z.strictObject({
  caseId: z.string(),
  deidentified: z.boolean(),
  resources: z.array(z.looseObject({ resourceType: R4ResourceType, id: z.string() })),
});
/** Resources on demand, newest first; `nextOffset` pages on (null: no more). */
export const CaseResourcesPage = CaseViewBody.extend({ nextOffset: z.number().int().nullable() });
export type CaseResourcesPage = z.infer<typeof CaseResourcesPage>;
/**
 * One requested type of a read of several: its page (newest first; `nextOffset` null when there is
 * no more), or `denied` — the policy gives this reader no copy of the type, so nothing of it is sent
 * (the same refusal as `SCOPE_DENIED` on a single-type read).
 */
export const CaseTypeRead = z.discriminatedUnion('status', [
  z.strictObject({ type: R4ResourceType, status: z.literal('read'), resources: CaseViewBody.shape.resources, nextOffset: z.number().int().nullable() }),
  z.strictObject({ type: R4ResourceType, status: z.literal('denied'), code: z.literal('SCOPE_DENIED') }),
]);
export type CaseTypeRead = z.infer<typeof CaseTypeRead>;
/** A read of several types: one entry per requested type, in the order asked. */
export const CaseReadResponse = z.strictObject({ caseId: z.string(), deidentified: z.boolean(), types: z.array(CaseTypeRead) });
export type CaseReadResponse = z.infer<typeof CaseReadResponse>;

export const ObservationIngestResponse = z.strictObject({ id: z.string(), deliveredToRooms: z.number().int() });
export type ObservationIngestResponse = z.infer<typeof ObservationIngestResponse>;

/** Who is in a live room (admin console), no patient data. */
export const LiveParticipantDto = z.strictObject({
  sessionId: z.string(),
  userId: z.string(),
  name: z.string(),
  role: z.string(),
  connected: z.boolean(),
  voiceConnected: z.boolean(),
  publishing: z.boolean(),
  muted: z.boolean(),
});
export type LiveParticipantDto = z.infer<typeof LiveParticipantDto>;
export const LiveRoomDto = z.strictObject({
  live: z.boolean(),
  voice: z.string(),
  presenter: z.string(),
  participants: z.array(LiveParticipantDto),
});
export type LiveRoomDto = z.infer<typeof LiveRoomDto>;

export const OkResponse = z.strictObject({ ok: z.literal(true) });
export type OkResponse = z.infer<typeof OkResponse>;

/** One audit row as stored (hash-chained: docs/AUDIT.md). */
export const AuditEventDto = z.strictObject({
  seq: z.number().int(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  outcome: z.string(),
  roomId: z.string().nullable(),
  caseId: z.string().nullable(),
  patientId: z.string().nullable(),
  subject: z.string().nullable(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEventDto = z.infer<typeof AuditEventDto>;
/** A row with its place in the hash chain. */
export const AuditRowDto = AuditEventDto.extend({ prevHash: z.string(), hash: z.string() });
export type AuditRowDto = z.infer<typeof AuditRowDto>;
export const AuditPage = z.strictObject({
  events: z.array(AuditRowDto),
  /** Pass as `after` for the next page; null at the end. */
  next: z.number().int().nullable(),
});
export type AuditPage = z.infer<typeof AuditPage>;

/** A signed tree head of the audit chain (docs/AUDIT.md). */
export const Checkpoint = z.strictObject({
  id: z.number().int().nullable(),
  /** Rows covered: seq 1..treeSize. */
  treeSize: z.number().int(),
  /** Hash of row `treeSize`. */
  rootHash: z.string(),
  /** ISO 8601 with milliseconds. */
  signedAt: z.string(),
  keyId: z.string(),
  /** Base64 Ed25519 signature of the checkpoint message. */
  signature: z.string(),
});
export type Checkpoint = z.infer<typeof Checkpoint>;
export const CheckpointResponse = Checkpoint.extend({
  /** The exact bytes signed. */
  message: z.string(),
});
export type CheckpointResponse = z.infer<typeof CheckpointResponse>;
export const CheckpointKeyResponse = z.strictObject({
  algorithm: z.literal('Ed25519'),
  keyId: z.string(),
  publicKeyPem: z.string(),
  previousKeys: z.array(z.strictObject({ keyId: z.string(), publicKeyPem: z.string() })),
  messageFormat: z.string(),
});
export type CheckpointKeyResponse = z.infer<typeof CheckpointKeyResponse>;
export const VerifyProblem = z.strictObject({
  /** The first row concerned (for an untrusted checkpoint: the size it claims). */
  seq: z.number().int(),
  reason: z.string(),
});
export type VerifyProblem = z.infer<typeof VerifyProblem>;
export const VerifyResult = z.strictObject({
  ok: z.boolean(),
  /** Rows that verified before the first problem (all rows when ok). */
  rows: z.number().int(),
  lastHash: z.string(),
  /** The newest trusted checkpoint the chain was checked against; null when none. */
  checkpoint: Checkpoint.nullable(),
  /** Whether checkpoints were checked at all (a trusted key was configured). */
  checkpointsChecked: z.boolean(),
  /** The first thing that broke (absent when ok). */
  firstBroken: VerifyProblem.optional(),
  problems: z.array(VerifyProblem),
});
export type VerifyResult = z.infer<typeof VerifyResult>;
export const DirectoryUser = z.strictObject({ userId: z.string(), name: z.string(), admin: z.boolean(), lastSeenAt: z.string() });
export type DirectoryUser = z.infer<typeof DirectoryUser>;
export const DirectoryCase = z.strictObject({
  caseId: z.string(),
  patientId: z.string(),
  createdAt: z.string(),
  resources: z.number().int(),
  patientName: z.string(),
  gender: z.string().nullable(),
  birthYear: z.string().nullable(),
  mrn: z.string().nullable(),
});
export type DirectoryCase = z.infer<typeof DirectoryCase>;
export const AuthConfigResponse = z.discriminatedUnion('mode', [
  z.strictObject({ mode: z.literal('dev') }),
  z.strictObject({ mode: z.literal('oidc'), issuer: z.string(), clientId: z.string().nullable(), audience: z.string(), /** What the browser asks the provider for (AUTH_SCOPES). */ scopes: z.string() }),
]);
export type AuthConfigResponse = z.infer<typeof AuthConfigResponse>;
export const ClientConfigResponse = z.strictObject({
  imagingViewerUrl: z.string().nullable(),
  fhirServer: z.boolean(),
  /** The address pages and room links use (PUBLIC_URL, else the server's own). */
  publicUrl: z.string(),
});
export type ClientConfigResponse = z.infer<typeof ClientConfigResponse>;
/**
 * Every JSON response of the API by `METHOD /path` (204 routes answer no body and are not listed):
 * the one source of the response types below, of the OpenAPI description (server/src/http/openapi.ts)
 * and of the response check sendJson makes outside production.
 */
export const ApiResponseSchemas = {
  'GET /api/cases/:id/imaging': ImagingListResponse,
  'GET /api/cases/:id/imaging/series/:seriesUid': ImagingSeriesResponse,
  'POST /api/cases/:id/imaging/instances': ImagingUploadResponse,
  'POST /api/cases/:id/imaging/zip': ImagingZipUploadResponse,
  'POST /api/cases/:id/imaging/series/:seriesUid/clean': OkResponse,
  'POST /api/dev/login': DevLoginResponse,
  'GET /api/auth/config': AuthConfigResponse,
  'GET /api/client-config': ClientConfigResponse,
  'GET /api/rooms': z.strictObject({ rooms: z.array(RoomDto) }),
  'POST /api/rooms': RoomDto,
  'GET /api/rooms/:id': RoomDto,
  'PATCH /api/rooms/:id': RoomDto,
  'POST /api/rooms/:id/tickets': TicketResponse,
  'GET /api/rooms/:id/live': LiveRoomDto,
  'POST /api/rooms/:id/moderation': OkResponse,
  'POST /api/rooms/:id/access-requests/:requestId': OkResponse,
  'PUT /api/rooms/:id/participants/:userId': ParticipantDto,
  'POST /api/cases': CaseImportResponse,
  'POST /api/cases/pull': CaseImportResponse,
  'POST /api/cases/:id/refresh': CaseRefreshResponse,
  'GET /api/cases/:id': CaseViewBody,
  'GET /api/cases/:id/resources': CaseResourcesPage,
  'POST /api/cases/:id/resources/query': CaseReadResponse,
  'POST /api/cases/:id/observations': ObservationIngestResponse,
  'GET /api/audit': AuditPage,
  'GET /api/audit/verify': VerifyResult,
  'GET /api/audit/checkpoint-key': CheckpointKeyResponse,
  'GET /api/audit/checkpoints/latest': CheckpointResponse,
  'GET /api/directory/users': z.strictObject({ users: z.array(DirectoryUser) }),
  'GET /api/directory/cases': z.strictObject({ cases: z.array(DirectoryCase) }),
  'GET /api/directory/audit': z.strictObject({ events: z.array(AuditEventDto), next: z.number().int().nullable() }),
  'GET /api/recordings': z.strictObject({ recordings: z.array(RecordingDto) }),
  'GET /api/recordings/:id': RecordingDto,
  'POST /api/recordings/:id/replays': RoomDto,
  'POST /api/recordings/:id/grants': OkResponse,
  'GET /api/recordings/:id/grants': RecordingGrantsDto,
  'GET /api/recordings/:id/people': z.strictObject({ people: z.array(RecordingPersonDto) }),
  'POST /api/recordings/:id/room-grants': OkResponse,
  'POST /api/recordings/:id/audio-link': RecordingAudioLinkDto,
} as const;
/** The response body type of each route (the case view keeps its own declaration in fhir.ts, checked equal below). */
export type ApiResponses = { [R in keyof typeof ApiResponseSchemas]: R extends 'GET /api/cases/:id' ? CaseView : z.infer<(typeof ApiResponseSchemas)[R]> };
export type ApiRoute = keyof ApiResponses;
/** Routes that answer 204 No Content. */
export const API_EMPTY_ROUTES = ['DELETE /api/recordings/:id', 'DELETE /api/recordings/:id/grants/:userId', 'DELETE /api/recordings/:id/room-grants/:roomId', 'DELETE /api/rooms/:id', 'DELETE /api/rooms/:id/kicks/:userId', 'DELETE /api/rooms/:id/participants/:userId', 'DELETE /api/cases/:id'] as const;
export type ApiEmptyRoute = (typeof API_EMPTY_ROUTES)[number];

// The zod case view and fhir.ts's CaseView must describe the same body (a compile error here otherwise).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const caseViewMatches: Same<z.infer<typeof CaseViewBody>, CaseView> = true;
void caseViewMatches;
