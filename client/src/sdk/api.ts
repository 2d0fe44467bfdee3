import type { ErrorBody } from '../../../shared/src/errors.ts';
import { isErrorCode } from '../../../shared/src/errors.ts';
import type { CaseImportResponse, CreateRoomBody, DevLoginBody, DevLoginResponse, ParticipantUpdateBody, PatchRoomBody, RoomDto, TicketResponse } from '../../../shared/src/http.ts';
import type { CaseView, FhirResource } from '../../../shared/src/fhir.ts';
import { ConsiliumError } from './errors.ts';

export interface DirectoryUser { userId: string; name: string; admin: boolean; lastSeenAt: string }
export interface DirectoryCase { caseId: string; patientId: string; createdAt: string; resources: number; patientName: string; gender: string | null; birthYear: string | null; mrn: string | null }
export interface DirectoryAuditEvent { seq: number; at: string; actor: string; action: string; outcome: string; roomId: string | null; caseId: string | null; patientId: string | null; subject: string | null; details: Record<string, unknown> }

/** Typed HTTP client for the Consilium REST API (works in Node ≥ 18 and browsers). */
export class ConsiliumApi {
  /** Identity token from the hospital's provider (or the dev issuer). */
  identityToken: string | null = null;

  constructor(readonly baseUrl: string) {}

  async devLogin(body: DevLoginBody): Promise<DevLoginResponse> {
    const res = await this.request<DevLoginResponse>('POST', '/api/dev/login', body, false);
    this.identityToken = res.token;
    return res;
  }

  async listRooms(): Promise<RoomDto[]> {
    return (await this.request<{ rooms: RoomDto[] }>('GET', '/api/rooms')).rooms;
  }

  getRoom(id: string): Promise<RoomDto> {
    return this.request('GET', `/api/rooms/${encodeURIComponent(id)}`);
  }

  createRoom(body: CreateRoomBody): Promise<RoomDto> {
    return this.request('POST', '/api/rooms', body);
  }

  updateRoom(id: string, body: PatchRoomBody): Promise<RoomDto> {
    return this.request('PATCH', `/api/rooms/${encodeURIComponent(id)}`, body);
  }

  async closeRoom(id: string): Promise<void> {
    await this.request('DELETE', `/api/rooms/${encodeURIComponent(id)}`);
  }

  getTicket(roomId: string): Promise<TicketResponse> {
    return this.request('POST', `/api/rooms/${encodeURIComponent(roomId)}/tickets`);
  }

  setParticipant(roomId: string, userId: string, body: ParticipantUpdateBody): Promise<{ userId: string; role: string; scopes: string[] | null }> {
    return this.request('PUT', `/api/rooms/${encodeURIComponent(roomId)}/participants/${encodeURIComponent(userId)}`, body);
  }

  async removeParticipant(roomId: string, userId: string): Promise<void> {
    await this.request('DELETE', `/api/rooms/${encodeURIComponent(roomId)}/participants/${encodeURIComponent(userId)}`);
  }

  importCase(bundle: unknown): Promise<CaseImportResponse> {
    return this.request('POST', '/api/cases', bundle);
  }

  /** Admin: pull a patient's record (`Patient/$everything`) from the hospital's FHIR server into a new case. */
  pullCase(patient: { patientId: string } | { identifier: string }): Promise<CaseImportResponse> {
    return this.request('POST', '/api/cases/pull', patient);
  }

  /** Admin: fetch a pulled case's record again; new resources are added (and reach live rooms). */
  refreshCase(caseId: string): Promise<{ added: Record<string, number>; unchanged: number; deliveredToRooms: number }> {
    return this.request('POST', `/api/cases/${encodeURIComponent(caseId)}/refresh`);
  }

