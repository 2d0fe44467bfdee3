import { describe, expect, it } from 'vitest';
import type { StateView } from '@colyseus/schema';
import { CloseCodes } from '../../shared/src/errors.ts';
import type { Clinic } from '../../server/src/rooms/clinic.ts';
import type { LiveRoomRecord } from '../../server/src/domain/storage.ts';
import { encodePoseMessage, readPoseFrame, type AvatarPose } from '../../shared/src/pose-wire.ts';
import { memoryClinic, ROOM, settle } from '../support/memory-clinic.ts';

/**
 * The Clinic without sockets or a database: in-memory stores (held to
 * PostgreSQL by the store contract suite), a fake clock and a transport that
 * records what it was told. Fast, and exact about which seats end and what
 * each view holds.
 */
const setup = memoryClinic;

/** Keys of the case entries this view holds. */
function shown(clinic: Clinic, view: StateView): string[] {
  const keys: string[] = [];
  clinic.state.caseEntries.forEach((e) => void (view.has(e) && keys.push(e.key)));
  return keys.sort();
}
const identified = (keys: string[]) => keys.filter((k) => k.startsWith('identified:'));

describe('Clinic: admission', () => {
  it('admits within the seat limit the invited or an admin, unless revoked (the ticket\'s signature, room and single use are the matchmaker\'s)', async () => {
    const { ticket, open, store } = setup([{ userId: 'ann', role: 'clinician' }]);
    const clinic = await open();
    await expect(clinic.admit('s0', ticket('zed'))).rejects.toMatchObject({ code: 'NOT_INVITED' });
    await clinic.admit('s1', ticket('ann'));
    await clinic.admit('s2', ticket('ann'));
    await expect(clinic.admit('s3', ticket('ann'))).rejects.toMatchObject({ code: 'SEAT_LIMIT' });
    store.revokeTickets(ROOM, 'ann');
    await expect(clinic.admit('s3', ticket('ann'))).rejects.toMatchObject({ code: 'TICKET_REVOKED' });
    const adminView = await clinic.admit('s4', ticket('helpdesk', { admin: true }));
    expect(clinic.state.participants.get('s4')?.role).toBe('observer');
    expect(identified(shown(clinic, adminView))).toEqual([]);
  });
});

