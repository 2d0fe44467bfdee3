import type { AnchorRecord, ClinicStore, LiveRoomRecord, SceneObjectRecord, SceneStorage } from '../../server/src/domain/storage.ts';

/**
 * In-memory stand-ins for RoomsRepo and SceneRepo at the engine's storage
 * ports (server/src/domain/storage.ts), for the engine's unit tests.
 * tests/integration/store-contract.test.ts runs the same assertions against
 * these and against PostgreSQL, so where they differ one of them is wrong.
 * Time is the store's `now` (milliseconds), as PostgreSQL's now() is the real one's.
 */
export class MemoryRoomsStore implements ClinicStore {
  private readonly rooms = new Map<string, LiveRoomRecord & { status: 'open' | 'closed' }>();
  /** room → user → kicked until (null: until re-admitted). */
  private readonly kicks = new Map<string, Map<string, Date | null>>();
  /** room → user → when their tickets were last revoked (ms). */
  private readonly revocations = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  // ---- test set-up (RoomsRepo.create / update / close / revokeTickets) ------------------------

  put(record: LiveRoomRecord, status: 'open' | 'closed' = 'open'): void {
    this.rooms.set(record.id, { ...structuredClone(record), status });
  }

  close(roomId: string): void {
    const room = this.rooms.get(roomId);
    if (room) room.status = 'closed';
  }

  /** Refuse every ticket issued to this user for this room so far (as a removal does). */
  revokeTickets(roomId: string, userId: string): void {
    inner(this.revocations, roomId).set(userId, this.now());
  }

  // ---- ClinicStore ----------------------------------------------------------------------------

  async get(roomId: string): Promise<(LiveRoomRecord & { status: 'open' | 'closed' }) | null> {
    const room = this.rooms.get(roomId);
    // A copy, as a database read is: changing it changes nothing stored.
    return room ? structuredClone(room) : null;
  }

  async activeKicks(roomId: string): Promise<{ userId: string; until: Date | null }[]> {
    const now = this.now();
    return [...(this.kicks.get(roomId) ?? [])].filter(([, until]) => until === null || until.getTime() > now).map(([userId, until]) => ({ userId, until }));
  }

  async kick(roomId: string, userId: string, _by: string, until: Date | null): Promise<void> {
    inner(this.kicks, roomId).set(userId, until);
    this.revokeTickets(roomId, userId);
  }

  async isTicketRevoked(roomId: string, userId: string, issuedAt: number): Promise<boolean> {
    const revokedAt = this.revocations.get(roomId)?.get(userId);
    // As `revoked_at >= to_timestamp(iat)`: a ticket from the second of the revocation, or earlier, is refused.
    return revokedAt !== undefined && revokedAt >= issuedAt * 1000;
  }
}

export class MemorySceneStore implements SceneStorage {
  /** room → object id → record and when it was first written (creation order). */
  private readonly objects = new Map<string, Map<string, { rec: SceneObjectRecord; created: number }>>();
  private readonly anchors = new Map<string, AnchorRecord>();
  private written = 0;

  async load(roomId: string): Promise<SceneObjectRecord[]> {
    const rows = [...(this.objects.get(roomId)?.values() ?? [])];
    rows.sort((a, b) => a.created - b.created || (a.rec.id < b.rec.id ? -1 : a.rec.id > b.rec.id ? 1 : 0));
    return rows.map((r) => ({ ...r.rec }));
  }

  async upsert(roomId: string, objects: SceneObjectRecord[]): Promise<void> {
    // As created_at DEFAULT clock_timestamp(): each new row its own time, in the order written.
    const room = inner(this.objects, roomId);
    for (const o of objects) room.set(o.id, { rec: { ...o }, created: room.get(o.id)?.created ?? ++this.written });
  }

  async remove(roomId: string, objectId: string): Promise<void> {
    this.objects.get(roomId)?.delete(objectId);
  }

  async loadAnchor(roomId: string): Promise<AnchorRecord | null> {
    const a = this.anchors.get(roomId);
    return a ? structuredClone(a) : null;
  }

  async saveAnchor(roomId: string, anchor: AnchorRecord): Promise<void> {
    this.anchors.set(roomId, structuredClone(anchor));
  }
}

function inner<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let map = outer.get(key);
  if (!map) outer.set(key, (map = new Map()));
  return map;
}
