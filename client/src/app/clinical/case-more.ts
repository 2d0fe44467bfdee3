import type { CaseResourceType, FhirResource } from '../../../../shared/src/fhir.ts';

/** One page of `GET /api/cases/:id/resources?room=…` (newest first, under the reader's own access). */
export type FetchPage = (q: { type: CaseResourceType; offset: number; limit: number }) => Promise<{ resources: FhirResource[]; nextOffset: number | null }>;

/**
 * What the room state leaves out of a big case, read on demand: "show all"
 * reads every page of a type and the section then lists the whole record;
 * a type the room sent nothing of is probed once so an empty section can say
 * "Not on file" (readable, none) rather than vanish (not readable).
 * Offset paging only: it works alike for identified and de-identified readers
 * (a date cursor would hand de-identified readers real dates).
 */
export class CaseMore {
  private readonly all = new Map<CaseResourceType, FhirResource[]>();
  private readonly loading = new Set<CaseResourceType>();
  private readonly probed = new Map<CaseResourceType, 'readable' | 'denied' | 'pending'>();
  error = '';

  constructor(
    private readonly fetchPage: FetchPage,
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

  /** Read every page of these types (a section may span two: orders and statements). */
  async showAll(types: CaseResourceType[]): Promise<void> {
    await Promise.all(types.filter((t) => !this.all.has(t) && !this.loading.has(t)).map(async (type) => {
      this.loading.add(type);
      this.changed();
      try {
        const out: FhirResource[] = [];
        for (let offset: number | null = 0; offset !== null; ) {
          const page = await this.fetchPage({ type, offset, limit: this.pageSize });
          out.push(...page.resources.filter((r) => r.resourceType === type));
          offset = page.nextOffset;
        }
        this.all.set(type, out);
        this.error = '';
      } catch (err) {
        this.error = `Could not load more (${(err as { code?: string }).code ?? 'network'}). Try again.`;
      } finally {
        this.loading.delete(type);
        this.changed();
      }
    }));
  }

  /** Whether a type the room sent nothing of is readable (undefined while not yet known). */
  readable(type: CaseResourceType): boolean | undefined {
    const p = this.probed.get(type);
    if (p === undefined) void this.probe(type);
    return p === 'readable' ? true : p === 'denied' ? false : undefined;
  }

  private async probe(type: CaseResourceType): Promise<void> {
    this.probed.set(type, 'pending');
    try {
      const page = await this.fetchPage({ type, offset: 0, limit: 1 });
      this.probed.set(type, 'readable');
      // A record that does have some (they arrived after the room's summary): keep the first for the count.
      if (page.resources.length && page.nextOffset === null) this.all.set(type, page.resources);
    } catch (err) {
      if ((err as { code?: string }).code === 'SCOPE_DENIED') this.probed.set(type, 'denied');
      else this.probed.set(type, 'pending'); // unknown (network): not asked again until reset, so a failing server is not hammered
    }
    this.changed();
  }

  /** The case changed (or access did): forget everything read. */
  reset(): void {
    this.all.clear();
    this.probed.clear();
    this.error = '';
  }
}
