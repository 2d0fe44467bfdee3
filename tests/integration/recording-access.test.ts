import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { CloseCodes } from '../../shared/src/index.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { refusal } from '../support/refusal.ts';

captureFrames();

/**
 * Who may watch a recording, on the real stack: grants to people and to a training room (each member under
 * their own access there, at most the grant's), revocation stopping a replay in progress at once, a training
 * room's membership changing who holds it (removed: out at once; demoted: narrowed at once), and the
 * timeline's markers within each viewer's access — attacked on the raw frames and the raw HTTP bytes.
 */
const CANARY = { name: 'Zqxaccname5521', mrn: 'MRN-Zq-31877', note: 'Zqxaccnote6630', id: 'Zqxaccid4108' };
const has = (buf: Buffer, s: string) => buf.includes(Buffer.from(s, 'utf8'));
const T = { position: [0.1, 1.2, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };

let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;
let recordingId: string;
let durationMs: number;
let cohort: string;

/** Raw HTTP, byte for byte, as an attacker with a wide identity token would read it. */
async function rawGet(client: ConsiliumClient, path: string): Promise<{ status: number; raw: Buffer }> {
  const res = await fetch(new URL(path, server.app.url), { headers: { authorization: `Bearer ${client.api.identityToken}` } });
  return { status: res.status, raw: Buffer.from(await res.arrayBuffer()) };
}

/** A private replay of the recording, sought to its end (every recorded object on the table), with the case settled. */
async function watchAlone(client: ConsiliumClient): Promise<ClinicSession> {
  const room = await client.api.openReplay(recordingId);
  const seat = await client.join(room.id);
  await seat.ready();
  await seat.do('replay.control', { action: 'seek', positionMs: durationMs });
  await eventually(() => seat.objects().filter((o) => o.id.startsWith('rec_')).length >= 2 && seat.caseResources('Observation').length === 1);
  return seat;
}

const closedWatch = (s: ClinicSession) => {
  const seen = { code: undefined as number | undefined, at: 0 };
  s.onStatus((st, code) => {
    if (st === 'closed') Object.assign(seen, { code, at: Date.now() });
  });
  return seen;
};

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  ({ caseId } = await admin.api.importCase(caseBundle(CANARY)));
  // The recorded conference: the educator hosts, a clinician writes a note quoting the patient and a note whose
  // very id is typed text (both carry the clinician's identified access), and draws a stroke (no text).
  const room = await admin.api.createRoom({ title: 'Thoracic board', kind: 'case-conference', caseId, recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }, { userId: 'cli', role: 'clinician' }] });
  const edu = await server.join('edu', room.id);
  const cli = await server.join('cli', room.id);
  ({ recordingId } = await edu.do('recording.start', {}));
  await cli.do('object.add', { kind: 'label', asset: 'builtin:pin', label: `Mass, ${CANARY.name}: ${CANARY.note}`, transform: T });
  await cli.do('object.add', { id: `note-${CANARY.id}`, kind: 'label', asset: 'builtin:pin', label: 'see id', transform: T });
  await cli.do('object.add', { kind: 'stroke', asset: 'builtin:pen', points: [0, 1, 0, 0.1, 1, 0], transform: T });
  await new Promise((r) => setTimeout(r, 400));
  ({ durationMs } = await edu.do('recording.stop', {}));
  await edu.leave();
  await cli.leave();
  // The PGY-1 cohort: the educator hosts it; a student (observer) and a resident (clinician) are members.
  cohort = (await admin.api.createRoom({ title: 'PGY-1 cohort', kind: 'training', participants: [{ userId: 'edu', role: 'host' }, { userId: 'stu', role: 'observer' }, { userId: 'res', role: 'clinician' }] })).id;
  // The people granted it below have signed in (a grant names someone Consilium knows).
  for (const u of ['stu.g', 'res.g', 'gus', 'gia', 'ola', 'pia']) await server.signIn(u);
  // Learners seated in group replays have signed in (a seat names someone Consilium knows).
  for (const u of ['ned', 'dee']) await server.signIn(u);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('timeline markers within the viewer\'s access (attacked on raw bytes)', () => {
  it('a student granted the recording sees the note as a placeholder marker, never its text or a typed id — not in HTTP, not in frames', async () => {
    const edu = await server.as('edu');
    await edu.api.grantRecording(recordingId, { userId: 'stu.g' }); // observer: de-identified
    await edu.api.grantRecording(recordingId, { userId: 'res.g', role: 'clinician' });
    // Wide identity tokens: only the grant narrows.
    const stu = await server.as('stu.g', { scopes: ['patient/*.rs'] });
    const res = await server.as('res.g', { scopes: ['patient/*.rs'] });

    const resRec = await res.api.getRecording(recordingId);
    expect(resRec.markers.filter((m) => m.kind === 'annotation').map((m) => [m.what, m.text ?? null, m.hidden ?? false])).toEqual([
      ['label', `Mass, ${CANARY.name}: ${CANARY.note}`, false],
      ['label', 'see id', false],
      ['stroke', null, false],
    ]);
    const stuRec = await stu.api.getRecording(recordingId);
    // The note: a placeholder; the stroke: there (geometry is no patient data); the note whose id is typed text: left out.
    expect(stuRec.markers.filter((m) => m.kind === 'annotation').map((m) => [m.who, m.what, m.text ?? null, m.hidden ?? false])).toEqual([
      ['cli', 'label', null, true],
      ['cli', 'stroke', null, false],
    ]);
    const http = Buffer.concat([(await rawGet(stu, `/api/recordings/${recordingId}`)).raw, (await rawGet(stu, '/api/recordings')).raw]);
    const seat = await watchAlone(stu);
    await new Promise((r) => setTimeout(r, 300));
    const bytes = Buffer.concat([http, receivedBytes(seat)]);
    for (const c of Object.values(CANARY)) expect(has(bytes, c), c).toBe(false);
    expect(has(http, '"hidden":true')).toBe(true);
    await seat.leave();

    const resSeat = await watchAlone(res);
    await eventually(() => has(receivedBytes(resSeat), CANARY.note));
    expect(has(receivedBytes(resSeat), CANARY.id)).toBe(true);
    await resSeat.leave();
  });
});

