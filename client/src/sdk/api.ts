import type { ErrorBody } from '../../../shared/src/errors.ts';
import { isErrorCode } from '../../../shared/src/errors.ts';
import type { ApiEmptyRoute, ApiResponses, ApiRoute, CaseReadBody, CreateRoomBody, DevLoginBody, DirectoryCase, DirectoryUser, OpenReplayBody, ParticipantUpdateBody, PatchRoomBody, RecordingGrantBody, RecordingRoomGrantBody } from '../../../shared/src/http.ts';
import { ConsiliumError } from './errors.ts';

export type { DirectoryCase, DirectoryUser };
/** An audit row as the console lists it. */
export type { AuditEventDto as DirectoryAuditEvent } from '../../../shared/src/http.ts';

/** `:name` segments of a route, as the parameters a call must give. */
type PathParams<R extends string> = R extends `${string}:${infer P}/${infer Rest}` ? { [K in P]: string } & PathParams<Rest> : R extends `${string}:${infer P}` ? { [K in P]: string } : unknown;
type CallOptions<R extends string> = { body?: unknown; query?: Record<string, string | number | undefined>; auth?: boolean } & ({} extends PathParams<R> ? { params?: undefined } : { params: PathParams<R> });

/** Typed HTTP client for the Consilium REST API (works in Node ≥ 18 and browsers). */
export class ConsiliumApi {
  /** Identity token from the hospital's provider (or the dev issuer). */
  identityToken: string | null = null;

  constructor(readonly baseUrl: string) {}

  async devLogin(body: DevLoginBody) {
    const res = await this.call('POST /api/dev/login', { body, auth: false });
    this.identityToken = res.token;
    return res;
  }

  /** Upload one DICOM Part 10 file to a case (administrators); refused when its patient does not match the case's. */
  async uploadDicom(caseId: string, file: Uint8Array | Blob): Promise<ApiResponses['POST /api/cases/:id/imaging/instances']> {
    const res = await fetch(new URL(`/api/cases/${encodeURIComponent(caseId)}/imaging/instances`, this.baseUrl), { method: 'POST', headers: { 'content-type': 'application/dicom', ...this.authHeader() }, body: file as unknown as BodyInit });
    return (await this.answer(res)) as ApiResponses['POST /api/cases/:id/imaging/instances'];
  }

  /**
   * Upload a study as one zip of DICOM Part 10 files (administrators): every image is checked against the
   * case's patient and all are stored, or none; entries that are not DICOM images are skipped and counted.
   */
  async uploadDicomZip(caseId: string, zip: Uint8Array | Blob): Promise<ApiResponses['POST /api/cases/:id/imaging/zip']> {
    const res = await fetch(new URL(`/api/cases/${encodeURIComponent(caseId)}/imaging/zip`, this.baseUrl), { method: 'POST', headers: { 'content-type': 'application/zip', ...this.authHeader() }, body: zip as unknown as BodyInit });
    return (await this.answer(res)) as ApiResponses['POST /api/cases/:id/imaging/zip'];
  }

  /** One frame's stored pixel data, read through a room: raw little-endian samples, or a JPEG bitstream (`type` says which). */
  async imagingFrame(caseId: string, seriesUid: string, sopUid: string, frame: number, room: string | null): Promise<{ type: 'raw' | 'jpeg'; bytes: Uint8Array }> {
    const url = new URL(`/api/cases/${encodeURIComponent(caseId)}/imaging/series/${encodeURIComponent(seriesUid)}/instances/${encodeURIComponent(sopUid)}/frames/${frame}`, this.baseUrl);
    if (room) url.searchParams.set('room', room);
    const res = await fetch(url, { headers: this.authHeader() });
    if (!res.ok) await this.answer(res);
    return { type: res.headers.get('content-type') === 'image/jpeg' ? 'jpeg' : 'raw', bytes: new Uint8Array(await res.arrayBuffer()) };
  }

  private authHeader(): Record<string, string> {
    return this.identityToken ? { authorization: `Bearer ${this.identityToken}` } : {};
  }

