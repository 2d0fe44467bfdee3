import type { DirectoryUser, OpenReplayBody, RecordingDto, RecordingGrantBody, RecordingGrantsDto, RecordingMarkerDto, RecordingRoomGrantBody, RoomDto } from '../../../shared/src/http.ts';
import { authorizeRecordingAction, GRANTABLE_ROOM_KINDS, type LearnerRole, type RecordingRelation } from '../../../shared/src/recording-policy.ts';
import { ConsiliumError } from '../sdk/errors.ts';
import { plainMessage } from './plain-errors.ts';
import { HIDDEN_REASON } from './scene-list.ts';

export type { LearnerRole };

/** What the library page uses of the HTTP API (ConsiliumApi): a test hands in a stand-in with the same shape. */
export interface LibraryApi {
  listRecordings(): Promise<RecordingDto[]>;
  openReplay(id: string, body?: OpenReplayBody): Promise<Pick<RoomDto, 'id'>>;
  directoryUsers(q?: string): Promise<DirectoryUser[]>;
  listRooms(): Promise<Pick<RoomDto, 'id' | 'title' | 'kind'>[]>;
  recordingGrants(id: string): Promise<RecordingGrantsDto>;
  grantRecording(id: string, body: RecordingGrantBody): Promise<unknown>;
  grantRecordingToRoom(id: string, body: RecordingRoomGrantBody): Promise<unknown>;
  revokeRecording(id: string, userId: string): Promise<void>;
  revokeRecordingRoom(id: string, roomId: string): Promise<void>;
  deleteRecording(id: string): Promise<void>;
}

/** A learner's access in a group replay: a student sees the de-identified case (observer), a resident the identified one (clinician). */
export interface Learner {
  userId: string;
  name: string;
  role: LearnerRole;
}

/** What this user may do with a recording: the shared rule (shared/src/recording-policy.ts) on the server's word of why they see it. */
export interface RecordingActs {
  watchAlone: boolean;
  replayToGroup: boolean;
  seeGrants: boolean;
  grant: boolean;
  revoke: boolean;
  delete: boolean;
}

export function recordingActs(access: RecordingRelation): RecordingActs {
  const may = (a: Parameters<typeof authorizeRecordingAction>[1]) => authorizeRecordingAction(access, a).allow;
  return { watchAlone: may('open-alone'), replayToGroup: may('replay-to-group'), seeGrants: may('see-grants'), grant: may('grant'), revoke: may('revoke'), delete: may('delete') };
}

/** One line of "who may watch". */
export interface GrantRow {
  kind: 'person' | 'room';
  /** The user id or the training room id (what a revocation names). */
  id: string;
  name: string;
  /** "student (de-identified)", "resident (identified)", or the role and its explicit scopes. */
  access: string;
  /** "granted by edu · 3 members now". */
  detail: string;
}

export interface AccessPanel {
  grants: GrantRow[] | null;
  error: string;
  refusal: string;
}

export interface RecordingRow {
  id: string;
  title: string;
  date: string;
  duration: string;
  /** "no audio" when LiveKit was not there (or refused): the replay is silent, and says so. */
  audio: string;
  markers: number;
  mayManage: boolean;
  acts: RecordingActs;
  /** Why the user sees it, in words ("you recorded it", "granted to you"…). */
  reason: string;
  /** Set when the recording's case was deleted: its replays show the room without patient data. */
  caseNote: string;
  /** "kept until 3 Dec 2027" or "kept until deleted". */
  kept: string;
  /** The timeline, each marker in words — an annotation's text only where the viewer may read it. */
  timeline: string[];
  learners: Learner[];
  /** "Who may watch" is open: its lines (null while loading), why they could not be read, and why the last grant or revocation was refused. */
  access: AccessPanel | null;
  /** The deletion asks first: this row is asking. */
  confirmingDelete: boolean;
}

