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
  durationMs: 185_000, bytes: 1000, audio: 'none', expiresAt: '2027-12-01T09:00:00.000Z', markers: [], mayManage: access === 'admin' || access === 'recorder', access, caseDeleted: false, ...fields,
});

/** A server stand-in keeping grants the way the API answers them; every call is logged. */
function server(recordings: RecordingDto[], opts: { directory?: boolean; ceilingDeidentified?: boolean } = {}) {
  const calls: string[] = [];
  const grants = new Map<string, RecordingGrantsDto>();
  const of = (id: string) => grants.get(id) ?? (grants.set(id, { people: [], rooms: [] }), grants.get(id)!);
  const rooms = [
    { id: 'room-t', title: 'PGY-1 cohort', kind: 'training' as const },
    { id: 'room-c', title: 'Tumour board (live)', kind: 'case-conference' as const },
  ];
  const api: LibraryApi = {
    listRecordings: async () => recordings,
    openReplay: async (id) => ({ id: `room-of-${id}` }),
    directoryUsers: async () => {
      if (!opts.directory) throw new ConsiliumError('ADMIN_REQUIRED', 'administrators only', 403);
      return [{ userId: 'stu.1', name: 'Sam Student', admin: false, lastSeenAt: '' }];
    },
    listRooms: async () => rooms,
    recordingGrants: async (id) => {
      calls.push(`GET grants ${id}`);
      return structuredClone(of(id));
    },
    grantRecording: async (id, body) => {
      calls.push(`POST grant ${id} ${body.userId} ${body.role}`);
      if (opts.ceilingDeidentified && body.role === 'clinician') throw new ConsiliumError('SCOPE_ABOVE_CEILING', 'a recording may be watched with at most what its host could see', 403);
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

  it('the educator grants a student and a training room, sees them listed, revokes each', async () => {
    const { ctl, calls, row } = await library([rec('a', 'recorder')], { directory: true });
    expect(ctl.trainingRooms).toEqual([{ id: 'room-t', title: 'PGY-1 cohort' }]); // only training rooms are offered
    await ctl.toggleAccess('a');
    expect(row('a').access).toEqual({ grants: [], error: '', refusal: '' });
    expect(await ctl.grantPerson('a', '  ', 'observer')).toMatch(/Type a user id/);
    expect(row('a').access!.refusal).toMatch(/Type a user id/);
    expect(await ctl.grantPerson('a', ' stu.1 ', 'observer')).toBe('');
    expect(await ctl.grantPerson('a', 'res.1', 'clinician')).toBe('');
    expect(await ctl.grantRoom('a', '', 'observer')).toMatch(/Choose a training room/);
    expect(await ctl.grantRoom('a', 'room-t', 'observer')).toBe('');
    expect(row('a').access!.grants!.map((g) => [g.kind, g.id, g.name, g.access])).toEqual([
      ['person', 'stu.1', 'Sam Student', 'student (de-identified)'],
      ['person', 'res.1', 'res.1', 'resident (identified)'],
      ['room', 'room-t', 'PGY-1 cohort', 'student (de-identified)'],
    ]);
    expect(row('a').access!.grants![2]!.detail).toBe('training room · 3 members now · granted by edu');
    expect(await ctl.revoke('a', { kind: 'person', id: 'stu.1' })).toBe('');
    expect(await ctl.revoke('a', { kind: 'room', id: 'room-t' })).toBe('');
    expect(row('a').access!.grants!.map((g) => g.id)).toEqual(['res.1']);
    // Revoked twice (another tab was quicker): said plainly.
    expect(await ctl.revoke('a', { kind: 'person', id: 'stu.1' })).toBe('That grant is already gone.');
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
    const { row } = await library([rec('a', 'granted', { markers, caseDeleted: true })]);
    expect(row('a').timeline).toEqual([
      '0:00 edu joined',
      '0:12 Stroke by edu',
      '0:20 Note by edu: “Resect 2 cm margin”',
      '0:25 edu started pointing',
      '0:26 Annotation by old',
      '0:30 Note by cli — hidden by your access',
    ]);
    expect(markerText({ t: 61_000, kind: 'presenter', who: 'edu' })).toBe('1:01 edu started presenting');
    expect(row('a').caseNote).toMatch(/case has been deleted/);
    expect(row('a').kept).toBe('kept until 2027-12-01');
  });
});
