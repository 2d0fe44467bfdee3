import { UserId, type OpenReplayBody, type RecordingDto, type RecordingGrantBody, type RecordingGrantsDto, type RecordingMarkerDto, type RecordingPersonDto, type RecordingRoomGrantBody, type RoomDto } from '../../../shared/src/http.ts';
import { authorizeRecordingAction, GRANTABLE_ROOM_KINDS, type LearnerRole, type RecordingRelation } from '../../../shared/src/recording-policy.ts';
import { ConsiliumError } from '../sdk/errors.ts';
import { PeoplePicker } from './people-picker.ts';
import { plainMessage } from './plain-errors.ts';
import { HIDDEN_REASON } from './scene-list.ts';

export type { LearnerRole };

/** What the library page uses of the HTTP API (ConsiliumApi): a test hands in a stand-in with the same shape. */
export interface LibraryApi {
  listRecordings(): Promise<RecordingDto[]>;
  openReplay(id: string, body?: OpenReplayBody): Promise<Pick<RoomDto, 'id'>>;
  /** People who have signed in, by part of name or id, for a recording this user manages. */
  findPeople(id: string, q: string): Promise<RecordingPersonDto[]>;
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
  /** The person's display name (their user id when nobody by it has signed in since), or the training room's title. */
  name: string;
  /** "student (de-identified)", "resident (identified)", or the role and its explicit scopes. */
  access: string;
  /** "user id stu.1 · granted by Dr. Okafor", "training room · 3 members now · granted by Dr. Okafor". */
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
 * A timeline marker in words, naming people by `nameOf` (their display name; the id when unknown). An
 * annotation's text appears only when the server sent it (the viewer's access covers its author's);
 * otherwise the live room's placeholder — who, what, "hidden by your access".
 */
export function markerText(m: RecordingMarkerDto, nameOf: (userId: string) => string = (id) => id): string {
  const at = clockText(m.t);
  const who = nameOf(m.who);
  switch (m.kind) {
    case 'join':
      return `${at} ${who} joined`;
    case 'presenter':
      return `${at} ${who} started presenting`;
    case 'pointing':
      return `${at} ${who} started pointing`;
    case 'annotation': {
      const what = (m.what && WHAT[m.what]) || 'Annotation';
      if (m.hidden) return `${at} ${what} by ${who} — ${HIDDEN_REASON}`;
      return m.text ? `${at} ${what} by ${who}: “${m.text}”` : `${at} ${what} by ${who}`;
    }
  }
}

/** "student (de-identified)" / "resident (identified)" for the two learner grants; otherwise the role and scopes. */
export function grantAccessText(g: { role: string; scopes: string[] | null }): string {
  if (g.scopes === null && g.role === 'observer') return 'student (de-identified)';
  if (g.scopes === null && g.role === 'clinician') return 'resident (identified)';
  return g.scopes ? `${g.role}: ${g.scopes.join(' ')}` : g.role;
}

/** The two places a manager finds a person: to seat them in a group replay, and to let them watch. */
export type PickerPurpose = 'learner' | 'grant';

/**
 * The recordings library, without DOM: the recordings this user may watch (the server decides which),
 * opening one alone, and — for those who manage a recording (its host, an administrator; the shared
 * rule decides the buttons, the server every act) — a group replay with learners, who may watch it
 * (people found by name, or by exact user id; training rooms), revoking, and deleting it after asking.
 * People are shown by the names the server sends with what it shows (the id when it knows none).
 */
export class LibraryController {
  recordings: RecordingDto[] = [];
  loaded = false;
  error = '';
  /** Training rooms this user may grant a recording to (those they may see). */
  trainingRooms: { id: string; title: string }[] = [];
  private readonly learners = new Map<string, Learner[]>();
  private readonly access = new Map<string, AccessPanel>();
  private readonly pickers = new Map<string, PeoplePicker>();
  /** user id → display name: from the recordings, their grants and the people picked. */
  private readonly names = new Map<string, string>();
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
    for (const r of this.recordings) this.learnNames(r.names);
    if (this.recordings.some((r) => recordingActs(r.access).grant)) {
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
      timeline: [...r.markers].sort((a, b) => a.t - b.t).map((m) => markerText(m, (id) => this.nameOf(id))),
      learners: this.learners.get(r.id) ?? [],
      access: this.access.get(r.id) ?? null,
      confirmingDelete: this.confirming === r.id,
    }));
  }

  private acts(recordingId: string): RecordingActs | null {
    const r = this.recordings.find((x) => x.id === recordingId);
    return r ? recordingActs(r.access) : null;
  }

  /** The person's display name; their user id when the server named nobody by it. */
  nameOf(userId: string): string {
    return this.names.get(userId) ?? userId;
  }

  private learnNames(names: Record<string, string>): void {
    for (const [id, name] of Object.entries(names)) this.names.set(id, name);
  }

  /**
   * The person search of one form of a recording this user manages (its learners, its grants): kept here, so
   * what was typed and found outlives the page's redraws. The server decides who may search (find-people).
   */
  picker(recordingId: string, purpose: PickerPurpose, delayMs?: number): PeoplePicker {
    const key = `${purpose}:${recordingId}`;
    let p = this.pickers.get(key);
    if (!p) {
      // Searching again is moving on from the last refused grant: its refusal goes.
      const changed = () => {
        const panel = purpose === 'grant' ? this.access.get(recordingId) : undefined;
        if (panel) panel.refusal = '';
        this.out.changed();
      };
      p = new PeoplePicker((q) => this.api.findPeople(recordingId, q), { changed, picked: (person) => this.names.set(person.userId, person.name) }, delayMs);
      this.pickers.set(key, p);
    }
    return p;
  }

  // ---- a group replay ------------------------------------------------------------------------

  /** Add a learner to a group replay (only for recordings this user manages): picked by name, or typed by exact user id; returns why not, or ''. */
  addLearner(recordingId: string, userId: string, role: LearnerRole): string {
    const id = userId.trim();
    if (!this.acts(recordingId)?.replayToGroup) return "Only the recording's host or an administrator opens it for a group.";
    if (!id) return 'Choose a learner.';
    if (!UserId.safeParse(id).success) return `Pick the learner from the names found for “${id}”, or type their exact user id.`;
    const list = this.learners.get(recordingId) ?? [];
    this.learners.set(recordingId, [...list.filter((l) => l.userId !== id), { userId: id, name: this.nameOf(id), role }]);
    this.pickers.get(`learner:${recordingId}`)?.reset();
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
      this.learnNames(g.names);
      this.access.set(recordingId, {
        refusal: '',
        grants: [
          ...g.people.map((p): GrantRow => ({ kind: 'person', id: p.userId, name: this.nameOf(p.userId), access: grantAccessText(p), detail: `user id ${p.userId} · granted by ${this.nameOf(p.grantedBy)}` })),
          ...g.rooms.map((r): GrantRow => ({ kind: 'room', id: r.roomId, name: r.title, access: grantAccessText(r), detail: `training room · ${r.members} member${r.members === 1 ? '' : 's'} now · granted by ${this.nameOf(r.grantedBy)}` })),
        ],
        error: '',
      });
    } catch (err) {
      this.access.set(recordingId, { grants: null, error: plainMessage(err), refusal: '' });
    }
    this.out.changed();
  }

  /**
   * Let a person watch it, as a student (de-identified) or a resident: `userId` as picked by name, or typed
   * exactly; returns why not, or ''. Once granted, the form's search is empty again.
   */
  async grantPerson(recordingId: string, userId: string, role: LearnerRole): Promise<string> {
    const id = userId.trim();
    if (!this.acts(recordingId)?.grant) return "Only the recording's host or an administrator decides who may watch it.";
    if (!id) return this.refuse(recordingId, 'Type a name and pick the person, or type their exact user id.');
    if (!UserId.safeParse(id).success) return this.refuse(recordingId, `Pick the person from the names found for “${id}”, or type their exact user id.`);
    const why = await this.act(recordingId, () => this.api.grantRecording(recordingId, { userId: id, role }));
    if (!why) {
      this.pickers.get(`grant:${recordingId}`)?.reset();
      this.out.changed();
    }
    return why;
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
  if (err instanceof ConsiliumError && err.code === 'USER_NOT_FOUND') {
    return 'Nobody with that user id has signed in to Consilium: check the spelling, or type their name and pick them. Someone who has never signed in must do so once first.';
  }
  return plainMessage(err);
}
