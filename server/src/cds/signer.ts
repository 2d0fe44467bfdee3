import { createHmac, randomUUID } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import type { SigningKey } from '../auth/keys.ts';

/** Where Consilium publishes the public key its CDS Hooks calls are signed with. */
export const CDS_JWKS_PATH = '/.well-known/cds-client-jwks.json';

/**
 * The JWT CDS Hooks 2.0 requires on every call: signed with Consilium's key
 * (ES384), `iss` this server's base URL, `aud` the exact service URL called,
 * a unique `jti`, five minutes at most; `jku` and `kid` let the service find
 * the key at CDS_JWKS_PATH.
 */
export class CdsSigner {
  private readonly userKey: Buffer;

  constructor(
    private readonly key: SigningKey<'ES384'>,
    private readonly issuer: () => string,
  ) {
    this.userKey = key.derive('cds-user-pseudonym');
  }

  /**
   * The hook's `context.userId` for a participant: `Practitioner/<HMAC>` under
   * a secret derived from this server's CDS client key — the same for them on
   * every call and process (a service may keep per-user state), yet a service
   * holding a staff list cannot test guesses against it as it could an
   * unkeyed hash.
   */
  hookUser(userId: string): string {
    return `Practitioner/${createHmac('sha256', this.userKey).update(userId).digest('hex').slice(0, 32)}`;
  }

  sign(audience: string): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'ES384', kid: this.key.kid, typ: 'JWT', jku: `${this.issuer()}${CDS_JWKS_PATH}` })
      .setIssuer(this.issuer())
      .setSubject('consilium')
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(randomUUID())
      .sign(this.key.privateKey);
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.key.publicJwk] };
  }
}
