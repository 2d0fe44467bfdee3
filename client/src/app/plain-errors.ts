import { ConsiliumError } from '../sdk/errors.ts';
import { WrongAddressError } from './origin.ts';

/** Messages a clinician can act on, instead of codes and stack names. */
const PLAIN: Partial<Record<string, string>> = {
  AUTH_REQUIRED: 'Please sign in.',
  AUTH_INVALID: 'Your sign-in is no longer valid. Please sign in again.',
  AUTH_EXPIRED: 'Your sign-in has expired. Please sign in again.',
  NOT_INVITED: 'You are not invited to this room. Ask its host or IT to add you.',
  KICKED: 'The host removed you from this room. Ask the host to let you back in.',
  SEAT_LIMIT: 'You are already in this room on 3 devices. Leave it on one of them first.',
  ROOM_FULL: 'The room is full (100 people).',
  ROOM_NOT_FOUND: 'This room does not exist (the link may be wrong).',
  ROOM_CLOSED: 'This room has been closed.',
  PROTOCOL_MISMATCH: 'This page is out of date. Reload it.',
  RATE_LIMITED: 'Too many requests. Wait a moment and try again.',
  MESSAGE_INVALID: 'That was not accepted. Check what you entered.',
  FORBIDDEN: 'Your role does not allow this.',
  VOICE_OFF: 'Voice is not available on this server.',
  BREAK_GLASS_PENDING: 'You already have an emergency access request waiting for the host.',
  BREAK_GLASS_ACTIVE: 'You already have emergency access.',
  OBJECT_LOCKED: 'Someone else is holding that object.',
  SCENE_FULL: 'The scene is full; remove something first.',
  UNAVAILABLE: 'The server cannot be reached right now.',
  ADMIN_REQUIRED: 'This needs an administrator.',
  SCOPE_ABOVE_CEILING: "Those data permissions go beyond what this room allows.",
  CASE_NOT_FOUND: 'That case does not exist.',
  BODY_INVALID: 'Some fields are missing or invalid.',
};

export function plainMessage(err: unknown): string {
  if (err instanceof ConsiliumError) return PLAIN[err.code] ?? err.message;
  if (err instanceof TypeError) return 'The server cannot be reached right now (it may be restarting, or your network is down). Trying again…';
  const m = err instanceof Error ? err.message : String(err);
  return m.replace(/^(\w*Error):\s*/, '');
}

/** The surgeon's video failed to connect: a sentence for the clinician, never the media library's text. */
export function plainVideoError(_err: unknown): string {
  return 'The surgeon’s video could not be connected (the video service cannot be reached from here right now). Voice, pointers and annotations still work; reload the page to try the video again.';
}

export function plainCode(code: string, fallback: string): string {
  return PLAIN[code] ?? fallback;
}

/** Failures worth retrying by themselves: the network or the server is away for a while. */
export function isTransient(err: unknown): boolean {
  if (err instanceof WrongAddressError) return false;
  if (err instanceof ConsiliumError) return ['UNAVAILABLE', 'INTERNAL', 'PERSIST_FAILED', 'TICKET_EXPIRED', 'TICKET_USED'].includes(err.code) || (err.status ?? 0) >= 500;
  return true; // fetch TypeError, socket errors
}

export function needsSignIn(err: unknown): boolean {
  return err instanceof ConsiliumError && ['AUTH_REQUIRED', 'AUTH_INVALID', 'AUTH_EXPIRED'].includes(err.code);
}

/**
 * 1 s, 2 s, 4 s … capped at 8 s (a clinician waiting to get back into a room after a restart should not wait
 * half a minute), with ±20 % jitter so a restarted server is not hit by everyone at once.
 */
export function backoffMs(attempt: number): number {
  const base = Math.min(8_000, 1000 * 2 ** attempt);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Close codes after which reconnecting is pointless (removed, kicked, closed, flooded). */
/** A replay room's seat ended because the viewer no longer holds the recording (a grant revoked, a training room left). */
export const REPLAY_WITHDRAWN = 'You may no longer watch this recording: your access to it was withdrawn.';
/** A replay room closed under its viewers: its recording was deleted, or the replay itself was closed. */
export const REPLAY_CLOSED = 'This replay has ended: the recording was deleted or the replay was closed.';

export const TERMINAL_CLOSE: Record<number, string> = {
  4401: 'You are no longer a participant of this room.',
  4403: 'The host removed you from this room.',
  4404: 'This room has been closed.',
  4429: 'You were disconnected for sending too many messages.',
};
