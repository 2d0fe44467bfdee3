import { describe, expect, it } from 'vitest';
import {
  authorizeAdmin,
  authorizeConsoleDecision,
  authorizeConsoleModeration,
  authorizeModeration,
  authorizeRoomAction,
  authorizeRoomConsole,
  authorizeRoomRead,
  defaultScopes,
  objectTextVisible,
  objectVisible,
  parseScopes,
  moderationTarget,
  participantAccess,
  type AdminAction,
  type ModerationAct,
  type ModerationTarget,
  type Moderator,
  type RoomAction,
} from '../../server/src/auth/policy.ts';
import { CLIENT_MESSAGE_NAMES, ROOM_ROLES, type RoomRole } from '../../shared/src/index.ts';

/** The expected matrix, written out in full so a change to the policy must change this table too. */
const EXPECTED: Record<RoomAction, Record<RoomRole, boolean | { own: boolean; other: boolean }>> = {
  pose: { host: true, clinician: true, specialist: true, surgeon: true, observer: true },
  'pointer.update': { host: true, clinician: true, specialist: true, surgeon: true, observer: true },
  // choosing someone else as presenter (self-service cases below)
  'presenter.set': { host: true, clinician: false, specialist: false, surgeon: false, observer: false },
  'access.breakGlass': { host: true, clinician: true, specialist: true, surgeon: true, observer: false },
  'access.approve': { host: true, clinician: false, specialist: false, surgeon: false, observer: false },
  'access.deny': { host: true, clinician: false, specialist: false, surgeon: false, observer: false },
  'voice.mute': { host: true, clinician: false, specialist: false, surgeon: false, observer: false },
  'voice.unmute': { host: true, clinician: false, specialist: false, surgeon: false, observer: false },
  'participant.kick': { host: true, clinician: false, specialist: false, surgeon: false, observer: false },
  // Guidance-only commands are refused outside surgical-guidance rooms (this table is a conference).
  'anchor.set': { host: false, clinician: false, specialist: false, surgeon: false, observer: false },
  'guidance.ack': { host: false, clinician: false, specialist: false, surgeon: false, observer: false },
  'guidance.dismiss': { host: false, clinician: false, specialist: false, surgeon: false, observer: false },
  'guidance.next': { host: false, clinician: false, specialist: false, surgeon: false, observer: false },
  'guidance.repeat': { host: false, clinician: false, specialist: false, surgeon: false, observer: false },
  'guidance.undo': { host: true, clinician: true, specialist: true, surgeon: true, observer: false },
  'guidance.clear': { host: true, clinician: true, specialist: true, surgeon: true, observer: false },
  'link.pong': { host: true, clinician: true, specialist: true, surgeon: true, observer: true },
  // Decision support: the clinical team shares and answers cards; observers only read theirs.
  'cds.share': { host: true, clinician: true, specialist: true, surgeon: true, observer: false },
  'cds.feedback': { host: true, clinician: true, specialist: true, surgeon: true, observer: false },
  'object.grab': { host: true, clinician: true, specialist: true, surgeon: true, observer: false },
  'object.move': { host: true, clinician: true, specialist: true, surgeon: true, observer: false },
  'object.release': { host: true, clinician: true, specialist: true, surgeon: true, observer: false },
  'object.add': { host: true, clinician: true, specialist: true, surgeon: true, observer: false },
  // Without ImagingStudy in the sender's access nobody moves the shared image viewer (cases below).
  'viewer.set': { host: false, clinician: false, specialist: false, surgeon: false, observer: false },
  // The AR slice panel: surgical guidance only, and only with ImagingStudy (cases below).
  'viewer.pin': { host: false, clinician: false, specialist: false, surgeon: false, observer: false },
  'recording.start': { host: true, clinician: false, specialist: false, surgeon: false, observer: false },
  'recording.stop': { host: true, clinician: false, specialist: false, surgeon: false, observer: false },
  // Replay control only in replay rooms (this table is a conference).
  'replay.control': { host: false, clinician: false, specialist: false, surgeon: false, observer: false },
  // Lowering someone else's hand (one's own: below).
  'hand.raise': { host: true, clinician: false, specialist: false, surgeon: false, observer: false },
  'object.remove': {
    host: { own: true, other: true },
    clinician: { own: true, other: false },
    specialist: { own: true, other: false },
    surgeon: { own: true, other: false },
    observer: { own: false, other: false },
  },
};

