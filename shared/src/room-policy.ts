import type { ErrorCode } from './errors.ts';
import type { ClientMessageName } from './messages.ts';
import type { RoomKind, RoomRole } from './roles.ts';

/**
 * Who may do which act inside a room, by room role and room kind: the pure
 * half of the server's policy (server/src/auth/policy.ts re-exports it and
 * decides every room message with it), shared so the client offers exactly
 * the buttons the server would honour. Deny by default: an action or role
 * missing from these tables is refused. No Node, no server state: what a rule
 * needs beyond the role arrives in `RoomActionContext`.
 */
export type Decision = { allow: true } | { allow: false; code: ErrorCode; reason: string };
export const allow: Decision = { allow: true };
export const deny = (code: ErrorCode, reason: string): Decision => ({ allow: false, code, reason });

/** Every room message, plus `pose` (the binary avatar pose path). */
export type RoomAction = ClientMessageName | 'pose';

/** Context the policy needs beyond the role. */
export interface RoomActionContext {
  /** For object.remove / grab / move / release: did this user add the object? */
  ownsObject?: boolean;
  /** For object.grab / move / release: is the target an annotation (stroke, marker, arrow, label) rather than a model? */
  annotation?: boolean;
  /** For presenter.set: does the change concern the sender themselves (take or hand back)? */
  presenterSelf?: boolean;
  /** For presenter.set: is someone else presenting now? */
  presenterTakenByOther?: boolean;
  /** For participant.kick / voice.mute / voice.unmute: the target's role in the room record, present or not (null: not invited). */
  targetRole?: RoomRole | null;
  /** For moderation / access.approve: does the act concern the sender themselves? */
  targetSelf?: boolean;
  /** The kind of room the message arrives in (the dispatcher always sets it). */
  roomKind?: RoomKind;
  /** For guidance.clear: everyone's annotations, not only one's own. */
  clearAll?: boolean;
  /** For object.grab / move / release / remove in a replay: the target belongs to the recording. */
  recorded?: boolean;
  /** For viewer.set / viewer.pin: does the sender's access include ImagingStudy? */
  imagingAccess?: boolean;
}

/** The clinical team: they change the scene, speak, and may ask for emergency access. */
export const EDITOR_ROLES: readonly RoomRole[] = ['host', 'clinician', 'specialist', 'surgeon'];
const EDITORS = EDITOR_ROLES;
const EVERYONE: readonly RoomRole[] = ['host', 'clinician', 'specialist', 'surgeon', 'observer'];

const GUIDING: readonly RoomRole[] = ['host', 'surgeon', 'specialist'];
const guidance = (ctx: RoomActionContext) => ctx.roomKind === 'surgical-guidance';
/** Grand rounds: the audience (observers) attends receive-only — no avatar, no pointer; they raise a hand. */
export const receiveOnly = (roomKind: RoomKind, role: RoomRole) => roomKind === 'grand-rounds' && role === 'observer';
const audience = (role: RoomRole, ctx: RoomActionContext) => ctx.roomKind !== undefined && receiveOnly(ctx.roomKind, role);
/** In a replay, learners (observers too) annotate on top of the recording: their marks belong to the replay. */
const mayAnnotate = (role: RoomRole, ctx: RoomActionContext) => EDITORS.includes(role) || (ctx.roomKind === 'replay' && EVERYONE.includes(role));

