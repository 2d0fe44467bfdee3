import { z } from 'zod';
import { ErrorCodes } from '../../../shared/src/errors.ts';
import { Bundle } from '../../../shared/src/fhir.ts';
import { MarkCleanBody } from '../../../shared/src/imaging.ts';
import { PEOPLE_SEARCH_LIMIT } from '../domain/rate-limit.ts';
import {
  AccessDecisionBody,
  API_EMPTY_ROUTES,
  ApiResponseSchemas,
  AuditQuery,
  CaseQuery,
  CaseReadBody,
  CreateRoomBody,
  DevLoginBody,
  DirectoryAuditQuery,
  DirectoryCasesQuery,
  DirectoryUsersQuery,
  ImportQuery,
  ModerationBody,
  OpenReplayBody,
  ParticipantUpdateBody,
  PatchRoomBody,
  PullBody,
  RecordingAudioQuery,
  RecordingGrantBody,
  RecordingPeopleQuery,
  RecordingRoomGrantBody,
  ResourcesQuery,
  type ApiEmptyRoute,
  type ApiRoute,
} from '../../../shared/src/http.ts';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol.ts';

/** Who may call an operation (the policy module decides; this is what the description tells integrators). */
type Access = 'public' | 'signed-in' | 'admin' | 'admin-or-host' | 'metrics-token' | 'livekit-signature' | 'cds-signature' | 'audio-link';

interface Operation {
  summary: string;
  access: Access;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Success status of a JSON route (default 200). */
  status?: number;
  /** Routes outside `ApiResponseSchemas` and the 204 list: what they answer. */
  other?: { contentType: string; description: string };
}

const JWKS = { contentType: 'application/json', description: 'A JSON Web Key Set' };
const HTML = { contentType: 'text/html', description: 'An HTML page' };
/** A FHIR R4 Observation; the importer checks it resource by resource (server/src/domain/fhir-bundle.ts). */
const Observation = z.looseObject({ resourceType: z.literal('Observation') });

/**
 * Every route the Express app registers, by `METHOD /path`. Request schemas and
 * response schemas are the zod schemas the server validates with (shared/src/http.ts);
 * an API route without an entry here does not compile, and tests/integration/openapi.test.ts
 * walks the app's router so no other route goes undescribed.
 */
