import type { AnchorRecord, SceneObjectRecord, SceneStorage } from '../domain/storage.ts';
import type { Pool } from './pool.ts';

export type { AnchorRecord, SceneObjectRecord };

const COLUMNS = ['id', 'kind', 'asset', 'label', 'created_by', 'author_scope', 'resource_ref', 'points', 'color', 'frame', 'sent_at', 'video_time', 'acked_at', 'acked_by', 'dismissed', 'slice', 'px', 'py', 'pz', 'qx', 'qy', 'qz', 'qw', 'sx', 'sy', 'sz'] as const;

function values(o: SceneObjectRecord): unknown[] {
  return [o.id, o.kind, o.asset, o.label, o.createdBy, o.authorScope, o.resourceRef, o.points, o.color, o.frame, o.sentAt, o.videoTime, o.ackedAt, o.ackedBy, o.dismissed, o.slice, o.px, o.py, o.pz, o.qx, o.qy, o.qz, o.qw, o.sx, o.sy, o.sz];
}

type Row = Omit<SceneObjectRecord, 'createdBy' | 'authorScope' | 'resourceRef' | 'sentAt' | 'videoTime' | 'ackedAt' | 'ackedBy'> & {
  created_by: string;
  author_scope: string;
  resource_ref: string;
  sent_at: number;
  video_time: number;
  acked_at: number;
  acked_by: string;
};

export class SceneRepo implements SceneStorage {
  constructor(private readonly pool: Pool) {}

  async load(roomId: string): Promise<SceneObjectRecord[]> {
    // Creation order, so "undo" and "next" follow the order annotations were made in.
    const { rows } = await this.pool.query<Row>(`SELECT ${COLUMNS.join(', ')} FROM scene_objects WHERE room_id = $1 ORDER BY created_at, id`, [roomId]);
    return rows.map(({ created_by, author_scope, resource_ref, sent_at, video_time, acked_at, acked_by, ...rest }) => ({
      ...rest,
      createdBy: created_by,
      authorScope: author_scope,
      resourceRef: resource_ref,
      sentAt: sent_at,
      videoTime: video_time,
      ackedAt: acked_at,
      ackedBy: acked_by,
    }));
  }

  /** Insert or update objects in one statement. */
  async upsert(roomId: string, objects: SceneObjectRecord[]): Promise<void> {
    if (objects.length === 0) return;
    const params: unknown[] = [roomId];
    const tuples = objects.map((o) => {
      const placeholders = values(o).map((v) => {
        params.push(v);
        return `$${params.length}`;
      });
      return `($1, ${placeholders.join(', ')})`;
    });
    const updates = COLUMNS.filter((c) => c !== 'id').map((c) => `${c} = EXCLUDED.${c}`);
    await this.pool.query(
      `INSERT INTO scene_objects (room_id, ${COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}
       ON CONFLICT (room_id, id) DO UPDATE SET ${updates.join(', ')}, updated_at = now()`,
      params,
    );
  }

  /** The patient frame registered for a guidance room (null: never registered). */
  async loadAnchor(roomId: string): Promise<AnchorRecord | null> {
    const { rows } = await this.pool.query<{ version: number; px: number; py: number; pz: number; qx: number; qy: number; qz: number; qw: number; set_by: string; set_at: number }>(
      `SELECT version, px, py, pz, qx, qy, qz, qw, set_by, set_at FROM room_anchors WHERE room_id = $1`,
      [roomId],
    );
    const r = rows[0];
    return r ? { version: r.version, p: [r.px, r.py, r.pz], q: [r.qx, r.qy, r.qz, r.qw], setBy: r.set_by, setAt: r.set_at } : null;
  }

  async saveAnchor(roomId: string, a: AnchorRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO room_anchors (room_id, version, px, py, pz, qx, qy, qz, qw, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (room_id) DO UPDATE SET version = EXCLUDED.version, px = EXCLUDED.px, py = EXCLUDED.py, pz = EXCLUDED.pz,
         qx = EXCLUDED.qx, qy = EXCLUDED.qy, qz = EXCLUDED.qz, qw = EXCLUDED.qw, set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at`,
      [roomId, a.version, ...a.p, ...a.q, a.setBy, a.setAt],
    );
  }

  async remove(roomId: string, objectId: string): Promise<void> {
    await this.pool.query(`DELETE FROM scene_objects WHERE room_id = $1 AND id = $2`, [roomId, objectId]);
  }
}