describe('revocation stops a replay in progress at once', () => {
  it('a grantee watching (playing) is put out the moment the grant is revoked, and cannot come back', async () => {
    const edu = await server.as('edu');
    await edu.api.grantRecording(recordingId, { userId: 'gus' });
    const gus = await server.as('gus');
    const seat = await watchAlone(gus);
    await seat.do('replay.control', { action: 'seek', positionMs: 0 });
    await seat.do('replay.control', { action: 'play' });
    await eventually(() => seat.state.replay.status === 'playing');
    const closed = closedWatch(seat);
    const t0 = Date.now();
    await edu.api.revokeRecording(recordingId, 'gus');
    await eventually(() => closed.code !== undefined, 3000, 10);
    console.log(`revoked mid-replay: the replay seat closed ${closed.at - t0} ms after the revocation was sent`);
    expect(closed.at - t0).toBeLessThan(1000);
    expect(await refusal(gus.api.getRecording(recordingId))).toBe('RECORDING_NOT_FOUND');
    expect(await refusal(gus.api.openReplay(recordingId))).toBe('RECORDING_NOT_FOUND');
    expect((await gus.api.listRecordings()).map((r) => r.id)).not.toContain(recordingId);
  });

  it('revoking a person also ends the seat the educator gave them in a group replay, while it plays; the others stay', async () => {
    const edu = await server.as('edu');
    await edu.api.grantRecording(recordingId, { userId: 'gia' });
    const group = await edu.api.openReplay(recordingId, { participants: [{ userId: 'gia', role: 'observer' }, { userId: 'ned', role: 'observer' }] });
    const host = await server.join('edu', group.id);
    const gia = await server.join('gia', group.id);
    const ned = await server.join('ned', group.id);
    await host.do('replay.control', { action: 'play' });
    await eventually(() => gia.state.replay.status === 'playing');
    const closed = closedWatch(gia);
    await edu.api.revokeRecording(recordingId, 'gia');
    await eventually(() => closed.code !== undefined, 3000, 10);
    expect(ned.status).toBe('connected');
    expect(await refusal((await server.as('gia')).api.getTicket(group.id))).toBe('NOT_INVITED');
    await host.leave();
    await ned.leave();
  });
});

