import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/src/config.ts';

describe('config', () => {
  it('has working defaults for a fresh machine: port 2567, embedded database, dev identity, demo seeding', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 2567, databaseUrl: null, dataDir: '.data', auth: { mode: 'dev' }, seedDemo: true, ticketTtlSeconds: 300, nodeEnv: 'development' });
  });

  it('uses a given database and does not seed it unless asked', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db' })).toMatchObject({ databaseUrl: 'postgres://u@h/db', seedDemo: false });
    expect(loadConfig({ DATABASE_URL: 'postgres://u@h/db', SEED_DEMO: 'true' }).seedDemo).toBe(true);
  });

  it('configures the hospital identity provider when AUTH_JWKS_URL is set, requiring issuer and audience', () => {
    const c = loadConfig({ AUTH_JWKS_URL: 'https://idp/certs', AUTH_ISSUER: 'https://idp', AUTH_AUDIENCE: 'consilium' });
    expect(c.auth).toEqual({ mode: 'oidc', jwksUrl: 'https://idp/certs', issuer: 'https://idp', audience: 'consilium', clientId: null, scopes: 'openid profile', admin: { claim: null, values: ['consilium:admin'] } });
    expect(() => loadConfig({ AUTH_JWKS_URL: 'https://idp/certs' })).toThrow(/AUTH_ISSUER.*\n.*AUTH_AUDIENCE/s);
  });

  it('refuses production without a real identity provider, public URL and database', () => {
    try {
      loadConfig({ NODE_ENV: 'production' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toMatch(/AUTH_JWKS_URL/);
      expect(problems).toMatch(/PUBLIC_URL/);
      expect(problems).toMatch(/DATABASE_URL/);
      expect(problems).toMatch(/AUDIT_CHECKPOINT_KEY_FILE: required in production/);
    }
    expect(
      loadConfig({ NODE_ENV: 'production', AUTH_JWKS_URL: 'https://idp/certs', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a', PUBLIC_URL: 'https://c.example/', DATABASE_URL: 'postgresql://x/y', AUDIT_CHECKPOINT_KEY_FILE: '/etc/consilium/audit.pem' }),
    ).toMatchObject({ publicUrl: 'https://c.example', auth: { mode: 'oidc' } });
  });

  it('rejects malformed values with the variable name', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ PORT: '70000' })).toThrow(/PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
    expect(() => loadConfig({ TICKET_TTL_SECONDS: '3600' })).toThrow(/TICKET_TTL_SECONDS/);
    expect(() => loadConfig({ AUTH_JWKS_URL: 'not a url' })).toThrow(/AUTH_JWKS_URL/);
    expect(() => loadConfig({ REDIS_URL: 'http://x' })).toThrow(/REDIS_URL/);
  });

  it('CDS_SERVICES: base URLs (trailing slash dropped, duplicates once); no credentials, query or fragment; https in production unless loopback', () => {
    expect(loadConfig({}).cds).toEqual({ services: [], builtin: true });
    expect(loadConfig({ CDS_SERVICES: 'https://cds.example.org/ , http://10.0.0.5:9000/hooks,https://cds.example.org', CDS_BUILTIN: 'off' }).cds).toEqual({ services: ['https://cds.example.org', 'http://10.0.0.5:9000/hooks'], builtin: false });
    for (const bad of ['ftp://cds.example.org', 'https://user:pw@cds.example.org', 'https://cds.example.org/?x=1', 'https://cds.example.org/#f', 'not a url']) {
      expect(() => loadConfig({ CDS_SERVICES: bad })).toThrow(/CDS_SERVICES/);
    }
    const prod = { NODE_ENV: 'production', AUTH_JWKS_URL: 'https://idp/certs', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a', PUBLIC_URL: 'https://c.example', DATABASE_URL: 'postgres://x/y', AUDIT_CHECKPOINTS: 'off' };
    expect(() => loadConfig({ ...prod, CDS_SERVICES: 'http://cds.hospital.org' })).toThrow(/CDS_SERVICES: must use https:\/\/ in production/);
    expect(loadConfig({ ...prod, CDS_SERVICES: 'http://127.0.0.1:9000,https://cds.hospital.org' }).cds.services).toHaveLength(2);
  });

  it('treats empty variables as unset', () => {
    expect(loadConfig({ DATABASE_URL: '', AUTH_JWKS_URL: ' ' })).toMatchObject({ databaseUrl: null, auth: { mode: 'dev' } });
  });
});

