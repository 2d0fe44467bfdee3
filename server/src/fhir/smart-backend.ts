import { randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, importJWK, importPKCS8, SignJWT, type CryptoKey, type JWK } from 'jose';
import type { ErrorCode } from '../../../shared/src/errors.ts';
import { isRedirect, readBoundedResponse, ResponseTooLarge } from '../outbound.ts';
import { isLoopbackHost } from '../secrets.ts';

/**
 * SMART Backend Services (client-credentials with a signed JWT assertion,
 * RFC 7523): Consilium signs a short-lived assertion with its private key
 * (RS384 or ES384, as the SMART specification requires servers to accept),
 * exchanges it at the token endpoint for an access token with `system/*.rs`
 * scopes, and caches the token until shortly before it expires. The hospital
 * registers Consilium's public key (`publicJwks()`, also served at
 * `/.well-known/fhir-client-jwks.json`).
 *
 * Like the FHIR client, it never follows a redirect (the assertion and the
 * token must not travel elsewhere), reads at most TOKEN_RESPONSE_BYTES of an
 * answer, and takes a discovered token endpoint only over https (plain http
 * only to the FHIR server's own plain-http host, or loopback).
 */
export interface SmartBackendOptions {
  baseUrl: string;
  clientId: string;
  /** PKCS#8 PEM, or a private JWK as JSON. */
  privateKey: string;
  keyId: string | null;
  /** null → discovered from `<baseUrl>/.well-known/smart-configuration`. */
  tokenUrl: string | null;
  scopes: string;
  fetch?: typeof fetch;
}

export class SmartAuthError extends Error {
  constructor(
    message: string,
    /** The stable code the API answers with. */
    public readonly code: ErrorCode = 'FHIR_SERVER_ERROR',
  ) {
    super(message);
  }
}

/** A token or SMART configuration answer is a few hundred bytes; 64 KiB is generous. */
const TOKEN_RESPONSE_BYTES = 64 * 1024;

/** POST or GET without following redirects; the JSON body (null if it is not JSON), read within the bound. */
async function callJson(what: string, fetchImpl: typeof fetch, url: string, init: RequestInit): Promise<{ status: number; ok: boolean; body: Record<string, unknown> | null }> {
  let res: Response;
  let bytes: Buffer;
  try {
    res = await fetchImpl(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(15_000) });
    if (isRedirect(res)) {
      await res.body?.cancel().catch(() => {});
      throw new SmartAuthError(`${what} answered with a redirect (${res.status}), which is not followed: configure the final address`, 'FHIR_REDIRECT_REFUSED');
    }
    bytes = await readBoundedResponse(res, TOKEN_RESPONSE_BYTES);
  } catch (err) {
    if (err instanceof SmartAuthError) throw err;
    throw new SmartAuthError(`${what} ${err instanceof ResponseTooLarge ? `answered with more than ${TOKEN_RESPONSE_BYTES} bytes` : `unreachable (${(err as Error).name})`}`);
  }
  let body: unknown = null;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    body = null;
  }
  return { status: res.status, ok: res.ok, body: typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : null };
}

interface SigningKey {
  key: CryptoKey;
  alg: 'RS384' | 'ES384';
  kid: string;
  publicJwk: JWK;
}

export class SmartBackendAuth {
  private signing: Promise<SigningKey> | null = null;
  private token: { value: string; expiresAt: number } | null = null;
  private tokenUrl: string | null;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: SmartBackendOptions) {
    this.tokenUrl = opts.tokenUrl;
    this.fetch = opts.fetch ?? fetch;
  }

  /** A valid access token, fetched again when the cached one is within 30 s of expiring (or `fresh`). */
  async accessToken(fresh = false): Promise<string> {
    if (!fresh && this.token && this.token.expiresAt - 30_000 > Date.now()) return this.token.value;
    const tokenUrl = await this.resolveTokenUrl();
    const { key, alg, kid } = await this.signingKey();
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg, kid, typ: 'JWT' })
      .setIssuer(this.opts.clientId)
      .setSubject(this.opts.clientId)
      .setAudience(tokenUrl)
      .setIssuedAt(now)
      .setExpirationTime(now + 300) // SMART: no more than five minutes
      .sign(key);
    const res = await callJson('token endpoint', this.fetch, tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        scope: this.opts.scopes,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }),
    });
    const body = res.body as { access_token?: unknown; expires_in?: unknown; error?: unknown } | null;
    if (!res.ok || typeof body?.access_token !== 'string') {
      throw new SmartAuthError(`token endpoint answered ${res.status}${typeof body?.error === 'string' ? ` (${body.error.slice(0, 60)})` : ''}`);
    }
    const ttl = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 300;
    this.token = { value: body.access_token, expiresAt: Date.now() + ttl * 1000 };
    return body.access_token;
  }

  /** The public key set the hospital registers for this client. */
  async publicJwks(): Promise<{ keys: JWK[] }> {
    const { publicJwk } = await this.signingKey();
    return { keys: [publicJwk] };
  }

  private async resolveTokenUrl(): Promise<string> {
    if (this.tokenUrl) return this.tokenUrl;
    const res = await callJson('SMART configuration', this.fetch, `${this.opts.baseUrl}/.well-known/smart-configuration`, { headers: { accept: 'application/json' } });
    const endpoint = res.body?.['token_endpoint'];
    if (!res.ok || typeof endpoint !== 'string') throw new SmartAuthError(`SMART configuration not found (${res.status}); set FHIR_TOKEN_URL`);
    // The signed assertion goes there: https, or plain http only to the FHIR server's own host (vetted by
    // config.ts like FHIR_TOKEN_URL) or loopback. The FHIR server's answer cannot weaken the transport.
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      throw new SmartAuthError('SMART configuration names an invalid token endpoint; set FHIR_TOKEN_URL');
    }
    const base = new URL(this.opts.baseUrl);
    const plainOk = url.protocol === 'http:' && base.protocol === 'http:' && (url.host === base.host || isLoopbackHost(url.hostname));
    if (url.protocol !== 'https:' && !plainOk) throw new SmartAuthError('SMART configuration names a token endpoint that is not https; set FHIR_TOKEN_URL');
    this.tokenUrl = url.href;
    return this.tokenUrl;
  }

  private signingKey(): Promise<SigningKey> {
    return (this.signing ??= loadSigningKey(this.opts.privateKey, this.opts.keyId));
  }
}

async function loadSigningKey(material: string, keyId: string | null): Promise<SigningKey> {
  const text = material.trim();
  let key: CryptoKey;
  let alg: SigningKey['alg'];
  if (text.startsWith('{')) {
    const jwk = JSON.parse(text) as JWK;
    alg = jwk.kty === 'EC' ? 'ES384' : 'RS384';
    key = (await importJWK(jwk, alg, { extractable: true })) as CryptoKey;
  } else {
    // PKCS#8 does not say which algorithm: try RSA, then P-384.
    try {
      alg = 'RS384';
      key = await importPKCS8(text, alg, { extractable: true });
    } catch {
      alg = 'ES384';
      key = await importPKCS8(text, alg, { extractable: true });
    }
  }
  const full = await exportJWK(key);
  const publicJwk: JWK = full.kty === 'EC' ? { kty: 'EC', crv: full.crv!, x: full.x!, y: full.y! } : { kty: 'RSA', n: full.n!, e: full.e! };
  const kid = keyId ?? (await calculateJwkThumbprint(publicJwk));
  return { key, alg, kid, publicJwk: { ...publicJwk, alg, kid, use: 'sig' } };
}
