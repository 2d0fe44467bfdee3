/**
 * Which case resources reached this participant live (a monitor's reading, a pulled record's
 * refresh) after the room loaded the case, in the order they came. A de-identified copy carries only
 * its year, so a reading that arrives now ties with every reading the room loaded from the same year;
 * the room's newest-first order puts loaded entries first, while a live one is appended last — read
 * naively, the newest reading would look like the oldest.
 *
 * The signal is the room's own: when a live resource arrives the room raises `ofType` (resources of
 * that type in the record) on every entry of the type (server/src/rooms/disclosure.ts addResource);
 * entries added for other reasons (a break-glass grant, a wider scope) leave it as it was. The rise
 * and the new entry may reach the client in different patches (the entry waits for its audit row),
 * so a rise is remembered until as many new entries of the type have appeared.
 */
export interface EntryShape {
  /** `<variant>:<Type>/<id>` (shared/src/state.ts CaseEntryState.key). */
  key: string;
  resourceType: string;
  ofType: number;
}

export class LiveArrivals {
  private readonly seen = new Set<string>();
  private readonly ofType = new Map<string, number>();
  private readonly pending = new Map<string, number>();
  private readonly order = new Map<string, number>();
  private next = 1;

  /** Call with every entry the participant holds, each time they change (in the state's order). */
  observe(entries: Iterable<EntryShape>): void {
    const list = [...entries];
    const now = new Map<string, number>();
    for (const e of list) now.set(e.resourceType, Math.max(now.get(e.resourceType) ?? 0, e.ofType));
    for (const [type, total] of now) {
      const before = this.ofType.get(type);
      if (before !== undefined && total > before) this.pending.set(type, (this.pending.get(type) ?? 0) + total - before);
      this.ofType.set(type, Math.max(before ?? 0, total));
    }
    for (const e of list) {
      if (this.seen.has(e.key)) continue;
      this.seen.add(e.key);
      const waiting = this.pending.get(e.resourceType) ?? 0;
      if (waiting <= 0) continue;
      this.pending.set(e.resourceType, waiting - 1);
      this.order.set(refOf(e.key), this.next++);
    }
  }

  /** 0 for what came with the case; 1, 2, … for live arrivals, later ones higher. */
  rank(resourceType: string, id: string): number {
    return this.order.get(`${resourceType}/${id}`) ?? 0;
  }
}

const refOf = (key: string) => key.slice(key.indexOf(':') + 1);
