import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { RecordingDto } from '../../shared/src/http.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { refusal } from '../support/refusal.ts';

/**
 * People in the library, on the real stack: the library names people (the recorder, the authors of the
 * markers a viewer may see, those granted and who granted) by the names they signed in with, and names
 * nobody else; whoever manages a recording finds people to grant by name (id and name, nothing more of
 * their account), and a grant to a user id nobody has signed in with is refused (USER_NOT_FOUND) — as an
 * attacker would try it: a learner searching, a learner probing ids, hostile search text.
 */
let server: TestServer;
let admin: ConsiliumClient;
let edu: ConsiliumClient;
let recordingId: string;

const T = { position: [0.1, 1.2, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };
/** The raw answer to a search, as an attacker's own HTTP client sees it. */
async function rawPeople(client: ConsiliumClient, id: string, query: string): Promise<{ status: number; body: { error?: { code: string }; people?: unknown[] } }> {
  const res = await fetch(new URL(`/api/recordings/${id}/people${query}`, server.app.url), { headers: { authorization: `Bearer ${client.api.identityToken}` } });
  return { status: res.status, body: (await res.json()) as never };
}
/** Every user id an answer names anywhere (recorder, markers): `names` may name these and no one else. */
const idsIn = (r: RecordingDto) => new Set([r.startedBy, ...r.markers.map((m) => m.who)]);

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true, name: 'Root Admin' });
  // The recorded session: the educator (who has signed in as Dr. Okafor) and a clinician who never opened the web client.
  const room = await admin.api.createRoom({ title: 'Board', kind: 'case-conference', recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }, { userId: 'cli.p', role: 'clinician' }] });
  const host = await server.join('edu', room.id, { name: 'Dr. Okafor' });
  const cli = await server.join('cli.p', room.id, { name: 'Dr. Clinician' });
  ({ recordingId } = await host.do('recording.start', {}));
  await host.do('object.add', { kind: 'label', asset: 'builtin:pin', label: 'apex', transform: T });
  await cli.do('object.add', { kind: 'stroke', asset: 'builtin:pen', points: [0, 1, 0, 0.1, 1, 0], transform: T });
  await new Promise((r) => setTimeout(r, 300));
  await host.do('recording.stop', {});
  await host.leave();
  await cli.leave();
  edu = await server.signIn('edu', { name: 'Dr. Okafor' });
  // Learners who have signed in (the web client's first call), and one bystander nobody granted anything.
  for (const [id, name] of [['stu.p', 'Sam Pupil'], ['stu.q', 'Sam Quill'], ['by.stander', 'Bea Stander'], ['pct.p', '100% Pupil']]) await server.signIn(id!, { name: name! });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('the library names people', () => {
  it('the recorder and the markers\' authors by the names they signed in with, nobody else; an id with no name stays an id', async () => {
    const mine = (await edu.api.listRecordings()).find((r) => r.id === recordingId)!;
    expect(mine.names).toEqual({ edu: 'Dr. Okafor', 'cli.p': 'Dr. Clinician' }); // cli.p joined the room: a ticket records them
    await server.app.pool.query(`DELETE FROM users WHERE id = 'cli.p'`); // as if they had never signed in
    const again = await edu.api.getRecording(recordingId);
    expect(again.names).toEqual({ edu: 'Dr. Okafor' });
    expect(again.markers.some((m) => m.who === 'cli.p')).toBe(true);
    // A student granted it: names only for ids their own answer carries.
    await edu.api.grantRecording(recordingId, { userId: 'stu.p' });
    const stu = await server.as('stu.p', { name: 'Sam Pupil' });
    const theirs = await stu.api.getRecording(recordingId);
    for (const id of Object.keys(theirs.names)) expect(idsIn(theirs).has(id), id).toBe(true);
    expect(JSON.stringify(theirs)).not.toContain('Bea Stander');
  });

  it('the grants list names those granted and who granted them', async () => {
    await edu.api.grantRecording(recordingId, { userId: 'stu.q', role: 'clinician' });
    const g = await edu.api.recordingGrants(recordingId);
    expect(g.people.map((p) => p.userId).sort()).toEqual(['stu.p', 'stu.q']);
    expect(g.names).toEqual({ 'stu.p': 'Sam Pupil', 'stu.q': 'Sam Quill', edu: 'Dr. Okafor' });
  });
});

