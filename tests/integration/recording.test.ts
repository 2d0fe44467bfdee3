import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { toRecord } from '../../server/src/rooms/scene-store.ts';
import { RecordingsRepo } from '../../server/src/db/recordings.repo.ts';
import { Recorder, RECORD_TICK_MS } from '../../server/src/rooms/recorder.ts';
import { decodeChunk, sceneAt } from '../../server/src/domain/recording.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { GeneratedSession } from '../support/generated-session.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { refusal } from '../support/refusal.ts';

captureFrames();

const CANARY = { name: 'Zqxrecname4410', mrn: 'MRN-Zq-55120', note: 'Zqxrecnote8834' };
const CANARIES = [CANARY.name, CANARY.mrn, CANARY.note];
const has = (buf: Buffer, s: string) => buf.includes(Buffer.from(s, 'utf8'));

let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  ({ caseId } = await admin.api.importCase(caseBundle(CANARY)));
  // Learners seated in group replays have signed in (a seat names someone Consilium knows).
  for (const u of ['stu', 'cli2']) await server.signIn(u);
});
afterAll(async () => {
  await server?.stop();
});

const recordedObjects = (s: ClinicSession) => s.objects().filter((o) => o.id.startsWith('rec_'));
const auditRows = async (action: string) => {
  const rows = [];
  let after: number | null = 0;
  while (after !== null) {
    const page = await admin.api.audit({ limit: 1000, after });
    rows.push(...page.events.filter((e) => e.action === action));
    after = page.next;
  }
  return rows;
};