describe('room policy: every action × role', () => {
  it('covers every message the protocol defines', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(['pose', ...CLIENT_MESSAGE_NAMES].sort());
  });

  for (const action of CLIENT_MESSAGE_NAMES) {
    for (const role of ROOM_ROLES) {
      const expected = EXPECTED[action][role];
      if (typeof expected === 'boolean') {
        it(`${role} ${expected ? 'may' : 'may not'} ${action}`, () => {
          // Acts on someone else (not a host) where the action has a target.
          const d = authorizeRoomAction(role, action, { targetSelf: false, targetRole: 'clinician', roomKind: 'case-conference' });
          expect(d.allow).toBe(expected);
          if (!d.allow) expect(d.code).toBe('FORBIDDEN');
        });
      } else {
        it(`${role} ${action}: own ${expected.own}, other's ${expected.other}`, () => {
          expect(authorizeRoomAction(role, action, { ownsObject: true }).allow).toBe(expected.own);
          expect(authorizeRoomAction(role, action, { ownsObject: false }).allow).toBe(expected.other);
          expect(authorizeRoomAction(role, action, {}).allow).toBe(expected.other);
        });
      }
    }
  }

  it.each(ROOM_ROLES)('%s moving the shared image viewer', (role) => {
    const editor = role !== 'observer';
    // The presenter drives it, whatever their role; when nobody presents, any editor does.
    expect(authorizeRoomAction(role, 'viewer.set', { imagingAccess: true, presenterSelf: true, presenterTakenByOther: false }).allow).toBe(true);
    expect(authorizeRoomAction(role, 'viewer.set', { imagingAccess: true, presenterSelf: false, presenterTakenByOther: false }).allow).toBe(editor);
    // Someone else presents: followers do not move it (they unfollow and scroll on their own).
    expect(authorizeRoomAction(role, 'viewer.set', { imagingAccess: true, presenterSelf: false, presenterTakenByOther: true }).allow).toBe(false);
    // No ImagingStudy: never, not even as presenter.
    expect(authorizeRoomAction(role, 'viewer.set', { imagingAccess: false, presenterSelf: true, presenterTakenByOther: false }).allow).toBe(false);
  });

  it.each(ROOM_ROLES)('%s pinning the slice panel in the patient frame', (role) => {
    const guiding = role === 'surgeon' || role === 'specialist' || role === 'host';
    const g = { roomKind: 'surgical-guidance' as const };
    expect(authorizeRoomAction(role, 'viewer.pin', { ...g, imagingAccess: true }).allow).toBe(guiding);
    // Without ImagingStudy the panel would show nothing of theirs to choose: never.
    expect(authorizeRoomAction(role, 'viewer.pin', { ...g, imagingAccess: false }).allow).toBe(false);
    // There is no patient frame outside surgical guidance.
    expect(authorizeRoomAction(role, 'viewer.pin', { roomKind: 'case-conference', imagingAccess: true }).allow).toBe(false);
  });

  it.each(ROOM_ROLES)('%s taking or handing back the presenter role', (role) => {
    const editor = role !== 'observer';
    expect(authorizeRoomAction(role, 'presenter.set', { presenterSelf: true, presenterTakenByOther: false }).allow).toBe(editor);
    expect(authorizeRoomAction(role, 'presenter.set', { presenterSelf: true, presenterTakenByOther: true }).allow).toBe(role === 'host');
  });

  it('nobody approves their own break-glass request (moderation: its own table below)', () => {
    expect(authorizeRoomAction('host', 'access.approve', { targetSelf: true }).allow).toBe(false);
    expect(authorizeRoomAction('host', 'access.approve', {}).allow).toBe(false); // unknown requester: deny by default
  });

  it('surgical guidance: an annotation is grabbed, moved and released only by its author or the host; models by any editor', () => {
    const g = { roomKind: 'surgical-guidance' as const };
    for (const action of ['object.grab', 'object.move', 'object.release'] as const) {
      for (const role of ['clinician', 'specialist', 'surgeon'] as const) {
        expect(authorizeRoomAction(role, action, { ...g, annotation: true, ownsObject: false }).allow).toBe(false);
        expect(authorizeRoomAction(role, action, { ...g, annotation: true, ownsObject: true }).allow).toBe(true);
        expect(authorizeRoomAction(role, action, { ...g, annotation: false, ownsObject: false }).allow).toBe(true);
        // Conferences keep shared editing.
        expect(authorizeRoomAction(role, action, { roomKind: 'case-conference', annotation: true, ownsObject: false }).allow).toBe(true);
      }
      expect(authorizeRoomAction('host', action, { ...g, annotation: true, ownsObject: false }).allow).toBe(true);
      expect(authorizeRoomAction('observer', action, { ...g, annotation: true, ownsObject: true }).allow).toBe(false);
    }
  });

  it('surgical guidance: only the surgeon or host anchors and acknowledges; observers neither point nor annotate; only the host clears all', () => {
    const g = { roomKind: 'surgical-guidance' as const };
    const who = (action: RoomAction, ctx = {}) => ROOM_ROLES.filter((r) => authorizeRoomAction(r, action, { ...g, ...ctx }).allow).sort();
    expect(who('anchor.set')).toEqual(['host', 'surgeon']);
    for (const a of ['guidance.ack', 'guidance.dismiss', 'guidance.next', 'guidance.repeat'] as const) expect(who(a)).toEqual(['host', 'surgeon']);
    expect(who('pointer.update')).toEqual(['host', 'specialist', 'surgeon']);
    expect(who('object.add')).not.toContain('observer');
    expect(who('guidance.clear', { clearAll: true })).toEqual(['host']);
    expect(who('guidance.clear', { clearAll: false })).toEqual(['clinician', 'host', 'specialist', 'surgeon']);
    expect(who('link.pong')).toEqual([...ROOM_ROLES].sort());
  });

  it('denies unknown actions and unknown roles by default', () => {
    expect(authorizeRoomAction('host', 'object.explode' as RoomAction).allow).toBe(false);
    expect(authorizeRoomAction('janitor' as RoomRole, 'pose').allow).toBe(false);
    expect(authorizeRoomAction('host', '__proto__' as RoomAction).allow).toBe(false);
  });
});

