import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';

/**
 * A loopback FHIR R4 server for tests: serves one real patient bundle as a
 * server would (ids as published, references `Type/id`, absolute fullUrls),
 * `$everything` page by page, identifier search and Observation search by
 * `_lastUpdated`, behind SMART Backend Services. The token endpoint checks
 * the client's signed assertion against the client's registered JWKS
 * (signature, iss/sub = client id, aud = token URL, exp ≤ 5 min, jti not
 * replayed, RS384/ES384) and the requested scopes; the API checks the bearer
 * token's expiry and scopes on every request.
 */
export interface LoopbackFhirOptions {
  bundle: { entry: { fullUrl?: string; resource: Record<string, unknown> }[] };
  clientId: string;
  /** The client's registered public keys (read on each token request, like a JWKS URL). */
  jwks: () => Promise<JSONWebKeySet>;
  /** Scopes this client may be granted. */
  allowedScopes?: string[];
  pageSize?: number;
  tokenTtlSeconds?: number;
}

export interface LoopbackFhir {
  baseUrl: string;
  tokenUrl: string;
  /** Every request: method, path, status. */
  log: { method: string; path: string; status: number }[];
  /** Why token or API requests were refused. */
  refusals: string[];
  tokensIssued(): number;
  /** A new Observation on the server (lastUpdated now). */
  addObservation(resource: Record<string, unknown>): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

export async function startLoopbackFhir(opts: LoopbackFhirOptions): Promise<LoopbackFhir> {
  const pageSize = opts.pageSize ?? 50;
  const allowed = new Set(opts.allowedScopes ?? ['system/*.rs']);
  const ttl = opts.tokenTtlSeconds ?? 300;
  const tokens = new Map<string, { exp: number; scopes: Set<string> }>();
  const seenJti = new Set<string>();
  const log: LoopbackFhir['log'] = [];
  const refusals: string[] = [];
  let issued = 0;

  // Server form of the bundle: references Type/id instead of urn:uuid.
  const local = new Map(opts.bundle.entry.map((e) => [e.fullUrl ?? '', `${String(e.resource['resourceType'])}/${String(e.resource['id'])}`]));
  const startedAt = new Date().toISOString();
  const resources: Json[] = opts.bundle.entry.map((e) => ({
    ...(JSON.parse(JSON.stringify(e.resource, (k, v: unknown) => (k === 'reference' && typeof v === 'string' ? (local.get(v) ?? v) : v))) as Json),
    meta: { lastUpdated: startedAt },
  }));

  let origin = '';
  const base = () => `${origin}/fhir/r4`;
  const tokenUrl = () => `${origin}/auth/token`;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, Buffer.concat(chunks).toString('utf8'))
        .then(([status, body]) => {
          log.push({ method: req.method ?? '', path: req.url ?? '', status });
          res.writeHead(status, { 'content-type': status < 300 ? 'application/fhir+json' : 'application/json' });
          res.end(JSON.stringify(body));
        })
        .catch(() => {
          res.writeHead(500);
          res.end();
        });
    });
  });

  async function handle(req: http.IncomingMessage, body: string): Promise<[number, unknown]> {
    const url = new URL(req.url ?? '/', origin);
    if (req.method === 'GET' && url.pathname === '/fhir/r4/.well-known/smart-configuration') {
      return [200, { token_endpoint: tokenUrl(), grant_types_supported: ['client_credentials'], token_endpoint_auth_methods_supported: ['private_key_jwt'], token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384'], scopes_supported: [...allowed] }];
    }
    if (req.method === 'POST' && url.pathname === '/auth/token') return token(new URLSearchParams(body));
    if (req.method !== 'GET' || !url.pathname.startsWith('/fhir/r4/')) return [404, { error: 'not found' }];

    const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const grant = auth ? tokens.get(auth[1]!) : undefined;
    if (!grant) return refuse(401, 'api: missing or unknown token');
    if (grant.exp < Date.now()) return refuse(401, 'api: token expired');
    const may = (type: string) => grant.scopes.has('system/*.rs') || grant.scopes.has(`system/${type}.rs`);

    const path = url.pathname.slice('/fhir/r4/'.length);
    const everything = /^Patient\/([^/]+)\/\$everything$/.exec(path);
    if (everything) {
      if (!may('*')) return refuse(403, 'api: $everything needs system/*.rs');
      const id = decodeURIComponent(everything[1]!);
      if (!resources.some((r) => r['resourceType'] === 'Patient' && r['id'] === id)) return [404, { resourceType: 'OperationOutcome' }];
      const page = Number(url.searchParams.get('_page') ?? '0');
      const slice = resources.slice(page * pageSize, (page + 1) * pageSize);
      const more = (page + 1) * pageSize < resources.length;
      return [200, searchset(slice, more ? `${base()}/Patient/${encodeURIComponent(id)}/$everything?_page=${page + 1}` : null, resources.length)];
    }
    if (path === 'Patient') {
      if (!may('Patient')) return refuse(403, 'api: Patient search needs Patient scope');
      const token = url.searchParams.get('identifier') ?? '';
      const [system, value] = token.includes('|') ? token.split('|') : [null, token];
      const found = resources.filter((r) => r['resourceType'] === 'Patient' && ((r['identifier'] as Json[] | undefined) ?? []).some((i) => i['value'] === value && (system === null || i['system'] === system)));
      return [200, searchset(found, null, found.length)];
    }
    if (path === 'Observation') {
      if (!may('Observation')) return refuse(403, 'api: Observation search needs Observation scope');
      const patient = url.searchParams.get('patient');
      const since = /^gt(.+)$/.exec(url.searchParams.get('_lastUpdated') ?? '')?.[1];
      const found = resources.filter(
        (r) => r['resourceType'] === 'Observation' && (r['subject'] as Json | undefined)?.['reference'] === `Patient/${patient}` && (!since || Date.parse(String((r['meta'] as Json)['lastUpdated'])) > Date.parse(since)),
      );
      return [200, searchset(found, null, found.length)];
    }
    return [404, { resourceType: 'OperationOutcome' }];
  }

  async function token(form: URLSearchParams): Promise<[number, unknown]> {
    if (form.get('grant_type') !== 'client_credentials') return refuse(400, 'token: grant_type', 'unsupported_grant_type');
    if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') return refuse(400, 'token: client_assertion_type', 'invalid_client');
    let payload: Json;
    try {
      ({ payload } = await jwtVerify(form.get('client_assertion') ?? '', createLocalJWKSet(await opts.jwks()), {
        issuer: opts.clientId,
        subject: opts.clientId,
        audience: tokenUrl(),
        algorithms: ['RS384', 'ES384'],
        requiredClaims: ['exp', 'jti'],
      }));
    } catch (err) {
      return refuse(401, `token: assertion refused (${(err as { code?: string }).code ?? 'invalid'})`, 'invalid_client');
    }
    if (Number(payload['exp']) - Date.now() / 1000 > 300 + 5) return refuse(401, 'token: assertion lives longer than 5 minutes', 'invalid_client');
    const jti = String(payload['jti']);
    if (seenJti.has(jti)) return refuse(401, 'token: jti replayed', 'invalid_client');
    seenJti.add(jti);
    const scopes = (form.get('scope') ?? '').split(/\s+/).filter(Boolean);
    if (scopes.length === 0 || scopes.some((s) => !allowed.has(s))) return refuse(400, `token: scope not allowed (${scopes.join(' ')})`, 'invalid_scope');
    const accessToken = randomBytes(24).toString('base64url');
    tokens.set(accessToken, { exp: Date.now() + ttl * 1000, scopes: new Set(scopes) });
    issued++;
    return [200, { access_token: accessToken, token_type: 'bearer', expires_in: ttl, scope: scopes.join(' ') }];
  }

  function refuse(status: number, reason: string, error = 'forbidden'): [number, unknown] {
    refusals.push(reason);
    return [status, { error }];
  }

  function searchset(list: Json[], next: string | null, total: number): Json {
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total,
      link: [{ relation: 'self', url: base() }, ...(next ? [{ relation: 'next', url: next }] : [])],
      entry: list.map((r) => ({ fullUrl: `${base()}/${String(r['resourceType'])}/${String(r['id'])}`, resource: r, search: { mode: 'match' } })),
    };
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl: base(),
    tokenUrl: tokenUrl(),
    log,
    refusals,
    tokensIssued: () => issued,
    addObservation(resource) {
      resources.push({ ...resource, meta: { lastUpdated: new Date().toISOString() } });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
