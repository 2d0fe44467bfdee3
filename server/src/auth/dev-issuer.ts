import { SignJWT } from 'jose';
import { ADMIN_SCOPE } from '../../../shared/src/roles.ts';
import type { DevLoginBody, DevLoginResponse } from '../../../shared/src/http.ts';
import type { SigningKey } from './keys.ts';

/**
 * Development identity provider: stands in for the hospital's OpenID Connect
 * provider when none is configured outside production. Anyone can log in as
 * anyone — which is the point in development and why it never runs in production.
 */
export const DEV_ISSUER = 'urn:consilium:dev-idp';
export const DEV_AUDIENCE = 'consilium';
const DEV_TOKEN_TTL_SECONDS = 3600;

export class DevIssuer {
  constructor(private readonly key: SigningKey) {}

  get jwks(): { keys: object[] } {
    return { keys: [this.key.publicJwk] };
  }

  async login(body: DevLoginBody): Promise<DevLoginResponse> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + DEV_TOKEN_TTL_SECONDS;
    const scope = ['openid', ...(body.admin ? [ADMIN_SCOPE] : []), ...(body.scopes ?? [])].join(' ');
    const token = await new SignJWT({ name: body.name, scope })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid, typ: 'JWT' })
      .setIssuer(DEV_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setSubject(body.userId)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(exp)
      .sign(this.key.privateKey);
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }
}
