import type { RecordingMarkerDto } from '../../../shared/src/http.ts';
import type { RoomKind, RoomRole } from '../../../shared/src/roles.ts';
import { authorizeRoomAction } from '../../../shared/src/room-policy.ts';
import type { ClinicSession } from '../sdk/session.ts';
import { clockText } from './library-controller.ts';

/** What the player uses of the SDK session (a fake with a real ClinicState drives it in unit tests). */
export type ReplaySession = Pick<ClinicSession, 'state' | 'request'>;

export const SPEEDS = [0.25, 0.5, 1, 1.5, 2, 4] as const;

const MARKER_WORDS: Record<RecordingMarkerDto['kind'], string> = {
  annotation: 'annotated',
  presenter: 'started presenting',
  join: 'joined',
  pointing: 'started pointing',
};

export interface MarkerRow {
  t: number;
  kind: RecordingMarkerDto['kind'];
  /** "0:12 Dr. Adams annotated". */
  label: string;
  /** Where on the timeline, 0–100 %. */
  atPct: number;
  /** Already played (at or before the position). */
  passed: boolean;
}

/**
 * The player of a replay room, without DOM: where the replay stands now (from the synced `replay`
 * state, running on while it plays), the educator's controls (`replay.control`, for whoever the
 * shared room-policy table lets drive: the replay's host — the server still decides), and the
 * timeline's markers (annotations, presenter changes, joins, pointing starts; the server already
 * left out those of annotations this viewer may not see).
 */
export class ReplayController {
  error = '';

  constructor(
    private readonly session: ReplaySession,
    private readonly role: RoomRole,
    private readonly recordedMarkers: RecordingMarkerDto[],
    private readonly out: { changed(): void },
    /** The server's clock as this client estimates it (`at` in the state is server time). */
    private readonly serverNow: () => number = Date.now,
  ) {}

  private get r() {
    return this.session.state.replay;
  }

  /** Only the replay's host drives it; learners follow. */
  get drives(): boolean {
    return authorizeRoomAction(this.role, 'replay.control', { roomKind: this.session.state.info.kind as RoomKind }).allow;
  }

  get status(): string {
    return this.r.status;
  }

  get playing(): boolean {
    return this.r.status === 'playing';
  }

  get speed(): number {
    return this.r.speed;
  }

  get durationMs(): number {
    return this.r.durationMs;
  }

  /** The position now: runs on from the last control while playing, never past the end. */
  positionMs(): number {
    const r = this.r;
    const pos = r.status === 'playing' ? r.positionMs + Math.max(0, this.serverNow() - r.at) * r.speed : r.positionMs;
    return Math.min(r.durationMs, Math.max(0, pos));
  }

  /** "1:05 / 3:00". */
  timeText(): string {
    return `${clockText(this.positionMs())} / ${clockText(this.durationMs)}`;
  }

  get audioText(): string {
    return this.r.audio === 'egress' ? 'Audio was recorded (played separately)' : 'No audio: this recording has none';
  }

  /** What a learner is told instead of the controls. */
  get followText(): string {
    const what = this.playing ? `playing at ${this.speed}×` : this.r.status === 'ended' ? 'at the end' : 'paused';
    return `The educator controls the replay (${what}); you follow, and may look around, point and annotate.`;
  }

  /** Who was in the recorded room at this instant, by name, the presenter marked. */
  recordedPeople(): string[] {
    return [...this.r.ghosts.entries()].map(([key, g]) => `${g.name}${key === this.r.presenter ? ' (presenting)' : ''}`);
  }

  private nameOf(userId: string): string {
    for (const g of this.r.ghosts.values()) if (g.userId === userId) return g.name;
    return userId;
  }

  markers(): MarkerRow[] {
    const d = this.durationMs || 1;
    const pos = this.positionMs();
    return [...this.recordedMarkers]
      .sort((a, b) => a.t - b.t)
      .map((m) => ({ t: m.t, kind: m.kind, label: `${clockText(m.t)} ${this.nameOf(m.who)} ${MARKER_WORDS[m.kind]}`, atPct: Math.min(100, (m.t / d) * 100), passed: m.t <= pos }));
  }

  // ---- the educator's controls --------------------------------------------------------------------

  playPause(): Promise<void> {
    return this.control(this.playing ? { action: 'pause' } : { action: 'play' });
  }

  seek(positionMs: number): Promise<void> {
    return this.control({ action: 'seek', positionMs: Math.min(this.durationMs, Math.max(0, Math.round(positionMs))) });
  }

  setSpeed(speed: number): Promise<void> {
    return this.control({ action: 'speed', speed });
  }

  private async control(payload: { action: 'play' } | { action: 'pause' } | { action: 'seek'; positionMs: number } | { action: 'speed'; speed: number }): Promise<void> {
    if (!this.drives) return;
    const reply = await this.session.request('replay.control', payload);
    this.error = reply.ok ? '' : reply.error.message;
    this.out.changed();
  }
}
