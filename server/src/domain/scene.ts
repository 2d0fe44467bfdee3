import type { ErrorCode } from '../../../shared/src/errors.ts';

/**
 * Grab-lock rules, independent of how objects are stored. One holder at a
 * time; only the holder may move or release; a holder's locks go when they
 * leave. `grabbedBy` is a session id, '' when free.
 */
export interface Lockable {
  grabbedBy: string;
}

export type LockCheck = { ok: true } | { ok: false; code: ErrorCode };

export function checkGrab(obj: Lockable, sessionId: string): LockCheck {
  if (obj.grabbedBy === '' || obj.grabbedBy === sessionId) return { ok: true };
  return { ok: false, code: 'OBJECT_LOCKED' };
}

export function checkHeld(obj: Lockable, sessionId: string): LockCheck {
  return obj.grabbedBy === sessionId ? { ok: true } : { ok: false, code: 'OBJECT_NOT_HELD' };
}

/** An object may be removed unless someone else is holding it. */
export function checkRemovable(obj: Lockable, sessionId: string): LockCheck {
  return obj.grabbedBy === '' || obj.grabbedBy === sessionId ? { ok: true } : { ok: false, code: 'OBJECT_LOCKED' };
}

/** Locks to release when a session leaves. */
export function locksHeldBy<T extends Lockable>(objects: Iterable<T>, sessionId: string): T[] {
  const held: T[] = [];
  for (const obj of objects) if (obj.grabbedBy === sessionId) held.push(obj);
  return held;
}
