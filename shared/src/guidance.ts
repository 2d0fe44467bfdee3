import { z } from 'zod';

/**
 * Surgical guidance: the messages a surgeon's AR client and a guiding
 * specialist exchange beyond the shared scene, the server messages that
 * bypass the patch cycle, and the one rule every client applies before
 * showing a pointer as current.
 */
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const Vec3 = z.tuple([finite, finite, finite]);
const Quat = z.tuple([finite, finite, finite, finite]);
const ObjectId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ids are 1–64 of A-Z a-z 0-9 _ -');
/**
 * Client clock, ms since epoch. Accepted for compatibility and ignored: a client's clock can be wrong or
 * forged, so the server stamps everything with its own time (`serverAt`, an annotation's `sentAt`).
 */
const SentAt = z.number().refine(Number.isFinite, 'must be a finite number').optional();

/** The surgeon registers where the patient is in their AR world (surgeon or host only). */
export const AnchorSet = z.strictObject({ pose: z.strictObject({ p: Vec3, q: Quat }) });
/** Hands-free acknowledgement of one annotation ("seen by surgeon"). */
export const GuidanceAck = z.strictObject({ objectId: ObjectId });
export const GuidanceDismiss = z.strictObject({ objectId: ObjectId });
/** Move the focus to the next annotation not yet acknowledged; repeat highlights the current one again. */
export const GuidanceNext = z.strictObject({});
export const GuidanceRepeat = z.strictObject({});
/** Undo one's own latest annotation. */
export const GuidanceUndo = z.strictObject({});
/** Clear one's own annotations, or (host) everyone's. */
export const GuidanceClear = z.strictObject({ scope: z.enum(['mine', 'all']) });
/** Reply to the server's `link.ping`, echoing its nonce; the server times the round trip on its own clock. */
export const LinkPong = z.strictObject({ n: z.number().int().min(0).max(2 ** 32) });
/** Laser pointer (in guidance rooms: in the patient frame); `sentAt` is ignored. */
export const PointerUpdate = z.strictObject({ target: Vec3.nullable(), sentAt: SentAt });

export const GuidanceMessages = {
  'anchor.set': AnchorSet,
  'guidance.ack': GuidanceAck,
  'guidance.dismiss': GuidanceDismiss,
  'guidance.next': GuidanceNext,
  'guidance.repeat': GuidanceRepeat,
  'guidance.undo': GuidanceUndo,
  'guidance.clear': GuidanceClear,
  'link.pong': LinkPong,
} as const;

/** Server → client messages of guidance rooms (sent at once, not with the next patch). */
export const GuidanceServerMessages = {
  /** A pointer moved: relayed on arrival. */
  pointer: 'guidance.pointer',
  /** Highlight an annotation again (guidance.repeat / next). */
  highlight: 'guidance.highlight',
  /** Round-trip probe; answer with `link.pong {t}`. */
  ping: 'link.ping',
} as const;

export interface RelayedPointer {
  sessionId: string;
  /** Patient-frame position; null when the author stopped pointing. */
  target: [number, number, number] | null;
  /** Kept for older clients: the server's clock when relayed (= `serverAt`), never the author's clock. */
  sentAt: number | null;
  /** Server clock when relayed. */
  serverAt: number;
  /**
   * A guiding link is in warning (`info.linkWarning`): the pointer is not live. When a warning comes up the
   * latest pointer of each seat is sent again with `stale: true` (same `serverAt`); it is not re-sent as live
   * when the warning clears — the author's next update is.
   */
  stale: boolean;
}

export interface LinkPing {
  /** Nonce to echo in `link.pong {n}` (random, 0 ≤ n < 2³²: unguessable): only an answer to a ping the server sent counts. */
  n: number;
  /** Server clock when sent (ms): lets the client estimate the server's clock. */
  t: number;
}

/** Defaults: a guiding link is unsafe above this round-trip time. */
export const LINK_RTT_LIMIT_MS = 150;
/** The server probes every link this often. */
export const LINK_PING_INTERVAL_MS = 500;
/**
 * A specialist's or host's seat counts as a guiding link while it points, and
 * for this long after it last pointed, annotated or moved an annotation: an
 * idle second device does not make everyone's pointers stale. Surgeon seats
 * always count.
 */
export const GUIDING_RECENT_MS = 30_000;
/**
 * A video stroke is drawn on one frame of a moving picture: after this long the
 * surgeon's view has likely moved, so the headset greys and flags it ("⚠ old
 * frame") and never shows it as current; so does it while a link warning is up.
 * The specialist's video panel says so too.
 */
export const VIDEO_STROKE_FRESH_MS = 10_000;
/** Is this video stroke shown as old in the surgeon's headset? */
export function videoStrokeIsOld(ageMs: number, linkWarning: boolean): boolean {
  return linkWarning || ageMs > VIDEO_STROKE_FRESH_MS;
}
/** A pointer not refreshed within this long is no longer current. */
export const POINTER_MAX_AGE_MS = 250;

/**
 * The one rule for showing a pointer as current: it is fresh (relayed within
 * POINTER_MAX_AGE_MS of now on the server's clock, as the client estimates it),
 * the server did not flag it, and no guidance link is in warning. Anything
 * else is stale: draw it greyed or not at all — never as current.
 */
export function pointerIsCurrent(p: Pick<RelayedPointer, 'serverAt' | 'stale' | 'target'>, serverNow: number, linkWarning: string, maxAgeMs = POINTER_MAX_AGE_MS): boolean {
  if (p.target === null || p.stale || linkWarning !== '') return false;
  return serverNow - p.serverAt <= maxAgeMs;
}

/**
 * An annotation's age (ms) on the server's clock: `sentAt` is the server's time of the add or the last move,
 * and `serverNow` the server's clock as this client estimates it (`session.guidance.serverNow()`), so neither
 * the author's clock nor this device's decides it. Infinity when unknown (shown as old, never as fresh).
 */
export function annotationAgeMs(sentAt: number, serverNow: number): number {
  return sentAt > 0 ? Math.max(0, serverNow - sentAt) : Infinity;
}

/** Who acknowledged: a participant's name and role in the room (as the synced state has them). */
export interface Acknowledger {
  name: string;
  role: string;
}

/** The person behind a recorded `ackedBy` (any of their seats); undefined once they have left the room. */
export function acknowledgerOf(participants: Iterable<{ userId: string; name: string; role: string }>, userId: string): Acknowledger | undefined {
  for (const p of participants) if (p.userId === userId) return { name: p.name, role: p.role };
  return undefined;
}

/**
 * What an annotation's acknowledgement says, naming who gave it (from the `ackedBy` the server records):
 * "Seen by Dr. Cut (surgeon) 10:42" only when a surgeon acknowledged; "Acknowledged by Dr. Adams (host) 10:42"
 * otherwise (a host's acknowledgement is not the surgeon having seen it); the user id when the person has
 * left. '' when not acknowledged. `at` formats the server time of the acknowledgement (omitted: no time).
 */
export function acknowledgementText(o: { ackedAt: number; ackedBy: string; dismissed: boolean }, who: Acknowledger | undefined, at?: (ms: number) => string): string {
  if (o.ackedAt <= 0) return '';
  const by = who ? `${who.name || o.ackedBy} (${who.role})` : o.ackedBy || 'someone';
  const verb = who?.role === 'surgeon' ? 'Seen' : 'Acknowledged';
  return `${verb} by ${by}${at ? ` ${at(o.ackedAt)}` : ''}${o.dismissed ? ' · dismissed' : ''}`;
}
