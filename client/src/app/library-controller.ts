import type { DirectoryUser, OpenReplayBody, RecordingDto } from '../../../shared/src/http.ts';
import type { RoomDto } from '../../../shared/src/http.ts';
import { plainMessage } from './plain-errors.ts';

/** What the library page uses of the HTTP API (ConsiliumApi): a test hands in a stand-in with the same shape. */
export interface LibraryApi {
  listRecordings(): Promise<RecordingDto[]>;
  openReplay(id: string, body?: OpenReplayBody): Promise<Pick<RoomDto, 'id'>>;
  directoryUsers(q?: string): Promise<DirectoryUser[]>;
}

/** A learner's access in a group replay: a student sees the de-identified case (observer), a resident the identified one (clinician). */
export type LearnerRole = 'observer' | 'clinician';
export interface Learner {
  userId: string;
  name: string;
  role: LearnerRole;
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
  learners: Learner[];
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

/**
 * The recordings library, without DOM: the recordings this user may watch (the server decides which),
 * opening one alone, and — for those who manage a recording — choosing learners from the directory
 * (administrators) or by user id, each as a student (de-identified) or a resident, and opening it for them.
 */
export class LibraryController {
  recordings: RecordingDto[] = [];
  loaded = false;
  error = '';
  /** The directory (administrators only); null: not readable here, learners are typed by user id. */
  directory: DirectoryUser[] | null = null;
  private readonly learners = new Map<string, Learner[]>();

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
    if (this.recordings.some((r) => r.mayManage)) {
      // The directory is for administrators; a host who recorded a session types the learners' ids instead.
      this.directory = await this.api.directoryUsers().catch(() => null);
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
      learners: this.learners.get(r.id) ?? [],
    }));
  }

  /** Add a learner to a group replay (only for recordings this user manages); returns why not, or ''. */
  addLearner(recordingId: string, userId: string, role: LearnerRole): string {
    const id = userId.trim();
    if (!this.recordings.find((r) => r.id === recordingId)?.mayManage) return 'Only the recording\'s host or an administrator opens it for a group.';
    if (!id) return 'Choose a learner.';
    const list = this.learners.get(recordingId) ?? [];
    const name = this.directory?.find((u) => u.userId === id)?.name ?? id;
    this.learners.set(recordingId, [...list.filter((l) => l.userId !== id), { userId: id, name, role }]);
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
}
