import { z } from 'zod';
import { CdsMessages, type CdsReplies } from './cds.ts';
import { CaseResourceType } from './fhir.ts';
import { GuidanceMessages, PointerUpdate } from './guidance.ts';
import { VOLUME_MODES } from './imaging.ts';
import { safeText } from './text.ts';

/**
 * Room message schemas (client → server). Every message name is `noun.verb`.
 * The server clamps numeric ranges itself; schemas only reject what cannot be
 * interpreted (wrong types, non-finite numbers, oversized strings, text that
 * breaks the shared text rule in text.ts).
 */
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
export const Vec3 = z.tuple([finite, finite, finite]);
export const Quat = z.tuple([finite, finite, finite, finite]);
export type Vec3 = z.infer<typeof Vec3>;
export type Quat = z.infer<typeof Quat>;

export const Pose = z.strictObject({ p: Vec3, q: Quat });
export type Pose = z.infer<typeof Pose>;

export const Transform = z.strictObject({
  position: Vec3,
  rotation: Quat,
  scale: Vec3.optional(),
});
export type Transform = z.infer<typeof Transform>;

export const ObjectId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1–64 of A-Z a-z 0-9 _ -');
/** `marker` is a pin; `arrow` has two points (tail, head); `length` (a ruler) two points; `region` (an ellipse) two opposite corners. */
export const OBJECT_KINDS = ['model', 'marker', 'label', 'stroke', 'arrow', 'length', 'region'] as const;
/**
 * Where an annotation's coordinates live: the room's world, the patient frame (guidance), the surgeon's
 * video (normalised 0–1), or one slice of a series (image pixels: column, row; see `slice`).
 */
export const ANNOTATION_FRAMES = ['world', 'patient', 'video', 'slice'] as const;
export const ObjectKind = z.enum(OBJECT_KINDS);
/** Built-in sample models (`builtin:<name>`) or uploaded assets (`asset:<id>`). */
export const AssetRef = z.string().regex(/^(builtin|asset):[a-z0-9][a-z0-9-]{0,63}$/, 'asset must be builtin:<name> or asset:<id>');

/** An avatar pose as a client sends it (encoded by shared/src/pose-wire.ts, not msgpack). */
export interface PoseUpdate {
  head: Pose;
  left?: Pose | null;
  right?: Pose | null;
}
export const ObjectGrab = z.strictObject({ objectId: ObjectId });
export const ObjectMove = z.strictObject({ objectId: ObjectId, transform: Transform });
export const ObjectRelease = z.strictObject({ objectId: ObjectId, transform: Transform.optional() });
/** A model may show a case resource (an ImagingStudy or DocumentReference of the room's case). */
export const ResourceRef = z.string().regex(/^(ImagingStudy|DocumentReference)\/[0-9a-f-]{36}$/, 'must be ImagingStudy/<id> or DocumentReference/<id>');
/** A series as the room names it: its pseudonymous UID (2.25.…), the same for every viewer (ImagingSeriesDto.key). */
export const SeriesKey = z.string().regex(/^2\.25\.[0-9]{1,40}$/, 'a series key is 2.25.<digits>');
export const ObjectAdd = z.strictObject({
  id: ObjectId.optional(),
  kind: ObjectKind,
  asset: AssetRef,
  label: safeText({ max: 500 }).optional(),
  resourceRef: ResourceRef.optional(),
  /** Stroke polyline or arrow (tail, head), flat [x,y,z,…] relative to the transform; at most 300 points. */
  points: z.array(finite).min(6).max(900).refine((a) => a.length % 3 === 0, 'points come in x,y,z triples').optional(),
  color: z.string().regex(/^#[0-9a-f]{6}$/, 'colours are #rrggbb').optional(),
  transform: Transform,
  frame: z.enum(ANNOTATION_FRAMES).optional(),
  /** Accepted for compatibility and ignored: the server stamps an annotation's `sentAt` with its own clock. */
  sentAt: finite.optional(),
  /** Video annotations: the surgeon's video frame time (ms) the stroke was drawn on. */
  videoTime: finite.min(0).optional(),
  /** Slice annotations (frame 'slice'): the series (its room key, ImagingSeriesDto.key) and the slice index. */
  slice: z.strictObject({ series: SeriesKey, index: z.number().int().min(0).max(4095) }).optional(),
});

/** Laser pointer (shared/src/guidance.ts): where the participant points (null: pointer off). */
export { PointerUpdate };
/** Presenter mode: who leads the "follow presenter" camera (null: nobody). */
export const PresenterSet = z.strictObject({ sessionId: safeText({ max: 64 }).nullable() });
export const ObjectRemove = z.strictObject({ objectId: ObjectId });

export const BreakGlassRequest = z.strictObject({
  resourceTypes: z.array(CaseResourceType).min(1).max(8),
  reason: safeText({ max: 500 }).trim().min(10, 'give a reason of at least 10 characters'),
});
export const AccessApprove = z.strictObject({ requestId: ObjectId });
const TargetUser = z.strictObject({ userId: z.string().regex(/^[A-Za-z0-9._@:-]{1,128}$/) });
export const VoiceMute = TargetUser;
export const VoiceUnmute = TargetUser;
/** Kick: out of the room until a host re-admits them, or for `minutes` (a cool-down the host chose). */
export const ParticipantKick = TargetUser.extend({ minutes: z.number().int().min(1).max(7 * 24 * 60).optional() });
export const AccessDeny = z.strictObject({ requestId: ObjectId, reason: safeText({ max: 500 }).optional() });

/**
 * The shared image viewer (what the presenter shows): any subset of its fields; the rest stay as they are.
 * Window centre/width are in the image's rescaled units (Hounsfield units for CT); zoom 1 = fit; pan in
 * fractions of the viewport.
 */
export const ViewerSet = z.strictObject({
  series: SeriesKey.nullable().optional(),
  slice: z.number().int().min(0).max(4095).optional(),
  center: finite.min(-100_000).max(100_000).optional(),
  width: finite.min(1).max(200_000).optional(),
  zoom: finite.min(0.1).max(40).optional(),
  panX: finite.min(-10).max(10).optional(),
  panY: finite.min(-10).max(10).optional(),
  mode3d: z.enum(VOLUME_MODES).optional(),
});
/**
 * Surgical guidance: pin the room's slice as a panel in the patient frame (the surgeon's AR view shows it
 * there, following the shared viewer), move it (pin again), or take it down (`pose: null`). The pose is
 * relative to the registered anchor, in metres; the panel faces its +Z.
 */
export const ViewerPin = z.strictObject({ pose: Pose.nullable() });
/** Recording: the host starts or stops it (only where an administrator allowed it). */
export const RecordingStart = z.strictObject({});
export const RecordingStop = z.strictObject({});
/** Replay rooms: the host plays, pauses, seeks (ms from the recording's start) or sets the speed; everyone follows. */
export const ReplayControl = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('play') }),
  z.strictObject({ action: z.literal('pause') }),
  z.strictObject({ action: z.literal('seek'), positionMs: finite.min(0) }),
  z.strictObject({ action: z.literal('speed'), speed: z.number().min(0.25).max(4) }),
]);
/** Grand rounds: raise (or lower) one's hand to ask. A host may lower someone else's (`sessionId`). */
export const HandRaise = z.strictObject({ raised: z.boolean(), sessionId: safeText({ max: 64 }).optional() });

