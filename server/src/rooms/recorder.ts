import type { ClinicState } from '../../../shared/src/state.ts';
import { toRecord } from './scene-store.ts';
import { cloneScene, diffScene, emptyScene, encodeChunk, markersOf, type Marker, type RecEvent, type RecPerson, type RecScene } from '../domain/recording.ts';

/** Where a recording's chunks go (RecordingsRepo in production). */
export interface RecordingSink {
  appendChunk(id: string, c: { seq: number; startMs: number; endMs: number; data: Uint8Array }, markers: Marker[]): Promise<void>;
}

/** Poses every ~100 ms: the ~10 Hz the recording keeps of avatars. */
export const RECORD_TICK_MS = 100;
/** A keyframe every this many ms: a seek decodes at most one chunk. */
export const CHUNK_MS = 10_000;

export interface RecorderDeps {
  id: string;
  state: ClinicState;
  /** The latest pose message of a seat, or null (PoseRelay.latest). */
  poseOf: (sessionId: string) => Uint8Array | null;
  sink: RecordingSink;
  startedAt: number;
  chunkMs?: number;
  onError: (err: unknown) => void;
}

/**
 * Samples the live room at every tick into a recording: the scene now
 * (objects as their stored records, participants, presenter, poses), the
 * events since the last tick (domain/recording.ts diffScene) and the markers
 * they make. Every `chunkMs` a chunk is sealed — the keyframe it started with
 * and its events — and written in order. Socket-free; the clinic ticks it.
 */
export class Recorder {
  private scene: RecScene = emptyScene();
  private readonly numbers = new Map<string, number>();
  private nextNumber = 0;
  private seq = 0;
  private chunkStart = 0;
  private keyframe: RecScene = emptyScene();
  private events: RecEvent[] = [];
  private markers: Marker[] = [];
  private writes: Promise<void> = Promise.resolve();
  private lastT = 0;

  constructor(private readonly deps: RecorderDeps) {
    this.scene = this.capture();
    this.keyframe = cloneScene(this.scene);
    this.markers = markersOf(emptyScene(), diffScene(emptyScene(), this.scene, 0), (n) => this.scene.people.get(n)?.userId ?? '');
  }

  get id(): string {
    return this.deps.id;
  }

  private get chunkMs(): number {
    return this.deps.chunkMs ?? CHUNK_MS;
  }

  /** Sample the room at `now` (server ms). */
  tick(now: number): void {
    const t = Math.max(this.lastT, Math.round(now - this.deps.startedAt));
    this.lastT = t;
    const next = this.capture();
    const events = diffScene(this.scene, next, t);
    this.markers.push(...markersOf(this.scene, events, (n) => next.people.get(n)?.userId ?? this.scene.people.get(n)?.userId ?? ''));
    this.events.push(...events);
    this.scene = next;
    if (t - this.chunkStart >= this.chunkMs) this.seal(t);
  }

  /** Break-glass as metadata only (who, which act, which types), never its reason. */
  note(now: number, m: { userId: string; act: string; types: string[] }): void {
    this.events.push({ t: Math.max(this.lastT, Math.round(now - this.deps.startedAt)), k: 'g', m });
  }

  /** Sample once more, seal the last chunk, and resolve once everything is written: the recording's length. */
  async stop(now: number): Promise<number> {
    this.tick(now);
    if (this.events.length > 0 || this.lastT > this.chunkStart || this.seq === 0) this.seal(this.lastT);
    await this.writes;
    return this.lastT;
  }

  /** The scene as a recording sees it now. */
  private capture(): RecScene {
    const { state } = this.deps;
    const s = emptyScene();
    state.objects.forEach((o) => void s.objects.set(o.id, toRecord(o)));
    state.participants.forEach((p) => {
      const n = this.numberOf(p.sessionId);
      const person: RecPerson = {
        userId: p.userId,
        name: p.name,
        role: p.role,
        pointing: p.pointing,
        pointer: [p.pointer.px, p.pointer.py, p.pointer.pz, p.pointer.qx, p.pointer.qy, p.pointer.qz, p.pointer.qw],
      };
      s.people.set(n, person);
      const pose = this.deps.poseOf(p.sessionId);
      if (pose) s.poses.set(n, pose.slice());
    });
    for (const [sessionId, n] of this.numbers) if (!state.participants.has(sessionId) && !s.people.has(n)) this.numbers.delete(sessionId);
    const presenter = state.info.presenter;
    s.presenter = presenter && state.participants.has(presenter) ? this.numberOf(presenter) : -1;
    return s;
  }

  private numberOf(sessionId: string): number {
    let n = this.numbers.get(sessionId);
    if (n === undefined) this.numbers.set(sessionId, (n = this.nextNumber++));
    return n;
  }

  private seal(t: number): void {
    const chunk = { seq: this.seq++, startMs: this.chunkStart, endMs: t, keyframe: this.keyframe, events: this.events };
    const markers = this.markers;
    const data = encodeChunk(chunk);
    this.keyframe = cloneScene(this.scene);
    this.chunkStart = t;
    this.events = [];
    this.markers = [];
    this.writes = this.writes.then(() => this.deps.sink.appendChunk(this.deps.id, { seq: chunk.seq, startMs: chunk.startMs, endMs: chunk.endMs, data }, markers)).catch((err: unknown) => this.deps.onError(err));
  }
}
