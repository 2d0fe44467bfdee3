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

  get shouldDisconnect(): boolean {
    return this.overflow > this.options.maxOverflow;
  }
}
