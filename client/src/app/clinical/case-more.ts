import type { CaseResourceType, FhirResource } from '../../../../shared/src/fhir.ts';
import type { CaseReadResponse } from '../../../../shared/src/http.ts';

/**
 * One read of several types through the room (`POST /api/cases/:id/resources/query`): per type
 * its newest `limit` from `offset`, or `denied`; every type denied rejects with SCOPE_DENIED.
 * The server audits each read as one `case.read` row, whatever the number of types.
 */
export type ReadTypes = (q: { types: CaseResourceType[]; offset: number; limit: number }) => Promise<CaseReadResponse>;

const codeOf = (err: unknown) => (err as { code?: string }).code;

/**
 * What the room state leaves out of a big case, read on demand: "show all"
 * reads every page of a section's types and the section then lists the whole
 * record; a type the room sent nothing of is probed once so an empty section
 * can say "Not on file" (readable, none) rather than vanish (not readable).
 * Types asked about in one turn of the event loop (one render of the panel)
 * are probed together in one read, so a join costs the audit trail one row,
 * not one per type. Offset paging only: it works alike for identified and
 * de-identified readers (a date cursor would hand de-identified readers real dates).
 */
export class CaseMore {
  private readonly all = new Map<CaseResourceType, FhirResource[]>();
  private readonly loading = new Set<CaseResourceType>();
  private readonly probed = new Map<CaseResourceType, 'readable' | 'denied' | 'pending'>();
  /** Types asked about since the last probe went out. */
  private readonly queued = new Set<CaseResourceType>();
  /** Bumped by reset: an answer to a read asked before it is dropped (it was read under the old access). */
  private generation = 0;
  error = '';

  constructor(
    private readonly read: ReadTypes,
    private readonly changed: () => void,
    private readonly pageSize = 100,
  ) {}

  /** The whole record of a type, once read. */
  complete(type: CaseResourceType): FhirResource[] | undefined {
    return this.all.get(type);
  }

  isLoading(type: CaseResourceType): boolean {
    return this.loading.has(type);
  }

  /** Read every page of these types (a section may span two: orders and statements), all of them in each read. */
  async showAll(types: CaseResourceType[]): Promise<void> {
    const wanted = types.filter((t) => !this.all.has(t) && !this.loading.has(t));
    if (wanted.length === 0) return;
    const generation = this.generation;
    for (const t of wanted) this.loading.add(t);
    this.changed();
    try {
      const out = new Map<CaseResourceType, FhirResource[]>(wanted.map((t) => [t, []]));
      // Every type is paged alike, so the types that have more are all at the same next offset.
      for (let pending = wanted, offset = 0; pending.length > 0; offset += this.pageSize) {
        const answer = await this.read({ types: pending, offset, limit: this.pageSize });
        const more: CaseResourceType[] = [];
        for (const r of answer.types) {
          const list = out.get(r.type as CaseResourceType);
          if (!list || !pending.includes(r.type as CaseResourceType)) continue;
          if (r.status === 'denied') throw Object.assign(new Error('denied'), { code: 'SCOPE_DENIED' });
          list.push(...r.resources.filter((x) => x.resourceType === r.type));
          if (r.nextOffset !== null) more.push(r.type as CaseResourceType);
        }
        pending = more;
      }
      if (generation === this.generation) for (const [t, list] of out) this.all.set(t, list);
      this.error = '';
    } catch (err) {
      this.error = `Could not load more (${codeOf(err) ?? 'network'}). Try again.`;
    } finally {
      for (const t of wanted) this.loading.delete(t);
      this.changed();
    }
  }

  /** Whether a type the room sent nothing of is readable (undefined while not yet known). */
  readable(type: CaseResourceType): boolean | undefined {
    const p = this.probed.get(type);
    if (p === undefined) this.queue(type);
    return p === 'readable' ? true : p === 'denied' ? false : undefined;
  }

  private queue(type: CaseResourceType): void {
    this.probed.set(type, 'pending');
    this.queued.add(type);
    // After the current render has asked about every type it shows: one read for all of them.
    if (this.queued.size === 1) queueMicrotask(() => void this.probe());
  }

  private async probe(): Promise<void> {
    const types = [...this.queued];
    this.queued.clear();
    if (types.length === 0) return;
    const generation = this.generation;
    let answer: CaseReadResponse | null = null;
    let denied = false;
    try {
      answer = await this.read({ types, offset: 0, limit: 1 });
    } catch (err) {
      denied = codeOf(err) === 'SCOPE_DENIED'; // every type asked is outside this reader's access
    }
    if (generation !== this.generation) return;
    if (answer) {
      for (const r of answer.types) {
        const type = r.type as CaseResourceType;
        if (!types.includes(type)) continue;
        this.probed.set(type, r.status === 'read' ? 'readable' : 'denied');
        // A record that does have some (they arrived after the room's summary): keep the first for the count.
        if (r.status === 'read' && r.resources.length && r.nextOffset === null) this.all.set(type, r.resources);
      }
    } else if (denied) for (const t of types) this.probed.set(t, 'denied');
    // Otherwise unknown (network): left pending, not asked again until reset, so a failing server is not hammered.
    this.changed();
  }

  /** The case changed (or access did): forget everything read. */
  reset(): void {
    this.generation++;
    this.all.clear();
    this.probed.clear();
    this.queued.clear();
    this.error = '';
  }
}
