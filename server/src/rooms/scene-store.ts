import type { MapSchema } from '@colyseus/schema';
import { SceneObjectState } from '../../../shared/src/state.ts';
import type { AnchorState } from '../../../shared/src/state.ts';
import type { AnchorRecord, SceneObjectRecord, SceneStorage } from '../domain/storage.ts';
import type { SafeTransform } from '../domain/transform.ts';

/**
 * Keeps the synced scene and PostgreSQL in step. Adds, removes and releases
 * are written before they are acknowledged; continuous moves are coalesced
 * and flushed periodically, on release, and when the room closes. All writes
 * go through one queue so they reach the database in the order they happened.
 */
export class SceneStore {
  private readonly dirty = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly roomId: string,
    private readonly repo: SceneStorage,
    readonly objects: MapSchema<SceneObjectState>,
    private readonly anchor: AnchorState,
  ) {}

  async load(): Promise<void> {
    for (const rec of await this.repo.load(this.roomId)) this.objects.set(rec.id, fromRecord(rec));
    const a = await this.repo.loadAnchor(this.roomId);
    if (a) setAnchor(this.anchor, a);
  }

  /** Register the patient frame: durable first, then in the state. */
  async saveAnchor(a: AnchorRecord): Promise<void> {
    await this.enqueue(() => this.repo.saveAnchor(this.roomId, a));
    setAnchor(this.anchor, a);
  }

  get size(): number {
    return this.objects.size;
  }

  get(id: string): SceneObjectState | undefined {
    return this.objects.get(id);
  }

  /** Add to the scene and persist; on a database failure the object is taken out again. */
  async add(rec: SceneObjectRecord): Promise<SceneObjectState> {
    const obj = fromRecord(rec);
    this.objects.set(rec.id, obj);
    try {
      await this.enqueue(() => this.repo.upsert(this.roomId, [rec]));
    } catch (err) {
      if (this.objects.get(rec.id) === obj) this.objects.delete(rec.id);
      throw err;
    }
    return obj;
  }

  /** Remove from the scene and the database; on failure the object is put back. */
  async remove(id: string): Promise<void> {
    const obj = this.objects.get(id);
    if (!obj) return;
    this.objects.delete(id);
    this.dirty.delete(id);
    try {
      await this.enqueue(() => this.repo.remove(this.roomId, id));
    } catch (err) {
      if (!this.objects.has(id)) this.objects.set(id, obj);
      throw err;
    }
  }

  setTransform(obj: SceneObjectState, t: SafeTransform): void {
    [obj.px, obj.py, obj.pz] = t.position;
    [obj.qx, obj.qy, obj.qz, obj.qw] = t.rotation;
    [obj.sx, obj.sy, obj.sz] = t.scale;
    this.dirty.add(obj.id);
  }

  /** Persist one object now (after a release), together with anything else pending. */
  async persist(id: string): Promise<void> {
    this.dirty.add(id);
    await this.flush();
  }

  /** Write every pending move. Failed writes stay pending for the next flush. */
  async flush(): Promise<void> {
    if (this.dirty.size === 0) return this.enqueue(async () => {});
    const ids = [...this.dirty];
    this.dirty.clear();
    const records = ids.flatMap((id) => {
      const obj = this.objects.get(id);
      return obj ? [toRecord(obj)] : [];
    });
    try {
      await this.enqueue(() => this.repo.upsert(this.roomId, records));
    } catch (err) {
      ids.forEach((id) => this.dirty.add(id));
      throw err;
    }
  }

  private enqueue<T>(write: () => Promise<T>): Promise<T> {
    const next = this.queue.then(write, write);
    this.queue = next.catch(() => {});
    return next;
  }
}

function setAnchor(s: AnchorState, a: AnchorRecord): void {
  [s.px, s.py, s.pz] = a.p;
  [s.qx, s.qy, s.qz, s.qw] = a.q;
  s.setBy = a.setBy;
  s.setAt = a.setAt;
  s.version = a.version;
}

export function fromRecord(rec: SceneObjectRecord): SceneObjectState {
  const obj = new SceneObjectState();
  obj.id = rec.id;
  obj.kind = rec.kind;
  obj.asset = rec.asset;
  obj.label = rec.label;
  obj.hasText = rec.label !== '';
  obj.createdBy = rec.createdBy;
  obj.authorScope = rec.authorScope;
  obj.resourceRef = rec.resourceRef;
  obj.points = rec.points;
  obj.color = rec.color;
  obj.frame = rec.frame;
  obj.sentAt = rec.sentAt;
  obj.videoTime = rec.videoTime;
  obj.ackedAt = rec.ackedAt;
  obj.ackedBy = rec.ackedBy;
  obj.dismissed = rec.dismissed;
  obj.slice = rec.slice;
  obj.px = rec.px; obj.py = rec.py; obj.pz = rec.pz;
  obj.qx = rec.qx; obj.qy = rec.qy; obj.qz = rec.qz; obj.qw = rec.qw;
  obj.sx = rec.sx; obj.sy = rec.sy; obj.sz = rec.sz;
  obj.grabbedBy = '';
  return obj;
}

export function toRecord(obj: SceneObjectState): SceneObjectRecord {
  return {
    id: obj.id,
    kind: obj.kind,
    asset: obj.asset,
    label: obj.label ?? '',
    createdBy: obj.createdBy,
    authorScope: obj.authorScope ?? '',
    resourceRef: obj.resourceRef ?? '',
    points: obj.points ?? '',
    color: obj.color ?? '',
    frame: obj.frame ?? 'world',
    sentAt: obj.sentAt ?? 0,
    videoTime: obj.videoTime ?? 0,
    ackedAt: obj.ackedAt ?? 0,
    ackedBy: obj.ackedBy ?? '',
    dismissed: obj.dismissed ?? false,
    slice: obj.slice ?? '',
    px: obj.px, py: obj.py, pz: obj.pz,
    qx: obj.qx, qy: obj.qy, qz: obj.qz, qw: obj.qw,
    sx: obj.sx, sy: obj.sy, sz: obj.sz,
  };
}