describe('granting by name', () => {
  it('whoever manages the recording finds people who have signed in by part of name or id: id and name only, never themselves', async () => {
    expect(await edu.api.findPeople(recordingId, 'sam')).toEqual(expect.arrayContaining([{ userId: 'stu.p', name: 'Sam Pupil' }, { userId: 'stu.q', name: 'Sam Quill' }]));
    expect((await edu.api.findPeople(recordingId, 'STU.Q')).map((p) => p.userId)).toEqual(['stu.q']);
    expect(await edu.api.findPeople(recordingId, 'okafor')).toEqual([]); // the searcher
    expect((await admin.api.findPeople(recordingId, 'okafor')).map((p) => p.userId)).toEqual(['edu']); // an administrator manages every recording
    const raw = await rawPeople(edu, recordingId, '?q=pupil');
    expect(raw.status).toBe(200);
    for (const p of raw.body.people!) expect(Object.keys(p as object).sort()).toEqual(['name', 'userId']);
    // LIKE's wildcards are literal: "%" finds the one name with a % in it, "_" nobody.
    expect((await edu.api.findPeople(recordingId, '%')).map((p) => p.userId)).toEqual(['pct.p']);
    expect(await edu.api.findPeople(recordingId, '_')).toEqual([]);
  });

  it('a learner cannot search (not even to learn who exists), a stranger learns nothing of the recording', async () => {
    const stu = await server.as('stu.p', { name: 'Sam Pupil' }); // granted it: watches, does not manage
    expect(await refusal(stu.api.findPeople(recordingId, 'sam'))).toBe('FORBIDDEN');
    expect(await refusal(stu.api.findPeople(recordingId, 'by'))).toBe('FORBIDDEN');
    const stranger = await server.as('by.stander');
    expect(await refusal(stranger.api.findPeople(recordingId, 'sam'))).toBe('RECORDING_NOT_FOUND');
    // Their own recording? They have none: a made-up id is no recording either.
    expect(await refusal(stu.api.findPeople('00000000-0000-4000-8000-000000000000', 'sam'))).toBe('RECORDING_NOT_FOUND');
    const anon = await fetch(new URL(`/api/recordings/${recordingId}/people?q=sam`, server.app.url));
    expect(anon.status).toBe(401);
  });

  it('hostile search text gets a stable 400 (NUL, control characters, huge, missing, empty, repeated, extra parameters)', async () => {
    const hostile = ['?q=a%00b', '?q=a%0Ab', `?q=${'x'.repeat(101)}`, `?q=${'x'.repeat(6000)}`, '', '?q=', '?q=a&q=b', '?q=sam&limit=100000', '?q[$ne]=x'];
    for (const query of hostile) {
      const res = await rawPeople(edu, recordingId, query);
      expect([res.status, res.body.error?.code], query.slice(0, 30)).toEqual([400, 'QUERY_INVALID']);
    }
    // Still fine afterwards.
    expect((await edu.api.findPeople(recordingId, 'sam')).length).toBe(2);
  });

  it('a grant to a user id nobody has signed in with (a misspelling) is refused with USER_NOT_FOUND: no grant, no audit row', async () => {
    await expect(edu.api.grantRecording(recordingId, { userId: 'stu.pp' })).rejects.toMatchObject({ code: 'USER_NOT_FOUND', status: 404 });
    expect((await edu.api.recordingGrants(recordingId)).people.map((p) => p.userId)).not.toContain('stu.pp');
    await server.app.audit.flush();
    const { rows } = await server.app.pool.query(`SELECT 1 FROM audit_log WHERE action = 'recording.grant' AND subject = 'stu.pp'`);
    expect(rows).toEqual([]);
    // Once they have signed in, the same grant goes through.
    await server.signIn('stu.pp', { name: 'Pat Late' });
    expect(await refusal(edu.api.grantRecording(recordingId, { userId: 'stu.pp' }))).toBe('accepted');
  });

  it('the refusal is no oracle: only those who may grant learn whether an id has signed in', async () => {
    const stu = await server.as('stu.q'); // granted, not managing
    expect(await refusal(stu.api.grantRecording(recordingId, { userId: 'nobody.ever' }))).toBe('FORBIDDEN');
    expect(await refusal(stu.api.grantRecording(recordingId, { userId: 'by.stander' }))).toBe('FORBIDDEN');
    const stranger = await server.as('by.stander');
    expect(await refusal(stranger.api.grantRecording(recordingId, { userId: 'nobody.ever' }))).toBe('RECORDING_NOT_FOUND');
  });
});
