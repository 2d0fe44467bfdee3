import type { ClientMessageName } from '../../../shared/src/messages.ts';
import type { ErrorCode } from '../../../shared/src/errors.ts';
import type { RoomKind, RoomRole } from '../../../shared/src/roles.ts';
import { isR4ResourceType, R4_RESOURCE_TYPES, type CaseResourceType, type R4ResourceType } from '../../../shared/src/fhir.ts';
import { DEIDENTIFIABLE_TYPES } from '../domain/deidentify.ts';
import { IDENTITY_TYPES } from '../domain/withhold-identity.ts';

/**
 * The one place that decides what each role may do. Deny by default: an
 * action or role missing from these tables is refused.
 */
export type Decision = { allow: true } | { allow: false; code: ErrorCode; reason: string };
const allow: Decision = { allow: true };
const deny = (code: ErrorCode, reason: string): Decision => ({ allow: false, code, reason });

// ---- room actions (messages inside a live room) -------------------------------

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
}

const EDITORS: readonly RoomRole[] = ['host', 'clinician', 'specialist', 'surgeon'];
const EVERYONE: readonly RoomRole[] = ['host', 'clinician', 'specialist', 'surgeon', 'observer'];

const GUIDING: readonly RoomRole[] = ['host', 'surgeon', 'specialist'];
const guidance = (ctx: RoomActionContext) => ctx.roomKind === 'surgical-guidance';

const ROOM_RULES: Record<RoomAction, (role: RoomRole, ctx: RoomActionContext) => boolean> = {
  pose: (role) => EVERYONE.includes(role),
  // Pointing is part of presence: everyone may point — except in surgical guidance, where
  // a pointer is an instruction to the surgeon, so only those guiding (and the host) point.
  'pointer.update': (role, ctx) => (guidance(ctx) ? GUIDING.includes(role) : EVERYONE.includes(role)),
  // The patient frame is the surgeon's registration of the real patient (the host may fix it).
  'anchor.set': (role, ctx) => guidance(ctx) && (role === 'surgeon' || role === 'host'),
  // Hands-free commands are the surgeon's (and the host's, who may stand in).
  'guidance.ack': (role, ctx) => guidance(ctx) && (role === 'surgeon' || role === 'host'),
  'guidance.dismiss': (role, ctx) => guidance(ctx) && (role === 'surgeon' || role === 'host'),
  'guidance.next': (role, ctx) => guidance(ctx) && (role === 'surgeon' || role === 'host'),
  'guidance.repeat': (role, ctx) => guidance(ctx) && (role === 'surgeon' || role === 'host'),
  // Authors undo and clear their own annotations; the host may clear everyone's.
  'guidance.undo': (role) => EDITORS.includes(role),
  'guidance.clear': (role, ctx) => (ctx.clearAll === true ? role === 'host' : EDITORS.includes(role)),
  // Everyone answers the server's link probe.
  'link.pong': (role) => EVERYONE.includes(role),
  // The host chooses the presenter; an editor may take the floor when it is free, and hand it back.
  'presenter.set': (role, ctx) => role === 'host' || (EDITORS.includes(role) && ctx.presenterSelf === true && ctx.presenterTakenByOther !== true),
  // Emergency access is for the clinical team; observers (students, guests) cannot ask.
  'access.breakGlass': (role) => EDITORS.includes(role),
  // Nobody approves their own request: another host (or an admin, from the console) must.
  'access.approve': (role, ctx) => role === 'host' && ctx.targetSelf === false,
  'access.deny': (role) => role === 'host',
  // Moderation: MODERATION_RULES below, the same table the console uses.
  'voice.mute': (role, ctx) => mayModerate(role, ctx),
  'voice.unmute': (role, ctx) => mayModerate(role, ctx),
  'participant.kick': (role, ctx) => mayModerate(role, ctx),
  // Editors move the scene's objects. In surgical guidance an annotation is an instruction to the
  // surgeon ("seen by surgeon" is about where it points): only its author or the host may move it.
  'object.grab': (role, ctx) => EDITORS.includes(role) && mayMoveObject(role, ctx),
  'object.move': (role, ctx) => EDITORS.includes(role) && mayMoveObject(role, ctx),
  'object.release': (role, ctx) => EDITORS.includes(role) && mayMoveObject(role, ctx),
  'object.add': (role) => EDITORS.includes(role),
  // The host curates the scene; other editors may remove only what they added.
  'object.remove': (role, ctx) => role === 'host' || (EDITORS.includes(role) && ctx.ownsObject === true),
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
  return rule(role, ctx) ? allow : deny('FORBIDDEN', `role ${role} may not ${action}`);
}

