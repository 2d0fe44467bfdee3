import type { RoomRole } from '../../../shared/src/roles.ts';
import {
  allow,
  authorizeModeration,
  authorizeRoomAction,
  deny,
  EDITOR_ROLES,
  moderationTarget,
  RECORDED_PREFIX,
  voiceGrant,
  type Decision,
  type ModerationAct,
} from '../../../shared/src/room-policy.ts';
import { recordingRelation, type RecordingRelation } from '../../../shared/src/recording-policy.ts';
import { isCaseResourceType, isR4ResourceType, R4_RESOURCE_TYPES, type CaseResourceType, type R4ResourceType } from '../../../shared/src/fhir.ts';
import type { Variant } from '../domain/case-view.ts';
import { DEIDENTIFIABLE_TYPES } from '../domain/deidentify.ts';
import { IDENTITY_TYPES } from '../domain/withhold-identity.ts';

/**
 * The one place that decides what each role may do. Deny by default: an
 * action or role missing from these tables is refused. The room-action table
 * (who may do which room act, by role and room kind), the moderation table and
 * the media grants are pure and live in shared/src/room-policy.ts, so the
 * client offers the same buttons the server honours; they are re-exported
 * here, and everything that needs the server's knowledge (principals, scopes,
 * ceilings, break-glass grants, case data) is decided below.
 */
export { authorizeRecordingAction, GRANTABLE_ROOM_KINDS, managesRecording, type RecordingAction, type RecordingRelation } from '../../../shared/src/recording-policy.ts';
export {
  authorizeModeration,
  authorizeRoomAction,
  mayPresent,
  moderationTarget,
  objectContext,
  RECORDED_PREFIX,
  receiveOnly,
  videoGrant,
  voiceGrant,
  type Decision,
  type MediaSource,
  type ModerationAct,
  type ModerationTarget,
  type Moderator,
  type RoomAction,
  type RoomActionContext,
  type RoomMediaSettings,
  type VoiceGrant,
} from '../../../shared/src/room-policy.ts';

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
  if (EDITOR_ROLES.includes(after.role) && !EDITOR_ROLES.includes(before.role)) return true;
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
 * token's own scopes allow. Through a replay room, also never more than
 * `replayHold` — what they hold of its recording now (replayReadHold); null
 * there: nothing. null: nothing.
 */
export function caseReadAccess(principal: Principal, room: AccessInput | null, replayHold?: DataAccess | null): DataAccess | null {
  const token = parseScopes(principal.scopes);
  if (token.types.size === 0) return null;
  if (principal.admin) return token;
  if (!room) return null;
  const inRoom = participantAccess({ ...room, admin: false });
  if (!inRoom) return null;
  const both = intersect(inRoom.base, token);
  const bounded = replayHold === undefined ? both : replayHold === null ? NO_ACCESS : intersect(both, replayHold);
  return bounded.types.size > 0 ? bounded : null;
}

/**
 * Did a case read go through this room, so its audit row names it? Only when the room admits the reader
 * by their own entry in it: an administrator reads under their token whatever room they name, and a row
 * naming a room that played no part (another case's, a made-up one) would file the read under it.
 */
export function readsThroughRoom(room: AccessInput | null): boolean {
  return room !== null && participantAccess({ ...room, admin: false }) !== null;
}

/**
 * The copy of the clinical record an access gets (of any type but the patient's identity itself; see
 * resourceVariant): what an audit row says was read when nothing was found to send.
 */
export function accessVariant(access: DataAccess): Variant {
  if (!access.identified) return 'deidentified';
  return access.types.has('Patient') ? 'identified' : 'identity-withheld';
}

/**
 * What a replay room lets someone read of its case (over HTTP: case reads, image frames). A replay room
 * is no right of its own, and its record is brought in step with who holds the recording only when a
 * route sees a change: so each read asks again. Nothing once its session is over (REPLAY_ROOM_HOURS) or
 * its recording is gone (deleted, expired) — `recording` null. A learner seated there by whoever manages
 * it holds it by that seat, for the session (the room record, within the recording's ceiling); its opener
 * only while they still hold the recording, and no more than that gives now (recordingViewerAccess of
 * their relation: managing it, a grant, a training room, a seat elsewhere) — as reconcile decides.
 */
export function replayReadHold(
  session: { over: boolean; opener: boolean },
  recording: { rec: { hostScope: string }; relation: RecordingRelation | null; holds: RecordingHolds } | null,
): DataAccess | null {
  if (session.over || !recording) return null;
  if (!session.opener) return recordingCeiling(recording.rec);
  return recording.relation === null ? null : recordingViewerAccess(recording.relation, recording.rec, recording.holds);
}