  private async answer(res: Response): Promise<unknown> {
    const text = await res.text();
    const json: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const err = (json as { error?: ErrorBody } | undefined)?.error;
      if (err && isErrorCode(err.code)) throw new ConsiliumError(err.code, err.message, res.status, err.details);
      throw new ConsiliumError('UNAVAILABLE', `HTTP ${res.status}`, res.status);
    }
    return json;
  }

  async listRooms() {
    return (await this.call('GET /api/rooms', {})).rooms;
  }

  getRoom(id: string) {
    return this.call('GET /api/rooms/:id', { params: { id } });
  }

  createRoom(body: CreateRoomBody) {
    return this.call('POST /api/rooms', { body });
  }

  updateRoom(id: string, body: PatchRoomBody) {
    return this.call('PATCH /api/rooms/:id', { params: { id }, body });
  }

  async closeRoom(id: string): Promise<void> {
    await this.call('DELETE /api/rooms/:id', { params: { id } });
  }

  getTicket(roomId: string) {
    return this.call('POST /api/rooms/:id/tickets', { params: { id: roomId } });
  }

  setParticipant(roomId: string, userId: string, body: ParticipantUpdateBody) {
    return this.call('PUT /api/rooms/:id/participants/:userId', { params: { id: roomId, userId }, body });
  }

  async removeParticipant(roomId: string, userId: string): Promise<void> {
    await this.call('DELETE /api/rooms/:id/participants/:userId', { params: { id: roomId, userId } });
  }

  // ---- recordings (teaching) ----

  async listRecordings() {
    return (await this.call('GET /api/recordings', {})).recordings;
  }

  getRecording(id: string) {
    return this.call('GET /api/recordings/:id', { params: { id } });
  }

  /**
   * A short-lived link to a recording's voice (`url` relative to this server: hand it to an
   * <audio> element, which cannot send the bearer token), where it starts in the recording, and its size.
   */
  async recordingAudioLink(id: string) {
    const link = await this.call('POST /api/recordings/:id/audio-link', { params: { id } });
    return { ...link, url: new URL(link.url, this.baseUrl).toString() };
  }

  /** A replay room for the recording: alone, or with learners (for those who manage it). */
  openReplay(id: string, body: OpenReplayBody = {}) {
    return this.call('POST /api/recordings/:id/replays', { params: { id }, body });
  }

  grantRecording(id: string, body: RecordingGrantBody) {
    return this.call('POST /api/recordings/:id/grants', { params: { id }, body });
  }

  async revokeRecording(id: string, userId: string): Promise<void> {
    await this.call('DELETE /api/recordings/:id/grants/:userId', { params: { id, userId } });
  }

  async deleteRecording(id: string): Promise<void> {
    await this.call('DELETE /api/recordings/:id', { params: { id } });
  }

  /** Who may watch it: people and training rooms (for those who manage it). */
  recordingGrants(id: string) {
    return this.call('GET /api/recordings/:id/grants', { params: { id } });
  }

  /** People who have signed in whose name or user id contains `q`, to let watch it or seat in a group replay (for those who manage it). */
  async findPeople(id: string, q: string) {
    return (await this.call('GET /api/recordings/:id/people', { params: { id }, query: { q } })).people;
  }

  /** Let a training room's participants watch it, each under their own access there and at most the grant's. */
  grantRecordingToRoom(id: string, body: RecordingRoomGrantBody) {
    return this.call('POST /api/recordings/:id/room-grants', { params: { id }, body });
  }

  async revokeRecordingRoom(id: string, roomId: string): Promise<void> {
    await this.call('DELETE /api/recordings/:id/room-grants/:roomId', { params: { id, roomId } });
  }

  importCase(bundle: unknown) {
    return this.call('POST /api/cases', { body: bundle });
  }

  /** Admin: pull a patient's record (`Patient/$everything`) from the hospital's FHIR server into a new case. */
  pullCase(patient: { patientId: string } | { identifier: string }) {
    return this.call('POST /api/cases/pull', { body: patient });
  }

  /** Admin: fetch a pulled case's record again; new resources are added (and reach live rooms). */
  refreshCase(caseId: string) {
    return this.call('POST /api/cases/:id/refresh', { params: { id: caseId } });
  }

  /** Resources the room state leaves out of a big case, newest first, read through a room that shows the case. */
  caseResources(caseId: string, query: { room?: string; type?: string; code?: string; before?: string; limit?: number; offset?: number }) {
    return this.call('GET /api/cases/:id/resources', { params: { id: caseId }, query });
  }

  /**
   * Several types of a case in one read (one audit row): per type its newest `limit` from `offset`,
   * or `denied` when the caller's access gives no copy of it (every type denied: SCOPE_DENIED).
   * Through a room that shows the case (`room`, required unless an administrator).
   */
  readCaseTypes(caseId: string, body: CaseReadBody) {
    return this.call('POST /api/cases/:id/resources/query', { params: { id: caseId }, body });
  }

  /** A case as the caller may read it: through a room that shows it (required unless an administrator). */
  getCase(caseId: string, roomId?: string) {
    return this.call('GET /api/cases/:id', { params: { id: caseId }, query: { room: roomId } });
  }

  async deleteCase(caseId: string): Promise<void> {
    await this.call('DELETE /api/cases/:id', { params: { id: caseId } });
  }

  ingestObservation(caseId: string, observation: unknown) {
    return this.call('POST /api/cases/:id/observations', { params: { id: caseId }, body: observation });
  }

  /** Admin: audit events (JSON) with paging via `after`. */
  audit(query: Record<string, string | number> = {}) {
    return this.call('GET /api/audit', { query });
  }

  /** Admin or host: who is in a live room. */
  liveRoom(roomId: string) {
    return this.call('GET /api/rooms/:id/live', { params: { id: roomId } });
  }

  async moderate(roomId: string, action: 'mute' | 'unmute' | 'kick', userId: string): Promise<void> {
    await this.call('POST /api/rooms/:id/moderation', { params: { id: roomId }, body: { action, userId } });
  }

  authConfig() {
    return this.call('GET /api/auth/config', { auth: false });
  }

  verifyAudit() {
    return this.call('GET /api/audit/verify', {});
  }

  /** Admin: users who have signed in (newest first), optionally matching `q` in id or name. */
  async directoryUsers(q?: string): Promise<DirectoryUser[]> {
    return (await this.call('GET /api/directory/users', { query: { q } })).users;
  }

  /** Admin: imported cases with their patient's name, sex, birth year and MRN (newest first). */
  async directoryCases(q?: string): Promise<DirectoryCase[]> {
    return (await this.call('GET /api/directory/cases', { query: { q } })).cases;
  }

  /** Admin: the audit trail newest first; page on with `before` = the returned `next`. */
  auditNewestFirst(query: Record<string, string | number> = {}) {
    return this.call('GET /api/directory/audit', { query });
  }

  /** Admin or host: let a kicked user back in. */
  async readmit(roomId: string, userId: string): Promise<void> {
    await this.call('DELETE /api/rooms/:id/kicks/:userId', { params: { id: roomId, userId } });
  }

  /**
   * The one request path: `route` is the server's `METHOD /path` (shared/src/http.ts
   * `ApiResponses`), which types the answer; `:params` are filled in, encoded.
   */
  call<R extends ApiRoute>(route: R, options: CallOptions<R>): Promise<ApiResponses[R]>;
  call<R extends ApiEmptyRoute>(route: R, options: CallOptions<R>): Promise<void>;
  async call(route: string, { body, query, params, auth = true }: { body?: unknown; query?: Record<string, string | number | undefined>; params?: Record<string, string> | undefined; auth?: boolean }): Promise<unknown> {
    const [method, template] = route.split(' ') as [string, string];
    const url = new URL(template.replace(/:(\w+)/g, (_m, name: string) => encodeURIComponent(params?.[name] ?? '')), this.baseUrl);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...(auth ? this.authHeader() : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) };
    const res = await fetch(url, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return res.status === 204 ? undefined : this.answer(res);
  }
}