// ---- HTTP actions (administration and tickets) --------------------------------

export interface Principal {
  userId: string;
  name: string;
  admin: boolean;
  /** Scopes from the identity token (SMART `patient/...` scopes decide direct case reads). */
  scopes: readonly string[];
}

export type AdminAction =
  /** Upload DICOM to a case; mark a series clean of burned-in identity. */
  | 'imaging.upload'
  | 'imaging.mark-clean'
  | 'room.create'
  | 'room.update'
  | 'room.delete'
  | 'room.list-all'
  | 'room.read-any'
  | 'case.import'
  | 'case.delete'
  | 'case.ingest'
  | 'audit.read'
  /** The admin console's pickers: people who have signed in, cases with their patients' names. */
  | 'directory.users'
  | 'directory.cases';

export function authorizeAdmin(principal: Principal, action: AdminAction): Decision {
  return principal.admin ? allow : deny('ADMIN_REQUIRED', `${action} requires ${'consilium:admin'}`);
}

/** May this principal read this room's details? Admins: any; others: when invited. */
export function authorizeRoomRead(principal: Principal, invitedRole: RoomRole | null): Decision {
  if (principal.admin || invitedRole !== null) return allow;
  return deny('NOT_FOUND', 'not invited');
}

/** A participant's entry in the room record: role and optional explicit scopes (null → the role's defaults). */
export interface Invitation {
  role: RoomRole;
  scopes?: readonly string[] | null;
}

/**
 * May this principal set (or, with `after: null`, remove) a participant's entry?
 * Admins and the room's hosts may change participants, but:
 * - nobody widens their own access (a change on oneself may only narrow it);
 * - only an admin adds a host, or changes or removes another host;
 * - a host grants explicit scopes only within the room's ceiling, which the admin sets.
 */
export function authorizeParticipantChange(
  principal: Principal,
  callerRole: RoomRole | null,
  change: { targetUserId: string; before: Invitation | null; after: Invitation | null; ceiling: readonly string[] | null },
): Decision {
  if (!principal.admin && callerRole !== 'host') return deny('FORBIDDEN', 'only an administrator or the room host may change participants');
  const { before, after } = change;
  if (change.targetUserId === principal.userId && after !== null && widens(before, after)) {
    return deny('FORBIDDEN', 'nobody can widen their own access');
  }
  if (principal.admin) return allow;
  if (before?.role === 'host' && change.targetUserId !== principal.userId) return deny('FORBIDDEN', 'only an administrator may change or remove another host');
  if (after?.role === 'host' && before?.role !== 'host') return deny('FORBIDDEN', 'only an administrator may add a host');
  if (after?.scopes && !within(parseScopes(after.scopes), ceilingAccess(change.ceiling))) {
    return deny('SCOPE_ABOVE_CEILING', "those scopes exceed the room's ceiling set by the administrator");
  }
  return allow;
}

/** Does `after` give more than `before` (a new entry, a host role, more data)? */
function widens(before: Invitation | null, after: Invitation): boolean {
  if (before === null) return true;
  if (after.role === 'host' && before.role !== 'host') return true;
  if (EDITORS.includes(after.role) && !EDITORS.includes(before.role)) return true;
  return !within(scopesAccess(after), scopesAccess(before));
}

// ---- the participant-access record: one derivation for tickets, joins, views and acts ---