describe('recording with consent, replay filtered by each viewer\'s access', () => {
  let recordingId = '';
  let durationMs = 0;
  let annotationId = '';
  /** A model without text: visible to everyone (annotations carry their author's access). */
  let publicId = '';
  let liveAtEnd: ReturnType<typeof toRecord>[] = [];
  let roomId = '';

  it('consent: only where allowed, only the host; everyone sees it; joiners are told before they enter; start and stop audited', async () => {
    const room = await admin.api.createRoom({ title: 'Tumour board', kind: 'case-conference', caseId, recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }, { userId: 'cli', role: 'clinician' }, { userId: 'late', role: 'observer' }] });
    roomId = room.id;
    expect(room.recordingAllowed).toBe(true);
    const cliClient = await server.as('cli');
    expect((await cliClient.api.getTicket(room.id)).recording).toEqual({ allowed: true, active: false });

    const edu = await server.join('edu', room.id);
    const cli = await server.join('cli', room.id);
    expect(cli.state.info.recordingAllowed).toBe(true);
    expect(await refusal(cli.do('recording.start', {}))).toBe('FORBIDDEN');
    const started = await edu.do('recording.start', {});
    recordingId = started.recordingId;
    expect(started.audio).toBe('none'); // no LiveKit here: no audio, and the recording says so
    await eventually(() => cli.state.info.recording === recordingId);
    expect(await refusal(edu.do('recording.start', {}))).toBe('RECORDING_ACTIVE');

    // Someone about to join is told before entering: the ticket and the room say it records.
    const late = await server.as('late');
    expect((await late.api.getTicket(room.id)).recording).toEqual({ allowed: true, active: true });
    expect((await late.api.getRoom(room.id)).recording).toBe(true);

    // The room: an annotation quoting the patient (carries the clinician's identified access), a model anyone may see, a pointer, a presenter.
    annotationId = (await cli.do('object.add', { kind: 'label', asset: 'builtin:pin', label: `Mass seen by ${CANARY.name}`, transform: { position: [0.1, 1.2, 0], rotation: [0, 0, 0, 1] } })).objectId;
    publicId = (await edu.do('object.add', { kind: 'model', asset: 'builtin:heart', transform: { position: [0.4, 1.2, 0], rotation: [0, 0, 0, 1] } })).objectId;
    cli.room.send('pointer.update', { target: [0.1, 1.2, 0], sentAt: Date.now() });
    await edu.do('presenter.set', { sessionId: edu.sessionId });
    edu.sendPose({ head: { p: [0, 1.6, 1], q: [0, 0, 0, 1] } });
    await eventually(() => cli.participants().some((p) => p.pointing));
    await new Promise((r) => setTimeout(r, 3 * RECORD_TICK_MS));
    liveAtEnd = edu.objects().map((o) => toRecord(o)).sort((a, b) => (a.id < b.id ? -1 : 1));

    const stopped = await edu.do('recording.stop', {});
    expect(stopped.recordingId).toBe(recordingId);
    durationMs = stopped.durationMs;
    await eventually(() => cli.state.info.recording === '');
    expect((await late.api.getTicket(room.id)).recording.active).toBe(false);

    const starts = await auditRows('recording.start');
    const stops = await auditRows('recording.stop');
    expect(starts.some((e) => e.actor === 'edu' && e.details['recordingId'] === recordingId)).toBe(true);
    expect(stops.some((e) => e.actor === 'edu' && e.details['recordingId'] === recordingId && e.details['durationMs'] === durationMs)).toBe(true);
    await edu.leave();
    await cli.leave();

    // Not allowed: the host cannot record.
    const plain = await admin.api.createRoom({ title: 'Plain', kind: 'case-conference', participants: [{ userId: 'edu', role: 'host' }] });
    const edu2 = await server.join('edu', plain.id);
    expect(await refusal(edu2.do('recording.start', {}))).toBe('RECORDING_NOT_ALLOWED');
    await edu2.leave();
  });

  it('replay to a group: the scene at an instant is the live one; a de-identified learner gets none of the canaries (frames and HTTP); viewings audited', async () => {
    const eduApi = await server.as('edu');
    const replayRoom = await eduApi.api.openReplay(recordingId, { participants: [{ userId: 'stu', role: 'observer' }, { userId: 'cli2', role: 'clinician' }] });
    expect(replayRoom.kind).toBe('replay');
    const edu = await server.join('edu', replayRoom.id);
    const stu = await server.join('stu', replayRoom.id);
    const cli2 = await server.join('cli2', replayRoom.id);
    expect(edu.state.replay.durationMs).toBe(durationMs);
    expect(edu.state.replay.audio).toBe('none');
    expect(await refusal(stu.do('replay.control', { action: 'seek', positionMs: 0 }))).toBe('FORBIDDEN');

    await edu.do('replay.control', { action: 'seek', positionMs: durationMs });
    await eventually(() => recordedObjects(cli2).length === liveAtEnd.length);
    // Exactly the live scene at that instant (the identified viewer sees all of it).
    const replayed = recordedObjects(cli2).map((o) => ({ ...toRecord(o), id: o.id.slice(4), authorScope: '', resourceRef: '' })).sort((a, b) => (a.id < b.id ? -1 : 1));
    expect(replayed).toEqual(liveAtEnd.map((o) => ({ ...o, authorScope: '', resourceRef: '' })));
    expect(cli2.state.replay.presenter).not.toBe('');
    expect([...cli2.state.replay.ghosts.values()].some((g) => g.pointing)).toBe(true);
    // Their recorded avatars arrive on the replay's binary path, where they were at that instant.
    await eventually(() => [...cli2.state.replay.ghosts.keys()].some((key) => cli2.ghostPose(key, durationMs) !== null));

    // The student: the model, and the note as a placeholder — never its text quoting the patient; de-identified case.
    await eventually(() => recordedObjects(stu).length === 2 && stu.caseResources('Observation').length === 1);
    expect(recordedObjects(stu).map((o) => o.id).sort()).toEqual([`rec_${annotationId}`, `rec_${publicId}`].sort());
    const note = recordedObjects(stu).find((o) => o.id === `rec_${annotationId}`)!;
    expect({ label: note.label ?? '', hasText: note.hasText }).toEqual({ label: '', hasText: true });
    expect(stu.deidentified).toBe(true);
    await eventually(() => cli2.caseResources('Patient').length === 1);
    expect(JSON.stringify(cli2.caseResources('Patient'))).toContain(CANARY.name);
    const cliBytes = receivedBytes(cli2);
    const stuBytes = receivedBytes(stu);
    expect(has(cliBytes, CANARY.name)).toBe(true);
    for (const c of CANARIES) expect(has(stuBytes, c), c).toBe(false);

    // Seek back to the start: the annotation was not there yet.
    await edu.do('replay.control', { action: 'seek', positionMs: 0 });
    await eventually(() => !recordedObjects(cli2).some((o) => o.id === `rec_${annotationId}`));
    await edu.do('replay.control', { action: 'play' });
    await eventually(() => cli2.state.replay.status === 'playing');

    // HTTP: the timeline's annotation marker follows the annotation's access; the case read through the replay room is de-identified.
    // Their identity tokens would allow everything: the replay room's access is what narrows.
    const stuApi = await server.as('stu', { scopes: ['patient/*.rs'] });
    const cliApi = await server.as('cli2', { scopes: ['patient/*.rs'] });
    const stuRec = await stuApi.api.getRecording(recordingId);
    const cliRec = await cliApi.api.getRecording(recordingId);
    // The note's marker: its text for the identified clinician, the live room's placeholder for the student.
    expect(cliRec.markers.filter((m) => m.kind === 'annotation')).toEqual([expect.objectContaining({ what: 'label', text: `Mass seen by ${CANARY.name}` })]);
    expect(stuRec.markers.filter((m) => m.kind === 'annotation')).toEqual([{ t: expect.any(Number), kind: 'annotation', who: 'cli', what: 'label', hidden: true }]);
    expect(stuRec.markers.some((m) => m.kind === 'presenter') && stuRec.markers.some((m) => m.kind === 'join') && stuRec.markers.some((m) => m.kind === 'pointing')).toBe(true);
    const stuCase = JSON.stringify(await stuApi.api.getCase(caseId, replayRoom.id));
    for (const c of CANARIES) expect(stuCase.includes(c), c).toBe(false);
    expect(JSON.stringify(await cliApi.api.getCase(caseId, replayRoom.id))).toContain(CANARY.name);

    await edu.do('replay.control', { action: 'pause' });
    await edu.do('replay.control', { action: 'seek', positionMs: durationMs });
    await eventually(() => recordedObjects(stu).length === 2);
    // Learners' marks belong to the replay: allowed on top, never on the recording, never in the original room.
    const mine = await stu.do('object.add', { kind: 'marker', asset: 'builtin:pin', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } });
    expect(await refusal(stu.do('object.grab', { objectId: `rec_${publicId}` }))).toBe('FORBIDDEN');
    expect(await refusal(edu.do('object.remove', { objectId: `rec_${publicId}` }))).toBe('FORBIDDEN');
    expect(await refusal(stu.do('object.add', { id: 'rec_forged', kind: 'marker', asset: 'builtin:pin', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } }))).toBe('OBJECT_EXISTS');
    const original = await server.app.pool.query(`SELECT id FROM scene_objects WHERE room_id = $1`, [roomId]);
    expect(original.rows.map((r: { id: string }) => r.id)).not.toContain(mine.objectId);

    const views = await auditRows('recording.view');
    for (const who of ['edu', 'stu', 'cli2']) expect(views.some((e) => e.actor === who && e.details['recordingId'] === recordingId), who).toBe(true);

    // Revoked after the session: narrowed to de-identified, the clinician loses the identified case and the note's text at once.
    await admin.api.setParticipant(replayRoom.id, 'cli2', { role: 'clinician', scopes: ['deidentified', 'patient/Observation.rs'] });
    await edu.do('replay.control', { action: 'seek', positionMs: durationMs });
    await eventually(() => cli2.deidentified && recordedObjects(cli2).length === 2 && !recordedObjects(cli2).some((o) => (o.label ?? '').includes(CANARY.name)));
    const before = receivedBytes(cli2).length;
    await edu.do('replay.control', { action: 'seek', positionMs: 0 });
    await edu.do('replay.control', { action: 'seek', positionMs: durationMs });
    await new Promise((r) => setTimeout(r, 300));
    const after = receivedBytes(cli2).subarray(before);
    for (const c of CANARIES) expect(has(after, c), c).toBe(false);
    for (const s of [edu, stu, cli2]) await s.leave();
  });

  it('grants: a grantee watches alone under the grant\'s access; revoking takes the recording and the seat away; strangers learn nothing', async () => {
    const eduApi = await server.as('edu');
    const stranger = await server.as('nobody');
    expect(await refusal(stranger.api.getRecording(recordingId))).toBe('RECORDING_NOT_FOUND');
    expect(await refusal(stranger.api.openReplay(recordingId))).toBe('RECORDING_NOT_FOUND');
    expect((await stranger.api.listRecordings()).map((r) => r.id)).not.toContain(recordingId);

    const gus = await server.signIn('gus'); // a grant names someone who has signed in
    await eduApi.api.grantRecording(recordingId, { userId: 'gus' }); // observer: de-identified by default
    expect((await gus.api.listRecordings()).map((r) => r.id)).toContain(recordingId);
    expect(await refusal(gus.api.openReplay(recordingId, { participants: [{ userId: 'pal', role: 'host' }] }))).toBe('FORBIDDEN');
    const alone = await gus.api.openReplay(recordingId);
    const seat = await gus.join(alone.id);
    await seat.ready();
    await seat.do('replay.control', { action: 'seek', positionMs: durationMs });
    await eventually(() => recordedObjects(seat).length === 2 && seat.caseResources('Observation').length === 1);
    expect(seat.deidentified).toBe(true);
    for (const c of CANARIES) expect(has(receivedBytes(seat), c), c).toBe(false);

    let closedWith: number | undefined;
    seat.onStatus((s, code) => void (s === 'closed' && (closedWith = code)));
    await eduApi.api.revokeRecording(recordingId, 'gus');
    await eventually(() => closedWith !== undefined);
    expect(await refusal(gus.api.getRecording(recordingId))).toBe('RECORDING_NOT_FOUND');
    expect(await refusal(gus.api.getTicket(alone.id))).toBe('NOT_INVITED');
    expect((await auditRows('recording.revoke')).some((e) => e.subject === 'gus')).toBe(true);
  });

  it('a deleted case reaches replays: the replay shows the scene and no case', async () => {
    const eduApi = await server.as('edu');
    const room = await eduApi.api.openReplay(recordingId);
    const edu = await server.join('edu', room.id);
    await eventually(() => edu.caseResources('Patient').length === 1);
    expect((await eduApi.api.getRecording(recordingId)).caseDeleted).toBe(false);
    await admin.api.deleteCase(caseId);
    await eventually(() => edu.caseResources().length === 0 && edu.state.info.caseId === '');
    // The recording says its case is gone (the library and the replay's case panel tell the viewer).
    expect((await eduApi.api.getRecording(recordingId)).caseDeleted).toBe(true);
    const fresh = await eduApi.api.openReplay(recordingId);
    const again = await server.join('edu', fresh.id);
    await again.do('replay.control', { action: 'seek', positionMs: durationMs });
    await eventually(() => recordedObjects(again).length > 0);
    expect(again.caseResources()).toEqual([]);
    await edu.leave();
    await again.leave();
  });

  it('seek on a generated 60-minute recording (16 participants moving) takes well under 200 ms', async () => {
    const repo = new RecordingsRepo(server.app.pool);
    const room = await admin.api.createRoom({ title: 'Long', kind: 'training', participants: [] });
    const id = '00000000-0000-4000-8000-000000000060';
    await repo.begin({ id, roomId: room.id, caseId: null, title: 'Long', startedBy: 'root', hostScope: '', chunkMs: 10_000, retentionDays: null });
    const session = new GeneratedSession(60, 16);
    let now = 0;
    const recorder = new Recorder({ id, state: session.state, poseOf: (s) => session.poses.get(s) ?? null, sink: repo, startedAt: 0, onError: (e) => { throw e; } });
    for (let i = 0; i < 36_000; i++) {
      session.step(i % 10 === 0);
      recorder.tick((now += RECORD_TICK_MS));
    }
    const duration = await recorder.stop(now);
    await repo.finish(id, duration);
    const rec = (await repo.get(id))!;
    expect(rec.durationMs).toBe(3_600_000);
    const times: number[] = [];
    for (let i = 0; i < 25; i++) {
      const t = Math.floor(((i * 7919) % 3600) * 1000 + 537);
      const start = performance.now();
      const scene = sceneAt(decodeChunk((await repo.chunkAt(id, t))!), t);
      times.push(performance.now() - start);
      expect(scene.people.size).toBeGreaterThan(0);
    }
    times.sort((a, b) => a - b);
    console.log(`60-minute recording: ${(rec.bytes / 1024 / 1024).toFixed(1)} MiB (${(rec.bytes / 60 / 1024).toFixed(0)} KiB/min); seek median ${times[12]!.toFixed(1)} ms, max ${times[24]!.toFixed(1)} ms`);
    expect(times[24]!).toBeLessThan(200);
  }, 240_000);
});
