import type { ErrorCode } from '../../../shared/src/errors.ts';
import { MAX_IMPORT_ENTRIES } from '../../../shared/src/fhir.ts';
import { isRedirect, readBoundedResponse, ResponseTooLarge } from '../outbound.ts';
import { PageSkimmer, type PageSummary } from './page-skim.ts';
import type { SmartBackendAuth } from './smart-backend.ts';

/**
 * A small read-only FHIR R4 REST client for the hospital's server. Every
 * request stays within the configured base URL: `next` links that leave it
 * are refused, and redirects are never followed (a 3xx could take the bearer
 * token or the patient's record elsewhere; the admin configures the final
 * address). A record is bounded like a direct import: its pages together
 * (bytes read, whatever Content-Length says), its entries, its page count and
 * its time. Retries once with a fresh token on 401. Errors carry the HTTP
 * status and never the response body (it may hold patient data).
 */
export class FhirServerError extends Error {
  constructor(
    message: string,
    public readonly status: number | null,
    /** The stable code the API answers with. */
    public readonly code: ErrorCode = 'FHIR_SERVER_ERROR',
  ) {
    super(message);
  }
}

export interface SearchResult {
  /** Each page (a Bundle) as received: the import worker parses them (case-importer.ts), the event loop need not. */
  bodies: Buffer[];
  pages: number;
  /** Entries over all pages. */
  entries: number;
}

const MAX_PAGES = 500;
/** A pulled record, all pages together, may be as large as a direct import (IMPORT_BODY_LIMIT, 32 MB, in http/body.ts; a test keeps them equal). */
export const MAX_RECORD_BYTES = 32 * 1024 * 1024;
/** One request, and one whole record (every page), may take this long. */
const REQUEST_TIMEOUT_MS = 60_000;
const RECORD_TIMEOUT_MS = 5 * 60_000;

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
    const { bodies } = await this.search(`Patient?identifier=${encodeURIComponent(identifier)}&_elements=id`);
    // Ids only (`_elements=id`): small pages, read here.
    const entries = bodies.flatMap((p) => (JSON.parse(p.toString('utf8')) as { entry?: unknown[] }).entry ?? []);
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
    let url: URL | null = this.within(relative);
    const bodies: Buffer[] = [];
    let entries = 0;
    const budget = { bytes: MAX_RECORD_BYTES, deadline: Date.now() + RECORD_TIMEOUT_MS };
    while (url) {
      if (bodies.length >= MAX_PAGES) throw new FhirServerError(`more than ${MAX_PAGES} pages`, null);
      const { bytes, status, summary } = await this.get(url, budget);
      if (summary === 'not-json') throw new FhirServerError('answered with something that is not FHIR JSON', status);
      if (summary === 'not-bundle') throw new FhirServerError('expected a Bundle', null);
      bodies.push(bytes);
      entries += summary.entries;
      if (entries > MAX_IMPORT_ENTRIES) throw new FhirServerError(`more than ${MAX_IMPORT_ENTRIES} entries`, null);
      url = summary.next ? this.within(summary.next) : null;
    }
    return { bodies, pages: bodies.length, entries };
  }

  private within(link: string): URL {
    const url = new URL(link, this.base);
    if (url.origin !== this.base.origin || !url.pathname.startsWith(this.base.pathname)) throw new FhirServerError('a paging link leaves the FHIR base URL', null);
    return url;
  }

  /**
   * One page: its bytes, and what following it needs, skimmed as the bytes arrive (page-skim.ts: no
   * page is parsed on the event loop). `budget` is what is left of the record's bytes and time, and
   * shrinks by what this page used.
   */
  private async get(url: URL, budget: { bytes: number; deadline: number }, retried = false): Promise<{ bytes: Buffer; status: number; summary: PageSummary }> {
    const headers: Record<string, string> = { accept: 'application/fhir+json' };
    if (this.auth) headers['authorization'] = `Bearer ${await this.auth.accessToken(retried)}`;
    const timeout = Math.min(REQUEST_TIMEOUT_MS, budget.deadline - Date.now());
    if (timeout <= 0) throw new FhirServerError(`the record took longer than ${RECORD_TIMEOUT_MS / 60_000} minutes`, null);
    let res: Response;
    let bytes: Buffer;
    const skim = new PageSkimmer();
    try {
      // The signal also bounds reading the body (a server trickling bytes).
      res = await this.fetch(url, { headers, redirect: 'manual', signal: AbortSignal.timeout(timeout) });
      if (isRedirect(res)) {
        await res.body?.cancel().catch(() => {});
        throw new FhirServerError(`answered with a redirect (${res.status}), which is not followed: set FHIR_BASE_URL to the server's final address`, res.status, 'FHIR_REDIRECT_REFUSED');
      }
      if (res.status === 401 && this.auth && !retried) {
        await res.body?.cancel().catch(() => {});
        return this.get(url, budget, true);
      }
      if (!res.ok) {
        await res.body?.cancel().catch(() => {});
        throw new FhirServerError(`answered ${res.status}`, res.status);
      }
      bytes = await readBoundedResponse(res, budget.bytes, (chunk) => skim.feed(chunk));
    } catch (err) {
      if (err instanceof FhirServerError) throw err;
      if (err instanceof ResponseTooLarge) throw new FhirServerError(`the record is larger than ${MAX_RECORD_BYTES / 1024 / 1024} MiB, the case import limit`, null, 'FHIR_RECORD_TOO_LARGE');
      throw new FhirServerError(`unreachable (${(err as Error).name})`, null);
    }
    budget.bytes -= bytes.length;
    return { bytes, status: res.status, summary: skim.finish() };
  }
}
