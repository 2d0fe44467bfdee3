import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient, ErrorNotice } from '../../client/src/sdk/index.ts';
import { fromPatientFrame } from '../../shared/src/index.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { slowUplink } from '../support/uplink.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';

captureFrames();

/**
 * The surgical-guidance room kind, driven by real SDK clients: who may
 * anchor, annotate, point and acknowledge; patient-frame annotations;
 * hands-free ack/next/repeat/dismiss with "seen by"; pointers relayed at once
 * and marked stale when a guiding link is slowed or cut.
 */
let server: TestServer;
let admin: ConsiliumClient;
let roomId: string;
let surgeon: ClinicSession;
let specialist: ClinicSession;
let host: ClinicSession;
let observer: ClinicSession;

const I = { position: [0, 0, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  const { caseId } = await admin.api.importCase(caseBundle({ name: 'Sgname', mrn: 'SG-1', note: 'sg' }));
  roomId = (
    await admin.api.createRoom({
      title: 'Laparoscopic cholecystectomy',
      kind: 'surgical-guidance',
      caseId,
      participants: [
        { userId: 'dr.surgeon', role: 'surgeon' },
        { userId: 'dr.guide', role: 'specialist' },
        { userId: 'dr.host', role: 'host' },
        { userId: 'student', role: 'observer' },
      ],
    })
  ).id;
  surgeon = await server.join('dr.surgeon', roomId, { name: 'Dr. Surgeon' });
  specialist = await server.join('dr.guide', roomId, { name: 'Dr. Guide' });
  host = await server.join('dr.host', roomId);
  observer = await server.join('student', roomId);
});
afterAll(async () => {
  await server?.stop();
});

