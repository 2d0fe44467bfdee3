import type { ErrorCode } from '../../../shared/src/errors.ts';
import type { RoomRole } from '../../../shared/src/roles.ts';

/** Who sent a message: the seat's user, with the role their access record gives them at this moment. */
export interface Actor {
  sessionId: string;
  userId: string;
  name: string;
  role: RoomRole;
}

export type CommandResult = { ok: true; value?: Record<string, unknown> } | { ok: false; code: ErrorCode; message?: string };

export const ok = (value?: Record<string, unknown>): CommandResult => (value ? { ok: true, value } : { ok: true });
export const fail = (code: ErrorCode, message?: string): CommandResult => (message ? { ok: false, code, message } : { ok: false, code });