/** Every client → server room message, by name. */
export const ClientMessages = {
  'pointer.update': PointerUpdate,
  'presenter.set': PresenterSet,
  'object.grab': ObjectGrab,
  'object.move': ObjectMove,
  'object.release': ObjectRelease,
  'object.add': ObjectAdd,
  'object.remove': ObjectRemove,
  'access.breakGlass': BreakGlassRequest,
  'access.approve': AccessApprove,
  'access.deny': AccessDeny,
  'voice.mute': VoiceMute,
  'voice.unmute': VoiceUnmute,
  'participant.kick': ParticipantKick,
  'viewer.set': ViewerSet,
  'viewer.pin': ViewerPin,
  'recording.start': RecordingStart,
  'recording.stop': RecordingStop,
  'replay.control': ReplayControl,
  'hand.raise': HandRaise,
  ...GuidanceMessages,
  ...CdsMessages,
} as const;
export type ClientMessageName = keyof typeof ClientMessages;
export type ClientMessage<N extends ClientMessageName> = z.infer<(typeof ClientMessages)[N]>;
export const CLIENT_MESSAGE_NAMES = Object.keys(ClientMessages) as ClientMessageName[];

/**
 * What each message answers when it succeeds: a request's reply is
 * `{ ok: true, ...ClientReplies[N] }`, or `{ ok: false, error }` (protocol.ts `Reply`).
 * The server's command for N must return exactly this (commands/index.ts), and
 * the SDK's `request(N, …)` infers it, so a drift fails to compile
 * (tests/unit/protocol-types.test.ts).
 */
export interface ClientReplies {
  'pointer.update': NoReply;
  'presenter.set': { presenter: string };
  'object.grab': { objectId: string };
  'object.move': NoReply;
  'object.release': { objectId: string };
  'object.add': { objectId: string };
  'object.remove': { objectId: string };
  'access.breakGlass': AccessDecision;
  'access.approve': AccessDecision;
  'access.deny': { requestId: string; status: string };
  'voice.mute': { userId: string; muted: boolean; applied: boolean };
  'voice.unmute': { userId: string; muted: boolean; applied: boolean };
  'participant.kick': { userId: string; applied: boolean; until: string | null };
  'anchor.set': { version: number };
  'guidance.ack': { objectId: string; ackedAt: number };
  'guidance.dismiss': { objectId: string };
  'guidance.next': { focus: string };
  'guidance.repeat': { focus: string };
  'guidance.undo': { objectId: string };
  'guidance.clear': { removed: number; objectIds: string[]; notRemoved?: string[] };
  'link.pong': NoReply;
  'cds.share': CdsReplies['cds.share'];
  'cds.feedback': CdsReplies['cds.feedback'];
  'viewer.set': { seq: number };
  'viewer.pin': { pinned: boolean };
  'recording.start': { recordingId: string; audio: 'none' | 'egress' | 'failed' };
  'recording.stop': { recordingId: string; durationMs: number };
  'replay.control': ReplayPosition;
  'hand.raise': { sessionId: string; raised: boolean };
}
/** Where a replay stands after a control. */
export interface ReplayPosition {
  status: string;
  positionMs: number;
  speed: number;
}
/** A reply that carries nothing beyond `ok`. */
export type NoReply = Record<never, never>;
/** A break-glass request's state after asking or approving. */
export interface AccessDecision {
  requestId: string;
  status: string;
  expiresAt: number;
}
export type ClientReply<N extends ClientMessageName> = ClientReplies[N];

export function isClientMessageName(name: unknown): name is ClientMessageName {
  return typeof name === 'string' && Object.hasOwn(ClientMessages, name);
}
