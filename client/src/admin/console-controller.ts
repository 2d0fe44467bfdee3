import type { ParticipantInput, RoomDto } from '../../../shared/src/http.ts';
import type { RoomKind, RoomRole } from '../../../shared/src/roles.ts';
import { needsSignIn, plainCode, plainMessage } from '../app/plain-errors.ts';
import type { ConsiliumApi, DirectoryAuditEvent, DirectoryCase, DirectoryUser } from '../sdk/api.ts';
import { ConsiliumError } from '../sdk/errors.ts';
import { summaryLines, uploadImages, type ImageFile } from './imaging-upload.ts';
import { plainDetails, ROLE_DEFAULT_TEXT, SCOPE_PRESETS } from './presets.ts';

/** What the console uses of the SDK's HTTP API: a fake implements it in unit tests. */
export type ConsoleApi = Pick<
  ConsiliumApi,
  'listRooms' | 'createRoom' | 'updateRoom' | 'closeRoom' | 'directoryUsers' | 'directoryCases' | 'importCase' | 'pullCase' | 'liveRoom' | 'moderate' | 'auditNewestFirst' | 'verifyAudit' | 'uploadDicom' | 'uploadDicomZip'
>;

/** An outcome line for the page: `error` picks the red style. */
export interface Outcome {
  error: boolean;
  text: string;
}

export const AUDIT_ACTIONS = ['room.join', 'room.leave', 'room.create', 'room.update', 'room.close', 'ticket.issued', 'ticket.refused', 'disclosure', 'disclosure.revoked', 'case.import', 'case.read', 'case.delete', 'observation.ingest', 'break-glass', 'participant', 'voice', 'audit.read'];

export const caseLabel = (c: DirectoryCase) => `${c.patientName} · ${c.gender ? c.gender.charAt(0).toUpperCase() : '?'} · born ${c.birthYear ?? '?'}${c.mrn ? ` · MRN ${c.mrn}` : ''}`;

/** Beside a person field: their name from the directory, or that they have not signed in yet. */
export function nameHint(directory: DirectoryUser[], userId: string): string {
  const id = userId.trim();
  return directory.find((u) => u.userId === id)?.name ?? (id ? 'not signed in yet' : '');
}

/** Beside "Role default": what that role gets, in words. */
export function accessHelp(access: string, role: string): string {
  return access === 'default' ? `(${ROLE_DEFAULT_TEXT[role] ?? 'role default'})` : '';
}

/** One person row of the room form → the API's participant (null for an empty row). Custom scopes are space-separated. */
export function participantInput(row: { userId: string; role: string; access: string; custom: string }): ParticipantInput | null {
  const userId = row.userId.trim();
  if (!userId) return null;
  const custom = row.custom.trim();
  const scopes = row.access === 'custom' ? (custom ? custom.split(/\s+/) : null) : SCOPE_PRESETS.find((s) => s.id === row.access)?.scopes ?? null;
  return { userId, role: row.role as RoomRole, ...(scopes ? { scopes } : {}) };
}

export interface RoomFormValues {
  title: string;
  kind: string;
  caseId: string;
  observerVideo: boolean;
  /** The host may record the room (everyone is told before joining). */
  recordingAllowed?: boolean;
  participants: ParticipantInput[];
}

/**
 * An audit event's details in one short line: lists of references ("Condition/…") read better as counts
 * per type, and a case read's `types` (per type asked: how many, or the refusal) as "Condition 2, Procedure SCOPE_DENIED".
 */