/**
 * A break-glass decision from the console: an admin, or a host of the room —
 * never on their own request, whoever they are (in the room the same rule is
 * ROOM_RULES['access.approve'] with `targetSelf`).
 */
export function authorizeConsoleDecision(principal: Principal, callerRole: RoomRole | null, ownRequest: boolean): Decision {
  if (ownRequest) return deny('FORBIDDEN', 'nobody approves their own request');
  return principal.admin || callerRole === 'host' ? allow : deny('FORBIDDEN', 'only an administrator or the room host may decide access requests');
}

/**
 * Who manages a room from the console (participants, moderation, live view,
 * access requests): an administrator, or one of the room's hosts. A kicked
 * host holds no powers until someone else re-admits them. The refusal for
 * someone not invited is ROOM_NOT_FOUND (room ids do not leak), for an invited
 * non-host FORBIDDEN. `callerRole` is the role they act under (null: none).
 */
export function authorizeRoomConsole(principal: Principal, invitedRole: RoomRole | null, kicked: boolean): { decision: Decision; callerRole: RoomRole | null } {
  const callerRole = invitedRole !== null && !principal.admin && kicked ? null : invitedRole;
  if (principal.admin || callerRole === 'host') return { decision: allow, callerRole };
  return { decision: deny(invitedRole === null ? 'ROOM_NOT_FOUND' : 'FORBIDDEN', 'only an administrator or the room host may manage the room'), callerRole };
}

/**
 * May a participant see a break-glass request (its reason may name the
 * patient)? The requester, and the hosts whose own access covers the
 * requester's (a host must not learn from a reason what their scopes hide).
 */
export function mayViewAccessRequest(viewer: { userId: string; access: ParticipantAccess }, request: { userId: string }, requester: ParticipantAccess | null): boolean {
  if (request.userId === viewer.userId) return true;
  return viewer.access.role === 'host' && requester !== null && accessCovers(viewer.access.data, requester.base);
}

/**
 * May a viewer with this access see a scene object — its geometry, kind and
 * author? Built-in models and drawn geometry are not patient data, so the
 * table looks the same to everyone; what may quote the patient is the free
 * text, which objectTextVisible decides. Only an object whose very identity
 * is free text — a client-chosen id that is not a UUID, an uploaded asset's
 * name — carries its author's access as a whole (there is nothing to show in
 * its place without showing the text).
 */
export function objectVisible(access: DataAccess, obj: { id: string; asset: string; authorScope: string; frame?: string }): boolean {
  // A mark on a slice names a series (its author's access covers ImagingStudy too; this says so outright).
  if (obj.frame === 'slice' && resourceVariant(access, 'ImagingStudy') === null) return false;
  if (!obj.authorScope || !identityIsText(obj)) return true;
  return accessCovers(access, parseScopes(obj.authorScope));
}

/**
 * May a viewer read a scene object's free text (its label)? Only when the
 * viewer's access covers its author's (it may quote patient data), and, for a
 * model showing a case resource, only when the viewer receives some copy of
 * that resource's type; an unknown type in the reference: no.
 */
export function objectTextVisible(access: DataAccess, obj: { authorScope: string; resourceRef: string }): boolean {
  if (obj.authorScope && !accessCovers(access, parseScopes(obj.authorScope))) return false;
  if (obj.resourceRef) {
    const type = obj.resourceRef.split('/')[0];
    if (!isCaseResourceType(type) || resourceVariant(access, type) === null) return false;
  }
  return true;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Is the object's id or asset name something a person typed (server-chosen ids are UUIDs; built-in assets
 * are ours)? A replayed object's id is the recorded one behind RECORDED_PREFIX: judged as recorded.
 */
function identityIsText(obj: { id: string; asset: string }): boolean {
  const id = obj.id.startsWith(RECORDED_PREFIX) ? obj.id.slice(RECORDED_PREFIX.length) : obj.id;
  return !UUID_RE.test(id) || obj.asset.startsWith('asset:');
}

// ---- moderation from the console (the table itself: shared/src/room-policy.ts MODERATION_RULES) ---------

/** Moderation from the console: an administrator acts as one; anyone else under their role in the room record. */
export function authorizeConsoleModeration(principal: Principal, callerRole: RoomRole | null, act: ModerationAct, targetUserId: string, targetRole: RoomRole | null): Decision {
  return authorizeModeration(principal.admin ? 'admin' : callerRole, act, moderationTarget(targetUserId === principal.userId, targetRole));
}

