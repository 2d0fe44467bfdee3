import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ParticipantDto } from '../../shared/src/http.ts';
import { migrate } from '../../server/src/db/migrate.ts';
import { createPool, type Pool } from '../../server/src/db/pool.ts';
import { grantAppRole } from '../../server/src/db/roles.ts';
import { RoomsRepo } from '../../server/src/db/rooms.repo.ts';
import { SceneRepo } from '../../server/src/db/scene.repo.ts';
import type { AnchorRecord, ClinicStore, LiveRoomRecord, SceneObjectRecord, SceneStorage } from '../../server/src/domain/storage.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { MemoryRoomsStore, MemorySceneStore } from '../support/memory-store.ts';

/**
 * One contract for the engine's storage ports (server/src/domain/storage.ts),
 * run against the in-memory stores the engine's unit tests use and against
 * PostgreSQL (RoomsRepo, SceneRepo) — as tldraw's storage contract suite runs
 * against its in-memory and SQLite stores. A unit test on the fake is only as
 * good as the fake's likeness to the real thing: this is where it is checked.
 */
interface Harness {
  rooms: ClinicStore;
  scene: SceneStorage;
  /** Set-up through the implementation's own means (RoomsRepo.create / close / revokeTickets). */
  createRoom(r: Omit<LiveRoomRecord, 'id'>): Promise<string>;
  closeRoom(id: string): Promise<void>;
  revokeTickets(roomId: string, userId: string): Promise<void>;
}

let db: TestDatabase;
let pool: Pool;

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.url);
  await grantAppRole(db.url, `${db.name}_app`);
  pool = createPool(db.appUrl);
});

afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const memory = (): Harness => {
  const rooms = new MemoryRoomsStore();
  return {
    rooms,
    scene: new MemorySceneStore(),
    createRoom: async (r) => {
      const id = randomUUID();
      rooms.put({ ...r, id });
      return id;
    },
    closeRoom: async (id) => rooms.close(id),
    revokeTickets: async (roomId, userId) => rooms.revokeTickets(roomId, userId),
  };
};

const postgres = (): Harness => {
  const rooms = new RoomsRepo(pool);
  return {
    rooms,
    scene: new SceneRepo(pool),
    createRoom: async (r) => (await rooms.create({ ...r, createdBy: 'contract' })).id,
    closeRoom: async (id) => void (await rooms.close(id)),
    revokeTickets: (roomId, userId) => rooms.revokeTickets(roomId, userId),
  };
};

const PARTICIPANTS: ParticipantDto[] = [
  { userId: 'hal', role: 'host', scopes: null },
  { userId: 'obi', role: 'observer', scopes: ['deidentified', 'patient/Observation.rs'] },
];
const room = (over: Partial<LiveRoomRecord> = {}): Omit<LiveRoomRecord, 'id'> => ({
  title: 'Board',
  kind: 'surgical-guidance',
  caseId: null,
  participants: PARTICIPANTS,
  scopeCeiling: ['patient/*.rs'],
  observerVideo: true,
  recordingAllowed: false,
  recordingId: null,
  ...over,
});
/** Whole seconds, as a JWT's iat. */
const seconds = (ms: number) => Math.floor(ms / 1000);

function obj(id: string, over: Partial<SceneObjectRecord> = {}): SceneObjectRecord {
  // Values a float4 column stores exactly, so both sides give back what they were given.
  return {
    id, kind: 'arrow', asset: 'builtin:arrow', label: `label ${id}`, createdBy: 'hal', authorScope: 'patient/*.rs', resourceRef: '', points: '0,0.5,0,0,0,0', color: '#ff0000',
    frame: 'patient', sentAt: 1_800_000_000_123.5, videoTime: 12.25, ackedAt: 0, ackedBy: '', dismissed: false, slice: '',
    px: 0.5, py: 1.25, pz: -0.75, qx: 0, qy: 0.5, qz: 0, qw: 0.75, sx: 1, sy: 1, sz: 2, ...over,
  };
}

