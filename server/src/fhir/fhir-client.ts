import { MAX_IMPORT_ENTRIES } from '../../../shared/src/fhir.ts';
import type { SmartBackendAuth } from './smart-backend.ts';

/**
 * A small read-only FHIR R4 REST client for the hospital's server: follows
 * `next` links only within the configured base URL (a server cannot send us
 * elsewhere), bounds pages and entries, retries once with a fresh token on
 * 401. Errors carry the HTTP status and never the response body (it may hold
 * patient data).
 */
export class FhirServerError extends Error {
  constructor(
    message: string,
    public readonly status: number | null,
  ) {
    super(message);
  }
}

export interface SearchResult {
  entries: unknown[];
  pages: number;
}

const MAX_PAGES = 500;
const MAX_PAGE_BYTES = 64 * 1024 * 1024;

export class FhirClient {
  private readonly base: URL;
  private readonly fetch: typeof fetch;

  constructor(
    baseUrl: string,
    private readonly auth: SmartBackendAuth | null,
    fetchImpl: typeof fetch = fetch,
  ) {
    this.base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    this.fetch = fetchImpl;
  }

  /** `Patient/<id>/$everything`, every page. */
  everything(patientId: string): Promise<SearchResult> {
    return this.search(`Patient/${encodeURIComponent(patientId)}/$everything`);
  }

  /** Ids of the patients with this identifier (`system|value` or `value`). */
  async patientsByIdentifier(identifier: string): Promise<string[]> {
    const { entries } = await this.search(`Patient?identifier=${encodeURIComponent(identifier)}&_elements=id`);
    return entries.flatMap((e) => {
      const r = (e as { resource?: { resourceType?: unknown; id?: unknown }; search?: { mode?: unknown } }) ?? {};
      return r.resource?.resourceType === 'Patient' && typeof r.resource.id === 'string' && r.search?.mode !== 'include' ? [r.resource.id] : [];
    });
  }

  /** Observations of the patient updated after `since`, every page. */
  observationsSince(patientId: string, since: Date): Promise<SearchResult> {
    return this.search(`Observation?patient=${encodeURIComponent(patientId)}&_lastUpdated=gt${encodeURIComponent(since.toISOString())}&_count=200`);
  }

  /** Run a search (or operation returning a searchset) and follow `next` links. */
  async search(relative: string): Promise<SearchResult> {
    let url: URL | null = new URL(relative, this.base);
    const entries: unknown[] = [];
    let pages = 0;
    while (url) {
      if (++pages > MAX_PAGES) throw new FhirServerError(`more than ${MAX_PAGES} pages`, null);
      const bundle = await this.get(url);
      if (bundle['resourceType'] !== 'Bundle') throw new FhirServerError('expected a Bundle', null);
      for (const e of Array.isArray(bundle['entry']) ? bundle['entry'] : []) entries.push(e);
      if (entries.length > MAX_IMPORT_ENTRIES) throw new FhirServerError(`more than ${MAX_IMPORT_ENTRIES} entries`, null);
      const next = (Array.isArray(bundle['link']) ? bundle['link'] : []).find((l: { relation?: unknown; url?: unknown }) => l?.relation === 'next' && typeof l.url === 'string') as { url: string } | undefined;
      url = next ? this.within(next.url) : null;
    }
    return { entries, pages };
  }

  private within(link: string): URL {
    const url = new URL(link, this.base);
    if (url.origin !== this.base.origin || !url.pathname.startsWith(this.base.pathname)) throw new FhirServerError('a paging link leaves the FHIR base URL', null);
    return url;
  }

  private async get(url: URL, retried = false): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { accept: 'application/fhir+json' };
    if (this.auth) headers['authorization'] = `Bearer ${await this.auth.accessToken(retried)}`;
    let res: Response;
    try {
      res = await this.fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
    } catch (err) {
      throw new FhirServerError(`unreachable (${(err as Error).name})`, null);
    }
    if (res.status === 401 && this.auth && !retried) {
      await res.body?.cancel();
      return this.get(url, true);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new FhirServerError(`answered ${res.status}`, res.status);
    }
    const length = Number(res.headers.get('content-length') ?? '0');
    if (length > MAX_PAGE_BYTES) throw new FhirServerError('page too large', res.status);
    const text = await res.text();
    if (text.length > MAX_PAGE_BYTES) throw new FhirServerError('page too large', res.status);
    try {
      const json = JSON.parse(text) as unknown;
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
      return json as Record<string, unknown>;
    } catch {
      throw new FhirServerError('answered with something that is not FHIR JSON', res.status);
    }
  }
}
