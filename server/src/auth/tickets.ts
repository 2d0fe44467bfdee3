import { randomUUID } from 'node:crypto';
import { errors, importJWK, jwtVerify, SignJWT, type CryptoKey } from 'jose';
import { RoomRole } from '../../../shared/src/roles.ts';
import { AppError } from '../errors.ts';
import type { SigningKey } from './keys.ts';

/**
 * Room tickets: short-lived JWTs signed with the server's own Ed25519 key.
 * A ticket admits one user to one room with one role; the room trusts nothing
 * else about the client.
 */
export const TICKET_ISSUER = 'urn:consilium:server';
export const TICKET_AUDIENCE = 'urn:consilium:room';
/** Distinct JOSE `typ` so no other token the server signs can pass as a ticket. */
export const TICKET_TYPE = 'consilium-ticket+jwt';

export interface TicketClaims {
  sub: string;
  name: string;
  room: string;
  role: RoomRole;
  /** Space-separated scopes (SMART style). */
  scope: string;
  /** Uninvited administrator entering as observer. */
  admin: boolean;
  jti: string;
  iat: number;
  exp: number;
}

export interface IssuedTicket {
  ticket: string;
  expiresAt: Date;
  claims: TicketClaims;
}

export class TicketService {
  private publicKey: Promise<CryptoKey>;

  constructor(
    private readonly key: SigningKey,
    private readonly ttlSeconds: number,
  ) {
    if (ttlSeconds > 300) throw new Error('ticket lifetime must be at most 5 minutes');
    this.publicKey = importJWK(key.publicJwk, 'EdDSA') as Promise<CryptoKey>;
  }

  async issue(input: Omit<TicketClaims, 'jti' | 'exp' | 'iat'>): Promise<IssuedTicket> {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + this.ttlSeconds;
    const jti = randomUUID();
    const ticket = await new SignJWT({ name: input.name, room: input.room, role: input.role, scope: input.scope, admin: input.admin })
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid, typ: TICKET_TYPE })
      .setIssuer(TICKET_ISSUER)
      .setAudience(TICKET_AUDIENCE)
      .setSubject(input.sub)
      .setJti(jti)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(exp)
      .sign(this.key.privateKey);
    return { ticket, expiresAt: new Date(exp * 1000), claims: { ...input, jti, iat: now, exp } };
  }

  /** Verify a ticket for `roomId`; throws AppError with TICKET_* codes. */
  async verify(ticket: string | undefined, roomId: string): Promise<TicketClaims> {
    if (!ticket) throw new AppError('TICKET_REQUIRED');
    let payload;
    try {
      ({ payload } = await jwtVerify(ticket, await this.publicKey, {
        issuer: TICKET_ISSUER,
        audience: TICKET_AUDIENCE,
        algorithms: ['EdDSA'],
        typ: TICKET_TYPE,
        clockTolerance: 5,
        requiredClaims: ['sub', 'exp', 'iat', 'jti', 'room', 'role'],
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new AppError('TICKET_EXPIRED');
      throw new AppError('TICKET_INVALID');
    }
    const role = RoomRole.safeParse(payload['role']);
    if (!role.success || typeof payload['room'] !== 'string' || typeof payload['name'] !== 'string') {
      throw new AppError('TICKET_INVALID');
    }
    if (payload['room'] !== roomId) throw new AppError('TICKET_WRONG_ROOM');
    return {
      sub: payload.sub!,
      name: payload['name'],
      room: payload['room'],
      role: role.data,
      scope: typeof payload['scope'] === 'string' ? payload['scope'] : '',
      admin: payload['admin'] === true,
      jti: payload.jti!,
      iat: payload.iat!,
      exp: payload.exp!,
    };
  }
}
