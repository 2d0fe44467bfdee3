/** What following a searchset page needs from it, or why it cannot be followed. */
export type PageSummary = { entries: number; next: string | null } | 'not-json' | 'not-bundle';

/** `page`: the parsed page (undefined when it did not parse). */
export function pageSummary(page: unknown): PageSummary {
  if (typeof page !== 'object' || page === null || Array.isArray(page)) return 'not-json';
  if ((page as { resourceType?: unknown }).resourceType !== 'Bundle') return 'not-bundle';
  const { entry, link } = page as { entry?: unknown; link?: unknown };
  const next = (Array.isArray(link) ? link : []).find((l: { relation?: unknown; url?: unknown } | null) => l?.relation === 'next' && typeof l.url === 'string') as { url: string } | undefined;
  return { entries: Array.isArray(entry) ? entry.length : 0, next: next?.url ?? null };
}