// ---- patient-data scopes carried by room tickets ------------------------------

/**
 * Default SMART-style scopes per role, used when an invitation names none.
 * Observers see a de-identified subset. They are enforced wherever case data
 * goes (participantAccess → Disclosure in rooms, caseReadAccess over HTTP),
 * always within the room's ceiling.
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

export type { Variant };

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

/** May a reader with this access see this copy of a resource (the one copy resourceVariant gives them)? */
export function entryVisible(entry: { resourceType: R4ResourceType; variant: Variant }, access: DataAccess): boolean {
  return resourceVariant(access, entry.resourceType) === entry.variant;
}

/** A reader's choice of copies, as the case view asks for it. */
export function readerOf(access: DataAccess): { identified: boolean; variantFor: (type: R4ResourceType) => Variant | null } {
  return { identified: access.identified, variantFor: (type) => resourceVariant(access, type) };
}

/** May `viewer` see something produced under `author`'s access (e.g. an annotation quoting patient data)? */
export function accessCovers(viewer: DataAccess, author: DataAccess): boolean {
  if (author.identified && !viewer.identified) return false;
  for (const t of author.types) if (!viewer.types.has(t)) return false;
  return true;
}

const VARIANT_RANK: Record<Variant, number> = { deidentified: 0, 'identity-withheld': 1, identified: 2 };

/**
 * What a decision-support card may rest on, recorded when it was computed.
 * `cites`: the copies it rests on, known exactly — only for Consilium's own
 * built-in rules, which read nothing but the prefetch (never the context's
 * patient id) and name the resources each card rests on (or, citing none,
 * every one they were sent). null for any other service: it was sent the
 * patient id (identified for an identified participant) and may hold its own
 * record of that patient or read it elsewhere, so its card may say anything
 * the participant could see — an empty prefetch is not "rests on nothing".
 */
export interface CdsCardBasis {
  /** The participant's access when the card was computed (their call's prefetch and context came from it). */
  author: DataAccess;
  cites: readonly { resourceType: R4ResourceType; variant: Variant }[] | null;
}

/**
 * May this reader see a decision-support card? Only when their access covers
 * everything the service could have based it on: every cited copy, each in a
 * copy at least as revealing (a card from an identified Observation says what
 * it says, dates and all); for any other service the author's whole access at
 * the time (accessCovers: identified only to identified readers, every type).
 */
export function cdsCardVisibleTo(reader: DataAccess, basis: CdsCardBasis): boolean {
  if (basis.cites === null) return accessCovers(reader, basis.author);
  return basis.cites.every((s) => {
    const got = resourceVariant(reader, s.resourceType);
    return got !== null && VARIANT_RANK[got] >= VARIANT_RANK[s.variant];
  });
}

/** The access as a scope string; every R4 type at once is written `patient/*.rs` (it travels in annotations). */
export function accessToScope(access: DataAccess): string {
  const all = R4_RESOURCE_TYPES.every((t) => access.types.has(t));
  const types = all ? ['patient/*.rs'] : [...access.types].sort().map((t) => `patient/${t}.rs`);
  return [...(access.identified ? [] : ['deidentified']), ...types].join(' ');
}

// ---- break-glass ----------------------------------------------------------------

/**
 * Emergency access: roles listed in `selfGrantRoles` (configuration; surgeons
 * by default, who cannot wait mid-operation) get it at once for a limited
 * time; everyone else who may ask needs the host's approval. Always audited.
 */
