import type { ErrorCode } from '../../../shared/src/errors.ts';
import type { NoReply } from '../../../shared/src/messages.ts';
import type { RoomRole } from '../../../shared/src/roles.ts';

/** Who sent a message: the seat's user, with the role their access record gives them at this moment. */
export interface Actor {
  sessionId: string;
  userId: string;
  name: string;
  role: RoomRole;
}

/** What an act answers: its reply (`R`, from shared/src/messages.ts `ClientReplies` for room messages), or a refusal. */
export type CommandResult<R extends object = NoReply> = { ok: true; value: R } | Refusal;
export type Refusal = { ok: false; code: ErrorCode; message?: string };

/** Shared by every reply without a value: the pose fast path answers thousands a second. */
const NO_REPLY: CommandResult<NoReply> = Object.freeze({ ok: true, value: Object.freeze({}) });

export function ok(): CommandResult<NoReply>;
export function ok<R extends object>(value: R): CommandResult<R>;
export function ok(value?: object): CommandResult<object> {
  return value ? { ok: true, value } : NO_REPLY;
}
export const fail = (code: ErrorCode, message?: string): Refusal => (message ? { ok: false, code, message } : { ok: false, code });
