import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { ROOM_CAPACITY } from '../../shared/src/roles.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
let admin: ConsiliumClient;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
});
afterAll(async () => {
  await server?.stop();
});

describe('grand rounds: a lecture hall', () => {
  it('holds 500; presenters act, the audience receives only (no avatar, no pose, no pointer), de-identified, and raises a hand', async () => {
    expect(ROOM_CAPACITY['grand-rounds']).toBe(500);
    const { caseId } = await admin.api.importCase(caseBundle({ name: 'Zqxhallname', mrn: 'MRN-Zq-1', note: 'Zqxhallnote' }));
    const room = await admin.api.createRoom({ title: 'Grand rounds', kind: 'grand-rounds', caseId, participants: [{ userId: 'prof', role: 'host' }, { userId: 'a1', role: 'observer' }, { userId: 'a2', role: 'observer' }] });
    const prof = await server.join('prof', room.id);
    const a1 = await server.join('a1', room.id);
    const a2 = await server.join('a2', room.id);
    expect(a1.state.participants.get(a1.sessionId)!.avatar).toBe(false);
    expect(a1.state.participants.get(prof.sessionId)!.avatar).toBe(true);
    expect(a1.deidentified).toBe(true);

    // The presenter's avatar reaches the audience.
    prof.sendPose({ head: { p: [0.5, 1.6, -1], q: [0, 0, 0, 1] } });
    await eventually(() => a2.avatarPose(a2.state.participants.get(prof.sessionId)!) !== null);
    expect(a2.avatarPose(a2.state.participants.get(prof.sessionId)!)!.head.p[0]).toBeCloseTo(0.5, 2);

    // The audience cannot act: no pointer, no pose (refused with a notice), no annotation.
    expect((await a1.request('pointer.update', { target: [0, 1, 0], sentAt: Date.now() })).ok).toBe(false);
    const notices: string[] = [];
    a1.onError((e) => notices.push(`${e.type}:${e.code}`));
    a1.sendPose({ head: { p: [0, 1.6, 0], q: [0, 0, 0, 1] } });
    await eventually(() => notices.includes('pose:FORBIDDEN'));

    // Raise a hand; only the host lowers someone else's; nobody raises it for another.
    await a1.do('hand.raise', { raised: true });
    await eventually(() => prof.state.participants.get(a1.sessionId)?.handRaised === true);
    const forged = await a2.request('hand.raise', { raised: false, sessionId: a1.sessionId });
    expect(forged.ok ? 'accepted' : forged.error.code).toBe('FORBIDDEN');
    await prof.do('hand.raise', { raised: false, sessionId: a1.sessionId });
    await eventually(() => a1.state.participants.get(a1.sessionId)?.handRaised === false);

    // Called on: promoted to clinician, the attendee gets an avatar and may point.
    await admin.api.setParticipant(room.id, 'a1', { role: 'clinician' });
    await eventually(() => a1.state.participants.get(a1.sessionId)?.avatar === true);
    expect((await a1.request('pointer.update', { target: [0, 1, 0], sentAt: Date.now() })).ok).toBe(true);
    for (const s of [prof, a1, a2]) await s.leave();
  });
});
