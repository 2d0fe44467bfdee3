import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { createIdentityVerifier, localKeys } from '../../server/src/auth/identity.ts';
import { loadConfig, type AdminClaim } from '../../server/src/config.ts';

/** Who becomes an administrator, per provider recipe (docs/OPERATIONS.md#single-sign-on). */
let sign: (claims: JWTPayload) => Promise<string>;
let jwks: { keys: object[] };

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256' }] };
  sign = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer('https://idp.example').setAudience('consilium').setSubject('user-1').setIssuedAt().setExpirationTime('5m').sign(privateKey);
});

const admin = async (claims: JWTPayload, setting?: AdminClaim) =>
  (await createIdentityVerifier({ issuer: 'https://idp.example', audience: 'consilium', keys: localKeys(jwks), ...(setting ? { admin: setting } : {}) }).verify(await sign(claims))).admin;

describe('the administrator claim', () => {
  it('by default: consilium:admin among scope, scp, roles or groups (as before)', async () => {
    expect(await admin({ scope: 'openid consilium:admin' })).toBe(true);
    expect(await admin({ roles: ['consilium:admin'] })).toBe(true);
    expect(await admin({ groups: ['clinicians'] })).toBe(false);
  });

  it('Entra ID: a group object id in groups', async () => {
    const entra = { claim: 'groups', values: ['5f1c1b3e-1a2b-4c3d-9e8f-0a1b2c3d4e5f'] };
    expect(await admin({ groups: ['0000', '5f1c1b3e-1a2b-4c3d-9e8f-0a1b2c3d4e5f'] }, entra)).toBe(true);
    expect(await admin({ groups: ['0000'] }, entra)).toBe(false);
  });

  it('Keycloak: a realm role in realm_access.roles (a dot path)', async () => {
    const kc = { claim: 'realm_access.roles', values: ['consilium-admin'] };
    expect(await admin({ realm_access: { roles: ['offline_access', 'consilium-admin'] } }, kc)).toBe(true);
    expect(await admin({ realm_access: { roles: ['offline_access'] } }, kc)).toBe(false);
  });

  it('with a claim configured, a scope the client can simply ask for makes nobody an administrator', async () => {
    const okta = { claim: 'groups', values: ['Consilium Admins'] };
    expect(await admin({ scope: 'openid consilium:admin Consilium Admins', scp: ['Consilium Admins'], roles: ['Consilium Admins'] }, okta)).toBe(false);
    expect(await admin({ groups: ['Consilium Admins'] }, okta)).toBe(true);
  });

  it('hostile shapes never make an administrator', async () => {
    const kc = { claim: 'realm_access.roles', values: ['consilium-admin'] };
    expect(await admin({ 'realm_access.roles': ['consilium-admin'] }, kc)).toBe(false); // a literal dotted key is not the path
    expect(await admin({ realm_access: { roles: 'consilium-admin-not' } }, kc)).toBe(false);
    expect(await admin({ realm_access: { roles: [{ toString: 'consilium-admin' }] } }, kc)).toBe(false);
    expect(await admin({ realm_access: [['consilium-admin']] }, { claim: 'realm_access.0', values: ['consilium-admin'] })).toBe(false);
    expect(await admin({ groups: ['x'] }, { claim: '__proto__.groups', values: ['x'] })).toBe(false);
  });
});

describe('configuration', () => {
  const base = { AUTH_JWKS_URL: 'https://idp/certs', AUTH_ISSUER: 'https://idp', AUTH_AUDIENCE: 'consilium' };
  it('reads AUTH_ADMIN_CLAIM, AUTH_ADMIN_VALUES and AUTH_SCOPES', () => {
    const c = loadConfig({ ...base, AUTH_ADMIN_CLAIM: 'realm_access.roles', AUTH_ADMIN_VALUES: 'consilium-admin, it-admins', AUTH_SCOPES: 'openid profile api://consilium/access' });
    expect(c.auth).toMatchObject({ admin: { claim: 'realm_access.roles', values: ['consilium-admin', 'it-admins'] }, scopes: 'openid profile api://consilium/access' });
  });
  it('refuses a claim path that is not one', () => {
    expect(() => loadConfig({ ...base, AUTH_ADMIN_CLAIM: 'groups[0]' })).toThrow(/AUTH_ADMIN_CLAIM/);
    expect(() => loadConfig({ ...base, AUTH_ADMIN_VALUES: ' , ' })).toThrow(/AUTH_ADMIN_VALUES/);
  });
});