describe('administration policy', () => {
  const admin = { userId: 'a', name: 'A', admin: true, scopes: [] };
  const user = { userId: 'u', name: 'U', admin: false, scopes: ['patient/*.rs'] };
  const actions: AdminAction[] = ['room.create', 'room.update', 'room.delete', 'room.list-all', 'room.read-any', 'case.import', 'case.delete', 'case.ingest', 'audit.read'];

  it.each(actions)('%s: admins only', (action) => {
    expect(authorizeAdmin(admin, action).allow).toBe(true);
    expect(authorizeAdmin(user, action)).toMatchObject({ allow: false, code: 'ADMIN_REQUIRED' });
  });

  it('room details: admins and invited users only', () => {
    expect(authorizeRoomRead(admin, null).allow).toBe(true);
    expect(authorizeRoomRead(user, 'observer').allow).toBe(true);
    expect(authorizeRoomRead(user, null).allow).toBe(false);
  });

  const accessFor = (role: RoomRole | null, isAdmin: boolean) =>
    participantAccess({ invitation: role ? { role } : null, admin: isAdmin, kicked: false, ceiling: null, grants: [], now: 0 });

  it.each(ROOM_ROLES)('tickets carry the invited role (%s)', (role) => {
    expect(accessFor(role, false)?.role).toBe(role);
    expect(accessFor(role, true)?.role).toBe(role);
  });

  it('an uninvited admin gets observer; an uninvited user gets nothing', () => {
    expect(accessFor(null, true)?.role).toBe('observer');
    expect(accessFor(null, false)).toBeNull();
  });

  it('observers default to de-identified, narrower scopes; others to patient/*.rs', () => {
    expect(defaultScopes('observer')).toContain('deidentified');
    expect(defaultScopes('observer')).not.toContain('patient/*.rs');
    for (const role of ['host', 'clinician', 'specialist', 'surgeon'] as const) expect(defaultScopes(role)).toEqual(['patient/*.rs']);
  });
});