describe('audit config', () => {
  it('splits the owner role from the app role', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://app@h/db', DATABASE_OWNER_URL: 'postgres://owner@h/db' })).toMatchObject({ databaseUrl: 'postgres://app@h/db', databaseOwnerUrl: 'postgres://owner@h/db' });
    expect(loadConfig({ DATABASE_URL: 'postgres://app@h/db' }).databaseOwnerUrl).toBeNull();
    expect(() => loadConfig({ DATABASE_OWNER_URL: 'postgres://owner@h/db' })).toThrow(/DATABASE_URL: required with DATABASE_OWNER_URL/);
    expect(() => loadConfig({ DATABASE_URL: 'postgres://app@h/db', DATABASE_OWNER_URL: 'mysql://x' })).toThrow(/DATABASE_OWNER_URL/);
  });
  it('keeps the checkpoint key in the data folder in development, and makes production choose', () => {
    expect(loadConfig({ DATA_DIR: '/var/x' }).auditCheckpoints).toEqual({ keyFile: '/var/x/audit-checkpoint-key.pem', createKey: true, previousKeysFile: null, intervalMs: 60_000 });
    const prod = { NODE_ENV: 'production', AUTH_JWKS_URL: 'https://idp/certs', AUTH_ISSUER: 'i', AUTH_AUDIENCE: 'a', PUBLIC_URL: 'https://c.example', DATABASE_URL: 'postgres://x/y' };
    expect(() => loadConfig(prod)).toThrow(/AUDIT_CHECKPOINT_KEY_FILE/);
    expect(loadConfig({ ...prod, AUDIT_CHECKPOINT_KEY_FILE: '/k.pem', AUDIT_CHECKPOINT_INTERVAL_SECONDS: '30' }).auditCheckpoints).toMatchObject({ keyFile: '/k.pem', createKey: false, intervalMs: 30_000 });
    expect(loadConfig({ ...prod, AUDIT_CHECKPOINTS: 'off' }).auditCheckpoints).toBeNull();
    expect(() => loadConfig({ AUDIT_CHECKPOINT_INTERVAL_SECONDS: '0' })).toThrow(/AUDIT_CHECKPOINT_INTERVAL_SECONDS/);
  });
});

describe('LiveKit config', () => {
  const secret = 'x'.repeat(32);
  it('is off unless URL, key and secret are all set', () => {
    expect(loadConfig({}).livekit).toBeNull();
    expect(() => loadConfig({ LIVEKIT_URL: 'wss://lk.example' })).toThrow(/set all three/);
  });
  it('derives the API URL from the client URL', () => {
    expect(loadConfig({ LIVEKIT_URL: 'wss://lk.example/', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: secret }).livekit).toEqual({ url: 'wss://lk.example/', apiUrl: 'https://lk.example', apiKey: 'k', apiSecret: secret });
    expect(loadConfig({ LIVEKIT_URL: 'ws://lk:7880', LIVEKIT_API_URL: 'http://internal:7880', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: secret }).livekit?.apiUrl).toBe('http://internal:7880');
  });
  it('refuses short secrets', () => {
    expect(() => loadConfig({ LIVEKIT_URL: 'wss://lk', LIVEKIT_API_KEY: 'k', LIVEKIT_API_SECRET: 'short' })).toThrow(/32 characters/);
  });
});

describe('Redis config', () => {
  it('needs this process\'s public address with REDIS_URL', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' })).toThrow(/PUBLIC_URL: required with REDIS_URL/);
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379', PUBLIC_URL: 'https://node-1.consilium.example' }).redisUrl).toBe('redis://127.0.0.1:6379');
  });

  it('configures the hospital FHIR server: SMART client all-or-none, scopes checked, open servers refused in production', () => {
    expect(loadConfig({}).fhir).toBeNull();
    expect(loadConfig({ FHIR_BASE_URL: 'https://fhir.example/r4/', FHIR_CLIENT_ID: 'c', FHIR_PRIVATE_KEY: 'pem' }).fhir).toEqual({
      baseUrl: 'https://fhir.example/r4',
      auth: { clientId: 'c', privateKey: 'pem', keyId: null, tokenUrl: null, scopes: 'system/*.rs' },
      pollSeconds: 60,
    });
    expect(loadConfig({ FHIR_BASE_URL: 'http://hapi.local/fhir', FHIR_POLL_SECONDS: '0' }).fhir).toMatchObject({ auth: null, pollSeconds: 0 });
    expect(() => loadConfig({ FHIR_BASE_URL: 'https://f', FHIR_CLIENT_ID: 'c' })).toThrow(/FHIR_PRIVATE_KEY/);
    expect(() => loadConfig({ FHIR_BASE_URL: 'https://f', FHIR_CLIENT_ID: 'c', FHIR_PRIVATE_KEY: 'k', FHIR_SCOPES: 'patient/*.rs' })).toThrow(/FHIR_SCOPES/);
    expect(() => loadConfig({ FHIR_BASE_URL: 'not a url' })).toThrow(/FHIR_BASE_URL/);
    expect(() => loadConfig({ NODE_ENV: 'production', FHIR_BASE_URL: 'https://f' })).toThrow(/FHIR_CLIENT_ID, FHIR_PRIVATE_KEY: required with FHIR_BASE_URL in production/);
  });
});
