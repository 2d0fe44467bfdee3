import { randomUUID } from 'node:crypto';
import type { ReplayControl } from '../../../shared/src/messages.ts';
import type { ClientReply } from '../../../shared/src/messages.ts';
import type { ClinicState, SceneObjectState } from '../../../shared/src/state.ts';
import type { z } from 'zod';
import type { AuditEvent } from '../audit/audit-log.ts';
import type { AudioRecorder } from '../media/egress.ts';
import { GhostFeed, type GhostFeedDeps } from './ghost-feed.ts';
import { RECORD_TICK_MS, Recorder } from './recorder.ts';
import { ReplayPlayer } from './replay-player.ts';
import { fail, ok, type Actor, type CommandResult } from './types.ts';
import type { LiveRoomRecord, RecordingStore } from '../domain/storage.ts';

/** What recording needs of PostgreSQL: declared with the engine's storage (RecordingsRepo implements it). */
export type { RecordingStore };

export interface TeachingDeps {
  state: ClinicState;
  roomId: string;
  record: () => LiveRoomRecord;
  caseId: () => string | null;
  store: RecordingStore | null;
  /** LiveKit egress for the voice; null: recordings have no audio (and say so). */
  audio: AudioRecorder | null;
  poseOf: (sessionId: string) => Uint8Array | null;
  scopeOf: (userId: string) => string;
  audit: (e: AuditEvent) => Promise<void>;
  now: () => number;
  timer: (fn: () => void, ms: number) => void;
  objectAdded: (obj: SceneObjectState) => void;
  objectRemoved: (obj: SceneObjectState) => void;
  /** Where a replay's recorded avatars go (the seats, and their binary path). */
  ghosts: Pick<GhostFeedDeps, 'header' | 'seats' | 'ready' | 'send'>;
  onError: (err: unknown, what: string) => void;
  retentionDays: number | null;
}

/**
 * Teaching in a room: recording (with consent: only where an administrator
 * allowed it, started and stopped by the host, shown to everyone in
 * `info.recording`, audited) and, in a replay room, the player.
 */
export class Teaching {
  private recorder: Recorder | null = null;
  private egressId: string | null = null;
  /** When the running recording started (server ms): its time 0. */
  private startedAt = 0;
  private player: ReplayPlayer | null = null;
  private feed: GhostFeed | null = null;
  private stopping: Promise<unknown> = Promise.resolve();
  private closed = false;
  private looping = false;

  constructor(private readonly deps: TeachingDeps) {}

  /** Called once the room opens: recordings an earlier instance left running are ended; a replay room loads its recording. */
  async open(): Promise<void> {
    const { deps } = this;
    deps.state.info.recordingAllowed = deps.record().recordingAllowed;
    if (!deps.store) return;
    await deps.store.closeOpen(deps.roomId);
    const r = deps.record();
    if (r.kind !== 'replay' || !r.recordingId) return;
    const rec = await deps.store.get(r.recordingId);
    if (!rec) return;
    this.player = new ReplayPlayer({
      state: deps.state,
      recordingId: rec.id,
      durationMs: rec.durationMs,
      audio: rec.audio,
      source: deps.store,
      now: deps.now,
      objectAdded: deps.objectAdded,
      objectRemoved: deps.objectRemoved,
    });
    await this.player.seek(0);
    const player = this.player;
    this.feed = new GhostFeed({
      ...deps.ghosts,
      recordingId: rec.id,
      durationMs: rec.durationMs,
      source: deps.store,
      now: deps.now,
      clock: () => ({ positionMs: player.position(), speed: deps.state.replay.speed, playing: deps.state.replay.status === 'playing' }),
    });
    await this.feed.reset();
    this.loop();
  }

  /** A seat joined or came back: in a replay, it gets every recorded avatar where it is now. */
  seatOpened(sessionId: string): void {
    this.feed?.seatOpened(sessionId);
  }

  seatClosed(sessionId: string): void {
    this.feed?.seatClosed(sessionId);
  }

  get recordingId(): string | null {
    return this.recorder?.id ?? null;
  }

  /** The recording a replay room plays (null elsewhere). */
  get replaying(): string | null {
    return this.player ? this.deps.state.replay.recordingId : null;
  }

  /** The room's setting changed: recording stops at once when it is no longer allowed. */
  settingsChanged(by: string): void {
    const allowed = this.deps.record().recordingAllowed;
    this.deps.state.info.recordingAllowed = allowed;
    if (!allowed && this.recorder) void this.stop({ sessionId: '', userId: by, name: by, role: 'host' }, 'not-allowed');
  }

