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
 *
 * It can also turn hostile (`setHostile`): answer with redirects (from the API,
 * the token endpoint or the SMART configuration) or with huge `$everything`
 * pages (honest Content-Length, none — chunked — or a lying one). Whatever
 * reaches it outside its FHIR base is recorded with its Authorization header
 * and answered with the patient's record, as a server that really kept data
 * there would.
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
  /** Misbehave from now on (null: behave again). */
  setHostile(hostile: Hostile | null): void;
  /** Entries per `$everything` page from now on. */
  setPageSize(entries: number): void;
  /** Requests that arrived outside the FHIR base URL and the token/configuration endpoints. */
  outsideBase: Recorded[];
  /** Bytes of huge pages actually written to the socket (what the client let through). */
  hugeBytesSent(): number;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

export type Hostile =
  /** Answer requests to `on` with this redirect. */
  | { kind: 'redirect'; on: 'api' | 'token' | 'smart-configuration'; status: 301 | 302 | 303 | 307 | 308; location: string }
  /** `$everything` answers `pages` pages of `pageBytes` each (a valid Bundle of one padded-out resource), linked by `next`. */
  | { kind: 'huge'; pages: number; pageBytes: number; length: 'honest' | 'absent' | 'lying' };

/** A request the stand-in (or a recorder) received, with the credentials it carried. */
export interface Recorded {
  method: string;
  path: string;
  authorization: string | null;
  body: string;
}

/**
 * A second listener (another port: another origin) that records every request
 * and answers each with a Bundle holding the given record, so a client that
 * follows a redirect here would find something to import.
 */
export async function startRecorder(record: unknown): Promise<{ url: string; requests: Recorded[]; close(): Promise<void> }> {
  const requests: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization ?? null, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      res.end(JSON.stringify(record));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export async function startLoopbackFhir(opts: LoopbackFhirOptions): Promise<LoopbackFhir> {
  let pageSize = opts.pageSize ?? 50;
  const allowed = new Set(opts.allowedScopes ?? ['system/*.rs']);
  const ttl = opts.tokenTtlSeconds ?? 300;
  const tokens = new Map<string, { exp: number; scopes: Set<string> }>();
  const seenJti = new Set<string>();
  const log: LoopbackFhir['log'] = [];
  const refusals: string[] = [];
  const outsideBase: Recorded[] = [];
  let hostile: Hostile | null = null;
  let hugeSent = 0;
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
      const body = Buffer.concat(chunks).toString('utf8');
      const path = new URL(req.url ?? '/', origin).pathname;
      const redirect = hostile?.kind === 'redirect' ? hostile : null;
      const target = path === '/auth/token' ? 'token' : path.endsWith('/.well-known/smart-configuration') ? 'smart-configuration' : path.startsWith('/fhir/r4/') ? 'api' : null;
      if (redirect && redirect.on === target) {
        log.push({ method: req.method ?? '', path: req.url ?? '', status: redirect.status });
        res.writeHead(redirect.status, { location: redirect.location, 'content-type': 'application/json' });
        res.end('{}');
        return;
      }
      if (target === null) {
        // Outside the base: what a client sent here (and with which credentials) is the evidence.
        outsideBase.push({ method: req.method ?? '', path: req.url ?? '', authorization: req.headers.authorization ?? null, body });
        res.writeHead(200, { 'content-type': 'application/fhir+json' });
        res.end(JSON.stringify(searchset(resources, null, resources.length)));
        return;
      }
      if (hostile?.kind === 'huge' && target === 'api' && path.endsWith('/$everything') && tokenOk(req)) {
        void hugePage(req, res, hostile);
        return;
      }
      void handle(req, body)
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

  function tokenOk(req: http.IncomingMessage): boolean {
    const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    const grant = auth ? tokens.get(auth[1]!) : undefined;
    return grant !== undefined && grant.exp >= Date.now();
  }

  /** One padded page of `pageBytes`, written as fast as the client reads it; stops when the client hangs up. */
  async function hugePage(req: http.IncomingMessage, res: http.ServerResponse, h: Extract<Hostile, { kind: 'huge' }>): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const page = Number(url.searchParams.get('_page') ?? '0');
    const next = page + 1 < h.pages ? `${base()}${url.pathname.slice('/fhir/r4'.length)}?_page=${page + 1}` : null;
    // One entry per page whose text fills the page: a client that keeps every page keeps every byte.
    const head = Buffer.from(`{"resourceType":"Bundle","type":"searchset","link":[${next ? `{"relation":"next","url":"${next}"}` : ''}],"entry":[{"resource":{"resourceType":"Basic","id":"page-${page}","code":{"text":"`);
    const tail = Buffer.from('"}}}]}');
    const fill = Buffer.alloc(64 * 1024, 'x');
    log.push({ method: req.method ?? '', path: req.url ?? '', status: 200 });
    const socket = req.socket;
    if (h.length === 'lying') {
      // Claims a small page, then keeps sending: written to the socket directly (Node's own response would refuse to lie).
      socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/fhir+json\r\ncontent-length: ${head.length + tail.length}\r\n\r\n`);
    } else {
      res.writeHead(200, { 'content-type': 'application/fhir+json', ...(h.length === 'honest' ? { 'content-length': String(h.pageBytes) } : {}) });
    }
    const write = (chunk: Buffer) => {
      if (socket.destroyed) return Promise.resolve(false);
      hugeSent += chunk.length;
      const ok = h.length === 'lying' ? socket.write(chunk) : res.write(chunk);
      if (ok) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (v: boolean) => () => {
          socket.off('drain', onDrain);
          socket.off('close', onClose);
          resolve(v);
        };
        const onDrain = done(true);
        const onClose = done(false);
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      });
    };
    if (!(await write(head))) return;
    for (let left = h.pageBytes - head.length - tail.length; left > 0; left -= fill.length) {
      if (!(await write(left >= fill.length ? fill : fill.subarray(0, left)))) return;
    }
    if (!(await write(tail))) return;
    if (h.length === 'lying') socket.end();
    else res.end();
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
    outsideBase,
    setHostile(h) {
      hostile = h;
    },
    hugeBytesSent: () => hugeSent,
    setPageSize(entries) {
      pageSize = entries;
    },
    addObservation(resource) {
      resources.push({ ...resource, meta: { lastUpdated: new Date().toISOString() } });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
