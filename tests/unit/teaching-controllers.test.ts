import { describe, expect, it } from 'vitest';
import { audioText, clockText, LibraryController, type LibraryApi } from '../../client/src/app/library-controller.ts';
import { ReplayController, type ReplaySession } from '../../client/src/app/replay-controller.ts';
import type { RecordingDto } from '../../shared/src/http.ts';
import { ConsiliumError } from '../../client/src/sdk/errors.ts';
import { GhostState } from '../../shared/src/state.ts';
import { FakeSession } from '../support/fake-session.ts';
import { consentText } from '../../client/src/app/views/consent-card.ts';

const rec = (id: string, fields: Partial<RecordingDto> = {}): RecordingDto => ({
  id, roomId: 'r1', title: `Tumour board ${id}`, startedBy: 'edu', startedAt: '2026-12-01T09:00:00.000Z', endedAt: '2026-12-01T09:03:05.000Z',
  durationMs: 185_000, bytes: 1000, audio: 'none', expiresAt: null, markers: [], mayManage: false, access: fields.mayManage ? 'recorder' : 'granted', caseDeleted: false, names: {}, ...fields,
});

/** The library's HTTP surface as the server answers it: every call recorded. */
function fakeApi(recordings: RecordingDto[], opts: { refuseOpen?: boolean } = {}) {
  const opened: { id: string; body: unknown }[] = [];
  const api: LibraryApi = {
    listRecordings: async () => recordings,
    openReplay: async (id, body) => {
      if (opts.refuseOpen) throw new ConsiliumError('FORBIDDEN', 'only those who manage it open it for a group', 403);
      opened.push({ id, body });
      return { id: `room-of-${id}` };
    },
    findPeople: async (id, q) => {
      if (!recordings.find((r) => r.id === id)?.mayManage) throw new ConsiliumError('FORBIDDEN', 'only those who manage it find people', 403);
      return 'sam student stu.1'.includes(q.toLowerCase()) ? [{ userId: 'stu.1', name: 'Sam Student' }] : [];
    },
    listRooms: async () => [],
    recordingGrants: async () => ({ people: [], rooms: [], names: {} }),
    grantRecording: async () => ({ ok: true }),
    grantRecordingToRoom: async () => ({ ok: true }),
    revokeRecording: async () => {},
    revokeRecordingRoom: async () => {},
    deleteRecording: async () => {},
  };
  return { api, opened };
}

function library(recordings: RecordingDto[], opts: { refuseOpen?: boolean } = {}) {
  const { api, opened } = fakeApi(recordings, opts);
  const log = { changed: 0, open: [] as string[] };
  const ctl = new LibraryController(api, { changed: () => log.changed++, open: (id) => log.open.push(id) }, (iso) => iso.slice(0, 16));
  return { ctl, opened, log };
}

describe('LibraryController: the recordings a user may watch', () => {
  it('lists title, date, duration and audio ("no audio" when LiveKit was not there)', async () => {
    const { ctl } = library([rec('a'), rec('b', { audio: 'egress', durationMs: 3_725_000 }), rec('c', { audio: 'failed', markers: [{ t: 1, kind: 'join', who: 'edu' }] })]);
    await ctl.load();
    expect(ctl.rows().map((r) => [r.title, r.date, r.duration, r.audio, r.markers])).toEqual([
      ['Tumour board a', '2026-12-01T09:00', '3:05', 'no audio', 0],
      ['Tumour board b', '2026-12-01T09:00', '1:02:05', 'audio recorded', 0],
      ['Tumour board c', '2026-12-01T09:00', '3:05', 'no audio (voice recording failed)', 1],
    ]);
    expect(clockText(0)).toBe('0:00');
    expect(audioText('none')).toBe('no audio');
  });

  it('watching alone opens a replay room with nobody else and goes there', async () => {
    const { ctl, opened, log } = library([rec('a')]);
    await ctl.load();
    await ctl.openAlone('a');
    expect(opened).toEqual([{ id: 'a', body: {} }]);
    expect(log.open).toEqual(['room-of-a']);
  });

  it('a group only for recordings one manages: learners found by name as students (de-identified) or residents', async () => {
    const { ctl, opened, log } = library([rec('mine', { mayManage: true }), rec('theirs')]);
    await ctl.load();
    const learner = ctl.picker('mine', 'learner', 0);
    await learner.type('Sam');
    expect(learner.found).toEqual([{ userId: 'stu.1', name: 'Sam Student' }]);
    learner.pick(learner.found[0]!);
    expect(ctl.addLearner('theirs', 'stu.1', 'observer')).toMatch(/host or an administrator/);
    expect(ctl.addLearner('mine', '  ', 'observer')).toBe('Choose a learner.');
    await ctl.openForGroup('mine'); // nobody chosen yet: not opened
    expect(opened).toEqual([]);
    expect(ctl.error).toMatch(/at least one learner/);
    expect(ctl.addLearner('mine', 'stu.1', 'observer')).toBe('');
    expect(ctl.addLearner('mine', 'res.1', 'clinician')).toBe('');
    expect(ctl.addLearner('mine', 'stu.1', 'observer')).toBe(''); // once each
    expect(ctl.rows()[0]!.learners.map((l) => [l.name, l.role])).toEqual([['res.1', 'clinician'], ['Sam Student', 'observer']]);
    ctl.removeLearner('mine', 'res.1');
    await ctl.openForGroup('mine');
    expect(opened).toEqual([{ id: 'mine', body: { participants: [{ userId: 'stu.1', role: 'observer' }] } }]);
    expect(log.open).toEqual(['room-of-mine']);
  });

  it('a search refused for searching too often (RATE_LIMITED) reads as a plain sentence in the picker, not a crash', async () => {
    const { api } = fakeApi([rec('mine', { mayManage: true })]);
    let calls = 0;
    api.findPeople = async () => {
      calls++;
      throw new ConsiliumError('RATE_LIMITED', 'too many searches for people; try again in 3 s', 429);
    };
    const ctl = new LibraryController(api, { changed: () => {}, open: () => {} }, (iso) => iso.slice(0, 16));
    await ctl.load();
    const picker = ctl.picker('mine', 'learner', 0);
    await picker.type('Sam');
    expect(calls).toBe(1);
    expect(picker.found).toEqual([]);
    expect(picker.note).toBe('Too many requests. Wait a moment and try again.');
  });

  it('a learner may also be typed by exact user id; a refusal is shown, not thrown', async () => {
    const { ctl, log } = library([rec('mine', { mayManage: true })], { refuseOpen: true });
    await ctl.load();
    expect(ctl.addLearner('mine', 'stu.2', 'observer')).toBe('');
    await ctl.openForGroup('mine');
    expect(ctl.error).not.toBe('');
    expect(log.open).toEqual([]);
  });
});

