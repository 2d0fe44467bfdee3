import type { ClientMessage, ClientMessageName, ClientReply } from '../../../../shared/src/messages.ts';
import type { ServerMessageName, ServerMessages } from '../../../../shared/src/protocol.ts';
import type { ClinicState, SceneObjectState } from '../../../../shared/src/state.ts';
import type { AuditEvent } from '../../audit/audit-log.ts';
import type { RoomActionContext } from '../../auth/policy.ts';
import type { BreakGlassDesk } from '../break-glass.ts';
import type { CdsDesk } from '../cds-desk.ts';
import type { Disclosure } from '../disclosure.ts';
import type { Moderation } from '../moderation.ts';
import type { LinkMonitor } from '../link-monitor.ts';
import type { Roster } from '../roster.ts';
import type { SceneStore } from '../scene-store.ts';
import type { Actor, CommandResult } from '../types.ts';
import type { Teaching } from '../teaching.ts';

export interface CommandContext {
  state: ClinicState;
  scene: SceneStore;
  disclosure: Disclosure;
  breakGlass: BreakGlassDesk;
  moderation: Moderation;
  roster: Roster;
  links: LinkMonitor;
  /** Decision support; null when no CDS service is configured (and the built-in one is off). */
  cds: CdsDesk | null;
  /** Recording and replay (rooms/teaching.ts). */
  teaching: Teaching;
  audit: (e: AuditEvent) => Promise<void>;
  now: () => number;
  /** Send a server message to every connected seat now, bypassing the patch cycle (optionally not to one seat). */
  relay: <K extends ServerMessageName>(type: K, message: ServerMessages[K], exceptSessionId?: string) => void;
  /** Send a server message now to the seats that may see this object, and no others. */
  tellViewersOf: <K extends ServerMessageName>(obj: SceneObjectState, type: K, message: ServerMessages[K]) => void;
  actor: Actor;
}

/** One room message's behaviour. The dispatcher has already rate-limited, validated and authorized it. */
export interface Command<N extends ClientMessageName> {
  /** Facts the policy needs about this payload (e.g. who owns the target). */
  policyContext?(payload: ClientMessage<N>, ctx: CommandContext): RoomActionContext;
  /** Its success value is the message's reply (shared/src/messages.ts `ClientReplies`). */
  run(payload: ClientMessage<N>, ctx: CommandContext): CommandResult<ClientReply<N>> | Promise<CommandResult<ClientReply<N>>>;
}
