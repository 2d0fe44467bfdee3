import type { Logger } from '../logger.ts';
import { isRedirect, readBoundedResponse, ResponseTooLarge } from '../outbound.ts';
import { BUILTIN_ID, BUILTIN_SERVICE, builtinCards } from './builtin.ts';
import { Card, CardsAnswer, DiscoveredService, Discovery, HOOK, MAX_CARDS, type FeedbackItem, type PatientViewRequest } from './hooks.ts';
import type { CdsSigner } from './signer.ts';

/**
 * Consilium as a CDS Client (CDS Hooks 2.0): discovers each configured
 * service (`GET {base}/cds-services`), calls `patient-view` services, and
 * posts feedback. Every request carries a fresh signed JWT; none follows a
 * redirect (the JWT and the prefetch must not travel elsewhere); answers are
 * read up to a bound; each call gives up after TIMEOUT_MS and is never
 * retried blindly; failures are logged by code (and the service), never with
 * what was sent or answered.
 */
export interface CdsService {
  /** `builtin` for the built-in rules, else the service's endpoint URL. */
  key: string;
  id: string;
  title: string;
  /** The service endpoint (`{base}/cds-services/{id}`); null for the in-process built-in service. */
  url: string | null;
  builtin: boolean;
  prefetch: Record<string, string> | undefined;
}

export type CdsFailure = 'CDS_TIMEOUT' | 'CDS_UNREACHABLE' | 'CDS_REDIRECT_REFUSED' | 'CDS_HTTP_ERROR' | 'CDS_RESPONSE_TOO_LARGE' | 'CDS_RESPONSE_INVALID';
export type CallResult = { ok: true; cards: Card[]; dropped: number } | { ok: false; code: CdsFailure };

export const TIMEOUT_MS = 2000;
const RESPONSE_BYTES = 512 * 1024;
/** A discovery is trusted this long; a failed one is tried again after DISCOVERY_RETRY_MS (not at every call). */
const DISCOVERY_TTL_MS = 5 * 60_000;
const DISCOVERY_RETRY_MS = 60_000;

export const BUILTIN: CdsService = { key: 'builtin', id: BUILTIN_ID, title: BUILTIN_SERVICE.title!, url: null, builtin: true, prefetch: BUILTIN_SERVICE.prefetch };

class CdsCallError extends Error {
  constructor(readonly code: CdsFailure) {
    super(code);
  }
}

export class CdsGateway {
  private readonly discovered = new Map<string, { at: number; ttl: number; services: CdsService[] }>();
  private readonly inFlight = new Map<string, Promise<CdsService[]>>();
  private readonly fetch: typeof fetch;

  constructor(
    private readonly opts: { bases: readonly string[]; builtin: boolean; signer: CdsSigner; logger: Logger; fetch?: typeof fetch; timeoutMs?: number; now?: () => number },
  ) {
    this.fetch = opts.fetch ?? fetch;
  }

  get enabled(): boolean {
    return this.opts.builtin || this.opts.bases.length > 0;
  }

  /** Every patient-view service now: the built-in one, and each base's discovered ones (cached). */
  async services(): Promise<CdsService[]> {
    const found = await Promise.all(this.opts.bases.map((b) => this.discover(b)));
    return [...(this.opts.builtin ? [BUILTIN] : []), ...found.flat()];
  }

  private discover(base: string): Promise<CdsService[]> {
    const now = (this.opts.now ?? Date.now)();
    const cached = this.discovered.get(base);
    if (cached && now - cached.at < cached.ttl) return Promise.resolve(cached.services);
    let pending = this.inFlight.get(base);
    if (!pending) {
      pending = this.fetchDiscovery(base)
        .then((services) => {
          this.discovered.set(base, { at: now, ttl: DISCOVERY_TTL_MS, services });
          return services;
        })
        .catch((err: unknown) => {
          this.opts.logger.warn({ service: base, code: err instanceof CdsCallError ? err.code : 'CDS_RESPONSE_INVALID' }, 'CDS discovery failed');
          this.discovered.set(base, { at: now, ttl: DISCOVERY_RETRY_MS, services: cached?.services ?? [] });
          return cached?.services ?? [];
        })
        .finally(() => this.inFlight.delete(base));
      this.inFlight.set(base, pending);
    }
    return pending;
  }

