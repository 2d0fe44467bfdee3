import type { ErrorCode } from '../../../shared/src/errors.ts';
import { MAX_IMPORT_ENTRIES } from '../../../shared/src/fhir.ts';
import { isRedirect, readBoundedResponse, ResponseTooLarge } from '../outbound.ts';
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
  entries: unknown[];
  pages: number;
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
    let url: URL | null = this.within(relative);
    const entries: unknown[] = [];
    const budget = { bytes: MAX_RECORD_BYTES, deadline: Date.now() + RECORD_TIMEOUT_MS };
    let pages = 0;
    while (url) {
      if (++pages > MAX_PAGES) throw new FhirServerError(`more than ${MAX_PAGES} pages`, null);
      const bundle = await this.get(url, budget);
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

  /** One page; `budget` is what is left of the record's bytes and time, and shrinks by what this page used. */
  private async get(url: URL, budget: { bytes: number; deadline: number }, retried = false): Promise<Record<string, unknown>> {
    const headers: Record<string, string> = { accept: 'application/fhir+json' };
    if (this.auth) headers['authorization'] = `Bearer ${await this.auth.accessToken(retried)}`;
    const timeout = Math.min(REQUEST_TIMEOUT_MS, budget.deadline - Date.now());
    if (timeout <= 0) throw new FhirServerError(`the record took longer than ${RECORD_TIMEOUT_MS / 60_000} minutes`, null);
    let res: Response;
    let bytes: Buffer;
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
      bytes = await readBoundedResponse(res, budget.bytes);
    } catch (err) {
      if (err instanceof FhirServerError) throw err;
      if (err instanceof ResponseTooLarge) throw new FhirServerError(`the record is larger than ${MAX_RECORD_BYTES / 1024 / 1024} MiB, the case import limit`, null, 'FHIR_RECORD_TOO_LARGE');
      throw new FhirServerError(`unreachable (${(err as Error).name})`, null);
    }
    budget.bytes -= bytes.length;
    try {
      const json = JSON.parse(bytes.toString('utf8')) as unknown;
      if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('not an object');
      return json as Record<string, unknown>;
    } catch {
      throw new FhirServerError('answered with something that is not FHIR JSON', res.status);
    }
  }
}
