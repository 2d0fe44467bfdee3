import type { ErrorCode } from '../../../../shared/src/errors.ts';
import type { ClientMessage, ClientMessageName } from '../../../../shared/src/messages.ts';
import type { RoomRole } from '../../../../shared/src/roles.ts';
import type { ClinicState } from '../../../../shared/src/state.ts';
import type { RoomActionContext } from '../../auth/policy.ts';
import type { BreakGlassDesk } from '../break-glass.ts';
import type { Disclosure } from '../disclosure.ts';
import type { Moderation } from '../moderation.ts';
import type { SceneStore } from '../scene-store.ts';

/** Who sent a message, as established by their room ticket. */
export interface Actor {
  sessionId: string;
  userId: string;
  name: string;
  role: RoomRole;
}

export interface CommandContext {
  state: ClinicState;
  scene: SceneStore;
  disclosure: Disclosure;
  breakGlass: BreakGlassDesk;
  moderation: Moderation;
  actor: Actor;
}

export type CommandResult = { ok: true; value?: Record<string, unknown> } | { ok: false; code: ErrorCode; message?: string };

export const ok = (value?: Record<string, unknown>): CommandResult => (value ? { ok: true, value } : { ok: true });
export const fail = (code: ErrorCode, message?: string): CommandResult => (message ? { ok: false, code, message } : { ok: false, code });

/** One room message's behaviour. The dispatcher has already rate-limited, validated and authorized it. */
export interface Command<N extends ClientMessageName> {
  /** Facts the policy needs about this payload (e.g. who owns the target). */
  policyContext?(payload: ClientMessage<N>, ctx: CommandContext): RoomActionContext;
  run(payload: ClientMessage<N>, ctx: CommandContext): CommandResult | Promise<CommandResult>;
}