describe('surgical guidance', () => {
  it('runs at its own patch rate (conferences at 30 Hz) with every link fine', async () => {
    expect(surgeon.state.info.patchHz).toBe(60);
    const conf = await admin.api.createRoom({ title: 'Board', kind: 'case-conference', participants: [{ userId: 'dr.surgeon', role: 'surgeon' }] });
    const inConference = await server.join('dr.surgeon', conf.id);
    expect(inConference.state.info.patchHz).toBe(30);
    await inConference.leave();
    await eventually(() => surgeon.state.info.linkWarning === '' && surgeon.participants().every((p) => p.linkOk));
  });

  it('only the surgeon or the host registers the patient frame; each registration is a new version', async () => {
    expect(await specialist.request('anchor.set', { pose: { p: [0, 1, 0], q: [0, 0, 0, 1] } })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await observer.request('anchor.set', { pose: { p: [0, 1, 0], q: [0, 0, 0, 1] } })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const v1 = await surgeon.guidance.setAnchor({ p: [0.5, 0.9, -0.2], q: [0, 0.3826834, 0, 0.9238795] });
    expect(v1).toMatchObject({ ok: true, version: 1 });
    await eventually(() => specialist.guidance.anchor().version === 1);
    expect(specialist.guidance.anchor().p[0]).toBeCloseTo(0.5, 6);
  });

  it('observers neither annotate nor point; guiding annotations live in the patient frame and stay on the anatomy after re-registration', async () => {
    expect(await observer.add({ kind: 'stroke', asset: 'builtin:pen', frame: 'patient', points: [0, 0, 0, 0.01, 0, 0], transform: I })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const notices: ErrorNotice[] = [];
    observer.onError((n) => notices.push(n));
    observer.guidance.point([0, 0, 0]);
    await eventually(() => notices.some((n) => n.type === 'pointer.update' && n.code === 'FORBIDDEN'));

    // The specialist marks the cystic duct: 2 cm above and 1 cm to the right of the patient origin.
    const duct = [0.01, 0.02, 0] as const;
    const pin = await specialist.add({ id: 'duct', kind: 'arrow', asset: 'builtin:arrow', frame: 'patient', points: [0.01, 0.05, 0, ...duct], sentAt: Date.now(), transform: I, label: 'Cystic duct — clip here' });
    expect(pin).toMatchObject({ ok: true });
    await eventually(() => surgeon.state.objects.get('duct')?.frame === 'patient');
    const before = surgeon.state.objects.get('duct')!.points;
    const worldBefore = fromPatientFrame(surgeon.guidance.anchor(), duct);

    // The patient is re-registered 10 cm along and turned: the stored annotation does not change,
    // and the surgeon's world position follows the anatomy (the frame moved by exactly the new registration).
    expect(await surgeon.guidance.setAnchor({ p: [0.6, 0.9, -0.2], q: [0, 0.7071068, 0, 0.7071068] })).toMatchObject({ ok: true, version: 2 });
    await eventually(() => surgeon.guidance.anchor().version === 2);
    expect(surgeon.state.objects.get('duct')!.points).toBe(before);
    const worldAfter = fromPatientFrame(surgeon.guidance.anchor(), duct);
    expect(Math.hypot(worldAfter[0] - worldBefore[0], worldAfter[1] - worldBefore[1], worldAfter[2] - worldBefore[2])).toBeGreaterThan(0.05);
    expect(surgeon.state.objects.get('duct')!.sentAt).toBeGreaterThan(0);
  });

  it('hands-free: next focuses and highlights, ack shows "seen by surgeon" with the time, dismiss hides; all audited', async () => {
    const highlighted: string[] = [];
    specialist.guidance.onHighlight((id) => highlighted.push(id));
    expect(await specialist.add({ id: 'clip2', kind: 'marker', asset: 'builtin:pin', frame: 'patient', transform: I, sentAt: Date.now() })).toMatchObject({ ok: true });
    expect(await specialist.request('guidance.ack', { objectId: 'duct' })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await surgeon.guidance.next()).toMatchObject({ ok: true, focus: 'duct' });
    await eventually(() => highlighted.includes('duct'));
    expect(await surgeon.guidance.repeat()).toMatchObject({ ok: true, focus: 'duct' });
    await eventually(() => highlighted.filter((h) => h === 'duct').length === 2);
    const t0 = Date.now();
    expect(await surgeon.guidance.ack('duct')).toMatchObject({ ok: true });
    await eventually(() => (specialist.state.objects.get('duct')?.ackedAt ?? 0) > 0);
    expect(specialist.state.objects.get('duct')!.ackedBy).toBe('dr.surgeon');
    expect(Math.abs(specialist.state.objects.get('duct')!.ackedAt - t0)).toBeLessThan(2000);
    expect(await surgeon.guidance.next()).toMatchObject({ ok: true, focus: 'clip2' });
    expect(await surgeon.guidance.dismiss('clip2')).toMatchObject({ ok: true });
    await eventually(() => specialist.state.objects.get('clip2')?.dismissed === true);
    expect(surgeon.guidance.pending().map((o) => o.id)).toEqual([]);
    const audit = await admin.api.audit({ room: roomId, limit: 200 });
    const actions = audit.events.map((e) => e.action);
    for (const a of ['anchor.set', 'annotation.add', 'guidance.ack', 'guidance.dismiss']) expect(actions, a).toContain(a);
  });

  it('focus and highlights reach only those who may see the annotation; a de-identified host cannot clear what it cannot see', async () => {
    // A client-chosen id is free text: this one names the patient, so it carries the specialist's (identified) access.
    expect(await specialist.add({ id: 'Qzfocuscanary', kind: 'marker', asset: 'builtin:pin', frame: 'patient', transform: I })).toMatchObject({ ok: true });
    expect(await surgeon.guidance.next()).toMatchObject({ ok: true, focus: 'Qzfocuscanary' });
    expect(await surgeon.guidance.repeat()).toMatchObject({ ok: true });
    await eventually(() => surgeon.guidance.focus()?.id === 'Qzfocuscanary');
    await sleep(150);
    expect(observer.guidance.focus()).toBeNull();
    expect(receivedBytes(observer).includes(Buffer.from('Qzfocuscanary'))).toBe(false);
    await admin.api.setParticipant(roomId, 'dr.host', { role: 'host', scopes: ['deidentified', 'patient/Observation.rs'] });
    await eventually(() => !host.state.objects.has('Qzfocuscanary'));
    expect(await host.guidance.clear('all')).toMatchObject({ ok: true, removed: 0 });
    expect(surgeon.state.objects.has('Qzfocuscanary')).toBe(true);
    await admin.api.setParticipant(roomId, 'dr.host', { role: 'host' });
    expect(await surgeon.guidance.ack('Qzfocuscanary')).toMatchObject({ ok: true });
  });

  it('video telestration is stored normalised with its frame time', async () => {
    expect(await specialist.add({ id: 'v1', kind: 'stroke', asset: 'builtin:pen', frame: 'video', videoTime: 12_345.5, points: [0.2, 0.3, 0, 1.7, -0.4, 0], transform: I })).toMatchObject({ ok: true });
    await eventually(() => surgeon.state.objects.get('v1')?.videoTime === 12_345.5);
    expect(surgeon.state.objects.get('v1')!.points).toBe('0.2000,0.3000,0,1.0000,0.0000,0');
  });

  it('undo and clear: authors their own, the host everyone\'s', async () => {
    expect(await specialist.add({ id: 'oops', kind: 'marker', asset: 'builtin:pin', frame: 'patient', transform: I })).toMatchObject({ ok: true });
    expect(await specialist.guidance.undo()).toMatchObject({ ok: true, objectId: 'oops' });
    expect(await surgeon.guidance.clear('all')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await host.guidance.clear('all')).toMatchObject({ ok: true });
    await eventually(() => [...surgeon.state.objects.values()].every((o) => o.kind === 'model'));
  });

  it('pointers reach the surgeon at once and are current; a slowed or cut guiding link makes them stale for everyone', async () => {
    const received: number[] = [];
    surgeon.guidance.onPointer((p) => p.sessionId === specialist.sessionId && received.push(Date.now()));
    for (let i = 0; i < 10; i++) {
      specialist.guidance.point([0.01 * i, 0.02, 0]);
      await sleep(20);
    }
    await eventually(() => received.length >= 10);
    const mine = surgeon.guidance.pointers().find((p) => p.sessionId === specialist.sessionId)!;
    expect(mine.target![0]).toBeCloseTo(0.09, 6);
    expect(mine.current).toBe(true);

    // The specialist's uplink slows to 300 ms: the room warns, their pointers arrive flagged stale.
    const restore = slowUplink(specialist, 300);
    await eventually(() => surgeon.state.info.linkWarning.includes('Dr. Guide'), 5000, 50);
    expect(surgeon.participants().find((p) => p.userId === 'dr.guide')!.linkOk).toBe(false);
    await eventually(() => surgeon.participants().find((p) => p.userId === 'dr.guide')!.rttMs >= 250, 3000);
    specialist.guidance.point([0.5, 0.5, 0.5]);
    await eventually(() => surgeon.guidance.pointers().find((p) => p.sessionId === specialist.sessionId)?.target?.[0] === 0.5, 3000);
    const slow = surgeon.guidance.pointers().find((p) => p.sessionId === specialist.sessionId)!;
    expect(slow.stale).toBe(true);
    expect(slow.current).toBe(false);
    restore();
    await eventually(() => surgeon.state.info.linkWarning === '', 5000, 50);

    // Fresh again; then the pointer simply ages out without updates.
    specialist.guidance.point([0.1, 0.1, 0.1]);
    await eventually(() => surgeon.guidance.pointers().find((p) => p.sessionId === specialist.sessionId)?.current === true);
    await sleep(400);
    expect(surgeon.guidance.pointers().find((p) => p.sessionId === specialist.sessionId)!.current).toBe(false);

    // The link is cut: the warning names it.
    specialist.room.reconnection.enabled = false;
    specialist.room.connection.close(4999 as never);
    await eventually(() => /Dr\. Guide \(specialist\) has dropped/.test(surgeon.state.info.linkWarning), 5000, 50);
  });
});