/** A break-glass grant, bound to the role it was granted under. */
export interface Grant {
  types: readonly CaseResourceType[];
  role: RoomRole;
  expiresAt: number;
}

/** Everything that decides what a participant may do and see in a room, derived in one place. */
export interface ParticipantAccess {
  role: RoomRole;
  /** Effective scopes (the participant's, within the room's ceiling), as carried in tickets and audit rows. */
  scope: string;
  /** What the scopes alone allow. */
  base: DataAccess;
  /** What they may see now: scopes plus live break-glass grants (within the ceiling). */
  data: DataAccess;
  /** Resource types currently readable only through break-glass. */
  grants: CaseResourceType[];
}

export interface AccessInput {
  /** Their entry in the room record; null when not invited. */
  invitation: Invitation | null;
  /** An administrator (uninvited admins enter as observers). */
  admin: boolean;
  kicked: boolean;
  /** The room's scope ceiling (null: the default, patient/*.rs). */
  ceiling: readonly string[] | null;
  grants: readonly Grant[];
  now: number;
}

/**
 * The one assembly of a user's access input in a room, from the room record
 * (who is invited, the ceiling) and what the caller knows of them now — at the
 * ticket desk, for a case read over HTTP, and in the live roster (which alone
 * holds break-glass grants).
 */
export function accessInput(
  room: { participants: readonly (Invitation & { userId: string })[]; scopeCeiling: readonly string[] | null },
  user: { userId: string; admin: boolean },
  now: { kicked: boolean; grants?: readonly Grant[]; at: number },
): AccessInput {
  return {
    invitation: room.participants.find((p) => p.userId === user.userId) ?? null,
    admin: user.admin,
    kicked: now.kicked,
    ceiling: room.scopeCeiling,
    grants: now.grants ?? [],
    now: now.at,
  };
}

/**
 * The one derivation of a participant's access. null: not admitted (kicked,
 * or neither invited nor an administrator). An uninvited administrator may
 * enter to support the room, but only as an observer — administration is not
 * a clinical role. A grant counts only under the role it was granted for, and
 * nothing — scopes or break-glass — exceeds the room's ceiling.
 */
export function participantAccess(input: AccessInput): ParticipantAccess | null {
  if (input.kicked) return null;
  if (!input.invitation && !input.admin) return null;
  const role = input.invitation?.role ?? 'observer';
  const ceiling = ceilingAccess(input.ceiling);
  const base = intersect(scopesAccess({ role, scopes: input.invitation?.scopes ?? null }), ceiling);
  const granted = new Set<CaseResourceType>();
  for (const g of input.grants) {
    if (g.role !== role || g.expiresAt <= input.now) continue;
    for (const t of g.types) if (ceiling.types.has(t) && !base.types.has(t)) granted.add(t);
  }
  return { role, scope: accessToScope(base), base, data: withGrants(base, granted), grants: [...granted].sort() };
}

const DEFAULT_CEILING = ['patient/*.rs'];

function ceilingAccess(ceiling: readonly string[] | null): DataAccess {
  return parseScopes(ceiling ?? DEFAULT_CEILING);
}

function scopesAccess(inv: Invitation): DataAccess {
  return parseScopes(inv.scopes ?? defaultScopes(inv.role));
}

function intersect(a: DataAccess, b: DataAccess): DataAccess {
  return sharedAccess(a.identified && b.identified, [...a.types].filter((t) => b.types.has(t)));
}

/** Is everything `inner` allows also allowed by `outer`? */
export function within(inner: DataAccess, outer: DataAccess): boolean {
  return accessCovers(outer, inner);
}

/**
 * Reading a case over HTTP. Administrators read under their identity token's
 * scopes (audited). Everyone else reads only through a room that shows the
 * case and admits them: what that room's access record allows (invitation,
 * ceiling, kicks — as in the room), and never more than their identity
 * token's own scopes allow. null: nothing.
 */
