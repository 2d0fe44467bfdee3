import { errors, importJWK, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { AppError } from '../errors.ts';
import type { SigningKey } from './keys.ts';
import { TICKET_ISSUER } from './tickets.ts';

/**
 * Links to a recording's voice. A browser's <audio> element fetches its source
 * itself — Range request after Range request as it plays and seeks — and
 * cannot send our bearer token, so the player asks (with the token) for a
 * short-lived link naming one user and one recording, signed with the
 * server's own Ed25519 key. The link only stands in for the token: every
 * request through it checks again that the user may still watch the
 * recording (a revoked grant ends it at once).
 */
export const AUDIO_LINK_AUDIENCE = 'urn:consilium:recording-audio';
/** Its own JOSE `typ`: no room ticket or other token passes as an audio link, nor the other way round. */
export const AUDIO_LINK_TYPE = 'consilium-audio+jwt';
/** Long enough for the player's Range requests between refreshes (it asks for a new link well before). */
export const AUDIO_LINK_SECONDS = 15 * 60;

export class AudioLinks {
  private readonly publicKey: Promise<CryptoKey>;

  constructor(
    private readonly key: SigningKey,
    private readonly ttlSeconds = AUDIO_LINK_SECONDS,
  ) {
    this.publicKey = importJWK(key.publicJwk, 'EdDSA') as Promise<CryptoKey>;
  }

  /** A link for this person (their administrator standing as their identity token had it) and this recording. */
  async issue(who: { userId: string; admin: boolean }, recordingId: string): Promise<{ token: string; expiresAt: Date }> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + this.ttlSeconds;
    const token = await new SignJWT({ rec: recordingId, adm: who.admin })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid, typ: AUDIO_LINK_TYPE })
      .setIssuer(TICKET_ISSUER)
      .setAudience(AUDIO_LINK_AUDIENCE)
      .setSubject(who.userId)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.key.privateKey);
    return { token, expiresAt: new Date(exp * 1000) };
  }

  /** Whom a link was issued to, when it is ours, unexpired and for this very recording; else AUDIO_LINK_INVALID. */
  async verify(token: string | undefined, recordingId: string): Promise<{ userId: string; admin: boolean }> {
    if (!token) throw new AppError('AUDIO_LINK_INVALID');
    try {
      const { payload } = await jwtVerify(token, await this.publicKey, {
        issuer: TICKET_ISSUER,
        audience: AUDIO_LINK_AUDIENCE,
        algorithms: ['EdDSA'],
        typ: AUDIO_LINK_TYPE,
        clockTolerance: 5,
        requiredClaims: ['sub', 'exp', 'iat', 'rec'],
      });
      if (payload['rec'] !== recordingId || typeof payload.sub !== 'string') throw new AppError('AUDIO_LINK_INVALID', 'this link is for another recording');
      return { userId: payload.sub, admin: payload['adm'] === true };
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('AUDIO_LINK_INVALID', err instanceof errors.JWTExpired ? 'this link has expired; ask for a new one' : undefined);
    }
  }
}
