import { createLocalJWKSet, createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ADMIN_SCOPE } from '../../../shared/src/roles.ts';
import { isSafeText } from '../../../shared/src/text.ts';
import { AppError } from '../errors.ts';
import { readBoundedResponse } from '../outbound.ts';
import type { AdminClaim } from '../config.ts';
import type { Principal } from './policy.ts';

/**
 * Verifies identity tokens from the hospital's OpenID Connect provider
 * (or the development issuer, through the very same checks).
 */
export const IDENTITY_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];
export const CLOCK_TOLERANCE_SECONDS = 30;

export interface IdentityVerifier {
  verify(token: string): Promise<Principal>;
}

export interface IdentitySettings {
  issuer: string;
  audience: string;
  keys: JWTVerifyGetKey;
  /** Who is an administrator (AUTH_ADMIN_CLAIM / AUTH_ADMIN_VALUES); default: `consilium:admin` among the scopes. */
  admin?: AdminClaim;
}

/** String values at a dot path of the token (`realm_access.roles`), a space-separated string split like `scope`. */
export function claimValues(payload: JWTPayload, claimPath: string): string[] {
  let v: unknown = payload;
  for (const key of claimPath.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v) || !Object.hasOwn(v, key)) return [];
    v = (v as Record<string, unknown>)[key];
  }
  if (typeof v === 'string') return v.split(/\s+/).filter(Boolean);
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * Administrator or not. With a configured claim only that claim counts: an OAuth scope a client may
 * simply ask for then makes nobody an administrator; without one, `consilium:admin` (or the configured
 * values) among scope, scp, roles or groups does, as before.
 */
function isAdmin(payload: JWTPayload, scopes: ReadonlySet<string>, admin: AdminClaim | undefined): boolean {
  const values = admin?.values ?? [ADMIN_SCOPE];
  if (admin?.claim) {
    const held = new Set(claimValues(payload, admin.claim));
    return values.some((v) => held.has(v));
  }
  return values.some((v) => scopes.has(v));
}

/** A key set is a few kilobytes; the provider's answer is read up to this and no further. */
export const JWKS_MAX_BYTES = 256 * 1024;

/**
 * jose fetches the key set without following redirects (`redirect: 'manual'`, 200 required) and gives up after
 * `timeoutDuration`, but reads the whole body; this fetch stops reading past JWKS_MAX_BYTES.
 */
const boundedJwksFetch = async (url: string, init: RequestInit): Promise<Response> => {
  const res = await fetch(url, { ...init, redirect: 'manual' });
  if (res.status !== 200) {
    await res.body?.cancel().catch(() => {});
    return new Response(null, { status: res.status }); // jose refuses anything but 200
  }
  const bytes = await readBoundedResponse(res, JWKS_MAX_BYTES);
  return new Response(new Uint8Array(bytes), { status: res.status, headers: { 'content-type': res.headers.get('content-type') ?? 'application/json' } });
};

export function remoteKeys(jwksUrl: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(jwksUrl), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000, [customFetch]: boundedJwksFetch });
}

export function localKeys(jwks: { keys: object[] }): JWTVerifyGetKey {
  return createLocalJWKSet(jwks as Parameters<typeof createLocalJWKSet>[0]);
}

/** Scopes may come as an OAuth `scope` string, an `scp` list, or `roles`/`groups` lists. */
export function claimedScopes(payload: JWTPayload): Set<string> {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string') v.split(/\s+/).filter(Boolean).forEach((s) => out.add(s));
    else if (Array.isArray(v)) v.forEach((s) => typeof s === 'string' && out.add(s));
  };
  add(payload['scope']);
  add(payload['scp']);
  add(payload['roles']);
  add(payload['groups']);
  return out;
}

export function createIdentityVerifier(settings: IdentitySettings): IdentityVerifier {
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, settings.keys, {
          issuer: settings.issuer,
          audience: settings.audience,
          algorithms: IDENTITY_ALGORITHMS,
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          requiredClaims: ['sub', 'exp', 'iat'],
        }));
      } catch (err) {
        if (err instanceof errors.JWTExpired) throw new AppError('AUTH_EXPIRED');
        throw new AppError('AUTH_INVALID');
      }
      const userId = payload.sub!;
      if (!/^[A-Za-z0-9._@:-]{1,128}$/.test(userId)) throw new AppError('AUTH_INVALID', 'Unsupported subject identifier');
      const nameClaim = payload['name'] ?? payload['preferred_username'];
      // The shared text rule applies to what the provider says, too: a name or scope that breaks it is
      // dropped (the name falls back to the user id) rather than stored or put into tickets.
      const name = typeof nameClaim === 'string' && nameClaim.trim() && isSafeText(nameClaim) ? Array.from(nameClaim.trim()).slice(0, 120).join('') : userId;
      const scopes = new Set([...claimedScopes(payload)].filter((s) => s.length <= 200 && isSafeText(s)));
      return { userId, name, admin: isAdmin(payload, scopes, settings.admin), scopes: [...scopes] };
    },
  };
}
