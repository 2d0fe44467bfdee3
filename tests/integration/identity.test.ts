import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsiliumApi } from '../../client/src/sdk/index.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** A stand-in hospital identity provider: real keys, a real JWKS endpoint on port 0. */
const ISSUER = 'https://idp.hospital.test/realms/clinic';
const AUDIENCE = 'consilium';
let jwksServer: http.Server;
let server: TestServer;
const keys: Record<'RS256' | 'ES256' | 'EdDSA', { privateKey: CryptoKey; jwk: JWK }> = {} as never;

beforeAll(async () => {
  for (const [alg, opts] of [['RS256', {}], ['ES256', {}], ['EdDSA', { crv: 'Ed25519' }]] as const) {
    const pair = await generateKeyPair(alg, opts);
    keys[alg] = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: `k-${alg}`, alg } };
  }
  jwksServer = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ keys: Object.values(keys).map((k) => k.jwk) }));
  });
  await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/certs`;
  server = await startTestServer({}, { AUTH_JWKS_URL: jwksUrl, AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });
});
afterAll(async () => {
  await server?.stop();
  jwksServer?.close();
});

interface TokenOpts {
  alg?: 'RS256' | 'ES256' | 'EdDSA';
  iss?: string;
  aud?: string;
  exp?: number;
  nbf?: number;
  claims?: Record<string, unknown>;
  kid?: string;
}
async function token(o: TokenOpts = {}): Promise<string> {
  const alg = o.alg ?? 'RS256';
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ name: 'Dr. Idp', ...o.claims })
    .setProtectedHeader({ alg, kid: o.kid ?? `k-${alg}` })
    .setIssuer(o.iss ?? ISSUER)
    .setAudience(o.aud ?? AUDIENCE)
    .setSubject('idp.user')
    .setIssuedAt(now)
    .setExpirationTime(o.exp ?? now + 300);
  if (o.nbf !== undefined) jwt.setNotBefore(o.nbf);
  return jwt.sign(keys[alg].privateKey);
}

async function status(identityToken: string): Promise<string> {
  const api = new ConsiliumApi(server.app.url);
  api.identityToken = identityToken;
  try {
    await api.listRooms();
    return 'OK';
  } catch (err) {
    return (err as { code: string }).code;
  }
}

describe('identity tokens from the hospital provider (JWKS)', () => {
  it('accepts RS256, ES256 and EdDSA tokens from the configured issuer', async () => {
    expect(await status(await token({ alg: 'RS256' }))).toBe('OK');
    expect(await status(await token({ alg: 'ES256' }))).toBe('OK');
    expect(await status(await token({ alg: 'EdDSA' }))).toBe('OK');
  });

  it('checks issuer, audience, expiry and not-before (30 s tolerance)', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await status(await token({ iss: 'https://evil.test' }))).toBe('AUTH_INVALID');
    expect(await status(await token({ aud: 'another-app' }))).toBe('AUTH_INVALID');
    expect(await status(await token({ exp: now - 120 }))).toBe('AUTH_EXPIRED');
    expect(await status(await token({ exp: now - 10 }))).toBe('OK'); // within clock tolerance
    expect(await status(await token({ nbf: now + 300 }))).toBe('AUTH_INVALID');
    expect(await status(await token({ kid: 'unknown-kid' }))).toBe('AUTH_INVALID');
  });

  it('pins algorithms: HS256 (keyed with the public key) and alg=none are refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const hs = await new SignJWT({ name: 'x' })
      .setProtectedHeader({ alg: 'HS256', kid: 'k-RS256' })
      .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject('idp.user').setIssuedAt(now).setExpirationTime(now + 60)
      .sign(new TextEncoder().encode(JSON.stringify(keys.RS256.jwk)));
    expect(await status(hs)).toBe('AUTH_INVALID');
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const none = `${b64({ alg: 'none' })}.${b64({ iss: ISSUER, aud: AUDIENCE, sub: 'idp.user', iat: now, exp: now + 60 })}.`;
    expect(await status(none)).toBe('AUTH_INVALID');
  });

  it('makes admins from the consilium:admin scope (scope string or roles list)', async () => {
    const api = new ConsiliumApi(server.app.url);
    api.identityToken = await token({ claims: { scope: 'openid profile' } });
    await expect(api.createRoom({ title: 'x', kind: 'training', participants: [] })).rejects.toMatchObject({ code: 'ADMIN_REQUIRED', status: 403 });
    api.identityToken = await token({ claims: { scope: 'openid consilium:admin' } });
    expect((await api.createRoom({ title: 'x', kind: 'training', participants: [] })).title).toBe('x');
    api.identityToken = await token({ claims: { roles: ['consilium:admin'] } });
    expect((await api.listRooms()).length).toBeGreaterThan(0);
  });

  it('has no development login when a real provider is configured', async () => {
    const res = await fetch(`${server.app.url}/api/dev/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"userId":"x","name":"x"}' });
    expect(res.status).toBe(404);
    expect(server.app.devIdentity).toBe(false);
  });
});