const ROOM_RULES: Record<RoomAction, (role: RoomRole, ctx: RoomActionContext) => boolean> = {
  pose: (role, ctx) => !audience(role, ctx) && EVERYONE.includes(role),
  // Pointing is part of presence: everyone may point — except in surgical guidance, where
  // a pointer is an instruction to the surgeon, so only those guiding (and the host) point.
  'pointer.update': (role, ctx) => !audience(role, ctx) && (guidance(ctx) ? GUIDING.includes(role) : EVERYONE.includes(role)),
  // The patient frame is the surgeon's registration of the real patient (the host may fix it).
  'anchor.set': (role, ctx) => guidance(ctx) && (role === 'surgeon' || role === 'host'),
  // Hands-free commands are the surgeon's (and the host's, who may stand in).
  'guidance.ack': (role, ctx) => guidance(ctx) && (role === 'surgeon' || role === 'host'),
  'guidance.dismiss': (role, ctx) => guidance(ctx) && (role === 'surgeon' || role === 'host'),
  'guidance.next': (role, ctx) => guidance(ctx) && (role === 'surgeon' || role === 'host'),
  'guidance.repeat': (role, ctx) => guidance(ctx) && (role === 'surgeon' || role === 'host'),
  // Authors undo and clear their own annotations; the host may clear everyone's.
  'guidance.undo': (role, ctx) => mayAnnotate(role, ctx),
  'guidance.clear': (role, ctx) => (ctx.clearAll === true ? role === 'host' : mayAnnotate(role, ctx)),
  // Everyone answers the server's link probe.
  'link.pong': (role) => EVERYONE.includes(role),
  // The host chooses the presenter; an editor may take the floor when it is free, and hand it back.
  'presenter.set': (role, ctx) => role === 'host' || (EDITORS.includes(role) && ctx.presenterSelf === true && ctx.presenterTakenByOther !== true),
  // Emergency access is for the clinical team; observers (students, guests) cannot ask. Never in a replay:
  // break-glass is for a patient in front of you, and a replay is a lesson (recorded break-glass is metadata only).
  'access.breakGlass': (role, ctx) => EDITORS.includes(role) && ctx.roomKind !== 'replay',
  // Nobody approves their own request: another host (or an admin, from the console) must.
  'access.approve': (role, ctx) => role === 'host' && ctx.targetSelf === false,
  'access.deny': (role) => role === 'host',
  // Moderation: MODERATION_RULES below, the same table the console uses.
  'voice.mute': (role, ctx) => mayModerate(role, ctx),
  'voice.unmute': (role, ctx) => mayModerate(role, ctx),
  'participant.kick': (role, ctx) => mayModerate(role, ctx),
  // Editors move the scene's objects. In surgical guidance an annotation is an instruction to the
  // surgeon ("seen by surgeon" is about where it points): only its author or the host may move it.
  // In a replay the recording's own objects stay as recorded.
  'object.grab': (role, ctx) => ctx.recorded !== true && mayAnnotate(role, ctx) && mayMoveObject(role, ctx),
  'object.move': (role, ctx) => ctx.recorded !== true && mayAnnotate(role, ctx) && mayMoveObject(role, ctx),
  'object.release': (role, ctx) => ctx.recorded !== true && mayAnnotate(role, ctx) && mayMoveObject(role, ctx),
  'object.add': (role, ctx) => mayAnnotate(role, ctx),
  // The shared image viewer follows the presenter (whoever the host made presenter); when nobody presents,
  // any editor may drive it. Never someone who may not see the images: the series is theirs to choose.
  'viewer.set': (role, ctx) => ctx.imagingAccess === true && (ctx.presenterSelf === true || (ctx.presenterTakenByOther === false && EDITORS.includes(role))),
  // The slice panel in the surgeon's AR view is placed in the patient frame, like guidance: by the surgeon (by gaze)
  // or those guiding them, and only by someone who may see the images it shows.
  'viewer.pin': (role, ctx) => guidance(ctx) && ctx.imagingAccess === true && GUIDING.includes(role),
  // The host curates the scene; other editors may remove only what they added.
  'object.remove': (role, ctx) => ctx.recorded !== true && (role === 'host' || (mayAnnotate(role, ctx) && ctx.ownsObject === true)),
  // Teaching. Recording is the host's (where an administrator allowed it: a room setting, checked by the room).
  'recording.start': (role, ctx) => role === 'host' && ctx.roomKind !== 'replay',
  'recording.stop': (role) => role === 'host',
  // The educator (the replay room's host) drives the replay; learners follow.
  'replay.control': (role, ctx) => role === 'host' && ctx.roomKind === 'replay',
  // Anyone raises or lowers their own hand; the host lowers someone else's.
  'hand.raise': (role, ctx) => (ctx.targetSelf === true ? EVERYONE.includes(role) : role === 'host'),
  // Decision support: the clinical team shares its cards and answers them (the service learns the outcome);
  // observers see their own cards and shared ones. Who may read a shared card's text: cdsCardVisibleTo (policy.ts).
  'cds.share': (role) => EDITORS.includes(role),
  'cds.feedback': (role) => EDITORS.includes(role),
};

