import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/src/config.ts';

/**
 * The Keycloak realm export and the compose override that uses it agree with each other and with what
 * the app does (no Keycloak runs in CI: this is what can be checked without one).
 */
const root = path.resolve(import.meta.dirname, '../..');
const realm = JSON.parse(readFileSync(path.join(root, 'deploy/keycloak/consilium-realm.json'), 'utf8')) as {
  realm: string;
  roles: { realm: { name: string }[] };
  clients: { clientId: string; publicClient: boolean; redirectUris: string[]; webOrigins: string[]; directAccessGrantsEnabled: boolean; attributes: Record<string, string>; protocolMappers: { protocolMapper: string; config: Record<string, string> }[] }[];
  users: { username: string; realmRoles: string[] }[];
};
const compose = readFileSync(path.join(root, 'docker-compose.keycloak.yml'), 'utf8');
/** The override's app environment, as `KEY: value` lines. */
const env = Object.fromEntries([...compose.matchAll(/^ {6}(AUTH_[A-Z_]+): (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));

describe('Keycloak recipe', () => {
  const client = realm.clients.find((c) => c.clientId === env['AUTH_CLIENT_ID'])!;

  it('the compose override configures a valid OIDC setup for the app', () => {
    const config = loadConfig({ NODE_ENV: 'development', PUBLIC_URL: 'http://localhost:2567', ...env });
    expect(config.auth).toMatchObject({ mode: 'oidc', issuer: `http://localhost:8080/realms/${realm.realm}`, audience: 'consilium', clientId: 'consilium', admin: { claim: 'realm_access.roles', values: ['consilium-admin'] } });
    expect(compose).toContain('KC_HOSTNAME: http://localhost:8080'); // tokens carry the issuer the app expects
    expect(compose).toContain('./deploy/keycloak/consilium-realm.json:/opt/keycloak/data/import/');
  });

  it('the client is public with PKCE, and redirects only to the app and the console', () => {
    expect(client).toBeDefined();
    expect(client.publicClient).toBe(true);
    expect(client.directAccessGrantsEnabled).toBe(false);
    expect(client.attributes['pkce.code.challenge.method']).toBe('S256');
    // client/src/app/auth.ts redirects to origin + pathname: / for the app, /admin for the console.
    expect(client.redirectUris.sort()).toEqual(['http://localhost:2567/', 'http://localhost:2567/admin', 'http://localhost:2567/admin/']);
    expect(client.webOrigins).toEqual(['http://localhost:2567']);
  });

  it('access tokens carry the audience the app checks, and the admin role exists and is held by the admin user only', () => {
    const audience = client.protocolMappers.find((m) => m.protocolMapper === 'oidc-audience-mapper')!;
    expect(audience.config['included.client.audience']).toBe(env['AUTH_AUDIENCE']);
    expect(audience.config['access.token.claim']).toBe('true');
    expect(realm.roles.realm.map((r) => r.name)).toContain(env['AUTH_ADMIN_VALUES']);
    expect(realm.users.filter((u) => u.realmRoles.includes(env['AUTH_ADMIN_VALUES']!)).map((u) => u.username)).toEqual(['it.admin']);
  });
});
