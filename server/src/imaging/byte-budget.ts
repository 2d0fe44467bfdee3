/**
 * Bytes held at once, across requests: each holder waits (first come, first served) until what it needs
 * fits, so N readers of a 64 MB frame hold at most the budget, not N copies. One holder larger than the
 * whole budget is let through alone. `acquire` resolves with its release, which may be called more than once.
 */
export class ByteBudget {
  private held = 0;
  private readonly waiting: { bytes: number; go: () => void }[] = [];

  constructor(readonly max: number) {}

  async acquire(bytes: number): Promise<() => void> {
    if (!this.fits(bytes) || this.waiting.length) await new Promise<void>((go) => this.waiting.push({ bytes, go }));
    else this.held += bytes;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.held -= bytes;
      this.wake();
    };
  }

  get inUse(): number {
    return this.held;
  }

  private fits(bytes: number): boolean {
    return this.held === 0 || this.held + bytes <= this.max;
  }

  private wake(): void {
    while (this.waiting.length && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.held += next.bytes;
      next.go();
    }
  }
}
