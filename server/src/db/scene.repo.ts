import type { Pool } from './pool.ts';

/** A scene object as stored: the same fields the synced state carries. */
export interface SceneObjectRecord {
  id: string;
  kind: string;
  asset: string;
  label: string;
  createdBy: string;
  /** Author's access for annotations ('' = visible to everyone in the room). */
  authorScope: string;
  /** Case resource a model shows ('' = none). */
  resourceRef: string;
  /** Stroke points "x,y,z,…" ('' for other kinds). */
  points: string;
  color: string;
  px: number; py: number; pz: number;
  qx: number; qy: number; qz: number; qw: number;
  sx: number; sy: number; sz: number;
}

const COLUMNS = ['id', 'kind', 'asset', 'label', 'created_by', 'author_scope', 'resource_ref', 'points', 'color', 'px', 'py', 'pz', 'qx', 'qy', 'qz', 'qw', 'sx', 'sy', 'sz'] as const;

function values(o: SceneObjectRecord): unknown[] {
  return [o.id, o.kind, o.asset, o.label, o.createdBy, o.authorScope, o.resourceRef, o.points, o.color, o.px, o.py, o.pz, o.qx, o.qy, o.qz, o.qw, o.sx, o.sy, o.sz];
}

export class SceneRepo {
  constructor(private readonly pool: Pool) {}

  async load(roomId: string): Promise<SceneObjectRecord[]> {
    const { rows } = await this.pool.query<Omit<SceneObjectRecord, 'createdBy' | 'authorScope' | 'resourceRef'> & { created_by: string; author_scope: string; resource_ref: string }>(
      `SELECT ${COLUMNS.join(', ')} FROM scene_objects WHERE room_id = $1 ORDER BY id`,
      [roomId],
    );
    return rows.map(({ created_by, author_scope, resource_ref, ...rest }) => ({ ...rest, createdBy: created_by, authorScope: author_scope, resourceRef: resource_ref }));
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

  async remove(roomId: string, objectId: string): Promise<void> {
    await this.pool.query(`DELETE FROM scene_objects WHERE room_id = $1 AND id = $2`, [roomId, objectId]);
  }
}