export function caseReadAccess(principal: Principal, room: AccessInput | null): DataAccess | null {
  const token = parseScopes(principal.scopes);
  if (token.types.size === 0) return null;
  if (principal.admin) return token;
  if (!room) return null;
  const inRoom = participantAccess({ ...room, admin: false });
  if (!inRoom) return null;
  const both = intersect(inRoom.base, token);
  return both.types.size > 0 ? both : null;
}

/** A break-glass decision from the console: an admin, or a host of the room (never on their own request: BreakGlassDesk). */
export function authorizeConsoleDecision(principal: Principal, callerRole: RoomRole | null): Decision {
  return principal.admin || callerRole === 'host' ? allow : deny('FORBIDDEN', 'only an administrator or the room host may decide access requests');
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
 * PARTICIPANT_NOT_FOUND (rooms/moderation.ts).
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

/** Moderation from the console: an administrator acts as one; anyone else under their role in the room record. */
export function authorizeConsoleModeration(principal: Principal, callerRole: RoomRole | null, act: ModerationAct, targetUserId: string, targetRole: RoomRole | null): Decision {
  return authorizeModeration(principal.admin ? 'admin' : callerRole, act, moderationTarget(targetUserId === principal.userId, targetRole));
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

/** What patient data a participant may receive. */
export interface DataAccess {
  /** false: only de-identified copies, never the identified resources. */
  identified: boolean;
  /** Readable R4 types. Types without a de-identification rule are readable only when identified (see resourceVariant). */
  types: ReadonlySet<R4ResourceType>;
}

export const NO_ACCESS: DataAccess = { identified: false, types: new Set() };

/**
 * One frozen DataAccess per distinct access: every participant of a room holds
 * two (base and effective), and a set of all ~150 R4 types costs 2.6 KB, so a
 * thousand seats held 5 MB of identical sets (issue 20). Bounded: a server
 * that meets more distinct accesses than this starts over.
 */
const accessCache = new Map<string, DataAccess>();
const ACCESS_CACHE_MAX = 1024;

function sharedAccess(identified: boolean, types: Iterable<R4ResourceType>): DataAccess {
  const sorted = [...new Set(types)].sort();
  const key = `${identified ? 'i' : 'd'} ${sorted.join(' ')}`;
  let access = accessCache.get(key);
  if (!access) {
    if (accessCache.size >= ACCESS_CACHE_MAX) accessCache.clear();
    access = Object.freeze({ identified, types: new Set(sorted) as ReadonlySet<R4ResourceType> });
    accessCache.set(key, access);
  }
  return access;
}

const SCOPE_RE = /^patient\/(\*|[A-Za-z]+)\.([cruds]+)$/;

/**
 * Parse SMART v2 scopes (`patient/<Type|*>.<cruds>`, plus `deidentified`).
 * Only read/search (`r` or `s`) grant anything here; any FHIR R4 resource type
 * may be named, `*` names them all; unknown scopes and names that are not R4
 * types are ignored (deny by default). Legacy v1 `.read` is accepted.
 */
export function parseScopes(scopes: string | readonly string[]): DataAccess {
  const list = typeof scopes === 'string' ? scopes.split(/\s+/).filter(Boolean) : scopes;
  const types = new Set<R4ResourceType>();
  let identified = true;
  for (const raw of list) {
    if (raw === 'deidentified') {
      identified = false;
      continue;
    }
    const scope = raw.replace(/\.read$/, '.rs');
    const m = SCOPE_RE.exec(scope);
    if (!m || !/[rs]/.test(m[2]!)) continue;
    if (m[1] === '*') R4_RESOURCE_TYPES.forEach((t) => types.add(t));
    else if (isR4ResourceType(m[1])) types.add(m[1]);
  }
  return sharedAccess(identified, types);
}

/** Valid scope strings for provisioning (explicit scopes per participant). */
export function isKnownScope(scope: string): boolean {
  if (scope === 'deidentified') return true;
  const m = SCOPE_RE.exec(scope.replace(/\.read$/, '.rs'));
  return m !== null && (m[1] === '*' || isR4ResourceType(m[1]));
}

/** Break-glass adds read access to more resource types; it never turns a de-identified view into an identified one. */
export function withGrants(access: DataAccess, granted: Iterable<CaseResourceType>): DataAccess {
  const types = new Set(access.types);
  for (const t of granted) types.add(t);
  return sharedAccess(access.identified, types);
}

/** The copies of a resource: as stored; without the patient's identity; de-identified (Safe Harbor). */
export type Variant = 'identified' | 'identity-withheld' | 'deidentified';

/**
 * Which copy of a resource type a participant receives, if any.
 * A type without a de-identification rule has no de-identified copy, so a
 * de-identified viewer gets nothing of it, whatever the scopes say.
 * The patient summary is special: in a de-identified view, its de-identified
 * form (gender and age band only, both permitted by Safe Harbor) accompanies
 * any other readable type that has a de-identified copy, so the data has a
 * subject to refer to.
 * Identity follows the Patient scope wherever it is written: an identified
 * viewer who may not read the Patient gets every other type identity-withheld
 * (no name, identifier, telecom, address or birth date of the patient in
 * reference displays, narratives, contained resources, extensions or free
 * text), and no RelatedPerson or Person at all — they are the patient's (or a
 * relative's) identity.
 */
export function resourceVariant(access: DataAccess, type: R4ResourceType): Variant | null {
  if (!access.identified && !DEIDENTIFIABLE_TYPES.has(type)) return null;
  const readable = access.types.has(type) || (type === 'Patient' && !access.identified && [...access.types].some((t) => DEIDENTIFIABLE_TYPES.has(t)));
  if (!readable) return null;
  if (!access.identified) return 'deidentified';
  if (access.types.has('Patient')) return 'identified';
  return IDENTITY_TYPES.has(type) ? null : 'identity-withheld';
}

/** May `viewer` see something produced under `author`'s access (e.g. an annotation quoting patient data)? */
export function accessCovers(viewer: DataAccess, author: DataAccess): boolean {
  if (author.identified && !viewer.identified) return false;
  for (const t of author.types) if (!viewer.types.has(t)) return false;
  return true;
}

/** The access as a scope string; every R4 type at once is written `patient/*.rs` (it travels in annotations). */
export function accessToScope(access: DataAccess): string {
  const all = R4_RESOURCE_TYPES.every((t) => access.types.has(t));
  const types = all ? ['patient/*.rs'] : [...access.types].sort().map((t) => `patient/${t}.rs`);
  return [...(access.identified ? [] : ['deidentified']), ...types].join(' ');
}

// ---- break-glass ----------------------------------------------------------------

export const BREAK_GLASS_DEFAULT_MINUTES = 15;

/**
 * Emergency access: roles listed in `selfGrantRoles` (configuration; surgeons
 * by default, who cannot wait mid-operation) get it at once for a limited
 * time; everyone else who may ask needs the host's approval. Always audited.
 */
export function breakGlassMode(role: RoomRole, selfGrantRoles: readonly RoomRole[]): 'self-grant' | 'approval' | null {
  if (!authorizeRoomAction(role, 'access.breakGlass').allow) return null;
  return selfGrantRoles.includes(role) ? 'self-grant' : 'approval';
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

// ---- imaging (DICOM pixels and headers, read through a room like the case) ---------------

/**
 * Which copy of a case's images a reader gets, if any: the ImagingStudy
 * variant (resourceVariant) — no ImagingStudy in their access, no header and
 * no pixel. A series that may carry identity burned into its pixels is shown
 * only to identified viewers (who may read the Patient), unless an
 * administrator has marked it clean: de-identifying a header does not
 * de-identify a screenshot of the patient's name.
 */
export function imagingAccess(access: DataAccess, series: { burnedInRisk: boolean; markedClean: boolean }): { variant: Variant } | { variant: Variant | null; withheld: true } | null {
  const variant = resourceVariant(access, 'ImagingStudy');
  if (variant === null) return null;
  if (series.burnedInRisk && !series.markedClean && variant !== 'identified') return { variant, withheld: true };
  return { variant };
}
