/**
 * Values derived from a case's images, kept while the case's imaging revision (cases.imaging_rev, bumped
 * by a trigger on every write that changes them) is unchanged — and, for what came from a PACS, which
 * changes without telling us, at most `ttlMs`. One load at a time per key (concurrent readers share it);
 * the least recently used go first past `maxEntries` or past `maxWeight` (what the values hold, e.g.
 * instances). A failed load is forgotten unless `keepFailure` says the failure is itself the answer
 * (a patient mismatch is; an unreachable archive is not).
 *
 * Nothing about the reader is kept here: access is decided on every request, from the database.
 */
export class RevisionCache<T> {
  private readonly entries = new Map<string, { rev: number; at: number; weight: number; value: Promise<T> }>();
  private weight = 0;

  constructor(private readonly opts: { maxEntries: number; maxWeight: number; weigh: (value: T) => number; keepFailure: (err: unknown) => boolean }) {}

  get(key: string, rev: number, ttlMs: number | null, load: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    // A value loaded at a later revision than the caller read is only newer truth: it serves them too.
    if (hit && hit.rev >= rev && (ttlMs === null || Date.now() - hit.at < ttlMs)) {
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    if (hit) this.drop(key);
    const entry = { rev, at: Date.now(), weight: 0, value: load() };
    this.entries.set(key, entry);
    entry.value.then(
      (v) => {
        if (this.entries.get(key) !== entry) return;
        entry.weight = this.opts.weigh(v);
        this.weight += entry.weight;
        this.trim();
      },
      (err: unknown) => {
        if (this.entries.get(key) === entry && !this.opts.keepFailure(err)) this.drop(key);
      },
    );
    this.trim();
    return entry.value;
  }

  /** Forget every key starting with this prefix (a case's, when it is deleted). */
  forget(prefix: string): void {
    for (const key of [...this.entries.keys()]) if (key.startsWith(prefix)) this.drop(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private drop(key: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    this.weight -= e.weight;
    this.entries.delete(key);
  }

  private trim(): void {
    while (this.entries.size > this.opts.maxEntries || (this.weight > this.opts.maxWeight && this.entries.size > 1)) {
      this.drop(this.entries.keys().next().value!);
    }
  }
}
