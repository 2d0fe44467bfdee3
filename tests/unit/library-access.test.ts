import { describe, expect, it } from 'vitest';
import { LibraryController, markerText, recordingActs, type LibraryApi } from '../../client/src/app/library-controller.ts';
import { ConsiliumError } from '../../client/src/sdk/errors.ts';
import type { RecordingDto, RecordingGrantsDto } from '../../shared/src/http.ts';
import { authorizeRecordingAction, RECORDING_ACTIONS, RECORDING_RELATIONS, type RecordingRelation } from '../../shared/src/recording-policy.ts';

/**
 * The library's "who may watch" and delete, without a browser: the buttons follow the shared rule for the
 * relation the server states; grants, revocations and deletion go to the API as the server expects them;
 * refusals are shown in words; a deletion asks first; the timeline shows an annotation's text only where
 * the server sent it.
 */
const rec = (id: string, access: RecordingRelation, fields: Partial<RecordingDto> = {}): RecordingDto => ({
  id, roomId: 'r1', title: `Tumour board ${id}`, startedBy: 'edu', startedAt: '2026-12-01T09:00:00.000Z', endedAt: '2026-12-01T09:03:05.000Z',
  durationMs: 185_000, bytes: 1000, audio: 'none', expiresAt: '2027-12-01T09:00:00.000Z', markers: [], mayManage: access === 'admin' || access === 'recorder', access, caseDeleted: false, names: {}, ...fields,
});

/** Who has signed in, as the server knows them: the people search finds them, and only they can be granted. */
const SIGNED_IN: Record<string, string> = { 'stu.1': 'Sam Student', 'stu.2': 'Sam Stone', 'res.1': 'Rae Resident', edu: 'Dr. Okafor' };

/** A server stand-in keeping grants the way the API answers them; every call is logged. */
function server(recordings: RecordingDto[], opts: { ceilingDeidentified?: boolean; slowSearch?: string } = {}) {
  const calls: string[] = [];
  const grants = new Map<string, RecordingGrantsDto>();
  const of = (id: string) => grants.get(id) ?? (grants.set(id, { people: [], rooms: [], names: {} }), grants.get(id)!);
  const namesOf = (ids: string[]) => Object.fromEntries(ids.filter((u) => SIGNED_IN[u]).map((u) => [u, SIGNED_IN[u]!]));
  const rooms = [
    { id: 'room-t', title: 'PGY-1 cohort', kind: 'training' as const },
    { id: 'room-c', title: 'Tumour board (live)', kind: 'case-conference' as const },
  ];
  const api: LibraryApi = {
    listRecordings: async () => recordings,
    openReplay: async (id) => ({ id: `room-of-${id}` }),
    findPeople: async (id, q) => {
      calls.push(`GET people ${id} ${q}`);
      if (q === opts.slowSearch) await new Promise((r) => setTimeout(r, 30));
      return Object.entries(SIGNED_IN).filter(([u, name]) => `${u} ${name}`.toLowerCase().includes(q.toLowerCase())).map(([userId, name]) => ({ userId, name }));
    },
    listRooms: async () => rooms,
    recordingGrants: async (id) => {
      calls.push(`GET grants ${id}`);
      const g = of(id);
      return structuredClone({ ...g, names: namesOf([...g.people.flatMap((p) => [p.userId, p.grantedBy]), ...g.rooms.map((r) => r.grantedBy)]) });
    },
    grantRecording: async (id, body) => {
      calls.push(`POST grant ${id} ${body.userId} ${body.role}`);
      if (opts.ceilingDeidentified && body.role === 'clinician') throw new ConsiliumError('SCOPE_ABOVE_CEILING', 'a recording may be watched with at most what its host could see', 403);
      if (!SIGNED_IN[body.userId]) throw new ConsiliumError('USER_NOT_FOUND', 'nobody with that user id has signed in', 404);
      const g = of(id);
      g.people = [...g.people.filter((p) => p.userId !== body.userId), { userId: body.userId, role: body.role ?? 'observer', scopes: null, grantedBy: 'edu', grantedAt: '' }];
      return { ok: true };
    },
    grantRecordingToRoom: async (id, body) => {
      calls.push(`POST room-grant ${id} ${body.roomId} ${body.role}`);
      of(id).rooms.push({ roomId: body.roomId, title: 'PGY-1 cohort', role: body.role ?? 'observer', scopes: null, members: 3, grantedBy: 'edu', grantedAt: '' });
      return { ok: true };
    },
    revokeRecording: async (id, userId) => {
      calls.push(`DELETE grant ${id} ${userId}`);
      const g = of(id);
      if (!g.people.some((p) => p.userId === userId)) throw new ConsiliumError('NOT_FOUND', 'no such grant', 404);
      g.people = g.people.filter((p) => p.userId !== userId);
    },
    revokeRecordingRoom: async (id, roomId) => {
      calls.push(`DELETE room-grant ${id} ${roomId}`);
      of(id).rooms = of(id).rooms.filter((r) => r.roomId !== roomId);
    },
    deleteRecording: async (id) => {
      calls.push(`DELETE ${id}`);
    },
  };
  return { api, calls };
}