  async start(actor: Actor): Promise<CommandResult<ClientReply<'recording.start'>>> {
    const { deps } = this;
    if (!deps.store || !deps.record().recordingAllowed) return fail('RECORDING_NOT_ALLOWED');
    if (this.recorder) return fail('RECORDING_ACTIVE');
    const id = randomUUID();
    const startedAt = deps.now();
    this.startedAt = startedAt;
    const record = deps.record();
    await deps.store.begin({ id, roomId: deps.roomId, caseId: deps.caseId(), title: record.title, startedBy: actor.userId, hostScope: deps.scopeOf(actor.userId), chunkMs: 10_000, retentionDays: deps.retentionDays });
    await deps.audit({ actor: actor.userId, action: 'recording.start', roomId: deps.roomId, caseId: deps.caseId(), details: { recordingId: id, participants: deps.state.participants.size } });
    this.recorder = new Recorder({ id, state: deps.state, poseOf: deps.poseOf, sink: deps.store, startedAt, onError: (err) => deps.onError(err, 'recording chunk write failed') });
    deps.state.info.recording = id;
    let audio: 'none' | 'egress' | 'failed' = 'none';
    if (deps.audio) {
      try {
        this.egressId = await deps.audio.start(deps.roomId, id);
        audio = 'egress';
      } catch (err) {
        deps.onError(err, 'voice egress did not start; the recording has no audio');
        audio = 'failed';
      }
      await deps.store.setAudio(id, audio, this.egressId);
    }
    this.loop();
    return ok({ recordingId: id, audio });
  }

  async stop(actor: Actor, reason: 'host' | 'not-allowed' | 'room-closed' = 'host'): Promise<CommandResult<ClientReply<'recording.stop'>>> {
    const { deps } = this;
    const recorder = this.recorder;
    if (!recorder || !deps.store) return fail('NOT_RECORDING');
    this.recorder = null;
    deps.state.info.recording = '';
    const egressId = this.egressId;
    const startedAt = this.startedAt;
    this.egressId = null;
    const done = (async () => {
      const durationMs = await recorder.stop(deps.now());
      await deps.store!.finish(recorder.id, durationMs);
      if (egressId && deps.audio) {
        const egress = await deps.audio.stop(egressId).catch((err: unknown) => void deps.onError(err, 'voice egress did not stop'));
        // The voice began when the egress went active: a replay plays the file from (position − this).
        if (egress?.startedAt) await deps.store!.setAudioOffset(recorder.id, egress.startedAt - startedAt);
      }
      await deps.audit({ actor: actor.userId, action: 'recording.stop', roomId: deps.roomId, caseId: deps.caseId(), details: { recordingId: recorder.id, durationMs, reason } });
      return durationMs;
    })();
    this.stopping = done.catch((err: unknown) => deps.onError(err, 'recording did not stop cleanly'));
    const durationMs = await done;
    return ok({ recordingId: recorder.id, durationMs });
  }

  async control(msg: z.infer<typeof ReplayControl>): Promise<CommandResult<ClientReply<'replay.control'>>> {
    const player = this.player;
    if (!player) return fail('NOT_A_REPLAY');
    const fromTheEnd = this.deps.state.replay.status === 'ended';
    if (msg.action === 'play') player.play();
    else if (msg.action === 'pause') player.pause();
    else if (msg.action === 'speed') player.setSpeed(msg.speed);
    else await player.seek(msg.positionMs);
    // The recorded avatars start over where the replay jumped to (a seek, or playing again from the end).
    if (msg.action === 'seek' || (msg.action === 'play' && fromTheEnd)) await this.feed?.reset();
    else void this.feed?.flush();
    const r = this.deps.state.replay;
    return ok({ status: r.status, positionMs: player.position(), speed: r.speed });
  }

  /** Break-glass, as metadata only, when recording. */
  breakGlass(userId: string, act: string, types: readonly string[]): void {
    this.recorder?.note(this.deps.now(), { userId, act, types: [...types] });
  }

  /** The room is going away: a running recording ends with it. */
  dispose(): void {
    this.closed = true;
    if (this.recorder) void this.stop({ sessionId: '', userId: 'system', name: 'system', role: 'host' }, 'room-closed');
  }

  /** Resolves once a stopping recording is fully written. */
  settled(): Promise<unknown> {
    return this.stopping;
  }

  /** Sample the recording and advance the replay at ~10 Hz while either runs. */
  private loop(): void {
    if (this.looping || !this.ticking()) return;
    this.looping = true;
    this.deps.timer(() => {
      this.looping = false;
      try {
        this.recorder?.tick(this.deps.now());
        void this.player?.tick().catch((err: unknown) => this.deps.onError(err, 'replay tick failed'));
        void this.feed?.flush().catch((err: unknown) => this.deps.onError(err, 'replay avatars failed'));
      } finally {
        this.loop();
      }
    }, RECORD_TICK_MS);
  }

  private ticking(): boolean {
    return !this.closed && (this.recorder !== null || this.player !== null);
  }
}
