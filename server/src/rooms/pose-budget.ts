/**
 * How often pose frames go out, shared by every room of this process.
 *
 * A flush costs one socket write per seat, whatever it carries, and on a
 * busy server the writes are most of the work. So the window widens with the
 * number of seats the process serves: `seats × 1000 / framesPerSecond`, but
 * never below the configured minimum (the latency a quiet server gives) nor
 * above MAX_WINDOW_MS. A full conference of 100 keeps the minimum; hundreds
 * of seats trade a few milliseconds each for not saturating the process.
 */
export const MAX_WINDOW_MS = 40;

export class PoseBudget {
  private seats = 0;

  constructor(
    private readonly minWindowMs: number,
    private readonly framesPerSecond: number,
  ) {}

  seatsChanged(delta: number): void {
    this.seats = Math.max(0, this.seats + delta);
  }

  windowMs(): number {
    return Math.min(Math.max(this.minWindowMs, (1000 * this.seats) / this.framesPerSecond), Math.max(this.minWindowMs, MAX_WINDOW_MS));
  }
}