async function library(recordings: RecordingDto[], opts: Parameters<typeof server>[1] = {}) {
  const { api, calls } = server(recordings, opts);
  const ctl = new LibraryController(api, { changed: () => {}, open: () => {} }, (iso) => iso.slice(0, 10));
  await ctl.load();
  const row = (id: string) => ctl.rows().find((r) => r.id === id)!;
  return { ctl, calls, row };
}

describe('LibraryController: who may watch, revoke, delete', () => {
  it('offers exactly what the shared rule allows for the relation the server states', async () => {
    const { row } = await library(RECORDING_RELATIONS.map((r) => rec(r, r)));
    const acts: Record<string, string> = { watchAlone: 'open-alone', replayToGroup: 'replay-to-group', seeGrants: 'see-grants', grant: 'grant', revoke: 'revoke', delete: 'delete' };
    for (const relation of RECORDING_RELATIONS) {
      for (const [button, action] of Object.entries(acts)) {
        expect(row(relation).acts[button as keyof ReturnType<typeof recordingActs>], `${relation} ${button}`).toBe(authorizeRecordingAction(relation, action as (typeof RECORDING_ACTIONS)[number]).allow);
      }
    }
    // In words: a student granted it watches and nothing else; its recorder manages it.
    expect(row('granted').acts).toEqual({ watchAlone: true, replayToGroup: false, seeGrants: false, grant: false, revoke: false, delete: false });
    expect(row('cohort').acts.watchAlone).toBe(true);
    expect(row('seat').acts.watchAlone).toBe(false);
    expect(Object.values(row('recorder').acts).every(Boolean)).toBe(true);
    expect([row('granted').reason, row('cohort').reason, row('recorder').reason]).toEqual(['granted to you', 'granted to your training room', 'you recorded it']);
  });

  it('a learner cannot open "who may watch", grant, revoke or delete: nothing reaches the server', async () => {
    const { ctl, calls, row } = await library([rec('a', 'granted')]);
    await ctl.toggleAccess('a');
    expect(row('a').access).toBeNull();
    expect(await ctl.grantPerson('a', 'pal', 'observer')).toMatch(/host or an administrator/);
    expect(await ctl.revoke('a', { kind: 'person', id: 'me' })).toMatch(/host or an administrator/);
    ctl.askDelete('a');
    expect(row('a').confirmingDelete).toBe(false);
    await ctl.confirmDelete('a');
    expect(calls).toEqual([]);
    expect(ctl.trainingRooms).toEqual([]); // not even read: nothing to grant
  });

  it('the educator grants a student (found by name) and a training room, sees them listed by name, revokes each', async () => {
    const { ctl, calls, row } = await library([rec('a', 'recorder')]);
    expect(ctl.trainingRooms).toEqual([{ id: 'room-t', title: 'PGY-1 cohort' }]); // only training rooms are offered
    await ctl.toggleAccess('a');
    expect(row('a').access).toEqual({ grants: [], error: '', refusal: '' });
    expect(await ctl.grantPerson('a', '  ', 'observer')).toMatch(/Type a name/);
    expect(row('a').access!.refusal).toMatch(/Type a name/);
    const person = ctl.picker('a', 'grant', 0);
    await person.type('sam s');
    expect(person.found.map((p) => p.name)).toEqual(['Sam Student', 'Sam Stone']);
    person.pick(person.found[0]!);
    expect([person.text, person.userId]).toEqual(['Sam Student', 'stu.1']);
    expect(await ctl.grantPerson('a', person.userId, 'observer')).toBe('');
    expect(person.text).toBe(''); // granted: the search is empty again
    expect(await ctl.grantPerson('a', ' res.1 ', 'clinician')).toBe(''); // an exact user id, typed
    expect(await ctl.grantRoom('a', '', 'observer')).toMatch(/Choose a training room/);
    expect(await ctl.grantRoom('a', 'room-t', 'observer')).toBe('');
    expect(row('a').access!.grants!.map((g) => [g.kind, g.id, g.name, g.access])).toEqual([
      ['person', 'stu.1', 'Sam Student', 'student (de-identified)'],
      ['person', 'res.1', 'Rae Resident', 'resident (identified)'],
      ['room', 'room-t', 'PGY-1 cohort', 'student (de-identified)'],
    ]);
    expect(row('a').access!.grants!.map((g) => g.detail)).toEqual(['user id stu.1 · granted by Dr. Okafor', 'user id res.1 · granted by Dr. Okafor', 'training room · 3 members now · granted by Dr. Okafor']);
    expect(await ctl.revoke('a', { kind: 'person', id: 'stu.1' })).toBe('');
    expect(await ctl.revoke('a', { kind: 'room', id: 'room-t' })).toBe('');
    expect(row('a').access!.grants!.map((g) => g.id)).toEqual(['res.1']);
    // Revoked twice (another tab was quicker): said plainly.
    expect(await ctl.revoke('a', { kind: 'person', id: 'stu.1' })).toBe('That grant is already gone.');
    expect(calls.filter((c) => c.startsWith('GET people'))).toEqual(['GET people a sam s']);
    expect(calls.filter((c) => !c.startsWith('GET'))).toEqual([
      'POST grant a stu.1 observer', 'POST grant a res.1 clinician', 'POST room-grant a room-t observer',
      'DELETE grant a stu.1', 'DELETE room-grant a room-t', 'DELETE grant a stu.1',
    ]);
    await ctl.toggleAccess('a');
    expect(row('a').access).toBeNull();
  });

  it('a grant above what the host could see when recording is refused in words', async () => {
    const { ctl, row } = await library([rec('a', 'recorder')], { ceilingDeidentified: true });
    await ctl.toggleAccess('a');
    expect(await ctl.grantPerson('a', 'res.1', 'clinician')).toMatch(/more than its host could see when recording/);
    expect(row('a').access!.refusal).toMatch(/grant it as a student/);
    expect(await ctl.grantPerson('a', 'res.1', 'observer')).toBe('');
    expect(row('a').access!.refusal).toBe('');
  });

  it('a misspelt user id is refused in words, and not a grant to nobody; text that is no user id never reaches the server', async () => {
    const { ctl, calls, row } = await library([rec('a', 'recorder')]);
    await ctl.toggleAccess('a');
    expect(await ctl.grantPerson('a', 'stu.l', 'observer')).toMatch(/Nobody with that user id has signed in.*check the spelling/);
    expect(row('a').access!.refusal).toMatch(/type their name and pick them/);
    expect(row('a').access!.grants).toEqual([]);
    expect(await ctl.grantPerson('a', 'Sam Student', 'observer')).toMatch(/Pick the person from the names found for “Sam Student”/);
    expect(calls.filter((c) => c.startsWith('POST'))).toEqual(['POST grant a stu.l observer']);
    await ctl.picker('a', 'grant', 0).type('sam'); // searching again: the refusal goes
    expect(row('a').access!.refusal).toBe('');
  });

  it('the search waits for two letters, shows only the answer to what the field says now, and says when nobody matches', async () => {
    const { ctl, calls } = await library([rec('a', 'recorder')], { slowSearch: 'sa' });
    const person = ctl.picker('a', 'grant', 0);
    await person.type('s');
    expect(calls.filter((c) => c.startsWith('GET people'))).toEqual([]);
    const slow = person.type('sa'); // answers late…
    await new Promise((r) => setTimeout(r, 5));
    await person.type('rae'); // …after the field says something else
    await slow;
    expect(person.found.map((p) => p.userId)).toEqual(['res.1']);
    await person.type('zz');
    expect([person.found, person.note]).toEqual([[], 'Nobody who has signed in matches “zz”.']);
    await person.type('');
    expect([person.found, person.note]).toEqual([[], '']);
  });

  it('learners for a group replay are found by name too, each search its own', async () => {
    const { ctl, row } = await library([rec('a', 'recorder')]);
    const learner = ctl.picker('a', 'learner', 0);
    expect(learner).not.toBe(ctl.picker('a', 'grant', 0));
    await learner.type('rae');
    learner.pick(learner.found[0]!);
    expect(ctl.addLearner('a', learner.userId, 'clinician')).toBe('');
    expect(learner.text).toBe('');
    expect(row('a').learners).toEqual([{ userId: 'res.1', name: 'Rae Resident', role: 'clinician' }]);
    expect(ctl.addLearner('a', 'Rae Resident', 'clinician')).toMatch(/Pick the learner/);
  });

  it('deleting asks first, deletes only the recording asked about, and can be called off', async () => {
    const { ctl, calls, row } = await library([rec('a', 'recorder'), rec('b', 'admin')]);
    await ctl.confirmDelete('a'); // not asked: nothing
    ctl.askDelete('a');
    expect(row('a').confirmingDelete).toBe(true);
    expect(row('b').confirmingDelete).toBe(false);
    await ctl.confirmDelete('b'); // the page asks about a, not b
    ctl.cancelDelete();
    expect(row('a').confirmingDelete).toBe(false);
    expect(calls).toEqual([]);
    ctl.askDelete('b');
    await ctl.confirmDelete('b');
    expect(calls).toEqual(['DELETE b']);
    expect(ctl.rows().map((r) => r.id)).toEqual(['a']);
  });

  it('the timeline: an annotation\'s text where the server sent it, the live room\'s placeholder where it did not; a deleted case is said', async () => {
    const markers: RecordingDto['markers'] = [
      { t: 30_000, kind: 'annotation', who: 'cli', what: 'label', hidden: true },
      { t: 0, kind: 'join', who: 'edu' },
      { t: 12_000, kind: 'annotation', who: 'edu', what: 'stroke' },
      { t: 20_000, kind: 'annotation', who: 'edu', what: 'label', text: 'Resect 2 cm margin' },
      { t: 25_000, kind: 'pointing', who: 'edu' },
      { t: 26_000, kind: 'annotation', who: 'old' }, // recorded before markers named their object
    ];
    // The server names the people it shows; 'old' and 'cli' have no name it knows: their ids stand.
    const { row } = await library([rec('a', 'granted', { markers, caseDeleted: true, names: { edu: 'Dr. Okafor' } })]);
    expect(row('a').timeline).toEqual([
      '0:00 Dr. Okafor joined',
      '0:12 Stroke by Dr. Okafor',
      '0:20 Note by Dr. Okafor: “Resect 2 cm margin”',
      '0:25 Dr. Okafor started pointing',
      '0:26 Annotation by old',
      '0:30 Note by cli — hidden by your access',
    ]);
    expect(markerText({ t: 61_000, kind: 'presenter', who: 'edu' })).toBe('1:01 edu started presenting');
    expect(row('a').caseNote).toMatch(/case has been deleted/);
    expect(row('a').kept).toBe('kept until 2027-12-01');
  });
});