/** 75 000 ms → "1:15"; an hour or more → "1:02:03". */
export function clockText(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const [h, m, sec] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

export function audioText(audio: RecordingDto['audio']): string {
  return audio === 'egress' ? 'audio recorded' : audio === 'failed' ? 'no audio (voice recording failed)' : 'no audio';
}

const REASONS: Record<RecordingRelation, string> = {
  admin: 'you administer Consilium',
  recorder: 'you recorded it',
  granted: 'granted to you',
  cohort: 'granted to your training room',
  seat: 'you were seated in a replay of it',
};

const WHAT: Record<string, string> = { label: 'Note', marker: 'Marker', stroke: 'Stroke', arrow: 'Arrow', length: 'Length measurement', region: 'Region' };

/**
 * A timeline marker in words. An annotation's text appears only when the server sent it (the viewer's
 * access covers its author's); otherwise the live room's placeholder — who, what, "hidden by your access".
 */
export function markerText(m: RecordingMarkerDto): string {
  const at = clockText(m.t);
  switch (m.kind) {
    case 'join':
      return `${at} ${m.who} joined`;
    case 'presenter':
      return `${at} ${m.who} started presenting`;
    case 'pointing':
      return `${at} ${m.who} started pointing`;
    case 'annotation': {
      const what = (m.what && WHAT[m.what]) || 'Annotation';
      if (m.hidden) return `${at} ${what} by ${m.who} — ${HIDDEN_REASON}`;
      return m.text ? `${at} ${what} by ${m.who}: “${m.text}”` : `${at} ${what} by ${m.who}`;
    }
  }
}

/** "student (de-identified)" / "resident (identified)" for the two learner grants; otherwise the role and scopes. */
export function grantAccessText(g: { role: string; scopes: string[] | null }): string {
  if (g.scopes === null && g.role === 'observer') return 'student (de-identified)';
  if (g.scopes === null && g.role === 'clinician') return 'resident (identified)';
  return g.scopes ? `${g.role}: ${g.scopes.join(' ')}` : g.role;
}

/**
 * The recordings library, without DOM: the recordings this user may watch (the server decides which),
 * opening one alone, and — for those who manage a recording (its host, an administrator; the shared
 * rule decides the buttons, the server every act) — a group replay with learners, who may watch it
 * (people by user id or from the directory, training rooms), revoking, and deleting it after asking.
 */
export class LibraryController {
  recordings: RecordingDto[] = [];
  loaded = false;
  error = '';
  /** The directory (administrators only); null: not readable here, people are typed by user id. */
  directory: DirectoryUser[] | null = null;
  /** Training rooms this user may grant a recording to (those they may see). */
  trainingRooms: { id: string; title: string }[] = [];
  private readonly learners = new Map<string, Learner[]>();
  private readonly access = new Map<string, AccessPanel>();
  private confirming: string | null = null;

  constructor(
    private readonly api: LibraryApi,
    private readonly out: { changed(): void; open(roomId: string): void },
    private readonly dateText: (iso: string) => string = (iso) => new Date(iso).toLocaleString(),
  ) {}

  async load(): Promise<void> {
    try {
      this.recordings = await this.api.listRecordings();
      this.error = '';
    } catch (err) {
      this.error = plainMessage(err);
    }
    this.loaded = true;
    if (this.recordings.some((r) => recordingActs(r.access).grant)) {
      // The directory is for administrators; a host who recorded a session types user ids instead.
      this.directory = await this.api.directoryUsers().catch(() => null);
      const rooms = await this.api.listRooms().catch(() => []);
      this.trainingRooms = rooms.filter((r) => GRANTABLE_ROOM_KINDS.includes(r.kind)).map((r) => ({ id: r.id, title: r.title }));
    }
    this.out.changed();
  }

  rows(): RecordingRow[] {
    return this.recordings.map((r) => ({
      id: r.id,
      title: r.title,
      date: this.dateText(r.startedAt),
      duration: clockText(r.durationMs),
      audio: audioText(r.audio),
      markers: r.markers.length,
      mayManage: r.mayManage,
      acts: recordingActs(r.access),
      reason: REASONS[r.access],
      caseNote: r.caseDeleted ? 'Its case has been deleted: replays show the room without patient data.' : '',
      kept: r.expiresAt ? `kept until ${this.dateText(r.expiresAt)}` : 'kept until deleted',
      timeline: [...r.markers].sort((a, b) => a.t - b.t).map(markerText),
      learners: this.learners.get(r.id) ?? [],
      access: this.access.get(r.id) ?? null,
      confirmingDelete: this.confirming === r.id,
    }));
  }

  private acts(recordingId: string): RecordingActs | null {
    const r = this.recordings.find((x) => x.id === recordingId);
    return r ? recordingActs(r.access) : null;
  }

  private nameOf(userId: string): string {
    return this.directory?.find((u) => u.userId === userId)?.name ?? userId;
  }

  // ---- a group replay ------------------------------------------------------------------------

  /** Add a learner to a group replay (only for recordings this user manages); returns why not, or ''. */
  addLearner(recordingId: string, userId: string, role: LearnerRole): string {
    const id = userId.trim();
    if (!this.acts(recordingId)?.replayToGroup) return "Only the recording's host or an administrator opens it for a group.";
    if (!id) return 'Choose a learner.';
    const list = this.learners.get(recordingId) ?? [];
    this.learners.set(recordingId, [...list.filter((l) => l.userId !== id), { userId: id, name: this.nameOf(id), role }]);
    this.out.changed();
    return '';
  }

  removeLearner(recordingId: string, userId: string): void {
    this.learners.set(recordingId, (this.learners.get(recordingId) ?? []).filter((l) => l.userId !== userId));
    this.out.changed();
  }

  /** A private viewing. */
  openAlone(recordingId: string): Promise<void> {
    return this.open(recordingId, {});
  }

  /** A group session with the chosen learners (the opener drives the player). */
  openForGroup(recordingId: string): Promise<void> {
    const learners = this.learners.get(recordingId) ?? [];
    if (learners.length === 0) {
      this.error = 'Choose at least one learner first.';
      this.out.changed();
      return Promise.resolve();
    }
    return this.open(recordingId, { participants: learners.map((l) => ({ userId: l.userId, role: l.role })) });
  }

  private async open(recordingId: string, body: OpenReplayBody): Promise<void> {
    try {
      const room = await this.api.openReplay(recordingId, body);
      this.error = '';
      this.out.open(room.id);
    } catch (err) {
      this.error = plainMessage(err);
      this.out.changed();
    }
  }

  // ---- who may watch -------------------------------------------------------------------------

  /** Show or hide "who may watch" (read afresh each time it opens). */
  async toggleAccess(recordingId: string): Promise<void> {
    if (this.access.has(recordingId)) {
      this.access.delete(recordingId);
      this.out.changed();
      return;
    }
    if (!this.acts(recordingId)?.seeGrants) return;
    await this.reloadGrants(recordingId);
  }

  private async reloadGrants(recordingId: string): Promise<void> {
    this.access.set(recordingId, { grants: this.access.get(recordingId)?.grants ?? null, error: '', refusal: '' });
    this.out.changed();
    try {
      const g = await this.api.recordingGrants(recordingId);
      this.access.set(recordingId, {
        refusal: '',
        grants: [
          ...g.people.map((p): GrantRow => ({ kind: 'person', id: p.userId, name: this.nameOf(p.userId), access: grantAccessText(p), detail: `granted by ${p.grantedBy}` })),
          ...g.rooms.map((r): GrantRow => ({ kind: 'room', id: r.roomId, name: r.title, access: grantAccessText(r), detail: `training room · ${r.members} member${r.members === 1 ? '' : 's'} now · granted by ${r.grantedBy}` })),
        ],
        error: '',
      });
    } catch (err) {
      this.access.set(recordingId, { grants: null, error: plainMessage(err), refusal: '' });
    }
    this.out.changed();
  }

  /** Let a person watch it, as a student (de-identified) or a resident; returns why not, or ''. */
  async grantPerson(recordingId: string, userId: string, role: LearnerRole): Promise<string> {
    const id = userId.trim();
    if (!this.acts(recordingId)?.grant) return "Only the recording's host or an administrator decides who may watch it.";
    if (!id) return this.refuse(recordingId, 'Type a user id, or choose someone from the directory.');
    return this.act(recordingId, () => this.api.grantRecording(recordingId, { userId: id, role }));
  }

  /** Let a training room's participants watch it (each under their own access there, at most this role's); returns why not, or ''. */
  async grantRoom(recordingId: string, roomId: string, role: LearnerRole): Promise<string> {
    if (!this.acts(recordingId)?.grant) return "Only the recording's host or an administrator decides who may watch it.";
    if (!roomId) return this.refuse(recordingId, 'Choose a training room.');
    return this.act(recordingId, () => this.api.grantRecordingToRoom(recordingId, { roomId, role }));
  }

  /** Take a grant back: they lose the recording, and a replay of it they are watching stops at once. */
  async revoke(recordingId: string, grant: Pick<GrantRow, 'kind' | 'id'>): Promise<string> {
    if (!this.acts(recordingId)?.revoke) return "Only the recording's host or an administrator decides who may watch it.";
    return this.act(recordingId, () => (grant.kind === 'person' ? this.api.revokeRecording(recordingId, grant.id) : this.api.revokeRecordingRoom(recordingId, grant.id)));
  }

  private refuse(recordingId: string, why: string): string {
    const panel = this.access.get(recordingId);
    if (panel) panel.refusal = why;
    this.out.changed();
    return why;
  }

  private async act(recordingId: string, call: () => Promise<unknown>): Promise<string> {
    try {
      await call();
    } catch (err) {
      const why = grantRefusal(err);
      const panel = this.access.get(recordingId);
      if (panel) panel.refusal = why;
      this.out.changed();
      return why;
    }
    await this.reloadGrants(recordingId);
    return '';
  }

  // ---- deleting, after asking ------------------------------------------------------------------

  askDelete(recordingId: string): void {
    if (!this.acts(recordingId)?.delete) return;
    this.confirming = recordingId;
    this.out.changed();
  }

  cancelDelete(): void {
    this.confirming = null;
    this.out.changed();
  }

  /** Deletes only the recording the page is asking about (a second click elsewhere deletes nothing). */
  async confirmDelete(recordingId: string): Promise<void> {
    if (this.confirming !== recordingId) return;
    this.confirming = null;
    try {
      await this.api.deleteRecording(recordingId);
      this.recordings = this.recordings.filter((r) => r.id !== recordingId);
      this.access.delete(recordingId);
      this.learners.delete(recordingId);
      this.error = '';
    } catch (err) {
      this.error = plainMessage(err);
    }
    this.out.changed();
  }
}

/** A refused grant in words a clinician can act on. */
function grantRefusal(err: unknown): string {
  if (err instanceof ConsiliumError && err.code === 'SCOPE_ABOVE_CEILING') {
    return 'Nobody may watch a recording with more than its host could see when recording: grant it as a student (de-identified).';
  }
  if (err instanceof ConsiliumError && err.code === 'ROOM_NOT_FOUND') return 'That training room is not one you can see.';
  if (err instanceof ConsiliumError && err.code === 'NOT_FOUND') return 'That grant is already gone.';
  return plainMessage(err);
}
