import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LibraryController, type RecordingActs } from '../../client/src/app/library-controller.ts';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { ConsiliumError } from '../../client/src/sdk/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The library page offers exactly what the server allows (the recordings twin of
 * tests/unit/room-policy-agreement.test.ts): for everyone who may relate to a
 * recording — an administrator, its recorder, a person it was granted to, a member
 * of a training room it was granted to, a learner seated in a group replay of it,
 * a stranger — each button the library shows (LibraryController, on the real API)
 * is compared with what the real server answers when that user makes the call the
 * button makes. A button offered for a refused act, or withheld from an allowed
 * one, fails here — whichever side drifted.
 */
let server: TestServer;
let admin: ConsiliumClient;
let cohort: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  cohort = (await admin.api.createRoom({ title: 'Cohort', kind: 'training', participants: [{ userId: 'edu', role: 'host' }, { userId: 'member', role: 'observer' }] })).id;
  // Those granted it or seated in a group replay have signed in (a grant or a seat names someone Consilium knows).
  for (const u of ['granted', 'someone', 'learner', 'seated']) await server.signIn(u);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** A short recording by the educator (the host joins, records ~0.4 s, stops, leaves). */
async function record(): Promise<string> {
  const room = await admin.api.createRoom({ title: 'Board', kind: 'case-conference', recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }] });
  const s = await server.join('edu', room.id);
  const { recordingId } = await s.do('recording.start', {});
  await new Promise((r) => setTimeout(r, 400));
  await s.do('recording.stop', {});
  await s.leave();
  return recordingId;
}

const allowed = async (p: Promise<unknown>): Promise<boolean> => {
  try {
    await p;
    return true;
  } catch (err) {
    if (err instanceof ConsiliumError && (err.code === 'FORBIDDEN' || err.code === 'RECORDING_NOT_FOUND')) return false;
    throw err;
  }
};

const CASES: { who: string; userId: string; admin?: boolean; relation: string | null; setup: (id: string, edu: ConsiliumClient) => Promise<void> }[] = [
  { who: 'an administrator', userId: 'root', admin: true, relation: 'admin', setup: async () => {} },
  { who: 'its recorder', userId: 'edu', relation: 'recorder', setup: async () => {} },
  { who: 'a person it was granted to', userId: 'granted', relation: 'granted', setup: async (id, edu) => void (await edu.api.grantRecording(id, { userId: 'granted' })) },
  { who: "a member of a training room it was granted to", userId: 'member', relation: 'cohort', setup: async (id, edu) => void (await edu.api.grantRecordingToRoom(id, { roomId: cohort })) },
  { who: 'a learner seated in a group replay', userId: 'seated', relation: null, setup: async (id, edu) => void (await edu.api.openReplay(id, { participants: [{ userId: 'seated', role: 'observer' }] })) },
  { who: 'a stranger', userId: 'stranger', relation: null, setup: async () => {} },
];

describe('the library offers exactly what the server allows', () => {
  for (const c of CASES) {
    it(c.who, async () => {
      const edu = await server.as('edu');
      const id = await record();
      await c.setup(id, edu);
      const me = await server.as(c.userId, { admin: c.admin === true });
      const ctl = new LibraryController(me.api, { changed: () => {}, open: () => {} });
      await ctl.load();
      const row = ctl.rows().find((r) => r.id === id);
      expect(row ? ctl.recordings.find((r) => r.id === id)!.access : null).toBe(c.relation);
      const offered: RecordingActs = row?.acts ?? { watchAlone: false, replayToGroup: false, seeGrants: false, grant: false, revoke: false, delete: false };

      // The calls each button makes; deletion last (it ends the recording).
      const server_: Record<string, boolean> = {
        watchAlone: await allowed(me.api.openReplay(id)),
        replayToGroup: await allowed(me.api.openReplay(id, { participants: [{ userId: 'learner', role: 'observer' }] })),
        seeGrants: await allowed(me.api.recordingGrants(id)),
        grant: await allowed(me.api.grantRecording(id, { userId: 'someone' })),
        // The person search of the grant and learner forms (shown with them).
        'find people': await allowed(me.api.findPeople(id, 'some')),
        'grant (a training room)': await allowed(me.api.grantRecordingToRoom(id, { roomId: cohort })),
        revoke: await allowed(me.api.revokeRecording(id, 'someone')),
        'revoke (a training room)': await allowed(me.api.revokeRecordingRoom(id, cohort)),
        delete: await allowed(me.api.deleteRecording(id)),
      };
      const client: Record<string, boolean> = { ...offered, 'grant (a training room)': offered.grant, 'revoke (a training room)': offered.revoke, 'find people': offered.grant || offered.replayToGroup };
      const rows = Object.keys(server_).map((button) => ({ button, client: client[button], server: server_[button] }));
      expect(rows.filter((r) => r.client !== r.server)).toEqual([]);
      // Each relation is told apart: something is allowed to those who see it, nothing to those who do not.
      expect(rows.some((r) => r.server)).toBe(c.relation !== null);
    });
  }
});