describe('Clinic: every change reaches every seat, connected or dropped', () => {
  it('a closed tab (1001) is let go at once; a lost network (1006) is held for reconnection', async () => {
    const { ticket, open } = setup([{ userId: 'ann', role: 'clinician' }]);
    const clinic = await open();
    await clinic.admit('a1', ticket('ann'));
    await clinic.admit('a2', ticket('ann'));
    expect(clinic.dropped('a1', 1001)).toBe(false);
    expect(clinic.dropped('a2', 1006)).toBe(true);
  });

  it('removal ends a dropped seat and refuses its reconnection', async () => {
    const { ticket, open, ended } = setup([{ userId: 'ann', role: 'clinician' }, { userId: 'bob', role: 'host' }]);
    const clinic = await open();
    await clinic.admit('a1', ticket('ann'));
    expect(clinic.dropped('a1', 1006)).toBe(true);
    await clinic.removeParticipant('ann');
    expect(ended).toContainEqual({ sessionId: 'a1', code: CloseCodes.REMOVED });
    expect(() => clinic.reconnected('a1')).toThrow();
    expect(await clinic.message('a1', 'pose.update', { head: { p: [0, 0, 0], q: [0, 0, 0, 1] } })).toMatchObject({ ok: false });
  });

  it('a demotion while dropped: the seat comes back with the new role and only what it allows', async () => {
    const { ticket, open, ended } = setup([{ userId: 'hal', role: 'host' }]);
    const clinic = await open();
    const view = await clinic.admit('h1', ticket('hal'));
    expect(identified(shown(clinic, view))).toHaveLength(3);
    clinic.dropped('h1', 1006);
    await clinic.updateParticipant({ userId: 'hal', role: 'observer' });
    expect(ended).toEqual([]);
    const back = clinic.reconnected('h1');
    expect(back).toBe(view);
    expect(identified(shown(clinic, back))).toEqual([]);
    expect(shown(clinic, back).some((k) => k.startsWith('deidentified:Observation/'))).toBe(true);
    expect(clinic.state.participants.get('h1')?.role).toBe('observer');
    expect(await clinic.message('h1', 'participant.kick', { userId: 'someone' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });

  it('a kick ends every seat of the user and keeps them out until re-admitted', async () => {
    const { ticket, open, ended, clock } = setup([{ userId: 'hal', role: 'host' }, { userId: 'kim', role: 'clinician' }], {});
    const clinic = await open();
    await clinic.admit('h1', ticket('hal'));
    await clinic.admit('k1', ticket('kim'));
    await clinic.admit('k2', ticket('kim'));
    clinic.dropped('k2', 1006);
    expect(await clinic.message('h1', 'participant.kick', { userId: 'kim' })).toMatchObject({ ok: true });
    expect(ended).toEqual([{ sessionId: 'k1', code: CloseCodes.KICKED }, { sessionId: 'k2', code: CloseCodes.KICKED }]);
    await clinic.left('k1');
    await clinic.left('k2');
    await expect(clinic.admit('k3', ticket('kim', { iat: clock.iat + 1 }))).rejects.toMatchObject({ code: 'KICKED' });
    clinic.readmit('kim');
    await expect(clinic.admit('k3', ticket('kim', { iat: clock.iat + 1 }))).resolves.toBeDefined();
  });

  it('a kick with a cool-down lapses by itself', async () => {
    const { ticket, open, clock } = setup([{ userId: 'hal', role: 'host' }, { userId: 'kim', role: 'clinician' }]);
    const clinic = await open();
    await clinic.admit('h1', ticket('hal'));
    await clinic.admit('k1', ticket('kim'));
    expect(await clinic.message('h1', 'participant.kick', { userId: 'kim', minutes: 5 })).toMatchObject({ ok: true });
    await clinic.left('k1');
    await expect(clinic.admit('k2', ticket('kim', { iat: clock.iat + 1 }))).rejects.toMatchObject({ code: 'KICKED' });
    await clock.advance(5 * 60_000 + 1);
    await expect(clinic.admit('k2', ticket('kim', { iat: clock.iat + 1 }))).resolves.toBeDefined();
  });
});

describe('Clinic: break-glass', () => {
  it('a grant expires on the clock, and ends when the role changes; the ceiling bounds it', async () => {
    const { ticket, open, clock } = setup([{ userId: 'sue', role: 'surgeon', scopes: ['patient/Observation.rs'] }]);
    const clinic = await open();
    const view = await clinic.admit('s1', ticket('sue'));
    const meds = () => shown(clinic, view).filter((k) => k.includes('MedicationStatement'));
    expect(meds()).toEqual([]);
    expect(await clinic.message('s1', 'access.breakGlass', { resourceTypes: ['MedicationStatement'], reason: 'Bleeding on the table' })).toMatchObject({ ok: true });
    await settle();
    expect(meds()).toHaveLength(1);
    await clock.advance(60_001);
    expect(meds()).toEqual([]);

    await clock.advance(10_001); // past the request cool-down
    expect(await clinic.message('s1', 'access.breakGlass', { resourceTypes: ['MedicationStatement'], reason: 'Bleeding on the table' })).toMatchObject({ ok: true });
    await settle();
    expect(meds()).toHaveLength(1);
    await clinic.updateParticipant({ userId: 'sue', role: 'specialist', scopes: ['patient/Observation.rs'] });
    expect(meds()).toEqual([]);
    expect([...clinic.state.accessRequests.values()].every((r) => r.status === 'expired')).toBe(true);
  });

  it('the admin ceiling caps scopes and grants alike', async () => {
    const { ticket, open } = setup([{ userId: 'sue', role: 'surgeon' }], { scopeCeiling: ['deidentified', 'patient/Observation.rs'] });
    const clinic = await open();
    const view = await clinic.admit('s1', ticket('sue'));
    expect(identified(shown(clinic, view))).toEqual([]);
    expect(await clinic.message('s1', 'access.breakGlass', { resourceTypes: ['MedicationStatement'], reason: 'Bleeding on the table' })).toMatchObject({ ok: true });
    await settle();
    expect(shown(clinic, view).some((k) => k.includes('MedicationStatement'))).toBe(false);
  });
});


describe('Clinic: avatar poses (binary, off the patch cycle)', () => {
  const at = (z: number) => encodePoseMessage({ head: { p: [0, 1.6, z], q: [0, 0, 0, 1] }, right: { p: [0.2, 1.2, z], q: [0, 0, 0, 1] } });
  /** Records of one frame (the 1-byte test header stripped). */
  const records = (frame: Uint8Array) => {
    const out: Array<[number, AvatarPose]> = [];
    readPoseFrame(frame.subarray(1), (slot, pose) => out.push([slot, pose]));
    return out;
  };

  it('gathers poses for one window, then sends every seat the same frame of the changed avatars', async () => {
    const { ticket, open, clock, frames } = setup([{ userId: 'ann', role: 'clinician' }, { userId: 'obi', role: 'observer' }]);
    const clinic = await open();
    await clinic.admit('a', ticket('ann'));
    await clinic.admit('o', ticket('obi'));
    const slotA = clinic.state.participants.get('a')!.slot;
    const slotO = clinic.state.participants.get('o')!.slot;
    expect(slotA).not.toBe(slotO);
    await clock.advance(10);
    frames.length = 0; // (new seats' empty keyframes)

    expect(clinic.pose('a', at(1)).ok).toBe(true);
    expect(clinic.pose('o', at(2)).ok).toBe(true); // observers have avatars too
    expect(clinic.pose('a', at(3)).ok).toBe(true); // only the latest counts
    expect(frames).toHaveLength(0);
    await clock.advance(10);
    expect(frames.map((f) => f.sessionId).sort()).toEqual(['a', 'o']);
    expect(frames[0]!.frame).toBe(frames[1]!.frame); // built once, shared
    const got = records(frames[0]!.frame);
    expect(got.map(([slot, p]) => [slot, Math.round(p.head.p[2] * 100) / 100, p.right !== null, p.left !== null])).toEqual(
      [[slotA, 3, true, false], [slotO, 2, true, false]].sort((x, y) => (x[0] as number) - (y[0] as number)),
    );
    // Nothing changed: nothing sent.
    frames.length = 0;
    await clock.advance(50);
    expect(frames).toHaveLength(0);
  });

  it('a pose equal to the last after quantisation (nothing moved a step) sends nothing; a real move does', async () => {
    const { open, clock, frames, ticket } = setup([{ userId: 'ann', role: 'clinician' }, { userId: 'obi', role: 'observer' }]);
    const clinic = await open();
    await clinic.admit('a', ticket('ann'));
    await clinic.admit('o', ticket('obi'));
    await clock.advance(10);
    expect(clinic.pose('a', at(1)).ok).toBe(true);
    await clock.advance(10);
    frames.length = 0;
    // Sub-millimetre tremor quantises to the same bytes: accepted (and charged), nothing sent.
    expect(clinic.pose('a', at(1.0001)).ok).toBe(true);
    expect(clinic.pose('a', at(1)).ok).toBe(true);
    await clock.advance(50);
    expect(frames).toHaveLength(0);
    // A step: sent.
    expect(clinic.pose('a', at(1.01)).ok).toBe(true);
    await clock.advance(10);
    expect(frames.map((f) => f.sessionId).sort()).toEqual(['a', 'o']);
    expect(records(frames[0]!.frame).map(([, p]) => Math.round(p.head.p[2] * 100) / 100)).toEqual([1.01]);
  });

  it('refuses malformed poses with MESSAGE_INVALID and charges them to the budget', async () => {
    const { ticket, open } = setup([{ userId: 'ann', role: 'clinician' }]);
    const clinic = await open();
    await clinic.admit('a', ticket('ann'));
    const bad = at(1).slice();
    bad[4]! |= 1; // a flag bit where none may be
    expect(clinic.pose('a', bad)).toMatchObject({ ok: false, code: 'MESSAGE_INVALID' });
    expect(clinic.pose('a', new Uint8Array(5000))).toMatchObject({ ok: false, code: 'MESSAGE_INVALID' });
    expect(clinic.pose('nobody', at(1))).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    let limited = 0;
    for (let i = 0; i < 400; i++) if (!clinic.pose('a', at(1)).ok) limited++;
    expect(limited).toBeGreaterThan(100);
    expect(clinic.pose('a', at(1))).toMatchObject({ ok: false, code: 'RATE_LIMITED' });
  });

  it('a seat that could not take a frame (backed up, or away) gets every avatar once it can', async () => {
    const { ticket, open, clock, frames, readiness } = setup([{ userId: 'ann', role: 'clinician' }, { userId: 'ben', role: 'clinician' }, { userId: 'cy', role: 'clinician' }]);
    const clinic = await open();
    await clinic.admit('a', ticket('ann'));
    await clinic.admit('b', ticket('ben'));
    await clinic.admit('c', ticket('cy'));
    await clock.advance(10);
    clinic.pose('a', at(1));
    clinic.pose('b', at(2));
    readiness.set('c', 'busy');
    frames.length = 0;
    await clock.advance(10);
    expect(frames.map((f) => f.sessionId).sort()).toEqual(['a', 'b']);
    // Only ann moves now; c drains and gets ann and ben (a keyframe), the others only ann.
    readiness.delete('c');
    frames.length = 0;
    clinic.pose('a', at(5));
    await clock.advance(10);
    const of = (sid: string) => records(frames.find((f) => f.sessionId === sid)!.frame).map(([s]) => s).sort();
    const slot = (sid: string) => clinic.state.participants.get(sid)!.slot;
    expect(of('c')).toEqual([slot('a'), slot('b')].sort());
    expect(of('b')).toEqual([slot('a')]);

    // A dropped seat misses frames; back, it gets everyone.
    expect(clinic.dropped('c', 1006)).toBe(true);
    readiness.set('c', 'absent');
    clinic.pose('b', at(7));
    frames.length = 0;
    await clock.advance(10);
    expect(frames.map((f) => f.sessionId).sort()).toEqual(['a', 'b']);
    readiness.delete('c');
    clinic.reconnected('c');
    frames.length = 0;
    await clock.advance(10);
    expect(frames.map((f) => f.sessionId)).toEqual(['c']);
    expect(of('c')).toEqual([slot('a'), slot('b')].sort());
  });

  it('hands out slots round-robin: a leaver\'s slot is not the next newcomer\'s', async () => {
    const { ticket, open } = setup([{ userId: 'ann', role: 'clinician' }, { userId: 'ben', role: 'clinician' }]);
    const clinic = await open();
    await clinic.admit('a', ticket('ann'));
    const first = clinic.state.participants.get('a')!.slot;
    await clinic.left('a');
    await clinic.admit('b', ticket('ben'));
    expect(clinic.state.participants.get('b')!.slot).not.toBe(first);
    expect(clinic.pose('a', at(1))).toMatchObject({ ok: false, code: 'FORBIDDEN' });
  });
});

describe('Clinic: surgical-guidance annotations are moved only by their author or the host', () => {
  const I = { position: [0, 0, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };
  const moved = { position: [0.08, 0, 0] as [number, number, number], rotation: [0, 0.7071068, 0, 0.7071068] as [number, number, number, number] };
  const team = [
    { userId: 'hal', role: 'host' as const },
    { userId: 'sue', role: 'surgeon' as const },
    { userId: 'spe', role: 'specialist' as const },
    { userId: 'oth', role: 'specialist' as const },
    { userId: 'cli', role: 'clinician' as const },
  ];
  async function room(kind: LiveRoomRecord['kind'] = 'surgical-guidance') {
    const t = setup(team, { kind });
    const clinic = await t.open();
    for (const u of team) await clinic.admit(u.userId, t.ticket(u.userId));
    expect(await clinic.message('spe', 'object.add', { id: 'arrow', kind: 'arrow', asset: 'builtin:arrow', frame: kind === 'surgical-guidance' ? 'patient' : 'world', points: [0, 0.05, 0, 0, 0, 0], sentAt: 5, transform: I })).toMatchObject({ ok: true });
    expect(await clinic.message('hal', 'object.add', { id: 'liver', kind: 'model', asset: 'builtin:liver', transform: I })).toMatchObject({ ok: true });
    return { ...t, clinic };
  }

  it('another editor may not grab, move or release an annotation; models stay shared', async () => {
    const { clinic } = await room();
    for (const who of ['cli', 'oth', 'sue']) {
      expect(await clinic.message(who, 'object.grab', { objectId: 'arrow' })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await clinic.message(who, 'object.move', { objectId: 'arrow', transform: moved })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
      expect(await clinic.message(who, 'object.release', { objectId: 'arrow', transform: moved })).toMatchObject({ ok: false, code: 'FORBIDDEN' });
    }
    expect(clinic.state.objects.get('arrow')!.px).toBe(0);
    expect(await clinic.message('cli', 'object.grab', { objectId: 'liver' })).toMatchObject({ ok: true });
    expect(await clinic.message('cli', 'object.release', { objectId: 'liver', transform: moved })).toMatchObject({ ok: true });
    // The author and the host may.
    expect(await clinic.message('spe', 'object.grab', { objectId: 'arrow' })).toMatchObject({ ok: true });
    expect(await clinic.message('spe', 'object.release', { objectId: 'arrow' })).toMatchObject({ ok: true });
    expect(await clinic.message('hal', 'object.grab', { objectId: 'arrow' })).toMatchObject({ ok: true });
  });

  it('a move withdraws "seen by surgeon" and the dismissal, restamps sentAt with the server time, and is audited', async () => {
    const { clinic, clock, audit, scene } = await room();
    expect(await clinic.message('sue', 'guidance.ack', { objectId: 'arrow' })).toMatchObject({ ok: true });
    expect(await clinic.message('sue', 'guidance.dismiss', { objectId: 'arrow' })).toMatchObject({ ok: true });
    const obj = clinic.state.objects.get('arrow')!;
    expect(obj.ackedAt).toBe(clock.t);
    await clock.advance(1000);
    expect(await clinic.message('spe', 'object.grab', { objectId: 'arrow' })).toMatchObject({ ok: true });
    expect(await clinic.message('spe', 'object.move', { objectId: 'arrow', transform: moved })).toMatchObject({ ok: true });
    expect(obj).toMatchObject({ ackedAt: 0, ackedBy: '', dismissed: false, sentAt: clock.t, px: expect.closeTo(0.08, 6) });
    expect(await clinic.message('spe', 'object.move', { objectId: 'arrow', transform: { ...moved, position: [0.09, 0, 0] } })).toMatchObject({ ok: true });
    expect(await clinic.message('spe', 'object.release', { objectId: 'arrow' })).toMatchObject({ ok: true });
    expect((await scene.load(ROOM)).find((o) => o.id === 'arrow')).toMatchObject({ ackedAt: 0, ackedBy: '', dismissed: false, sentAt: clock.t });
    const moves = audit.filter((e) => e.action === 'annotation.move');
    expect(moves).toHaveLength(1); // once per hold, not per move
    expect(moves[0]).toMatchObject({ actor: 'spe', details: { objectId: 'arrow', acknowledgementWithdrawn: { ackedBy: 'sue', dismissed: true } } });
    // "next" offers it to the surgeon again.
    expect(await clinic.message('sue', 'guidance.next', {})).toMatchObject({ ok: true, value: { focus: 'arrow' } });
  });

  it('undo and clear remove a held annotation, ending the hold, and report exactly what went', async () => {
    const { clinic, audit } = await room();
    expect(await clinic.message('hal', 'object.grab', { objectId: 'arrow' })).toMatchObject({ ok: true });
    expect(await clinic.message('spe', 'guidance.undo', {})).toMatchObject({ ok: true, value: { objectId: 'arrow' } });
    expect(clinic.state.objects.has('arrow')).toBe(false);
    expect(await clinic.message('hal', 'object.release', { objectId: 'arrow', transform: moved })).toMatchObject({ ok: false, code: 'OBJECT_NOT_FOUND' });
    expect(await clinic.message('oth', 'object.add', { id: 'v', kind: 'stroke', asset: 'builtin:pen', frame: 'video', points: [0.1, 0.1, 0, 0.2, 0.2, 0], transform: I })).toMatchObject({ ok: true });
    expect(await clinic.message('oth', 'object.grab', { objectId: 'v' })).toMatchObject({ ok: true });
    expect(await clinic.message('hal', 'guidance.clear', { scope: 'all' })).toMatchObject({ ok: true, value: { removed: 1, objectIds: ['v'] } });
    expect(clinic.state.objects.has('v')).toBe(false);
    expect(clinic.state.objects.has('liver')).toBe(true);
    expect(audit.filter((e) => e.action === 'annotation.remove').map((e) => e.details)).toEqual([{ objectIds: ['arrow'], removed: 1 }, { objectIds: ['v'], removed: 1 }]);
  });

  it('conference rooms keep shared editing of annotations (no acknowledgement to protect there)', async () => {
    const { clinic, clock } = await room('case-conference');
    // Stamped with the server's time when added (the client's sentAt: 5 is ignored); a conference move keeps it.
    const added = clinic.state.objects.get('arrow')!.sentAt;
    expect(added).toBe(clock.t);
    await clock.advance(1000);
    expect(await clinic.message('cli', 'object.grab', { objectId: 'arrow' })).toMatchObject({ ok: true });
    expect(await clinic.message('cli', 'object.release', { objectId: 'arrow', transform: moved })).toMatchObject({ ok: true });
    expect(clinic.state.objects.get('arrow')!.sentAt).toBe(added);
  });
});