describe('a recording granted to a training room', () => {
  it('only those who manage it grant, only to a training room they can see; the grants are listed', async () => {
    const edu = await server.as('edu');
    const stu = await server.as('stu');
    const clinical = await admin.api.createRoom({ title: 'Live board', kind: 'case-conference', participants: [{ userId: 'edu', role: 'host' }] });
    const foreign = await admin.api.createRoom({ title: 'Other cohort', kind: 'training', participants: [{ userId: 'x1', role: 'observer' }] });
    expect(await refusal(stu.api.grantRecordingToRoom(recordingId, { roomId: cohort }))).toBe('RECORDING_NOT_FOUND'); // not theirs to know of yet
    expect(await refusal(edu.api.grantRecordingToRoom(recordingId, { roomId: clinical.id }))).toBe('BODY_INVALID');
    expect(await refusal(edu.api.grantRecordingToRoom(recordingId, { roomId: foreign.id }))).toBe('ROOM_NOT_FOUND');
    expect(await refusal(edu.api.grantRecordingToRoom(recordingId, { roomId: '00000000-0000-4000-8000-000000000000' }))).toBe('ROOM_NOT_FOUND');
    // As residents at most: each member still watches under their own access in the cohort.
    await edu.api.grantRecordingToRoom(recordingId, { roomId: cohort, role: 'clinician' });
    const g = await edu.api.recordingGrants(recordingId);
    expect(g.rooms).toEqual([expect.objectContaining({ roomId: cohort, title: 'PGY-1 cohort', role: 'clinician', scopes: null, members: 3, grantedBy: 'edu' })]);
    expect(g.people.map((p) => p.userId).sort()).toEqual(['res.g', 'stu.g']);
    expect(await refusal(stu.api.recordingGrants(recordingId))).toBe('FORBIDDEN'); // a member now: may watch, not manage
    expect(await refusal((await server.as('nobody')).api.recordingGrants(recordingId))).toBe('RECORDING_NOT_FOUND');
  });

  it('members watch under their own access there (the student de-identified, the resident identified); strangers learn nothing', async () => {
    const stu = await server.as('stu', { scopes: ['patient/*.rs'] });
    const res = await server.as('res', { scopes: ['patient/*.rs'] });
    expect((await stu.api.listRecordings()).find((r) => r.id === recordingId)).toMatchObject({ access: 'cohort', mayManage: false });
    const s = await watchAlone(stu);
    const r = await watchAlone(res);
    await eventually(() => r.caseResources('Patient').length === 1);
    expect([s.deidentified, r.deidentified]).toEqual([true, false]);
    await new Promise((x) => setTimeout(x, 300));
    for (const c of Object.values(CANARY)) expect(has(receivedBytes(s), c), c).toBe(false);
    expect(has(receivedBytes(r), CANARY.name)).toBe(true);
    expect(await refusal((await server.as('outsider')).api.openReplay(recordingId))).toBe('RECORDING_NOT_FOUND');

    // The resident is made an observer in the cohort: their replay narrows at once, nothing identified arrives after.
    const before = receivedBytes(r).length;
    await admin.api.setParticipant(cohort, 'res', { role: 'observer' });
    await eventually(() => r.deidentified);
    const res2 = await server.as('res');
    await r.do('replay.control', { action: 'seek', positionMs: 0 });
    await r.do('replay.control', { action: 'seek', positionMs: durationMs });
    await new Promise((x) => setTimeout(x, 300));
    for (const c of [CANARY.name, CANARY.mrn, CANARY.note]) expect(has(receivedBytes(r).subarray(before), c), c).toBe(false);
    expect((await res2.api.getRecording(recordingId)).markers.some((m) => m.hidden)).toBe(true);

    // The student leaves the cohort: out of their replay at once, and the recording is gone for them.
    const closed = closedWatch(s);
    await admin.api.removeParticipant(cohort, 'stu');
    await eventually(() => closed.code !== undefined, 3000, 10);
    expect(await refusal(stu.api.getRecording(recordingId))).toBe('RECORDING_NOT_FOUND');
    expect((await stu.api.listRecordings()).map((x) => x.id)).not.toContain(recordingId);

    // The room's grant is revoked: the resident is out at once too.
    const closedR = closedWatch(r);
    await (await server.as('edu')).api.revokeRecordingRoom(recordingId, cohort);
    await eventually(() => closedR.code !== undefined, 3000, 10);
    expect(await refusal(res2.api.getRecording(recordingId))).toBe('RECORDING_NOT_FOUND');
    expect((await (await server.as('edu')).api.recordingGrants(recordingId)).rooms).toEqual([]);
  });

  it('a member kicked from the training room in the room itself (no route saw it) cannot get back into their replay', async () => {
    const edu = await server.as('edu');
    await admin.api.setParticipant(cohort, 'kim', { role: 'observer' });
    await edu.api.grantRecordingToRoom(recordingId, { roomId: cohort });
    const kim = await server.as('kim');
    const own = await kim.api.openReplay(recordingId);
    // The educator kicks Kim from the cohort's live room.
    const host = await server.join('edu', cohort);
    const member = await server.join('kim', cohort);
    await host.do('participant.kick', { userId: 'kim' });
    await eventually(() => member.status === 'closed');
    await host.leave();
    expect(await refusal(kim.api.getTicket(own.id))).toBe('NOT_INVITED');
    expect(await refusal(kim.api.getRecording(recordingId))).toBe('RECORDING_NOT_FOUND');
  });
});

