import { describe, expect, it } from 'vitest';
import { ROOM_KINDS, ROOM_ROLES, type RoomKind, type RoomRole } from '../../shared/src/roles.ts';
import type { SceneObjectRecord } from '../../server/src/domain/storage.ts';
import type { DispatchResult } from '../../server/src/rooms/dispatcher.ts';
import { RoomController, type RoomSession } from '../../client/src/app/room-controller.ts';
import { FakeSession } from '../support/fake-session.ts';
import { memoryClinic, ROOM } from '../support/memory-clinic.ts';

/**
 * The client's buttons follow the server's rules: for every room role × room
 * kind, each button the room screen offers (RoomController) is compared with
 * what the real engine (Clinic, in memory) answers when that role sends the
 * message the button sends. A button offered for a refused act, or withheld
 * from an allowed one, fails here — whichever side drifted.
 */
const TARGETS = ROOM_ROLES.map((role) => ({ userId: `t-${role}`, role }));
const OBJECTS = [
  { id: 'mine-note', kind: 'label', createdBy: 'me' },
  { id: 'their-note', kind: 'arrow', createdBy: 't-clinician' },
  { id: 'mine-model', kind: 'model', createdBy: 'me' },
  { id: 'their-model', kind: 'model', createdBy: 't-clinician' },
] as const;
const I = { position: [0, 0, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };

const record = (o: (typeof OBJECTS)[number]): SceneObjectRecord => ({
  id: o.id, kind: o.kind, asset: 'builtin:pin', label: o.id, createdBy: o.createdBy, authorScope: '', resourceRef: '', points: o.kind === 'arrow' ? '0,0,0,0,0.1,0' : '',
  color: '', frame: 'world', sentAt: 0, videoTime: 0, ackedAt: 0, ackedBy: '', dismissed: false, slice: '', px: 0, py: 0, pz: 0, qx: 0, qy: 0, qz: 0, qw: 1, sx: 1, sy: 1, sz: 1,
});

/** The room screen for `role` in a room of `kind`, with everyone and everything the engine's room holds. */
function client(role: RoomRole, kind: RoomKind, presenter = '') {
  const session = new FakeSession();
  session.state.info.kind = kind;
  session.state.info.voice = 'ok';
  session.state.info.presenter = presenter;
  session.join('me', { userId: 'me', name: 'Me', role });
  for (const t of TARGETS) session.join(t.userId, { userId: t.userId, name: t.userId, role: t.role });
  for (const o of OBJECTS) session.put(o.id, { kind: o.kind, createdBy: o.createdBy });
  const ticket = { role, voice: { url: 'wss://lk', token: 't' }, video: null } as ConstructorParameters<typeof RoomController>[1];
  return new RoomController(session as unknown as RoomSession, ticket, { status: () => {}, announce: () => {}, changed: () => {}, ended: () => {} });
}

/** Allowed by the server: anything but the policy's FORBIDDEN (a later refusal — VOICE_OFF, nothing to undo — means the act was allowed). */
const allowed = (r: DispatchResult) => r.ok || r.code !== 'FORBIDDEN';

describe('the client offers exactly what the server allows', () => {
  for (const kind of ROOM_KINDS) {
    for (const role of ROOM_ROLES) {
      it(`${role} in a ${kind} room`, async () => {
        const t = memoryClinic([{ userId: 'me', role }, ...TARGETS], { kind });
        await t.scene.upsert(ROOM, OBJECTS.map(record));
        const clinic = await t.open();
        for (const u of [{ userId: 'me' }, ...TARGETS]) await clinic.admit(u.userId, t.ticket(u.userId));
        const send = async (from: string, type: string, payload: object) => {
          await t.clock.advance(50); // within the message budget
          return clinic.message(from, type, payload);
        };
        const rows: { button: string; client: boolean; server: boolean }[] = [];
        const check = async (button: string, offered: boolean, type: string, payload: object) => {
          const result = await send('me', type, payload);
          rows.push({ button, client: offered, server: allowed(result) });
          return result;
        };

        const ctl = client(role, kind);
        const tool = (name: string) => ctl.tools().find((x) => x.tool === name)!.enabled;
        await check('laser', tool('laser'), 'pointer.update', { target: [0, 1, 0], sentAt: 1 });
        await check('draw', tool('draw'), 'object.add', { id: 'new-stroke', kind: 'stroke', asset: 'builtin:pen', points: [0, 0, 0, 0, 0.1, 0], transform: I });
        await check('add model', ctl.canEdit, 'object.add', { id: 'new-model', kind: 'model', asset: 'builtin:heart', transform: I });
        for (const o of OBJECTS) {
          const grabbed = await check(`nudge ${o.id}`, ctl.key(o.id, 'ArrowLeft'), 'object.grab', { objectId: o.id });
          if (grabbed.ok) expect(await send('me', 'object.release', { objectId: o.id, transform: I })).toMatchObject({ ok: true });
        }

        const taken = await check('present (floor free)', ctl.mayTogglePresent, 'presenter.set', { sessionId: 'me' });
        if (taken.ok) expect(await send('me', 'presenter.set', { sessionId: null })).toMatchObject({ ok: true });
        expect(await send('t-host', 'presenter.set', { sessionId: 't-host' })).toMatchObject({ ok: true });
        await check('present (someone else presenting)', client(role, kind, 't-host').mayTogglePresent, 'presenter.set', { sessionId: 'me' });
        expect(await send('t-host', 'presenter.set', { sessionId: null })).toMatchObject({ ok: true });

        await check('emergency access', ctl.mayAskEmergencyAccess, 'access.breakGlass', { resourceTypes: ['MedicationStatement'], reason: 'Bleeding on the table' });
        const theirs = await send('t-clinician', 'access.breakGlass', { resourceTypes: ['MedicationStatement'], reason: 'Bleeding on the table' });
        // Never in a replay (a lesson, no patient in front of anyone): nothing to approve there.
        if (kind === 'replay') expect(theirs).toMatchObject({ ok: false, code: 'FORBIDDEN' });
        else {
          expect(theirs).toMatchObject({ ok: true, value: { status: 'pending' } });
          await check("approve another's request", ctl.mayDecide('t-clinician'), 'access.approve', { requestId: (theirs as { value: { requestId: string } }).value.requestId });
        }
        const mine = [...clinic.state.accessRequests.values()].find((r) => r.userId === 'me' && r.status === 'pending');
        if (mine) await check('approve my own request', ctl.mayDecide('me'), 'access.approve', { requestId: mine.id });

        const people = ctl.people();
        for (const p of people) await check(`mute ${p.userId}`, p.canMute, 'voice.mute', { userId: p.userId });
        await check('undo my last', ctl.canEdit, 'guidance.undo', {});
        for (const o of OBJECTS) await check(`delete ${o.id}`, ctl.key(o.id, 'Delete'), 'object.remove', { objectId: o.id });
        await check('clear all', ctl.mayClearAll, 'guidance.clear', { scope: 'all' });
        // Kicks last (they end seats); one's own row last of all.
        for (const p of [...people.filter((x) => !x.isMe), ...people.filter((x) => x.isMe)]) await check(`kick ${p.userId}`, p.canKick, 'participant.kick', { userId: p.userId });

        expect(rows.length).toBeGreaterThan(20);
        expect(rows.filter((r) => r.client !== r.server)).toEqual([]);
        clinic.dispose();
      });
    }
  }
});