export const OPERATIONS: Record<ApiRoute | ApiEmptyRoute, Operation> & Record<string, Operation> = {
  'GET /healthz': { summary: 'Liveness: the process answers', access: 'public', other: { contentType: 'application/json', description: '`{"status":"ok"}`' } },
  'GET /readyz': { summary: 'Readiness: the database answers and the process is not shutting down (503 otherwise)', access: 'public', other: { contentType: 'application/json', description: '`{"status":"ready","database":"ok"}`' } },
  'GET /metrics': { summary: 'Prometheus metrics (exists only when METRICS_TOKEN is set; docs/OPERATIONS.md lists them)', access: 'metrics-token', other: { contentType: 'text/plain; version=0.0.4', description: 'Prometheus text exposition' } },
  'GET /.well-known/jwks.json': { summary: 'Public keys of the development identity provider (development only)', access: 'public', other: JWKS },
  'GET /.well-known/fhir-client-jwks.json': { summary: "Consilium's public key for SMART Backend Services (when FHIR_PRIVATE_KEY is set)", access: 'public', other: JWKS },
  'GET /api/openapi.json': { summary: 'This description', access: 'public', other: { contentType: 'application/json', description: 'OpenAPI 3.1' } },
  'GET /api/docs': { summary: 'This description as a readable page', access: 'public', other: HTML },
  'GET /': { summary: 'The browser app (when the client is built)', access: 'public', other: HTML },
  'GET /admin': { summary: 'The admin console (when the client is built)', access: 'public', other: HTML },
  'GET /admin/': { summary: 'The admin console (when the client is built)', access: 'public', other: HTML },
  'POST /api/dev/login': { summary: 'Development identity provider: sign in as anyone (absent when OIDC is configured)', access: 'public', body: DevLoginBody },
  'GET /api/auth/config': { summary: 'How the browser app signs in (dev or OIDC issuer and client id)', access: 'public' },
  'GET /api/client-config': { summary: 'Site settings the browser app needs (no secrets)', access: 'public' },
  'POST /api/livekit/webhook': { summary: 'LiveKit webhooks (signed JWT over the body hash; stale or replayed events refused)', access: 'livekit-signature', other: { contentType: 'application/json', description: '`{"ok":true}`' } },
  'GET /api/rooms': { summary: 'Open rooms: all for administrators, the caller’s own otherwise', access: 'signed-in' },
  'POST /api/rooms': { summary: 'Create a room', access: 'admin', body: CreateRoomBody, status: 201 },
  'GET /api/rooms/:id': { summary: 'One room (404 unless invited or administrator)', access: 'signed-in' },
  'PATCH /api/rooms/:id': { summary: 'Change a room; live rooms apply it at once', access: 'admin', body: PatchRoomBody },
  'DELETE /api/rooms/:id': { summary: 'Close a room (everyone in it is disconnected)', access: 'admin' },
  'POST /api/rooms/:id/tickets': { summary: 'A short-lived room ticket (and voice/video tokens) for an invited user', access: 'signed-in', status: 201 },
  'GET /api/rooms/:id/live': { summary: 'Who is in the live room (no patient data)', access: 'admin-or-host' },
  'POST /api/rooms/:id/moderation': { summary: 'Mute, unmute or kick a participant', access: 'admin-or-host', body: ModerationBody },
  'POST /api/rooms/:id/access-requests/:requestId': { summary: 'Approve or deny a break-glass request', access: 'admin-or-host', body: AccessDecisionBody },
  'DELETE /api/rooms/:id/kicks/:userId': { summary: 'Re-admit a kicked user', access: 'admin-or-host' },
  'PUT /api/rooms/:id/participants/:userId': { summary: 'Invite a user or change their role and scopes (live at once)', access: 'admin-or-host', body: ParticipantUpdateBody },
  'DELETE /api/rooms/:id/participants/:userId': { summary: 'Remove a participant (live at once)', access: 'admin-or-host' },
  'POST /api/cases': { summary: 'Import a FHIR R4 Bundle as a new case (up to 32 MB)', access: 'admin', body: Bundle, query: ImportQuery, status: 201 },
  'POST /api/cases/pull': { summary: "Pull a patient's record from the hospital FHIR server (Patient/$everything) into a new case", access: 'admin', body: PullBody, status: 201 },
  'POST /api/cases/:id/refresh': { summary: 'Fetch a pulled case again and add what is new', access: 'admin' },
  'GET /api/cases/:id': { summary: "A case filtered by the caller's scopes (non-administrators read through a room: ?room=)", access: 'signed-in', query: CaseQuery },
  'GET /api/cases/:id/resources': { summary: 'Resources on demand, newest first, filtered by type, code and date', access: 'signed-in', query: ResourcesQuery },
  'POST /api/cases/:id/resources/query': { summary: 'Several types at once (non-administrators through a room: room), each paged newest first; one audit row lists per type what was sent, or that it was refused (a type outside the reader\'s access is answered `denied`; all refused: SCOPE_DENIED)', access: 'signed-in', body: CaseReadBody },
  'DELETE /api/cases/:id': { summary: 'Delete a case', access: 'admin' },
  'POST /api/cases/:id/observations': { summary: 'Ingest one Observation (live vitals) into a case and its live rooms', access: 'admin', body: Observation, status: 201 },
  'GET /api/audit': { summary: 'The audit trail, oldest first (format=fhir: a Bundle of AuditEvent)', access: 'admin', query: AuditQuery },
  'GET /api/audit/verify': { summary: 'Verify the hash chain and the signed checkpoints', access: 'admin' },
  'GET /api/audit/checkpoint-key': { summary: 'The audit checkpoint public key (and retired keys) to pin', access: 'public' },
  'GET /api/audit/checkpoints/latest': { summary: 'The newest signed checkpoint', access: 'public' },
  'GET /api/directory/users': { summary: 'Users who have signed in', access: 'admin', query: DirectoryUsersQuery },
  'GET /api/directory/cases': { summary: "Cases with their patient's name (audited)", access: 'admin', query: DirectoryCasesQuery },
  'GET /api/directory/audit': { summary: 'The audit trail newest first, filtered', access: 'admin', query: DirectoryAuditQuery },
  'GET /api/cases/:id/imaging': { summary: "The case's DICOM studies and series, as the caller may see them (read through a room: ?room=)", access: 'signed-in', query: CaseQuery },
  'GET /api/cases/:id/imaging/series/:seriesUid': { summary: "One series' instances: the attributes to draw and measure them (audited)", access: 'signed-in', query: CaseQuery },
  'GET /api/cases/:id/imaging/series/:seriesUid/instances/:sopUid/frames/:frame': { summary: 'One frame\'s pixel data (raw little-endian samples, or a JPEG baseline bitstream): as stored for identified viewers, stripped to image data for others', access: 'signed-in', query: CaseQuery, other: { contentType: 'application/octet-stream | image/jpeg', description: 'Pixel data' } },
  'POST /api/cases/:id/imaging/instances': { summary: 'Upload one DICOM Part 10 instance for the case (its patient must match the case\'s)', access: 'admin', status: 201 },
  'POST /api/cases/:id/imaging/zip': { summary: 'Upload a study as one zip of DICOM Part 10 files (application/zip): read off the event loop within bounds, every image checked against the case\'s patient before any is stored; entries that are not DICOM images are skipped and counted', access: 'admin', status: 201 },
  'POST /api/cases/:id/imaging/series/:seriesUid/clean': { summary: 'Mark the instances of a series an administrator looked at free of burned-in identity (de-identified viewers may then see those; an instance not named stays withheld; one not in the series: IMAGING_NOT_FOUND)', access: 'admin', body: MarkCleanBody },
  'GET /api/recordings': { summary: 'Recordings the caller may watch (their host, or granted), with timeline markers filtered by their access', access: 'signed-in' },
  'GET /api/recordings/:id': { summary: 'One recording (audited as a viewing when a replay opens)', access: 'signed-in' },
  'POST /api/recordings/:id/replays': { summary: 'Open a replay room: alone, or with learners (those who manage the recording); USER_NOT_FOUND for a learner\'s user id nobody has signed in with', access: 'signed-in', body: OpenReplayBody, status: 201 },
  'POST /api/recordings/:id/grants': { summary: 'Let a user watch a recording, under a role and scopes (default: observer, de-identified); USER_NOT_FOUND for a user id nobody has signed in with', access: 'signed-in', body: RecordingGrantBody },
  'DELETE /api/recordings/:id/grants/:userId': { summary: "Withdraw a user's grant to a recording", access: 'signed-in' },
  'DELETE /api/recordings/:id': { summary: 'Delete a recording (its chunks with it)', access: 'signed-in' },
  'GET /api/recordings/:id/grants': { summary: 'Who may watch a recording: people and training rooms, with their names (those who manage it)', access: 'signed-in' },
  'GET /api/recordings/:id/people': { summary: `People who have signed in, found by part of their name or user id, to let watch a recording (those who manage it): id and name only; RATE_LIMITED (with Retry-After) past ${PEOPLE_SEARCH_LIMIT.perMinute} searches a minute per user, after a burst of ${PEOPLE_SEARCH_LIMIT.burst}, whichever recording they search through`, access: 'signed-in', query: RecordingPeopleQuery },
  'POST /api/recordings/:id/room-grants': { summary: "Let a training room's participants watch a recording, each under their own access there and at most the grant's", access: 'signed-in', body: RecordingRoomGrantBody },
  'DELETE /api/recordings/:id/room-grants/:roomId': { summary: "Withdraw a training room's grant (its members leave their own replays of it at once)", access: 'signed-in' },
  'POST /api/recordings/:id/audio-link': { summary: "A short-lived link to the recording's voice for the browser's audio element (audited); RECORDING_NO_AUDIO or RECORDING_AUDIO_UNAVAILABLE when there is none to play", access: 'signed-in' },
  'GET /api/recordings/:id/audio': { summary: "The recording's voice as the LiveKit egress wrote it; Range requests (one range) answered 206; the watcher's right is checked again on every request", access: 'audio-link', query: RecordingAudioQuery, other: { contentType: 'audio/ogg', description: 'The recorded voice (Ogg Opus)' } },
  'GET /.well-known/cds-client-jwks.json': { summary: "Consilium's public key for CDS Hooks calls (the JWT every call carries)", access: 'public', other: JWKS },
  'GET /cds-services': { summary: 'CDS Hooks discovery of the built-in rule service (CDS_BUILTIN=on)', access: 'public', other: { contentType: 'application/json', description: 'CDS Hooks 2.0 discovery' } },
  'POST /cds-services/consilium-rules': { summary: 'The built-in rule service (calls signed with Consilium\'s CDS key only)', access: 'cds-signature', other: { contentType: 'application/json', description: 'CDS Hooks 2.0 cards' } },
  'POST /cds-services/consilium-rules/feedback': { summary: 'Feedback to the built-in rule service', access: 'cds-signature', other: { contentType: 'application/json', description: '`{}`' } },
};

