import { backoffMs, isTransient, needsSignIn, plainMessage } from './plain-errors.ts';
import type { StatusTone } from './room-controller.ts';

export interface JoinerOutputs<J> {
  status(text: string, tone?: StatusTone): void;
  /** In the room (again). */
  joined(joined: J, wasRetry: boolean): void;
  /** Waiting before the next try: why, and when (ms since epoch) it will try by itself. */
  waiting(why: string, until: number): void;
  /** The identity token was refused: sign in again. */
  signIn(message: string): void;
  /** Back to the room list: refused for good, or the user gave up. */
  leave(message?: string): void;
}

export interface JoinerDeps<J> {
  /** A fresh ticket and a join with it (a ticket is single-use), resolving once the first state is in. */
  join(): Promise<J>;
  /** Leave a join that completed after the screen was given up. */
  abandon(joined: J): void;
  now?: () => number;
  /** setTimeout, or a test's clock. */
  schedule?: (fn: () => void, ms: number) => () => void;
}

/**
 * Joining and staying joined, without DOM: a fresh ticket for every join; when the connection is lost
 * for good (server restart, long offline spell) it rejoins by itself with backoff and can be told to
 * retry now; a refused sign-in or a refusal that retrying cannot cure ends it.
 */
export class RoomJoiner<J> {
  private attempt = 0;
  private cancelTimer: (() => void) | null = null;
  private stopped = false;
  private readonly now: () => number;
  private readonly schedule: (fn: () => void, ms: number) => () => void;

  constructor(
    private readonly deps: JoinerDeps<J>,
    private readonly out: JoinerOutputs<J>,
  ) {
    this.now = deps.now ?? Date.now;
    this.schedule = deps.schedule ?? ((fn, ms) => {
      const t = setTimeout(fn, ms);
      return () => clearTimeout(t);
    });
  }

  /** A retry is waiting (the browser came back online: try at once). */
  get waitingToRetry(): boolean {
    return this.cancelTimer !== null;
  }

  /** Stop for good: no more tries, and a join still under way is left when it lands. */
  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  /** The room's connection was lost for good: a fresh ticket after a backoff. */
  lost(why = 'The connection to the server was lost.'): void {
    const delay = backoffMs(Math.min(this.attempt, 5));
    this.attempt++;
    this.out.status('Reconnecting…', 'warn');
    this.out.waiting(why, this.now() + delay);
    this.cancelTimer = this.schedule(() => void this.tryJoin(), delay);
  }

  async tryJoin(): Promise<void> {
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (this.stopped) return;
    this.out.status(this.attempt === 0 ? 'Joining…' : 'Reconnecting…', 'warn');
    let joined: J;
    try {
      joined = await this.deps.join();
    } catch (err) {
      if (this.stopped) return;
      if (needsSignIn(err)) {
        this.stop();
        return this.out.signIn(plainMessage(err));
      }
      if (isTransient(err)) return this.lost(plainMessage(err));
      this.stop();
      this.out.status('Not in a room');
      return this.out.leave(plainMessage(err));
    }
    if (this.stopped) return this.deps.abandon(joined);
    const wasRetry = this.attempt > 0;
    this.attempt = 0;
    this.out.joined(joined, wasRetry);
  }
}