describe('moderation: one table for the room and the console', () => {
  /** Written out in full: who (row) may kick, mute, unmute or re-admit whom (column). */
  const EXPECTED_MODERATION: Record<Moderator, Record<ModerationTarget, boolean>> = {
    admin: { self: false, host: true, other: true },
    host: { self: false, host: false, other: true },
    clinician: { self: false, host: false, other: false },
    specialist: { self: false, host: false, other: false },
    surgeon: { self: false, host: false, other: false },
    observer: { self: false, host: false, other: false },
  };
  const ACTS: ModerationAct[] = ['kick', 'mute', 'unmute', 'readmit'];
  const TARGETS: ModerationTarget[] = ['self', 'host', 'other'];
  const MESSAGE = { kick: 'participant.kick', mute: 'voice.mute', unmute: 'voice.unmute' } as const;
  /** A target of each kind, as the room record describes them. */
  const TARGET_CTX: Record<ModerationTarget, { targetSelf: boolean; targetRole: RoomRole | null }> = {
    self: { targetSelf: true, targetRole: 'host' },
    host: { targetSelf: false, targetRole: 'host' },
    other: { targetSelf: false, targetRole: 'clinician' },
  };

  for (const by of Object.keys(EXPECTED_MODERATION) as Moderator[]) {
    for (const target of TARGETS) {
      it(`${by} → ${target}: ${EXPECTED_MODERATION[by][target] ? 'allowed' : 'refused'} for every act, in the room and from the console`, () => {
        const expected = EXPECTED_MODERATION[by][target];
        for (const act of ACTS) {
          const d = authorizeModeration(by, act, target);
          expect(d.allow, act).toBe(expected);
          if (!d.allow) expect(d.code).toBe('FORBIDDEN');
          // From the console: the principal's admin flag, else their role in the room record.
          const principal = { userId: 'me', name: 'Me', admin: by === 'admin', scopes: [] };
          const targetUserId = target === 'self' ? 'me' : 'them';
          const targetRole = TARGET_CTX[target].targetRole;
          expect(authorizeConsoleModeration(principal, by === 'admin' ? null : by, act, targetUserId, targetRole).allow, `console ${act}`).toBe(expected);
          // In the room: the same answer under the same role (administrators have no row there: they hold a room role).
          if (by !== 'admin' && act !== 'readmit') expect(authorizeRoomAction(by, MESSAGE[act], TARGET_CTX[target]).allow, `room ${act}`).toBe(expected);
        }
      });
    }
  }

  it('the target is classed by the room record: a co-host is a host whether present or away; a stranger is "other" (then not found)', () => {
    expect(moderationTarget(false, 'host')).toBe('host');
    expect(moderationTarget(false, null)).toBe('other');
    expect(moderationTarget(true, 'observer')).toBe('self');
  });

  it('deny by default: no caller, or an unknown target in the room, is refused', () => {
    expect(authorizeModeration(null, 'kick', 'other')).toMatchObject({ allow: false, code: 'FORBIDDEN' });
    expect(authorizeConsoleModeration({ userId: 'x', name: 'X', admin: false, scopes: [] }, null, 'mute', 'y', 'clinician').allow).toBe(false);
    for (const action of ['participant.kick', 'voice.mute', 'voice.unmute'] as const) {
      expect(authorizeRoomAction('host', action, {}).allow).toBe(false);
      expect(authorizeRoomAction('host', action, { targetSelf: false }).allow).toBe(false);
      expect(authorizeRoomAction('host', action, { targetRole: 'clinician' }).allow).toBe(false);
    }
  });

  it('refusals say why', () => {
    expect(authorizeModeration('host', 'kick', 'host')).toMatchObject({ reason: 'only an administrator may kick a host' });
    expect(authorizeModeration('admin', 'unmute', 'self')).toMatchObject({ reason: 'nobody can unmute themselves' });
  });
});

