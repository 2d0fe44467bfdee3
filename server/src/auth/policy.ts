import type { ClientMessageName } from '../../../shared/src/messages.ts';
import type { ErrorCode } from '../../../shared/src/errors.ts';
import type { RoomRole } from '../../../shared/src/roles.ts';

/**
 * The one place that decides what each role may do. Deny by default: an
 * action or role missing from these tables is refused.
 */
export type Decision = { allow: true } | { allow: false; code: ErrorCode; reason: string };
const allow: Decision = { allow: true };
const deny = (code: ErrorCode, reason: string): Decision => ({ allow: false, code, reason });

// ---- room actions (messages inside a live room) -------------------------------

export type RoomAction = ClientMessageName;

/** Context the policy needs beyond the role. */
export interface RoomActionContext {
  /** For object.remove: did this user add the object? */
  ownsObject?: boolean;
}

const EDITORS: readonly RoomRole[] = ['host', 'clinician', 'specialist', 'surgeon'];
const EVERYONE: readonly RoomRole[] = ['host', 'clinician', 'specialist', 'surgeon', 'observer'];

const ROOM_RULES: Record<RoomAction, (role: RoomRole, ctx: RoomActionContext) => boolean> = {
  'pose.update': (role) => EVERYONE.includes(role),
  'object.grab': (role) => EDITORS.includes(role),
  'object.move': (role) => EDITORS.includes(role),
  'object.release': (role) => EDITORS.includes(role),
  'object.add': (role) => EDITORS.includes(role),
  // The host curates the scene; other editors may remove only what they added.
  'object.remove': (role, ctx) => role === 'host' || (EDITORS.includes(role) && ctx.ownsObject === true),
};

export function authorizeRoomAction(role: RoomRole, action: RoomAction, ctx: RoomActionContext = {}): Decision {
  const rule = Object.hasOwn(ROOM_RULES, action) ? ROOM_RULES[action] : undefined;
  if (rule === undefined) return deny('FORBIDDEN', `unknown action ${String(action)}`);
  return rule(role, ctx) ? allow : deny('FORBIDDEN', `role ${role} may not ${action}`);
}

// ---- HTTP actions (administration and tickets) --------------------------------

export interface Principal {
  userId: string;
  name: string;
  admin: boolean;
}

export type AdminAction = 'room.create' | 'room.update' | 'room.delete' | 'room.list-all' | 'room.read-any';

export function authorizeAdmin(principal: Principal, action: AdminAction): Decision {
  return principal.admin ? allow : deny('ADMIN_REQUIRED', `${action} requires ${'consilium:admin'}`);
}

/** May this principal read this room's details? Admins: any; others: when invited. */
export function authorizeRoomRead(principal: Principal, invitedRole: RoomRole | null): Decision {
  if (principal.admin || invitedRole !== null) return allow;
  return deny('NOT_FOUND', 'not invited');
}

/**
 * The role a room ticket carries. Invited users get their invited role. An
 * uninvited administrator may enter to support the room, but only as an
 * observer — administration is not a clinical role, so it grants no
 * moderation or scene rights; invite yourself explicitly for more.
 */
export function ticketRole(principal: Principal, invitedRole: RoomRole | null): { allow: true; role: RoomRole } | Extract<Decision, { allow: false }> {
  if (invitedRole !== null) return { allow: true, role: invitedRole };
  if (principal.admin) return { allow: true, role: 'observer' };
  return { allow: false, code: 'NOT_INVITED', reason: 'not a participant of this room' };
}

// ---- patient-data scopes carried by room tickets ------------------------------

/**
 * Default SMART-style scopes per role. Observers see a de-identified subset.
 * (Scope enforcement on case data arrives with the patient-data feature; the
 * scopes travel in every ticket from the start so clients never need a new one.)
 */
const DEFAULT_SCOPES: Record<RoomRole, readonly string[]> = {
  host: ['patient/*.rs'],
  clinician: ['patient/*.rs'],
  surgeon: ['patient/*.rs'],
  specialist: ['patient/*.rs'],
  observer: ['deidentified', 'patient/Observation.rs', 'patient/Condition.rs', 'patient/ImagingStudy.rs'],
};

export function defaultScopes(role: RoomRole): string[] {
  return [...DEFAULT_SCOPES[role]];
}