const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.enum(Object.keys(ErrorCodes) as [keyof typeof ErrorCodes, ...(keyof typeof ErrorCodes)[]]),
    message: z.string(),
    details: z.unknown().optional(),
    requestId: z.string().optional(),
  }),
});

const ACCESS_TEXT: Record<Access, string> = {
  public: 'No authentication.',
  'signed-in': 'A bearer identity token from the identity provider.',
  admin: 'A bearer identity token of an administrator.',
  'admin-or-host': "A bearer identity token of an administrator or of the room's host.",
  'metrics-token': 'Authorization: Bearer METRICS_TOKEN.',
  'livekit-signature': "LiveKit's signed Authorization header (API secret).",
  'cds-signature': "A CDS Hooks JWT signed with Consilium's own CDS key (its JWKS: /.well-known/cds-client-jwks.json).",
  'audio-link': 'The token of an audio link (`t`, from POST /api/recordings/{id}/audio-link), bound to one user and one recording; no Authorization header.',
};

/** JSON Schema 2020-12 (OpenAPI 3.1's dialect) of a zod schema; refinements that JSON Schema cannot say are left out. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  delete out['$schema'];
  return out;
}

/** Express `:id` → OpenAPI `{id}`. */
const openApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, '{$1}');

/** Query parameters, one per property of the query schema's input. */
function queryParameters(schema: z.ZodType): unknown[] {
  const js = jsonSchema(schema, 'input') as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({ name, in: 'query', required: js.required?.includes(name) ?? false, schema: s, ...(s['description'] ? { description: s['description'] } : {}) }));
}

