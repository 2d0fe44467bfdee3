import type { z } from 'zod';
import { ClientMessages, isClientMessageName, type ClientMessage, type ClientMessageName } from '../../../shared/src/messages.ts';
import { Limits } from '../../../shared/src/protocol.ts';
import type { RoomKind } from '../../../shared/src/roles.ts';
import { authorizeRoomAction } from '../auth/policy.ts';
import { TokenBucket, type RateLimitOptions } from '../domain/rate-limit.ts';
import { commands } from './commands/index.ts';
import type { CommandContext } from './commands/command.ts';
import { fail, type Actor, type CommandResult, type Refusal } from './types.ts';

/** A command's result as the adapter answers it: any reply, or a refusal that may say to disconnect. */
export type DispatchResult = { ok: true; value: object } | (Refusal & { disconnect?: boolean; details?: unknown });

export const DEFAULT_RATE_LIMIT: RateLimitOptions = {
  ratePerSecond: Limits.messagesPerSecond,
  burst: Limits.messageBurst,
  maxOverflow: 300,
};

/**
 * The single path every room message takes:
 * rate-limit → validate → authorize → apply (and audit, in the command) → reply.
 * It knows nothing about sockets; the Colyseus room adapts it.
 */
export class Dispatcher {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly context: Omit<CommandContext, 'actor'>,
    private readonly rateLimit: RateLimitOptions = DEFAULT_RATE_LIMIT,
  ) {}

  /** The room's clock (a test's clock in the in-memory tests): the rate limit refills on it, not on the wall clock. */
  private now(): number {
    return this.context.now();
  }

  async dispatch(actor: Actor, type: unknown, payload: unknown): Promise<DispatchResult> {
    // 1. rate-limit
    const charged = this.charge(actor.sessionId);
    if (charged) return charged;

    // 2. validate
    if (!isClientMessageName(type)) return fail('MESSAGE_UNKNOWN', `unknown message type ${JSON.stringify(String(type)).slice(0, 80)}`);
    return this.execute(type, payload, { ...this.context, actor });
  }

  /**
   * A binary message (the avatar pose fast path) takes the same path without
   * msgpack and zod: rate-limit → authorize → `apply`, which checks its bytes.
   */
  dispatchBinary(actor: Actor, action: 'pose', apply: () => CommandResult): DispatchResult {
    const charged = this.charge(actor.sessionId);
    if (charged) return charged;
    const decision = authorizeRoomAction(actor.role, action, { roomKind: this.context.state.info.kind as RoomKind });
    if (!decision.allow) return fail(decision.code, decision.reason);
    return apply();
  }

  /**
   * Take one message from this session's budget. Every frame counts, valid or
   * not: messages here, on their way in; frames no message handler sees
   * (Colyseus' own codes, undecodable bytes, WebSocket ping/pong) through the
   * adapter (clinic.room.ts `guardFrames`). Returns the refusal when over budget, else null.
   */
  charge(sessionId: string): DispatchResult | null {
    let bucket = this.buckets.get(sessionId);
    if (!bucket) this.buckets.set(sessionId, (bucket = new TokenBucket(this.rateLimit, this.now())));
    return bucket.take(this.now()) ? null : { ...fail('RATE_LIMITED'), disconnect: bucket.shouldDisconnect };
  }

  forget(sessionId: string): void {
    this.buckets.delete(sessionId);
  }

  private async execute<N extends ClientMessageName>(name: N, raw: unknown, ctx: CommandContext): Promise<DispatchResult> {
    const schema = ClientMessages[name] as unknown as z.ZodType<ClientMessage<N>>;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      return {
        ...fail('MESSAGE_INVALID'),
        details: parsed.error.issues.slice(0, 10).map((i) => ({ path: i.path.join('.'), message: i.message })),
      };
    }
    const command = commands[name];

    // 3. authorize
    const decision = authorizeRoomAction(ctx.actor.role, name, { roomKind: ctx.state.info.kind as RoomKind, ...command.policyContext?.(parsed.data, ctx) });
    if (!decision.allow) return fail(decision.code, decision.reason);

    // 4. apply, and 5. audit: a command whose act is on the record (annotations, access, moderation) writes it (ctx.audit) before answering.
    // 6. reply: the adapter sends the result.
    return command.run(parsed.data, ctx);
  }
}