  /** Resources the room state leaves out of a big case, newest first, read through a room that shows the case. */
  caseResources(caseId: string, query: { room?: string; type?: string; code?: string; before?: string; limit?: number; offset?: number }): Promise<{ resources: FhirResource[]; deidentified: boolean; nextOffset: number | null }> {
    const qs = new URLSearchParams(Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]]))).toString();
    return this.request('GET', `/api/cases/${encodeURIComponent(caseId)}/resources${qs ? `?${qs}` : ''}`);
  }

  /** A case as the caller may read it: through a room that shows it (required unless an administrator). */
  getCase(caseId: string, roomId?: string): Promise<CaseView> {
    return this.request('GET', `/api/cases/${encodeURIComponent(caseId)}${roomId ? `?room=${encodeURIComponent(roomId)}` : ''}`);
  }

  async deleteCase(caseId: string): Promise<void> {
    await this.request('DELETE', `/api/cases/${encodeURIComponent(caseId)}`);
  }

  ingestObservation(caseId: string, observation: unknown): Promise<{ id: string; deliveredToRooms: number }> {
    return this.request('POST', `/api/cases/${encodeURIComponent(caseId)}/observations`, observation);
  }

  /** Admin: audit events (JSON) with paging via `after`. */
  audit(query: Record<string, string | number> = {}): Promise<{ events: Array<Record<string, unknown> & { seq: number; action: string; actor: string; details: Record<string, unknown> }>; next: number | null }> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    return this.request('GET', `/api/audit${qs ? `?${qs}` : ''}`);
  }

  /** Admin or host: who is in a live room. */
  liveRoom(roomId: string): Promise<{ live: boolean; voice: string; presenter: string; participants: { sessionId: string; userId: string; name: string; role: string; connected: boolean; voiceConnected: boolean; publishing: boolean; muted: boolean }[] }> {
    return this.request('GET', `/api/rooms/${encodeURIComponent(roomId)}/live`);
  }

  async moderate(roomId: string, action: 'mute' | 'unmute' | 'kick', userId: string): Promise<void> {
    await this.request('POST', `/api/rooms/${encodeURIComponent(roomId)}/moderation`, { action, userId });
  }

  authConfig(): Promise<{ mode: 'dev' } | { mode: 'oidc'; issuer: string; clientId: string | null; audience: string }> {
    return this.request('GET', '/api/auth/config', undefined, false);
  }

  verifyAudit(): Promise<{ ok: boolean; rows: number; firstBroken?: { seq: number; reason: string } }> {
    return this.request('GET', '/api/audit/verify');
  }

  /** Admin: users who have signed in (newest first), optionally matching `q` in id or name. */
  async directoryUsers(q?: string): Promise<DirectoryUser[]> {
    return (await this.request<{ users: DirectoryUser[] }>('GET', `/api/directory/users${q ? `?${new URLSearchParams({ q })}` : ''}`)).users;
  }

  /** Admin: imported cases with their patient's name, sex, birth year and MRN (newest first). */
  async directoryCases(q?: string): Promise<DirectoryCase[]> {
    return (await this.request<{ cases: DirectoryCase[] }>('GET', `/api/directory/cases${q ? `?${new URLSearchParams({ q })}` : ''}`)).cases;
  }

  /** Admin: the audit trail newest first; page on with `before` = the returned `next`. */
  auditNewestFirst(query: Record<string, string | number> = {}): Promise<{ events: DirectoryAuditEvent[]; next: number | null }> {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    return this.request('GET', `/api/directory/audit${qs ? `?${qs}` : ''}`);
  }

  /** Admin or host: let a kicked user back in. */
  async readmit(roomId: string, userId: string): Promise<void> {
    await this.request('DELETE', `/api/rooms/${encodeURIComponent(roomId)}/kicks/${encodeURIComponent(userId)}`);
  }

  private async request<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth && this.identityToken) headers['authorization'] = `Bearer ${this.identityToken}`;
    const res = await fetch(new URL(path, this.baseUrl), {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const json: unknown = text ? JSON.parse(text) : undefined;
    if (!res.ok) {
      const err = (json as { error?: ErrorBody } | undefined)?.error;
      if (err && isErrorCode(err.code)) throw new ConsiliumError(err.code, err.message, res.status, err.details);
      throw new ConsiliumError('UNAVAILABLE', `HTTP ${res.status}`, res.status);
    }
    return json as T;
  }
}