export function detailsText(e: DirectoryAuditEvent): string {
  const show = (k: string, v: unknown): string => {
    if (Array.isArray(v) && v.every((x) => typeof x === 'string' && /^[A-Z][A-Za-z]+\//.test(x))) {
      const types = [...new Set(v.map((x) => String(x).split('/')[0]))];
      return `${v.length} record${v.length === 1 ? '' : 's'}${types.length ? ` (${types.join(', ')})` : ''}`;
    }
    if (k === 'types' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      return Object.entries(v as Record<string, { count?: unknown; code?: unknown } | null>).map(([t, d]) => `${t} ${typeof d?.count === 'number' ? d.count : String(d?.code ?? '?')}`).join(', ');
    }
    return typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
  };
  // A case read's per-type account first: it is what the row is about (the line is cut at 200 characters).
  const entries = Object.entries(e.details ?? {}).filter(([k]) => k !== 'query').sort(([a], [b]) => Number(b === 'types') - Number(a === 'types'));
  const parts = entries.slice(0, 6).map(([k, v]) => `${k}: ${show(k, v)}`);
  return parts.join(' · ').slice(0, 200);
}

export interface AuditFilters {
  user: string;
  action: string;
  patient: string;
  /** yyyy-mm-dd from a date input, local time; '' for none. */
  from: string;
  to: string;
}

/** The audit filters as the API's query: whole local days, `to` inclusive. */
export function auditQuery(f: AuditFilters): Record<string, string | number> {
  const q: Record<string, string | number> = { limit: 50 };
  if (f.user.trim()) q['user'] = f.user.trim();
  if (f.action) q['action'] = f.action;
  if (f.patient) q['patient'] = f.patient;
  if (f.from) q['from'] = new Date(`${f.from}T00:00:00`).toISOString();
  if (f.to) q['to'] = new Date(new Date(`${f.to}T00:00:00`).getTime() + 86_400_000).toISOString();
  return q;
}

/** The rows shown, as CSV (every field quoted: details are JSON and hostile text stays one cell). */
export function auditCsv(events: DirectoryAuditEvent[]): string {
  const esc = (v: unknown) => `"${String(v ?? '').replace(/"/g, '""')}"`;
  const head = ['seq', 'at', 'actor', 'action', 'outcome', 'room', 'patient', 'subject', 'details'].join(',');
  return [head, ...events.map((e) => [e.seq, e.at, e.actor, e.action, e.outcome, e.roomId, e.patientId, e.subject, JSON.stringify(e.details)].map(esc).join(','))].join('\n');
}

type LiveRoom = Awaited<ReturnType<ConsoleApi['liveRoom']>>;
export interface LivePerson {
  userId: string;
  name: string;
  role: string;
  devices: number;
  connection: 'connected' | 'reconnecting';
  /** null when the room has no voice. */
  voice: 'muted' | 'on' | 'not joined' | null;
}
export interface LiveRoomCard {
  room: RoomDto;
  heading: string;
  voiceOn: boolean;
  people: LivePerson[];
}

/** A live room's people, one per person across their devices. */
export function liveCard(room: RoomDto, live: LiveRoom): LiveRoomCard {
  const voiceOn = live.voice !== 'off';
  const byUser = new Map<string, LiveRoom['participants']>();
  for (const p of live.participants) byUser.set(p.userId, [...(byUser.get(p.userId) ?? []), p]);
  const people = [...byUser.values()].map((seats): LivePerson => {
    const p = seats[0]!;
    return {
      userId: p.userId,
      name: p.name,
      role: p.role,
      devices: seats.length,
      connection: seats.some((s) => s.connected) ? 'connected' : 'reconnecting',
      voice: voiceOn ? (seats.some((s) => s.voiceConnected) ? (seats.some((s) => s.muted) ? 'muted' : 'on') : 'not joined') : null,
    };
  });
  return { room, voiceOn, people, heading: `${room.title}${voiceOn ? ` · voice ${live.voice}` : ''} · ${byUser.size} ${byUser.size === 1 ? 'person' : 'people'}` };
}

/**
 * The admin console's state and decisions without DOM: errors as sentences (a refused identity means
 * sign in again), the directory cached per view, saving rooms, importing and pulling cases, uploading their images, live rooms,
 * moderation and the audit trail's pages.
 */
export class ConsoleController {
  private usersCache: Promise<DirectoryUser[]> | null = null;
  private casesCache: Promise<DirectoryCase[]> | null = null;
  /** Audit events shown so far, newest first, and the cursor for older ones (null: no more). */
  auditShown: DirectoryAuditEvent[] = [];
  auditNext: number | null = null;

  constructor(
    private readonly api: ConsoleApi,
    /** The identity was refused: the page signs out and shows sign-in with this message. */
    private readonly signInAgain: (message: string) => void,
  ) {}

  /** An error as a sentence (with the validation details, per participant and field). */
  errorText(err: unknown): string {
    if (needsSignIn(err)) this.signInAgain(plainMessage(err));
    if (err instanceof ConsiliumError) return [plainCode(err.code, err.message), ...plainDetails(err.details)].join(' ');
    return plainMessage(err);
  }

  /** The people who have signed in (cached; a failure is not cached). */
  users(): Promise<DirectoryUser[]> {
    return (this.usersCache ??= this.api.directoryUsers().catch((e: unknown) => {
      this.usersCache = null;
      throw e;
    }));
  }

  cases(): Promise<DirectoryCase[]> {
    return (this.casesCache ??= this.api.directoryCases().catch((e: unknown) => {
      this.casesCache = null;
      throw e;
    }));
  }

  /** Create the room, or update `existing`; null when saved, else what to show. */
  async saveRoom(form: RoomFormValues, existing?: RoomDto): Promise<string | null> {
    const body = { title: form.title.trim(), kind: form.kind as RoomKind, participants: form.participants, observerVideo: form.observerVideo, recordingAllowed: form.recordingAllowed ?? false, ...(form.caseId ? { caseId: form.caseId } : {}) };
    if (!body.title) return 'Give the room a title.';
    try {
      if (existing) await this.api.updateRoom(existing.id, { ...body, caseId: form.caseId || null }); // '' unlinks the case
      else await this.api.createRoom(body);
      return null;
    } catch (err) {
      return this.errorText(err);
    }
  }

  async importBundle(json: string): Promise<Outcome> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(json);
    } catch {
      return { error: true, text: 'That is not valid JSON.' };
    }
    try {
      const r = await this.api.importCase(parsed);
      this.casesCache = null;
      return { error: false, text: `Imported ${r.resources} resources. The case is now in the patient list when you create a room.` };
    } catch (err) {
      return { error: true, text: this.errorText(err) };
    }
  }

  /** Pull by identifier ("system|value") or the FHIR server's patient id. */
  async pull(value: string): Promise<Outcome> {
    const v = value.trim();
    if (!v) return { error: false, text: "Enter a patient identifier (system|value) or the FHIR server's patient id." };
    try {
      const r = await this.api.pullCase(v.includes('|') ? { identifier: v } : { patientId: v });
      this.casesCache = null;
      const kinds = Object.entries(r.stored).map(([t, n]) => `${n} ${t}`).join(', ');
      return { error: false, text: `Pulled ${r.resources} resources (${kinds})${r.refused.length ? `; ${r.refused.length} entries refused` : ''}. The case is now in the patient list when you create a room.` };
    } catch (err) {
      return { error: true, text: this.errorText(err) };
    }
  }

  /** Upload DICOM files or zips of them to a case: one outcome line for what was stored, one for what was skipped, one per refusal. */
  async uploadImages(caseId: string, files: ImageFile[], progress?: (text: string) => void): Promise<Outcome[]> {
    if (!caseId) return [{ error: true, text: 'Choose the patient case the images belong to.' }];
    if (!files.length) return [{ error: true, text: 'Choose DICOM files, or a zip of a study.' }];
    const sum = await uploadImages(this.api, caseId, files, (err) => this.errorText(err), progress);
    return summaryLines(sum).map((l) => ({ error: l.kind === 'refused', text: l.text }));
  }

  /** Every live room with its people (a room that stopped being live meanwhile is skipped). */
  async liveRooms(): Promise<LiveRoomCard[]> {
    const cards: LiveRoomCard[] = [];
    for (const r of (await this.api.listRooms()).filter((x) => x.live)) {
      const live = await this.api.liveRoom(r.id).catch(() => null);
      if (live) cards.push(liveCard(r, live));
    }
    return cards;
  }

  /** Close a room (everyone in it is disconnected); null when done, else what to show. */
  async closeRoom(id: string): Promise<string | null> {
    try {
      await this.api.closeRoom(id);
      return null;
    } catch (err) {
      return this.errorText(err);
    }
  }

  /** Mute or kick; null when done, else what to show. */
  async moderate(roomId: string, action: 'mute' | 'kick', userId: string): Promise<string | null> {
    try {
      await this.api.moderate(roomId, action, userId);
      return null;
    } catch (err) {
      return this.errorText(err);
    }
  }

  async verifyAudit(): Promise<Outcome> {
    try {
      const r = await this.api.verifyAudit();
      return { error: !r.ok, text: r.ok ? `Chain intact: ${r.rows} rows verified.` : `Chain BROKEN at row ${r.firstBroken?.seq}: ${r.firstBroken?.reason}` };
    } catch (err) {
      return { error: false, text: this.errorText(err) };
    }
  }

  /** The next page of audit events (or the first, on `reset`): the new rows, and the status line. */
  async auditPage(filters: AuditFilters, reset: boolean): Promise<{ ok: boolean; rows: DirectoryAuditEvent[]; status: string }> {
    if (reset) {
      this.auditShown = [];
      this.auditNext = null;
    }
    try {
      const page = await this.api.auditNewestFirst({ ...auditQuery(filters), ...(this.auditNext !== null ? { before: this.auditNext } : {}) });
      this.auditShown.push(...page.events);
      this.auditNext = page.next;
      const n = this.auditShown.length;
      return { ok: true, rows: page.events, status: `${n} event${n === 1 ? '' : 's'} shown, newest first.` };
    } catch (err) {
      return { ok: false, rows: [], status: this.errorText(err) };
    }
  }
}