describe('console: who manages a room, who decides access requests', () => {
  const person = (admin: boolean) => ({ userId: 'p', name: 'P', admin, scopes: [] });

  it('an admin or a host who is not kicked; a stranger learns nothing (ROOM_NOT_FOUND), an invited non-host is FORBIDDEN', () => {
    expect(authorizeRoomConsole(person(true), null, false)).toEqual({ decision: { allow: true }, callerRole: null });
    expect(authorizeRoomConsole(person(true), 'host', true)).toEqual({ decision: { allow: true }, callerRole: 'host' });
    expect(authorizeRoomConsole(person(false), 'host', false)).toEqual({ decision: { allow: true }, callerRole: 'host' });
    expect(authorizeRoomConsole(person(false), 'host', true)).toMatchObject({ decision: { allow: false, code: 'FORBIDDEN' }, callerRole: null });
    expect(authorizeRoomConsole(person(false), 'clinician', false)).toMatchObject({ decision: { allow: false, code: 'FORBIDDEN' } });
    expect(authorizeRoomConsole(person(false), null, false)).toMatchObject({ decision: { allow: false, code: 'ROOM_NOT_FOUND' } });
  });

  it('nobody decides their own request, an administrator included', () => {
    expect(authorizeConsoleDecision(person(true), null, false).allow).toBe(true);
    expect(authorizeConsoleDecision(person(false), 'host', false).allow).toBe(true);
    expect(authorizeConsoleDecision(person(false), 'clinician', false).allow).toBe(false);
    expect(authorizeConsoleDecision(person(true), 'clinician', true)).toMatchObject({ allow: false, reason: 'nobody approves their own request' });
    expect(authorizeConsoleDecision(person(false), 'host', true).allow).toBe(false);
  });

  it('an unknown role string (a client sends what it likes) is refused every room act', () => {
    for (const action of CLIENT_MESSAGE_NAMES) expect(authorizeRoomAction('admin' as RoomRole, action, { targetSelf: false, targetRole: 'observer', presenterSelf: true }).allow).toBe(false);
  });
});

describe('scene objects: geometry for everyone, free text under its author\'s access', () => {
  const student = parseScopes(['deidentified', 'patient/Observation.rs']);
  const full = parseScopes(['patient/*.rs']);
  const uuid = '0b7c6f1e-3f7a-4c1e-9d2b-5a6e7f8a9b0c';
  const byFull = { authorScope: 'patient/*.rs', resourceRef: '' };

  it('a server-id object with a built-in asset is on every table; its label only for those covering the author', () => {
    expect(objectVisible(student, { id: uuid, asset: 'builtin:pin', ...byFull })).toBe(true);
    expect(objectTextVisible(student, byFull)).toBe(false);
    expect(objectTextVisible(full, byFull)).toBe(true);
    expect(objectTextVisible(student, { authorScope: '', resourceRef: '' })).toBe(true); // no case: nothing to quote
  });

  it('an object whose id or asset is free text stays the author\'s', () => {
    expect(objectVisible(student, { id: 'Zq-Smith-MRN-1', asset: 'builtin:pin', ...byFull })).toBe(false);
    expect(objectVisible(student, { id: uuid, asset: 'asset:smith-ct', ...byFull })).toBe(false);
    expect(objectVisible(full, { id: 'Zq-Smith-MRN-1', asset: 'builtin:pin', ...byFull })).toBe(true);
    expect(objectVisible(student, { id: 'Zq-Smith-MRN-1', asset: 'builtin:pin', authorScope: '' })).toBe(true);
  });

  it('a model showing a case resource: on the table for all, its label only for readers of that type', () => {
    const ref = { authorScope: '', resourceRef: `DocumentReference/${uuid}` };
    const model = { id: uuid, asset: 'builtin:heart', ...ref };
    expect(objectVisible(student, model)).toBe(true);
    expect(objectTextVisible(student, ref)).toBe(false);
    expect(objectTextVisible(full, ref)).toBe(true);
  });
});