/** In the room everyone moderates under their room role (administrators act from the console). Unknown target: deny. */
function mayModerate(role: RoomRole, ctx: RoomActionContext): boolean {
  if (ctx.targetSelf === undefined || ctx.targetRole === undefined) return false;
  return MODERATION_RULES[role][moderationTarget(ctx.targetSelf, ctx.targetRole)];
}

/** Models may be moved by any editor; guidance annotations only by their author or the host. */
function mayMoveObject(role: RoomRole, ctx: RoomActionContext): boolean {
  if (!guidance(ctx) || ctx.annotation !== true) return true;
  return role === 'host' || ctx.ownsObject === true;
}

export function authorizeRoomAction(role: RoomRole, action: RoomAction, ctx: RoomActionContext = {}): Decision {
  const rule = Object.hasOwn(ROOM_RULES, action) ? ROOM_RULES[action] : undefined;
  if (rule === undefined) return deny('FORBIDDEN', `unknown action ${String(action)}`);
  if (!EVERYONE.includes(role)) return deny('FORBIDDEN', `unknown role ${String(role)}`);
  return rule(role, ctx) ? allow : deny('FORBIDDEN', `role ${role} may not ${action}`);
}

/** Does this role keep the floor? (A demotion to a role that may not present ends their presenting.) */
export function mayPresent(role: RoomRole, roomKind: RoomKind): boolean {
  return authorizeRoomAction(role, 'presenter.set', { roomKind, presenterSelf: true, presenterTakenByOther: false }).allow;
}

// ---- scene objects: the facts the rules read ----------------------------------------------

/** Objects of a recording, replayed into a replay room, carry their recorded id behind this prefix (no client may add one). */
export const RECORDED_PREFIX = 'rec_';

/** Kinds that are annotations: they may quote the patient, carry their author's access, and their authors undo and clear them. */
export const ANNOTATION_KINDS: ReadonlySet<string> = new Set(['label', 'marker', 'stroke', 'arrow', 'length', 'region']);
export const isAnnotation = (kind: string) => ANNOTATION_KINDS.has(kind);

/** What the rules for object.grab / move / release / remove need about the target, from the object as synced. */
export function objectContext(obj: { createdBy: string; kind: string }, userId: string): RoomActionContext {
  return { ownsObject: obj.createdBy === userId, annotation: isAnnotation(obj.kind) };
}

// ---- moderation: kick, mute, unmute, re-admit — in the room and from the console ---------

export type ModerationAct = 'kick' | 'mute' | 'unmute' | 'readmit';
/** Who acts: a room role (their invitation, and not kicked) or, from the console only, an administrator. */
export type Moderator = RoomRole | 'admin';
/** Whom: themselves, a host, or anyone else — by their entry in the room record, whether in the room now or not. */
export type ModerationTarget = 'self' | 'host' | 'other';

/**
 * Who may moderate whom: the one table behind the in-room commands
 * (participant.kick, voice.mute, voice.unmute) and the console
 * (POST /api/rooms/:id/moderation, DELETE /api/rooms/:id/kicks/:userId),
 * live room or not. The same for every act — an unmute switches someone's
 * microphone on, a re-admission undoes a kick: neither is lesser.
 * - Nobody moderates themselves: one's own microphone is one's own switch,
 *   leaving is how one goes, and a self-kick would lock a host out of their
 *   own powers (kicked hosts hold none until re-admitted).
 * - Hosts are equals: a host acts on participants who are not hosts, never
 *   on a co-host, present or away. Only an administrator acts on a host.
 * - Administrators act from the console; in a room they hold their room role.
 * - Nobody else moderates.
 * A target who is not invited is nobody to act on: an allowed act answers
 * PARTICIPANT_NOT_FOUND (server/src/rooms/moderation.ts).
 */