const EMPTY = new Set<string>(API_EMPTY_ROUTES);
const JSON_ROUTES = ApiResponseSchemas as Record<string, z.ZodType>;

/** The OpenAPI 3.1 description, generated from the same zod schemas the server validates with. */
export function openApiDocument(opts: { version: string; serverUrl?: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const [key, op] of Object.entries(OPERATIONS)) {
    const [method, path] = key.split(' ') as [string, string];
    const params = [...path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const responses: Record<string, unknown> = {};
    if (JSON_ROUTES[key]) {
      responses[String(op.status ?? 200)] = { description: op.summary, content: { 'application/json': { schema: jsonSchema(JSON_ROUTES[key], 'output') } } };
    } else if (EMPTY.has(key)) {
      responses['204'] = { description: 'Done; no body' };
    } else if (op.other) {
      responses['200'] = { description: op.other.description, content: { [op.other.contentType]: {} } };
    }
    if (path.startsWith('/api/')) responses['default'] = { $ref: '#/components/responses/Error' };
    const operation: Record<string, unknown> = {
      operationId: `${method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: op.summary,
      description: ACCESS_TEXT[op.access],
      tags: [path.split('/')[path.startsWith('/api/') ? 2 : 1] || 'web'],
      security: op.access === 'public' || op.access === 'audio-link' ? [] : op.access === 'livekit-signature' ? [{ livekitWebhook: [] }] : op.access === 'metrics-token' ? [{ metricsToken: [] }] : [{ identityToken: [] }],
      parameters: [...params, ...(op.query ? queryParameters(op.query) : [])],
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(op.body, 'input') } } } } : {}),
      responses,
    };
    (paths[openApiPath(path)] ??= {})[method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Consilium API',
      version: opts.version,
      description:
        `The HTTP API of a Consilium server. Rooms themselves are joined over WebSocket (Colyseus matchmaking under /matchmake, room protocol version ${PROTOCOL_VERSION}) with a ticket from POST /api/rooms/{id}/tickets; use the SDK (client/src/sdk). Errors answer { error: { code, message } } with a code from the catalogue below.`,
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    paths,
    components: {
      securitySchemes: {
        identityToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An OIDC access or ID token from the configured identity provider (AUTH_ISSUER/AUTH_AUDIENCE).' },
        metricsToken: { type: 'http', scheme: 'bearer', description: 'METRICS_TOKEN' },
        livekitWebhook: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'LiveKit webhook signature' },
      },
      responses: { Error: { description: 'An error from the catalogue (shared/src/errors.ts)', content: { 'application/json': { schema: jsonSchema(ErrorBody, 'output') } } } },
    },
  };
}
