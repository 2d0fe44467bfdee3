import { GhostState, SceneObjectState, type ClinicState } from '../../../shared/src/state.ts';
import type { SceneObjectRecord } from '../domain/storage.ts';
import { applyEvent, cloneScene, decodeChunk, sceneAt, type Chunk, type RecScene } from '../domain/recording.ts';
import { fromRecord } from './scene-store.ts';

/** Recorded objects live in the replay's scene under this prefix: the learners' own marks never collide with them. */
import { RECORDED_PREFIX } from '../../../shared/src/room-policy.ts';
export { RECORDED_PREFIX };
export const isRecordedObject = (id: string) => id.startsWith(RECORDED_PREFIX);
/** A recorded participant's key in `replay.ghosts`: `g<n>`, n as in the recording and the replay's pose frames. */
export const ghostKey = (n: number) => `g${n}`;

export interface RecordingSource {
  /** The encoded chunk holding instant t (the last one starting at or before it). */
  chunkAt(id: string, t: number): Promise<Uint8Array | null>;
}

export interface ReplayPlayerDeps {
  state: ClinicState;
  recordingId: string;
  durationMs: number;
  audio: string;
  source: RecordingSource;
  now: () => number;
  /** A recorded object entered or left the scene: views show it to whoever may see it (Disclosure). */
  objectAdded: (obj: SceneObjectState) => void;
  objectRemoved: (obj: SceneObjectState) => void;
}

/**
 * Plays a recording into a replay room's state: the recorded objects (under
 * RECORDED_PREFIX, with their author's access, so Disclosure filters them per
 * viewer exactly as in a live room), the recorded participants as ghosts
 * (who, where they pointed; their avatar poses go out apart, ghost-feed.ts),
 * and the recorded presenter. The host seeks, plays, pauses and sets the
 * speed; the scene at a position is the recorded scene at that instant
 * (keyframe + events). Socket-free; the clinic ticks it.
 */
export class ReplayPlayer {
  private scene: RecScene | null = null;
  private chunk: Chunk | null = null;
  /** Position (ms) the current scene is at. */
  private at = 0;
  private busy: Promise<void> = Promise.resolve();

  constructor(private readonly deps: ReplayPlayerDeps) {
    const r = deps.state.replay;
    r.recordingId = deps.recordingId;
    r.durationMs = deps.durationMs;
    r.audio = deps.audio;
    r.status = 'paused';
    r.speed = 1;
    r.positionMs = 0;
    r.at = deps.now();
  }

  /** Where the replay stands now. */
  position(): number {
    const r = this.deps.state.replay;
    const pos = r.status === 'playing' ? r.positionMs + (this.deps.now() - r.at) * r.speed : r.positionMs;
    return Math.min(Math.max(0, pos), this.deps.durationMs);
  }

  seek(ms: number): Promise<void> {
    const target = Math.min(Math.max(0, ms), this.deps.durationMs);
    const r = this.deps.state.replay;
    r.positionMs = target;
    r.at = this.deps.now();
    if (r.status === 'ended') r.status = 'paused';
    return this.show(target, true);
  }

  play(): void {
    const r = this.deps.state.replay;
    if (r.status === 'playing') return;
    r.positionMs = r.status === 'ended' ? 0 : this.position();
    if (r.status === 'ended') void this.show(0, true);
    r.at = this.deps.now();
    r.status = 'playing';
  }

  pause(): void {
    const r = this.deps.state.replay;
    r.positionMs = this.position();
    r.at = this.deps.now();
    if (r.status === 'playing') r.status = 'paused';
  }

  setSpeed(speed: number): void {
    const r = this.deps.state.replay;
    r.positionMs = this.position();
    r.at = this.deps.now();
    r.speed = speed;
  }

  /** Advance while playing (the clinic calls this every ~100 ms). */
  tick(): Promise<void> {
    const r = this.deps.state.replay;
    if (r.status !== 'playing') return this.busy;
    const pos = this.position();
    if (pos >= this.deps.durationMs) {
      r.positionMs = this.deps.durationMs;
      r.at = this.deps.now();
      r.status = 'ended';
    }
    return this.show(pos, false);
  }

  /** Make the room show the recorded scene at `t`. Serialized: a seek during a tick waits for it. */
  private show(t: number, jump: boolean): Promise<void> {
    this.busy = this.busy.then(() => this.showNow(t, jump));
    return this.busy;
  }

  private async showNow(t: number, jump: boolean): Promise<void> {
    const c = this.chunk;
    if (!jump && c && this.scene && t >= this.at && t <= c.endMs) {
      // Onward within the chunk: only the events since the last position.
      for (const e of c.events) if (e.t > this.at && e.t <= t) applyEvent(this.scene, e);
    } else {
      const chunk = c && t >= c.startMs && t <= c.endMs && (t < this.at || jump) ? c : await this.load(t);
      if (!chunk) return;
      this.chunk = chunk;
      this.scene = sceneAt(chunk, t);
    }
    this.at = t;
    this.apply(this.scene);
  }

  private async load(t: number): Promise<Chunk | null> {
    const data = await this.deps.source.chunkAt(this.deps.recordingId, t);
    return data ? decodeChunk(data) : null;
  }

  /** The recorded scene of this instant, into the synced state (only what differs changes). */
  private apply(scene: RecScene): void {
    const { state } = this.deps;
    const seen = new Set<string>();
    for (const rec of scene.objects.values()) {
      const id = RECORDED_PREFIX + rec.id;
      seen.add(id);
      const existing = state.objects.get(id);
      if (existing) assign(existing, rec);
      else {
        const obj = fromRecord({ ...rec, id });
        state.objects.set(id, obj);
        this.deps.objectAdded(obj);
      }
    }
    for (const [id, obj] of [...state.objects]) {
      if (!isRecordedObject(id) || seen.has(id)) continue;
      state.objects.delete(id);
      this.deps.objectRemoved(obj);
    }
    const ghosts = state.replay.ghosts;
    for (const [n, p] of scene.people) {
      const key = ghostKey(n);
      let g = ghosts.get(key);
      if (!g) ghosts.set(key, (g = new GhostState()));
      if (g.userId !== p.userId) g.userId = p.userId;
      if (g.name !== p.name) g.name = p.name;
      if (g.role !== p.role) g.role = p.role;
      if (g.pointing !== p.pointing) g.pointing = p.pointing;
      const q = g.pointer;
      const [px, py, pz, qx, qy, qz, qw] = p.pointer as [number, number, number, number, number, number, number];
      if (q.px !== px) q.px = px;
      if (q.py !== py) q.py = py;
      if (q.pz !== pz) q.pz = pz;
      if (q.qx !== qx) q.qx = qx;
      if (q.qy !== qy) q.qy = qy;
      if (q.qz !== qz) q.qz = qz;
      if (q.qw !== qw) q.qw = qw;
    }
    for (const key of [...ghosts.keys()]) if (!scene.people.has(Number(key.slice(1)))) ghosts.delete(key);
    const presenter = scene.presenter >= 0 ? ghostKey(scene.presenter) : '';
    if (state.replay.presenter !== presenter) state.replay.presenter = presenter;
  }

  /** The scene now shown (a copy), for checks. */
  shownScene(): RecScene | null {
    return this.scene ? cloneScene(this.scene) : null;
  }
}

function assign(obj: SceneObjectState, rec: SceneObjectRecord): void {
  const target = obj as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(rec)) {
    if (k === 'id') continue;
    if (target[k] !== v) target[k] = v;
  }
}
