import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

/**
 * A minimal OpenID Connect provider for tests: discovery, JWKS, an
 * authorization endpoint that signs the configured user in at once, and a
 * token endpoint that enforces PKCE (S256) and the redirect URI, issuing
 * RS256 access tokens for the configured audience. CORS-enabled like real IdPs.
 */
export class TestOidcProvider {
  private server: http.Server | null = null;
  private key!: { privateKey: CryptoKey; jwk: JWK };
  private readonly codes = new Map<string, { challenge: string; redirectUri: string; clientId: string }>();
  readonly tokenRequests: { verifierOk: boolean }[] = [];
  issuer = '';

  constructor(
    readonly clientId: string,
    readonly audience: string,
    readonly user: { sub: string; name: string; scope: string },
  ) {}

  async start(): Promise<void> {
    const { privateKey, publicKey } = await generateKeyPair('RS256');
    this.key = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'test-idp', alg: 'RS256' } };
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.issuer = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-headers', 'content-type');
    if (req.method === 'OPTIONS') return void res.end();
    const url = new URL(req.url ?? '/', this.issuer);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(200, { issuer: this.issuer, authorization_endpoint: `${this.issuer}/authorize`, token_endpoint: `${this.issuer}/token`, jwks_uri: `${this.issuer}/jwks`, code_challenge_methods_supported: ['S256'] });
    }
    if (url.pathname === '/jwks') return json(200, { keys: [this.key.jwk] });
    if (url.pathname === '/authorize') {
      const q = url.searchParams;
      if (q.get('response_type') !== 'code' || q.get('client_id') !== this.clientId || q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) {
        return json(400, { error: 'invalid_request' });
      }
      const code = randomBytes(16).toString('hex');
      this.codes.set(code, { challenge: q.get('code_challenge')!, redirectUri: q.get('redirect_uri')!, clientId: q.get('client_id')! });
      const back = new URL(q.get('redirect_uri')!);
      back.searchParams.set('code', code);
      back.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: back.toString() });
      return void res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let raw = '';
      for await (const chunk of req) raw += String(chunk);
      const body = new URLSearchParams(raw);
      const grant = this.codes.get(body.get('code') ?? '');
      this.codes.delete(body.get('code') ?? '');
      const verifier = body.get('code_verifier') ?? '';
      const verifierOk = !!grant && createHash('sha256').update(verifier).digest('base64url') === grant.challenge;
      this.tokenRequests.push({ verifierOk });
      if (!grant || !verifierOk || body.get('redirect_uri') !== grant.redirectUri || body.get('client_id') !== grant.clientId) return json(400, { error: 'invalid_grant' });
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ name: this.user.name, scope: this.user.scope })
        .setProtectedHeader({ alg: 'RS256', kid: 'test-idp' })
        .setIssuer(this.issuer)
        .setAudience(this.audience)
        .setSubject(this.user.sub)
        .setIssuedAt(now)
        .setExpirationTime(now + 600)
        .sign(this.key.privateKey);
      return json(200, { access_token: token, token_type: 'Bearer', expires_in: 600 });
    }
    json(404, { error: 'not_found' });
  }
}