describe('one replay room per viewer watching alone', () => {
  it('watching alone again opens the same room (not one per click); a group replay and another viewer get rooms of their own', async () => {
    const edu = await server.as('edu');
    await edu.api.grantRecording(recordingId, { userId: 'ola', role: 'clinician' });
    await edu.api.grantRecording(recordingId, { userId: 'pia', role: 'clinician' });
    const ola = await server.as('ola');
    const first = await ola.api.openReplay(recordingId);
    const again = await ola.api.openReplay(recordingId);
    expect(again.id).toBe(first.id);
    const pia = await (await server.as('pia')).api.openReplay(recordingId);
    expect(pia.id).not.toBe(first.id);
    // The educator's group replay is never handed out as someone's solo room, nor reused for watching alone.
    const group = await edu.api.openReplay(recordingId, { participants: [{ userId: 'ola', role: 'observer' }] });
    const eduAlone = await edu.api.openReplay(recordingId);
    expect(eduAlone.id).not.toBe(group.id);
    expect((await edu.api.openReplay(recordingId)).id).toBe(eduAlone.id);
    const { rows } = await server.app.pool.query<{ n: string }>(`SELECT count(*) AS n FROM rooms WHERE recording_id = $1 AND created_by = 'ola' AND status = 'open'`, [recordingId]);
    expect(Number(rows[0]!.n)).toBe(1);
  });
});

describe('deleting a recording by hand', () => {
  it('its group replay closes while it plays (everyone in it put out, no ticket after), its chunks go, and one audit row says how many rooms closed', async () => {
    const board = await admin.api.createRoom({ title: 'Doomed board', kind: 'case-conference', caseId, recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }] });
    const live = await server.join('edu', board.id);
    const { recordingId: doomed } = await live.do('recording.start', {});
    await live.do('object.add', { kind: 'stroke', asset: 'builtin:pen', points: [0, 1, 0, 0.1, 1, 0], transform: T });
    await new Promise((r) => setTimeout(r, 300));
    await live.do('recording.stop', {});
    await live.leave();
    const edu = await server.as('edu');
    const group = await edu.api.openReplay(doomed, { participants: [{ userId: 'dee', role: 'observer' }] });
    const host = await server.join('edu', group.id);
    const dee = await server.join('dee', group.id);
    await host.do('replay.control', { action: 'play' });
    await eventually(() => dee.state.replay.status === 'playing');
    const [hostClosed, deeClosed] = [closedWatch(host), closedWatch(dee)];
    await edu.api.deleteRecording(doomed);
    await eventually(() => hostClosed.code !== undefined && deeClosed.code !== undefined, 3000, 10);
    expect([hostClosed.code, deeClosed.code]).toEqual([CloseCodes.ROOM_CLOSED, CloseCodes.ROOM_CLOSED]);
    const pool = server.app.pool;
    expect((await pool.query(`SELECT status FROM rooms WHERE id = $1`, [group.id])).rows[0].status).toBe('closed');
    expect(Number((await pool.query(`SELECT count(*) AS n FROM recording_chunks WHERE recording_id = $1`, [doomed])).rows[0].n)).toBe(0);
    expect(await refusal((await server.as('dee')).api.getTicket(group.id))).toBe('ROOM_CLOSED');
    expect(await refusal(edu.api.getRecording(doomed))).toBe('RECORDING_NOT_FOUND');
    await server.app.audit.flush();
    const rows = (await pool.query<{ actor: string; details: Record<string, unknown> }>(`SELECT actor, details FROM audit_log WHERE action = 'recording.delete' AND details->>'recordingId' = $1`, [doomed])).rows;
    expect(rows).toEqual([{ actor: 'edu', details: { recordingId: doomed, replayRoomsClosed: 1, audioDeleted: false } }]);
  });
});
