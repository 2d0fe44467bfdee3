import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { GuidanceServerMessages, type LinkPing } from '../../shared/src/guidance.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { uplink } from '../support/uplink.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * What an invited participant with an ordinary ticket can try against a
 * surgical-guidance room, with real SDK clients against the real server:
 * moving someone else's acknowledged annotation, holding one to block undo
 * and clear, pre-answering link probes, and a silent second device.
 */
let server: TestServer;
let admin: ConsiliumClient;
let roomId: string;
let host: ClinicSession;
let surgeon: ClinicSession;
let spec: ClinicSession;
let clinician: ClinicSession;
let other: ClinicSession;

const I = { position: [0, 0, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };
const MOVED = { position: [0.08, 0, 0] as [number, number, number], rotation: [0, 0.7071068, 0, 0.7071068] as [number, number, number, number] };

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  roomId = (
    await admin.api.createRoom({
      title: 'Guided laparoscopy',
      kind: 'surgical-guidance',
      participants: [
        { userId: 'dr.host', role: 'host' },
        { userId: 'dr.surgeon', role: 'surgeon' },
        { userId: 'dr.spec', role: 'specialist' },
        { userId: 'dr.other', role: 'specialist' },
        { userId: 'dr.clin', role: 'clinician' },
      ],
    })
  ).id;
  host = await server.join('dr.host', roomId, { name: 'Dr Host' });
  surgeon = await server.join('dr.surgeon', roomId, { name: 'Dr Surgeon' });
  spec = await server.join('dr.spec', roomId, { name: 'Dr Spec' });
  clinician = await server.join('dr.clin', roomId, { name: 'Dr Clin' });
  other = await server.join('dr.other', roomId, { name: 'Dr Other' });
});
afterAll(async () => {
  await server?.stop();
});

