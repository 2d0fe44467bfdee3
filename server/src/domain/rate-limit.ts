/**
 * Token bucket per client. `take()` reports whether a message may pass; the
 * caller drops refused messages with RATE_LIMITED and disconnects a client
 * whose refusals keep piling up (`shouldDisconnect`), so a brief burst costs
 * a few dropped poses while a flood ends the session.
 */
export interface RateLimitOptions {
  ratePerSecond: number;
  burst: number;
  /** Refused messages tolerated (decaying at ratePerSecond) before disconnect. */
  maxOverflow: number;
}

export class TokenBucket {
  private tokens: number;
  private overflow = 0;
  private last: number;

  constructor(private readonly options: RateLimitOptions, now: number) {
    this.tokens = options.burst;
    this.last = now;
  }

  take(now: number): boolean {
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    const refill = elapsed * this.options.ratePerSecond;
    this.tokens = Math.min(this.options.burst, this.tokens + refill);
    this.overflow = Math.max(0, this.overflow - refill);
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    this.overflow += 1;
    return false;
  }

  /** Tokens after the last take (refill is counted at the next one). */
  get tokensLeft(): number {
    return this.tokens;
  }

  /** When a message was last offered (taken or refused). */
  get lastAt(): number {
    return this.last;
  }

  get shouldDisconnect(): boolean {
    return this.overflow > this.options.maxOverflow;
  }
}

/**
 * Searches for people (GET /api/recordings/:id/people) one user may make, across every recording they
 * manage (one bucket per user, not per recording or address): enough to find a few people in a row — the
 * picker asks after a pause in typing, 1–3 searches a name — but not to read the directory out by many
 * short searches ("a", "b", …; 20 names an answer). The one place these numbers live.
 */
export const PEOPLE_SEARCH_LIMIT = { perMinute: 20, burst: 10 } as const;

/** How long until a bucket holding `tokens` lets one more through (0: now). */
function msUntilToken(tokens: number, ratePerSecond: number): number {
  return tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / ratePerSecond) * 1000);
}

/**
 * A token bucket per key (a signed-in user) for HTTP requests. A refusal says
 * when to come back (Retry-After) and costs nothing: a client that keeps
 * asking is not pushed further back. Memory stays bounded by the keys active
 * lately: a bucket idle long enough to be full again is the same as a new one,
 * so it is dropped (swept at most once per refill period).
 */
export class KeyedRateLimit {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly refillMs: number;
  private lastSweep: number;

  constructor(
    private readonly options: Pick<RateLimitOptions, 'ratePerSecond' | 'burst'>,
    private readonly now: () => number = Date.now,
  ) {
    this.refillMs = (options.burst / options.ratePerSecond) * 1000;
    this.lastSweep = now();
  }

  /** null when `key` may go ahead (a token is taken); else the milliseconds until it may. */
  take(key: string): number | null {
    const t = this.now();
    this.sweep(t);
    let bucket = this.buckets.get(key);
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket({ ...this.options, maxOverflow: Infinity }, t)));
    return bucket.take(t) ? null : Math.max(1, msUntilToken(bucket.tokensLeft, this.options.ratePerSecond));
  }

  /** Keys holding a bucket now (for tests of the bound). */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(t: number): void {
    if (t - this.lastSweep < this.refillMs) return;
    this.lastSweep = t;
    for (const [key, bucket] of this.buckets) if (t - bucket.lastAt >= this.refillMs) this.buckets.delete(key);
  }
}