const MODERATION_RULES: Record<Moderator, Record<ModerationTarget, boolean>> = {
  admin: { self: false, host: true, other: true },
  host: { self: false, host: false, other: true },
  clinician: { self: false, host: false, other: false },
  specialist: { self: false, host: false, other: false },
  surgeon: { self: false, host: false, other: false },
  observer: { self: false, host: false, other: false },
};

export function moderationTarget(self: boolean, targetRole: RoomRole | null): ModerationTarget {
  return self ? 'self' : targetRole === 'host' ? 'host' : 'other';
}

/**
 * A moderation act: `by` is null for someone who is neither an administrator
 * (console) nor invited (or who is kicked). The refusal is FORBIDDEN, with a reason.
 */
export function authorizeModeration(by: Moderator | null, act: ModerationAct, target: ModerationTarget): Decision {
  if (by === null) return deny('FORBIDDEN', 'only an administrator or the room host may moderate');
  if (Object.hasOwn(MODERATION_RULES, by) && MODERATION_RULES[by][target]) return allow;
  if (target === 'self') return deny('FORBIDDEN', `nobody can ${act} themselves`);
  if (target === 'host' && by === 'host') return deny('FORBIDDEN', `only an administrator may ${act} a host`);
  return deny('FORBIDDEN', `role ${by} may not ${act}`);
}

// ---- voice and video (LiveKit grants) ---------------------------------------------

export type MediaSource = 'microphone' | 'camera' | 'screen_share';

/** What a participant may do in the LiveKit room. Nobody gets roomAdmin, roomCreate or roomRecord. */
export interface VoiceGrant {
  canSubscribe: boolean;
  canPublish: boolean;
  canPublishData: boolean;
  sources: MediaSource[];
}

/**
 * Observers listen only. Host, clinicians, specialists and surgeons speak
 * (microphone only). Video never goes through the voice room: everyone in it
 * may subscribe to everything in it, so the surgeon's camera has a LiveKit
 * room of its own (videoGrant). Data messages go through the Colyseus room,
 * never LiveKit, so nobody publishes data there.
 */
export function voiceGrant(role: RoomRole, _kind: RoomKind): VoiceGrant {
  if (role === 'observer') return { canSubscribe: true, canPublish: false, canPublishData: false, sources: [] };
  return { canSubscribe: true, canPublish: true, canPublishData: false, sources: ['microphone'] };
}

/** Per-room media settings an administrator chooses. */
export interface RoomMediaSettings {
  /** Surgical guidance: observers may watch the surgeon's camera video. */
  observerVideo: boolean;
}

/**
 * The surgeon's camera video (surgical guidance only) lives in its own LiveKit
 * room, and this decides who gets a token for it at all — LiveKit grants cannot
 * pick single tracks, so "who may see the video" is "who may enter that room".
 * The surgeon publishes camera and screen share and subscribes to nothing; the
 * host, specialists (and clinicians) watch; observers watch only when the room
 * allows it (`observerVideo`), and never publish. null: no video token, and a
 * live participant without a grant is removed from the video room.
 */
export function videoGrant(role: RoomRole, kind: RoomKind, settings: RoomMediaSettings): VoiceGrant | null {
  if (kind !== 'surgical-guidance') return null;
  const watch: VoiceGrant = { canSubscribe: true, canPublish: false, canPublishData: false, sources: [] };
  switch (role) {
    case 'surgeon':
      return { canSubscribe: false, canPublish: true, canPublishData: false, sources: ['camera', 'screen_share'] };
    case 'host':
    case 'specialist':
    case 'clinician':
      return watch;
    case 'observer':
      return settings.observerVideo ? watch : null;
    default:
      return null;
  }
}
