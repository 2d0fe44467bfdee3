import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';

/**
 * A loopback stand-in for a hospital's CDS Hooks 2.0 service: discovery
 * (`GET /cds-services`), one `patient-view` service, and its feedback
 * endpoint. Like a real service it checks every call's JWT against the
 * client's published JWKS (and only that URL, whatever `jku` says), with
 * `aud` = the URL called, a known `iss`, a fresh `jti` (replays refused) and a
 * short lifetime; it records what it receives. It can be made slow, failing
 * or redirecting.
 */
export interface RecordedCdsCall {
  path: string;
  body: Record<string, unknown> & { prefetch?: Record<string, unknown>; context?: Record<string, unknown>; hookInstance?: string };
  raw: string;
  claims: JWTPayload;
  at: number;
}

export const STANDIN_SERVICE = 'standin-advisor';

export class CdsServiceStandIn {
  readonly calls: RecordedCdsCall[] = [];
  readonly feedback: RecordedCdsCall[] = [];
  readonly refused: { path: string; reason: string }[] = [];
  /** Every discovery request (they too carry a JWT). */
  discoveries = 0;
  delayMs = 0;
  failStatus: number | null = null;
  redirectTo: string | null = null;
  /** The cards it answers (default: one info card per call). */
  cards: (call: RecordedCdsCall) => unknown[] = (call) => [
    {
      uuid: `standin-${call.body.hookInstance}`,
      summary: 'Stand-in advisor: consider a medication review',
      detail: 'A card from the loopback stand-in.',
      indicator: 'info',
      source: { label: 'Stand-in advisor', url: 'https://advisor.example.org/about' },
      suggestions: [{ label: 'Review medications', uuid: 'sugg-1' }],
      overrideReasons: [{ code: 'not-relevant', system: 'urn:standin', display: 'Not relevant' }],
      links: [{ label: 'Evidence', url: 'https://advisor.example.org/evidence', type: 'absolute' }, { label: 'Launch', url: 'javascript:alert(1)', type: 'absolute' }],
    },
  ];
  private readonly seenJti = new Set<string>();
  private server: http.Server | null = null;
  port = 0;

  constructor(
    /** The client's base URL (its `iss`); its JWKS is at `${issuer}/.well-known/cds-client-jwks.json`. */
    private readonly issuer: () => string,
    readonly prefetch: Record<string, string> = STANDIN_PREFETCH,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => void this.handle(req, raw, res));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    s?.closeAllConnections();
    await new Promise<void>((r) => (s ? s.close(() => r()) : r()));
  }

  /** The call made under this hookInstance (the audit row names it). */
  callFor(hookInstance: string): RecordedCdsCall | undefined {
    return this.calls.find((c) => c.body.hookInstance === hookInstance);
  }

  private async verify(req: http.IncomingMessage, path: string): Promise<JWTPayload> {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!token) throw new Error('no bearer token');
    const jwksUrl = `${this.issuer()}/.well-known/cds-client-jwks.json`;
    const header = decodeProtectedHeader(token);
    if (header.jku !== jwksUrl) throw new Error('jku is not the registered JWKS URL');
    if (header.alg !== 'ES384' && header.alg !== 'RS384') throw new Error(`alg ${String(header.alg)}`);
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(jwksUrl)), { issuer: this.issuer(), audience: `${this.url}${path}`, maxTokenAge: '5m', requiredClaims: ['iss', 'aud', 'exp', 'iat', 'jti'] });
    if ((payload.exp ?? 0) - (payload.iat ?? 0) > 300) throw new Error('token lives longer than 5 minutes');
    if (this.seenJti.has(payload.jti!)) throw new Error('jti replayed');
    this.seenJti.add(payload.jti!);
    return payload;
  }

  private async handle(req: http.IncomingMessage, raw: string, res: http.ServerResponse): Promise<void> {
    const path = (req.url ?? '').split('?')[0]!;
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    let claims: JWTPayload;
    try {
      claims = await this.verify(req, path);
    } catch (err) {
      this.refused.push({ path, reason: (err as Error).message });
      return send(401, { error: 'unauthorized' });
    }
    if (req.method === 'GET' && path === '/cds-services') {
      this.discoveries++;
      return send(200, { services: [{ hook: 'patient-view', id: STANDIN_SERVICE, title: 'Stand-in advisor', description: 'Loopback stand-in', prefetch: this.prefetch }, { hook: 'order-sign', id: 'not-for-us', description: 'another hook' }] });
    }
    const call: RecordedCdsCall = { path, body: raw ? (JSON.parse(raw) as RecordedCdsCall['body']) : {}, raw, claims, at: Date.now() };
    if (req.method === 'POST' && path === `/cds-services/${STANDIN_SERVICE}/feedback`) {
      this.feedback.push(call);
      return send(200, {});
    }
    if (req.method === 'POST' && path === `/cds-services/${STANDIN_SERVICE}`) {
      this.calls.push(call);
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      if (this.redirectTo) {
        res.writeHead(307, { location: this.redirectTo });
        return void res.end();
      }
      if (this.failStatus) return send(this.failStatus, { error: 'failing on purpose' });
      if (res.destroyed) return;
      return send(200, { cards: this.cards(call) });
    }
    send(404, { error: 'not found' });
  }
}

/** Asks for everything a patient-view service commonly prefetches (the canary: only what the participant may read may come back). */
export const STANDIN_PREFETCH: Record<string, string> = {
  patient: 'Patient/{{context.patientId}}',
  observations: 'Observation?patient={{context.patientId}}',
  conditions: 'Condition?patient={{context.patientId}}',
  medicationStatements: 'MedicationStatement?patient={{context.patientId}}',
  medicationRequests: 'MedicationRequest?patient={{context.patientId}}',
  allergies: 'AllergyIntolerance?patient={{context.patientId}}',
  encounters: 'Encounter?patient={{context.patientId}}',
  procedures: 'Procedure?patient={{context.patientId}}',
  immunizations: 'Immunization?patient={{context.patientId}}',
  reports: 'DiagnosticReport?patient={{context.patientId}}',
  imaging: 'ImagingStudy?patient={{context.patientId}}',
  carePlans: 'CarePlan?patient={{context.patientId}}',
  claims: 'Claim?patient={{context.patientId}}',
  practitioner: 'Practitioner/{{userPractitionerId}}',
  labs: 'Observation?patient={{context.patientId}}&category=laboratory&_sort=-date&_count=5',
};

/** Every resource in a prefetch (bundles opened). */
export function prefetchResources(prefetch: Record<string, unknown> | undefined): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const v of Object.values(prefetch ?? {})) {
    const r = v as { resourceType?: string; entry?: { resource: Record<string, unknown> }[] };
    if (r?.resourceType === 'Bundle') out.push(...(r.entry ?? []).map((e) => e.resource));
    else if (r) out.push(r as Record<string, unknown>);
  }
  return out;
}