function player(role: string, markers: RecordingDto['markers'] = []) {
  const session = new FakeSession();
  session.state.info.kind = 'replay';
  const r = session.state.replay;
  Object.assign(r, { recordingId: 'rec1', status: 'paused', positionMs: 0, at: 1_000_000, speed: 1, durationMs: 60_000, audio: 'none' });
  let now = 1_000_000;
  let changed = 0;
  const ctl = new ReplayController(session as unknown as ReplaySession, role as never, markers, { changed: () => changed++ }, () => now);
  return { session, ctl, r, tick: (ms: number) => (now += ms), changed: () => changed };
}

describe('ReplayController: the educator drives, learners follow', () => {
  it('the position runs on from the synced state while playing (at the chosen speed), stops at the end, holds while paused', () => {
    const { ctl, r, tick } = player('observer');
    tick(5_000);
    expect(ctl.positionMs()).toBe(0); // paused
    Object.assign(r, { status: 'playing', positionMs: 10_000, at: 1_005_000, speed: 2 });
    tick(3_000);
    expect(ctl.positionMs()).toBe(16_000);
    expect(ctl.timeText()).toBe('0:16 / 1:00');
    tick(60_000);
    expect(ctl.positionMs()).toBe(60_000);
    Object.assign(r, { status: 'paused', positionMs: 42_000, at: 1_068_000 });
    tick(10_000);
    expect(ctl.positionMs()).toBe(42_000);
  });

  it('only the replay host sends replay.control (play, pause, seek within the recording, speed); a learner sends nothing', async () => {
    const edu = player('host');
    expect(edu.ctl.drives).toBe(true);
    await edu.ctl.playPause();
    edu.r.status = 'playing';
    await edu.ctl.playPause();
    await edu.ctl.seek(90_000);
    await edu.ctl.seek(-5);
    await edu.ctl.setSpeed(2);
    expect(edu.session.sentOf('replay.control')).toEqual([{ action: 'play' }, { action: 'pause' }, { action: 'seek', positionMs: 60_000 }, { action: 'seek', positionMs: 0 }, { action: 'speed', speed: 2 }]);
    edu.session.refuse('replay.control', 'FORBIDDEN', 'not yours');
    await edu.ctl.seek(1);
    expect(edu.ctl.error).toBe('not yours');

    for (const role of ['observer', 'clinician']) {
      const learner = player(role);
      expect(learner.ctl.drives, role).toBe(false);
      await learner.ctl.playPause();
      await learner.ctl.seek(1000);
      expect(learner.session.sent).toEqual([]);
      expect(learner.ctl.followText).toMatch(/educator controls the replay \(paused\)/);
    }
    // The same role outside a replay room does not drive anything.
    const live = player('host');
    live.session.state.info.kind = 'case-conference';
    expect(live.ctl.drives).toBe(false);
  });

  it('the timeline: markers in order, named by the recorded participant, placed by time, passed ones marked', () => {
    const { ctl, r } = player('observer', [
      { t: 30_000, kind: 'annotation', who: 'cli' },
      { t: 0, kind: 'join', who: 'edu' },
      { t: 15_000, kind: 'pointing', who: 'ghost-less' },
      { t: 12_000, kind: 'presenter', who: 'edu' },
    ]);
    const g = new GhostState();
    Object.assign(g, { userId: 'edu', name: 'Dr. Educator', role: 'host' });
    r.ghosts.set('s1', g);
    r.presenter = 's1';
    r.positionMs = 15_000;
    expect(ctl.markers().map((m) => [m.label, m.atPct, m.passed])).toEqual([
      ['0:00 Dr. Educator joined', 0, true],
      ['0:12 Dr. Educator started presenting', 20, true],
      ['0:15 ghost-less started pointing', 25, true],
      ['0:30 cli annotated', 50, false],
    ]);
    expect(ctl.recordedPeople()).toEqual(['Dr. Educator (presenting)']);
    expect(ctl.audioText).toMatch(/No audio/);
  });
});

describe('consent before joining a room that may be recorded', () => {
  it('says what is kept, and that voice is kept as said when the room has voice', () => {
    expect(consentText({ allowed: false, active: false }, true)).toBeNull();
    const quiet = consentText({ allowed: true, active: false })!;
    expect(quiet).toMatch(/^The host may record this room for teaching: .*avatar movement \(no patient record is copied\)\. You will see when it records\.$/);
    expect(quiet).not.toContain('voice');
    const voiced = consentText({ allowed: true, active: true }, true)!;
    expect(voiced).toMatch(/^This room is being recorded now: .*what is said on voice .*spoken words are kept as said/);
  });
});