  private async fetchDiscovery(base: string): Promise<CdsService[]> {
    const url = `${base}/cds-services`;
    const body = Discovery.safeParse(await this.request(url, { method: 'GET' }));
    if (!body.success) throw new CdsCallError('CDS_RESPONSE_INVALID');
    const out: CdsService[] = [];
    for (const raw of body.data.services) {
      const s = DiscoveredService.safeParse(raw);
      if (!s.success || s.data.hook !== HOOK) continue;
      const endpoint = `${base}/cds-services/${encodeURIComponent(s.data.id)}`;
      out.push({ key: endpoint, id: s.data.id, title: s.data.title ?? s.data.id, url: endpoint, builtin: false, prefetch: s.data.prefetch });
    }
    return out;
  }

  /** The pseudonym a participant is known by in hook contexts (CdsSigner.hookUser). */
  hookUser(userId: string): string {
    return this.opts.signer.hookUser(userId);
  }

  /** One patient-view call. The built-in service runs in-process on the same request (a JSON copy, as if sent). */
  async call(service: CdsService, request: PatientViewRequest): Promise<CallResult> {
    try {
      const raw = service.url === null ? { cards: builtinCards(JSON.parse(JSON.stringify(request)) as PatientViewRequest) } : await this.request(service.url, { method: 'POST', body: JSON.stringify(request) });
      const answer = CardsAnswer.safeParse(raw);
      if (!answer.success) throw new CdsCallError('CDS_RESPONSE_INVALID');
      const cards: Card[] = [];
      let dropped = 0;
      for (const c of answer.data.cards) {
        const card = Card.safeParse(c);
        if (card.success && cards.length < MAX_CARDS) cards.push(card.data);
        else dropped++;
      }
      if (dropped > 0) this.opts.logger.warn({ service: service.key, code: 'CDS_CARD_INVALID', dropped }, 'CDS cards dropped');
      return { ok: true, cards, dropped };
    } catch (err) {
      const code = err instanceof CdsCallError ? err.code : 'CDS_RESPONSE_INVALID';
      this.opts.logger.warn({ service: service.key, code }, 'CDS call failed');
      return { ok: false, code };
    }
  }

  /** Feedback (`POST {service}/feedback`): true when the service took it. */
  async feedback(service: CdsService, items: FeedbackItem[]): Promise<boolean> {
    if (service.url === null) return true; // the built-in rules keep no state; the outcome is audited
    try {
      await this.request(`${service.url}/feedback`, { method: 'POST', body: JSON.stringify({ feedback: items }) });
      return true;
    } catch (err) {
      this.opts.logger.warn({ service: service.key, code: err instanceof CdsCallError ? err.code : 'CDS_RESPONSE_INVALID' }, 'CDS feedback failed');
      return false;
    }
  }

  /** A signed request, no redirects, bounded answer, TIMEOUT_MS for the whole exchange; the parsed JSON (null if not JSON). */
  private async request(url: string, init: { method: 'GET' | 'POST'; body?: string }): Promise<unknown> {
    const signal = AbortSignal.timeout(this.opts.timeoutMs ?? TIMEOUT_MS);
    let res: Response;
    let bytes: Buffer;
    try {
      res = await this.fetch(url, {
        method: init.method,
        headers: { authorization: `Bearer ${await this.opts.signer.sign(url)}`, accept: 'application/json', ...(init.body ? { 'content-type': 'application/json' } : {}) },
        ...(init.body ? { body: init.body } : {}),
        redirect: 'manual',
        signal,
      });
      if (isRedirect(res)) {
        await res.body?.cancel().catch(() => {});
        throw new CdsCallError('CDS_REDIRECT_REFUSED');
      }
      bytes = await readBoundedResponse(res, RESPONSE_BYTES);
    } catch (err) {
      if (err instanceof CdsCallError) throw err;
      if (err instanceof ResponseTooLarge) throw new CdsCallError('CDS_RESPONSE_TOO_LARGE');
      throw new CdsCallError(signal.aborted ? 'CDS_TIMEOUT' : 'CDS_UNREACHABLE');
    }
    if (!res.ok) throw new CdsCallError('CDS_HTTP_ERROR');
    if (bytes.length === 0) return null;
    try {
      return JSON.parse(bytes.toString('utf8')) as unknown;
    } catch {
      throw new CdsCallError('CDS_RESPONSE_INVALID');
    }
  }
}
