import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportPKCS8, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIdentityVerifier, JWKS_MAX_BYTES, remoteKeys } from '../../server/src/auth/identity.ts';
import { MAX_RECORD_BYTES } from '../../server/src/fhir/fhir-client.ts';
import { SmartBackendAuth } from '../../server/src/fhir/smart-backend.ts';
import { IMPORT_BODY_LIMIT } from '../../server/src/http/cases.routes.ts';

/**
 * The server's other outgoing requests — the identity provider's JWKS and the
 * SMART token endpoint and configuration — against real loopback servers that
 * answer with endless bodies or redirects: reading stops at the bound, and
 * nothing follows a redirect.
 */
type Route = (req: http.IncomingMessage, res: http.ServerResponse) => void;
const servers: http.Server[] = [];
let sent = 0;

async function serve(route: Route): Promise<string> {
  const server = http.createServer(route);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A JSON body that never ends (chunked, no Content-Length), written as fast as the client reads. */
function endless(prefix: string): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    const fill = Buffer.alloc(64 * 1024, 'x');
    res.write(prefix);
    const pump = () => {
      while (!res.destroyed && sent < 200 * 1024 * 1024) {
        sent += fill.length;
        if (!res.write(fill)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  };
}

afterAll(async () => {
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
});

it('a pulled record may be exactly as large as a direct import', () => {
  expect(MAX_RECORD_BYTES).toBe(IMPORT_BODY_LIMIT);
});

describe("the identity provider's key set", () => {
  let token: string;
  let jwks: { keys: object[] };
  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };
    token = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('idp').setAudience('consilium').setSubject('u1').setIssuedAt().setExpirationTime('5m').sign(privateKey);
  });
  const verify = (url: string) => createIdentityVerifier({ issuer: 'idp', audience: 'consilium', keys: remoteKeys(url) }).verify(token);

  it('is used when well-formed (the bounded fetch is transparent)', async () => {
    const url = await serve((_req, res) => res.end(JSON.stringify(jwks)));
    await expect(verify(`${url}/jwks`)).resolves.toMatchObject({ userId: 'u1' });
  });

  it('an endless key set is abandoned at the bound: the token is refused, the rest never read', async () => {
    sent = 0;
    const url = await serve(endless('{"keys":[{"kty":"EC","x":"'));
    await expect(verify(`${url}/jwks`)).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    // What the provider managed to push: the bound plus socket buffers, not the 200 MB on offer.
    expect(sent).toBeLessThan(JWKS_MAX_BYTES + 16 * 1024 * 1024);
  });

  it('a redirect to keys elsewhere is not followed', async () => {
    const elsewhere: string[] = [];
    const other = await serve((req, res) => {
      elsewhere.push(req.url ?? '');
      res.end(JSON.stringify(jwks));
    });
    const url = await serve((_req, res) => {
      res.writeHead(302, { location: `${other}/jwks` });
      res.end();
    });
    await expect(verify(`${url}/jwks`)).rejects.toMatchObject({ code: 'AUTH_INVALID' });
    expect(elsewhere).toEqual([]);
  });
});

describe('the SMART token endpoint and configuration', () => {
  let key: string;
  beforeAll(async () => {
    key = await exportPKCS8((await generateKeyPair('RS384', { extractable: true })).privateKey);
  });
  const auth = (baseUrl: string, tokenUrl: string | null) => new SmartBackendAuth({ baseUrl, clientId: 'c', privateKey: key, keyId: null, tokenUrl, scopes: 'system/*.rs' });

  it('an endless token answer is abandoned at 64 KiB', async () => {
    sent = 0;
    const url = await serve(endless('{"access_token":"'));
    await expect(auth(`${url}/fhir`, `${url}/token`).accessToken()).rejects.toThrow(/token endpoint answered with more than 65536 bytes/);
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('an endless SMART configuration is abandoned too', async () => {
    sent = 0;
    const url = await serve(endless('{"token_endpoint":"'));
    await expect(auth(`${url}/fhir`, null).accessToken()).rejects.toThrow(/SMART configuration answered with more than/);
    expect(sent).toBeLessThan(16 * 1024 * 1024);
  });

  it('a discovered token endpoint on another host over plain http is refused before the assertion is sent', async () => {
    const url = await serve((_req, res) => res.end(JSON.stringify({ token_endpoint: 'http://token.hospital.invalid/token' })));
    await expect(auth(`${url}/fhir`, null).accessToken()).rejects.toThrow(/not https; set FHIR_TOKEN_URL/);
    const same = await serve((req, res) => res.end(JSON.stringify(req.url?.endsWith('smart-configuration') ? { token_endpoint: `${same}/token` } : { access_token: 'ok', expires_in: 60 })));
    await expect(auth(`${same}/fhir`, null).accessToken()).resolves.toBe('ok');
  });
});