describe('surgical guidance under attack', () => {
  it("nobody but the author or the host moves an acknowledged annotation; the author's move withdraws the acknowledgement and is audited", async () => {
    expect(await host.add({ id: 'arrow', kind: 'arrow', asset: 'builtin:arrow', frame: 'patient', points: [0.01, 0.05, 0, 0.01, 0.02, 0], sentAt: Date.now(), transform: I })).toMatchObject({ ok: true });
    await eventually(() => surgeon.state.objects.has('arrow'));
    expect(await surgeon.guidance.ack('arrow')).toMatchObject({ ok: true });
    await eventually(() => (spec.state.objects.get('arrow')?.ackedAt ?? 0) > 0);
    const acked = { ...spec.state.objects.get('arrow')!.toJSON() };

    // The reviewer's attack: grab and release with a new transform, as a clinician and as another specialist.
    for (const attacker of [clinician, spec, surgeon]) {
      expect(await attacker.grab('arrow')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      expect(await attacker.release('arrow', MOVED)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      attacker.move('arrow', MOVED);
    }
    await sleep(150);
    expect(spec.state.objects.get('arrow')!.toJSON()).toMatchObject({ px: acked.px, qy: acked.qy, ackedAt: acked.ackedAt, ackedBy: 'dr.surgeon', sentAt: acked.sentAt, grabbedBy: '' });

    // The author (the host) may move it: it is new guidance, not "seen by surgeon" any more.
    const before = Date.now();
    expect(await host.grab('arrow')).toMatchObject({ ok: true });
    expect(await host.release('arrow', MOVED)).toMatchObject({ ok: true });
    await eventually(() => spec.state.objects.get('arrow')!.ackedAt === 0);
    const after = spec.state.objects.get('arrow')!;
    expect(after.ackedBy).toBe('');
    expect(after.px).toBeCloseTo(0.08, 5);
    expect(after.sentAt).toBeGreaterThanOrEqual(before - 1);
    expect(after.sentAt).toBeLessThanOrEqual(Date.now() + 1);
    const audit = await admin.api.audit({ room: roomId, limit: 200 });
    const move = audit.events.find((e) => e.action === 'annotation.move');
    expect(move).toMatchObject({ actor: 'dr.host', details: { objectId: 'arrow', acknowledgementWithdrawn: { ackedBy: 'dr.surgeon' } } });
  });

  it("a video stroke is protected the same way; holding one's own stroke does not block the host's clear, and undo wins over the host's hold", async () => {
    expect(await spec.add({ id: 'vs', kind: 'stroke', asset: 'builtin:pen', frame: 'video', points: [0.2, 0.3, 0, 0.4, 0.5, 0], videoTime: 1000, sentAt: Date.now(), transform: I })).toMatchObject({ ok: true });
    expect(await surgeon.guidance.ack('vs')).toMatchObject({ ok: true });
    expect(await other.grab('vs')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await clinician.grab('vs')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

    // The host holds the specialist's stroke; the specialist's undo still takes it back, truthfully.
    expect(await host.grab('vs')).toMatchObject({ ok: true });
    expect(await spec.guidance.undo()).toMatchObject({ ok: true, objectId: 'vs' });
    await eventually(() => !host.state.objects.has('vs'));
    expect(await host.release('vs', MOVED)).toMatchObject({ ok: false, error: { code: 'OBJECT_NOT_FOUND' } });

    // The author holds a stroke to keep it on the board: the host's clear-all removes it anyway.
    expect(await other.add({ id: 'vs2', kind: 'stroke', asset: 'builtin:pen', frame: 'video', points: [0.1, 0.1, 0, 0.2, 0.2, 0], sentAt: Date.now(), transform: I })).toMatchObject({ ok: true });
    expect(await other.grab('vs2')).toMatchObject({ ok: true });
    const cleared = await host.guidance.clear('all');
    expect(cleared).toMatchObject({ ok: true });
    expect((cleared as unknown as { objectIds: string[] }).objectIds).toEqual(expect.arrayContaining(['vs2', 'arrow']));
    await eventually(() => !spec.state.objects.has('vs2') && !spec.state.objects.has('arrow'));
    const audit = await admin.api.audit({ room: roomId, limit: 200 });
    const removes = audit.events.filter((e) => e.action === 'annotation.remove').map((e) => e.details);
    expect(removes).toContainEqual({ objectIds: ['vs'], removed: 1 });
    expect(removes.some((d) => (d.objectIds as string[]).includes('vs2'))).toBe(true);
  });

  it('pre-answering the next link-probe nonces does not make a slow link look live', async () => {
    const pings: number[] = [];
    spec.room.onMessage(GuidanceServerMessages.ping, (p: LinkPing) => pings.push(p.n));
    const link = uplink(spec);
    link.delay(600);
    spec.guidance.point([0, 0.01, 0]); // guiding now (the pointer itself arrives 600 ms late)
    // The attack: keep spraying answers for the numbers a counter would issue next. Each takes 600 ms
    // to arrive, but one for ping n+2 lands within 50 ms of the server sending it — with a counter,
    // the link would look 50 ms fast.
    const cheat = setInterval(() => {
      const last = pings.at(-1);
      if (last === undefined) return;
      // A counter shared by the room's seats advances by the number of seats per round.
      const seats = spec.participants().filter((p) => p.connected).length;
      for (let k = 1; k <= 3; k++) spec.room.send('link.pong', { n: (last + k * seats) % 2 ** 32 });
    }, 50);
    try {
      await eventually(() => surgeon.state.info.linkWarning.includes('Dr Spec'), 6000, 50);
      // Steady state, sampled for 2 s: still slow, still warned, never live.
      await sleep(1500);
      for (let i = 0; i < 20; i++) {
        const me = surgeon.participants().find((p) => p.userId === 'dr.spec')!;
        expect(me.rttMs).toBeGreaterThanOrEqual(500);
        expect(me.linkOk).toBe(false);
        expect(surgeon.state.info.linkWarning).toContain('Dr Spec (specialist) is slow');
        await sleep(100);
      }
      // The nonces themselves follow no pattern.
      const steps = new Set(pings.slice(1).map((n, i) => n - pings[i]!));
      expect(steps.size).toBe(pings.length - 1);
    } finally {
      clearInterval(cheat);
      link.restore();
    }
    await eventually(() => surgeon.state.info.linkWarning === '', 8000, 50);
  });

  it("a second device of the specialist that never answers does not make everyone's pointers stale until it guides; then the person is named once", async () => {
    const second = await server.join('dr.spec', roomId, { name: 'Dr Spec' });
    const gate = uplink(second);
    gate.drop();
    // The first device points; the idle second device is silent.
    await sleep(3000);
    expect(surgeon.participants().find((p) => p.sessionId === second.sessionId)!.linkOk).toBe(false);
    expect(surgeon.state.info.linkWarning).toBe('');
    spec.guidance.point([0.02, 0.02, 0]);
    await eventually(() => surgeon.guidance.pointers().find((p) => p.sessionId === spec.sessionId)?.current === true, 3000);

    // The silent device starts pointing: its link now carries guidance.
    gate.bypass(() => second.guidance.point([0.03, 0.03, 0]));
    await eventually(() => surgeon.state.info.linkWarning !== '', 3000, 50);
    expect(surgeon.state.info.linkWarning).toMatch(/^Guidance link: Dr Spec \(specialist\): second device is (slow \(\d+ ms\)|not answering) — pointers are not live$/);
    expect(surgeon.state.info.linkWarning.match(/Dr Spec/g)).toHaveLength(1);
    gate.restore();
    await second.leave();
  }, 20_000);
});
