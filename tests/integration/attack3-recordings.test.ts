import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { refusal } from '../support/refusal.ts';

captureFrames();

/**
 * Outside attack on recordings (round 3). Each test is a hole found: it fails
 * on the current code and passes once the hole is closed.
 */
const CANARY = { name: 'Zqxatkname7731', mrn: 'MRN-Zq-90417', note: 'Zqxatknote2209' };
const has = (buf: Buffer, s: string) => buf.includes(Buffer.from(s, 'utf8'));

let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  ({ caseId } = await admin.api.importCase(caseBundle(CANARY)));
  // Learners seated in group replays have signed in (a seat names someone Consilium knows).
  await server.signIn('lrn');
});
afterAll(async () => {
  await server?.stop();
});

/** A short recording made by `host` in `room` (the host joins, records ~0.5 s, stops, leaves). */
async function record(host: string, roomId: string): Promise<string> {
  const s = await server.join(host, roomId);
  const { recordingId } = await s.do('recording.start', {});
  await new Promise((r) => setTimeout(r, 500));
  await s.do('recording.stop', {});
  await s.leave();
  return recordingId;
}

describe('attack3: recordings', () => {
  /**
   * HIGH. A host whose access in the live room was de-identified (the room's
   * scope ceiling) records the session, then grants the recording to
   * themselves with `patient/*.rs` and opens a replay: the replay room has no
   * ceiling and the grant's scopes are never bounded by the granter's, so the
   * host reads the identified Patient (name, MRN) they could never see live.
   * Same hole lets them hand any identified access to anyone (grant or group
   * replay participants with wide scopes). "Nobody widens their own access."
   */
  it('a de-identified recording host cannot widen their own access through a self-grant and a replay', async () => {
    const room = await admin.api.createRoom({
      title: 'Teaching (de-identified)',
      kind: 'case-conference',
      caseId,
      recordingAllowed: true,
      scopeCeiling: ['deidentified', 'patient/Observation.rs'],
      participants: [{ userId: 'dh', role: 'host' }],
    });
    // Live: the host is de-identified (ceiling) and never receives the canaries.
    const live = await server.join('dh', room.id);
    await eventually(() => live.caseResources('Observation').length === 1);
    expect(live.deidentified).toBe(true);
    for (const c of [CANARY.name, CANARY.mrn]) expect(has(receivedBytes(live), c), c).toBe(false);
    await live.leave();
    const recordingId = await record('dh', room.id);

    const dh = await server.as('dh', { scopes: ['patient/*.rs'] });
    // The attack: grant oneself identified access to one's own recording and open it.
    const granted = await refusal(dh.api.grantRecording(recordingId, { userId: 'dh', role: 'host', scopes: ['patient/*.rs'] }));
    const replay = await dh.api.openReplay(recordingId);
    const seat = await server.join('dh', replay.id);
    await eventually(() => seat.caseResources().length > 0);
    await new Promise((r) => setTimeout(r, 300));
    const leaked = [CANARY.name, CANARY.mrn].filter((c) => has(receivedBytes(seat), c));
    await seat.leave();
    expect({ granted, deidentified: seat.deidentified, leaked }).toEqual({ granted: expect.any(String), deidentified: true, leaked: [] });
  });

  /**
   * MEDIUM. A group replay's learner removed from that replay room keeps the
   * recording forever: before the removal they opened a private replay of it
   * (any watcher may), and being a participant of *any* open replay room of the
   * recording is itself the right to watch — their own room re-grants them.
   */
  it('a learner removed from the group replay cannot keep the recording through a private replay they opened', async () => {
    const room = await admin.api.createRoom({ title: 'Board', kind: 'case-conference', caseId, recordingAllowed: true, participants: [{ userId: 'edu3', role: 'host' }] });
    const recordingId = await record('edu3', room.id);
    const edu = await server.as('edu3');
    const group = await edu.api.openReplay(recordingId, { participants: [{ userId: 'lrn', role: 'observer' }] });
    const lrn = await server.as('lrn');
    // A seat in the group replay is not a right to the recording: no private replay of one's own from it.
    expect(await refusal(lrn.api.openReplay(recordingId))).toBe('FORBIDDEN');
    // The educator's admin takes the learner out of the group session: nothing of the recording is left to them.
    await admin.api.removeParticipant(group.id, 'lrn');
    const after = {
      list: (await lrn.api.listRecordings()).some((r) => r.id === recordingId),
      get: await refusal(lrn.api.getRecording(recordingId)),
      open: await refusal(lrn.api.openReplay(recordingId)),
      ticket: await refusal(lrn.api.getTicket(group.id)),
    };
    expect(after).toEqual({ list: false, get: 'RECORDING_NOT_FOUND', open: 'RECORDING_NOT_FOUND', ticket: 'NOT_INVITED' });
  });
});