for (const [name, make] of [['in-memory', memory], ['PostgreSQL', postgres]] as const) {
  describe(`storage contract: ${name}`, () => {
    let h: Harness;
    beforeAll(() => {
      h = make();
    });

    it('get: the room as stored (participants in the order given), null for no such room, closed once closed', async () => {
      const id = await h.createRoom(room());
      expect(await h.rooms.get(randomUUID())).toBeNull();
      const got = await h.rooms.get(id);
      expect(got).toMatchObject({ id, ...room(), status: 'open' });
      expect(got!.participants).toEqual(PARTICIPANTS);
      // A copy: changing what was read changes nothing stored.
      got!.participants.push({ userId: 'eve', role: 'host', scopes: null });
      expect((await h.rooms.get(id))!.participants).toEqual(PARTICIPANTS);
      await h.closeRoom(id);
      expect(await h.rooms.get(id)).toMatchObject({ id, status: 'closed' });
    });

    it('kicks: listed while in force, a second kick replaces the first, lapsed ones are not listed, each room its own', async () => {
      const id = await h.createRoom(room());
      const other = await h.createRoom(room());
      expect(await h.rooms.activeKicks(id)).toEqual([]);
      const later = new Date(seconds(Date.now()) * 1000 + 600_000);
      await h.rooms.kick(id, 'obi', 'hal', null);
      expect(await h.rooms.activeKicks(id)).toEqual([{ userId: 'obi', until: null }]);
      await h.rooms.kick(id, 'obi', 'hal', later);
      expect(await h.rooms.activeKicks(id)).toEqual([{ userId: 'obi', until: later }]);
      await h.rooms.kick(id, 'hal', 'admin', new Date(Date.now() - 1000));
      expect(await h.rooms.activeKicks(id)).toEqual([{ userId: 'obi', until: later }]);
      expect(await h.rooms.activeKicks(other)).toEqual([]);
    });

    it('a kick revokes the tickets issued so far (to the second) and no others: not later ones, not other users, not other rooms', async () => {
      const id = await h.createRoom(room());
      const other = await h.createRoom(room());
      const before = Date.now();
      expect(await h.rooms.isTicketRevoked(id, 'obi', seconds(before) - 60)).toBe(false);
      await h.rooms.kick(id, 'obi', 'hal', null);
      expect(await h.rooms.isTicketRevoked(id, 'obi', seconds(before) - 60)).toBe(true);
      // Issued in the second of the kick: refused (tickets carry whole seconds, so it may be the very ticket kicked).
      expect(await h.rooms.isTicketRevoked(id, 'obi', seconds(before))).toBe(true);
      expect(await h.rooms.isTicketRevoked(id, 'obi', seconds(Date.now()) + 2)).toBe(false);
      expect(await h.rooms.isTicketRevoked(id, 'hal', seconds(before) - 60)).toBe(false);
      expect(await h.rooms.isTicketRevoked(other, 'obi', seconds(before) - 60)).toBe(false);
    });

    it('a later revocation moves the line forward', async () => {
      const id = await h.createRoom(room());
      await h.rooms.kick(id, 'obi', 'hal', null);
      const between = seconds(Date.now()) + 2;
      expect(await h.rooms.isTicketRevoked(id, 'obi', between)).toBe(false);
      await new Promise((r) => setTimeout(r, 2100));
      await h.revokeTickets(id, 'obi');
      expect(await h.rooms.isTicketRevoked(id, 'obi', between)).toBe(true);
    });

    it('scene: objects come back whole, in the order first written; an update keeps its place; removal of nothing is no error', async () => {
      const id = await h.createRoom(room());
      const other = await h.createRoom(room());
      expect(await h.scene.load(id)).toEqual([]);
      await h.scene.upsert(id, [obj('b'), obj('a', { kind: 'model', frame: 'world', dismissed: true, ackedAt: 1_800_000_000_000, ackedBy: 'sue' })]);
      await h.scene.upsert(id, []);
      await h.scene.upsert(id, [obj('c')]);
      expect((await h.scene.load(id)).map((o) => o.id)).toEqual(['b', 'a', 'c']);
      expect((await h.scene.load(id))[1]).toEqual(obj('a', { kind: 'model', frame: 'world', dismissed: true, ackedAt: 1_800_000_000_000, ackedBy: 'sue' }));
      await h.scene.upsert(id, [obj('a', { px: 2.5, label: 'moved' })]);
      const after = await h.scene.load(id);
      expect(after.map((o) => o.id)).toEqual(['b', 'a', 'c']);
      expect(after[1]).toEqual(obj('a', { px: 2.5, label: 'moved' }));
      await h.scene.remove(id, 'b');
      await h.scene.remove(id, 'nothing-here');
      expect((await h.scene.load(id)).map((o) => o.id)).toEqual(['a', 'c']);
      expect(await h.scene.load(other)).toEqual([]);
    });

    it('anchor: none until registered, then the last one registered, per room', async () => {
      const id = await h.createRoom(room());
      const other = await h.createRoom(room());
      expect(await h.scene.loadAnchor(id)).toBeNull();
      const first: AnchorRecord = { version: 1, p: [0.5, 1, -0.25], q: [0, 0, 0, 1], setBy: 'sue', setAt: 1_800_000_000_000 };
      await h.scene.saveAnchor(id, first);
      expect(await h.scene.loadAnchor(id)).toEqual(first);
      const second: AnchorRecord = { ...first, version: 2, p: [1, 1, 1], setBy: 'hal', setAt: 1_800_000_001_000 };
      await h.scene.saveAnchor(id, second);
      expect(await h.scene.loadAnchor(id)).toEqual(second);
      expect(await h.scene.loadAnchor(other)).toBeNull();
    });
  });
}