export function breakGlassMode(role: RoomRole, selfGrantRoles: readonly RoomRole[]): 'self-grant' | 'approval' | null {
  if (!authorizeRoomAction(role, 'access.breakGlass').allow) return null;
  return selfGrantRoles.includes(role) ? 'self-grant' : 'approval';
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

// ---- recordings (teaching) ----------------------------------------------------------------
// Who may do what with a recording is the shared table (shared/src/recording-policy.ts); what access each
// viewer watches under needs scopes and ceilings, and is decided here.

/** What the server found of someone's hold on a recording, besides managing it. */
export interface RecordingHolds {
  /** A grant to them by name. */
  grant: Invitation | null;
  /** Grants to training rooms they are a member of: the grant, their entry in that room, the room's ceiling. */
  cohort: readonly { grant: Invitation; member: Invitation; ceiling: readonly string[] | null }[];
  /** A seat in a group replay of it that someone else (who manages it) opened. */
  seat: Invitation | null;
}

export const NO_HOLDS: RecordingHolds = { grant: null, cohort: [], seat: null };

/** Why this principal sees the recording (null: they do not; it does not exist for them). */
export function recordingRights(principal: Principal, rec: { startedBy: string }, holds: RecordingHolds): RecordingRelation | null {
  return recordingRelation(principal, rec, { grant: holds.grant !== null, cohort: holds.cohort.length > 0, seat: holds.seat !== null });
}

/**
 * The access someone watches a recording under, by their relation to it: the
 * recorder, what they could see when recording (the ceiling); an administrator,
 * the host's defaults; a grantee, their grant; a training room's member, their
 * own access in that room narrowed to the room's grant (the widest such room);
 * a group replay's learner, their seat. Always within the recording's ceiling.
 */
export function recordingViewerAccess(relation: RecordingRelation | null, rec: { hostScope: string }, holds: RecordingHolds): DataAccess {
  const ceiling = recordingCeiling(rec);
  switch (relation) {
    case 'recorder':
      return ceiling;
    case 'admin':
      return intersect(parseScopes(defaultScopes('host')), ceiling);
    case 'granted':
      return holds.grant ? intersect(scopesAccess(holds.grant), ceiling) : NO_ACCESS;
    case 'cohort':
      return intersect(widest(holds.cohort.map(cohortAccess)), ceiling);
    case 'seat':
      return holds.seat ? intersect(scopesAccess(holds.seat), ceiling) : NO_ACCESS;
    default:
      return NO_ACCESS;
  }
}

/** A member's access through a training room's grant: theirs in the room (within its ceiling), at most the grant's. */
function cohortAccess(c: RecordingHolds['cohort'][number]): DataAccess {
  const inRoom = participantAccess({ invitation: c.member, admin: false, kicked: false, ceiling: c.ceiling, grants: [], now: 0 });
  return inRoom ? intersect(scopesAccess(c.grant), inRoom.base) : NO_ACCESS;
}

/** Of several accesses, one no other exceeds: identified before de-identified, then the most types. */
function widest(list: DataAccess[]): DataAccess {
  const better = (a: DataAccess, b: DataAccess) => (b.types.size === 0 ? a.types.size > 0 : a.types.size > 0 && (Number(a.identified) - Number(b.identified) || a.types.size - b.types.size) > 0);
  return list.reduce((best, a) => (better(a, best) ? a : best), NO_ACCESS);
}

/**
 * The most anyone may see through a recording: what its host could see when
 * recording (within that room's ceiling). A grant, a group replay's learners and
 * the replay room itself are bounded by it — nobody reaches, through a recording,
 * data the recorded room did not show (the replay room's scopeCeiling).
 */
export function recordingCeiling(rec: { hostScope: string }): DataAccess {
  return parseScopes(rec.hostScope.split(' ').filter(Boolean));
}

/**
 * May someone who watches a recording also hear its recorded voice? As in the room itself:
 * whoever the live room would let hear the voice (voiceGrant: every role subscribes, observers
 * included). Spoken words cannot be de-identified — a name said aloud reached a de-identified
 * observer live too — so the docs (TEACHING.md, "Voice") tell educators so, and a room whose
 * voice must not reach students is replayed to them without it only by not recording its voice.
 * `role`: the watcher's role through the recording (their replay invitation's or grant's; host
 * for those who manage it).
 */
export function authorizeRecordingAudio(role: RoomRole): Decision {
  return voiceGrant(role, 'replay').canSubscribe ? allow : deny('FORBIDDEN', 'your role does not hear the voice of a room');
}

/**
 * The role someone watches a recording under, by their relation to it (see recordingRights): host for
 * those who manage it, their grant's, their own in the training room it was granted to, their seat's.
 */
export function recordingViewerRole(relation: RecordingRelation | null, holds: RecordingHolds): RoomRole | null {
  switch (relation) {
    case 'admin':
    case 'recorder':
      return 'host';
    case 'granted':
      return holds.grant?.role ?? null;
    case 'cohort':
      return holds.cohort[0]?.member.role ?? null;
    case 'seat':
      return holds.seat?.role ?? null;
    default:
      return null;
  }
}

/** May this grant (or a replay learner's invitation) be given? Only within the recording's ceiling. */
export function authorizeRecordingGrant(rec: { hostScope: string }, invitation: Invitation): Decision {
  return within(scopesAccess(invitation), recordingCeiling(rec)) ? allow : deny('SCOPE_ABOVE_CEILING', 'a recording may be watched with at most what its host could see when recording');
}

/** Does a seat's invitation give more than this access (then it is narrowed to it)? */
export function seatExceeds(seat: Invitation, access: DataAccess): boolean {
  return !within(scopesAccess(seat), access);
}
