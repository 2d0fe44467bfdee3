import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/src/config.ts';
import { productionUrlProblems, PUBLISHED_SECRETS, secretProblem } from '../../server/src/secrets.ts';

const root = path.resolve(import.meta.dirname, '../..');
const STRONG = 'q7Jx2v9LkP4mZ8wR1tY6uB3nC5eH0aSdFgQpWoEiUrTy';
const PROD = {
  NODE_ENV: 'production',
  AUTH_JWKS_URL: 'https://idp.hospital.example/certs',
  AUTH_ISSUER: 'https://idp.hospital.example',
  AUTH_AUDIENCE: 'consilium',
  PUBLIC_URL: 'https://consilium.hospital.example',
  DATABASE_URL: `postgres://consilium:${STRONG}@db/consilium`,
  AUDIT_CHECKPOINTS: 'off', // an explicit production decision (the key-file rule is tested with the audit roles)
};
const LIVEKIT = { LIVEKIT_URL: 'wss://voice.hospital.example', LIVEKIT_API_KEY: 'consilium' };

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

/** Every secret-looking literal in the repository's tracked text files. */
function repositorySecrets(): { file: string; value: string }[] {
  const files = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
    .split('\n')
    .filter((f) => f && !/(^|\/)(package-lock\.json|.*\.(png|jpg|glb|ico|woff2?))$/.test(f));
  const patterns = [
    /\$\{[A-Z_]*(?:SECRET|PASSWORD|TOKEN)[A-Z_]*:-([^}]+)\}/g, // compose defaults
    /^\s*[A-Z_]*(?:SECRET|PASSWORD|TOKEN)[A-Z_]*\s*[:=]\s*["']?([^"'\s$#{}]+)/gm, // env/yaml assignments
    /LIVEKIT_KEYS:\s*["']?[\w-]+:\s*([^"'\s$}]+)/g,
    /(?:postgres(?:ql)?|rediss?):\/\/[^:/@\s'"`]+:([^@\s'"`$]+)@/g, // URL passwords
    /(?:SECRET|TOKEN|PASSWORD)\w*['"]?\s*[:=]\s*['"]([^'"\s]{8,})['"]/g, // code constants
  ];
  const found: { file: string; value: string }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(path.join(root, file), 'utf8');
    } catch {
      continue;
    }
    for (const re of patterns) for (const m of text.matchAll(re)) if (m[1] && !m[1].startsWith('$')) found.push({ file, value: m[1] });
  }
  return found;
}

describe('production transport and passwords', () => {
  it('refuses plain-http public and identity-key URLs (loopback excepted) and empty database passwords', () => {
    expect(problems({ ...PROD, PUBLIC_URL: 'http://consilium.hospital.example' })).toEqual([expect.stringMatching(/^PUBLIC_URL: must use https:\/\/ in production/)]);
    expect(problems({ ...PROD, AUTH_JWKS_URL: 'http://idp.hospital.example/certs' })).toEqual([expect.stringMatching(/^AUTH_JWKS_URL: must use https:\/\/ in production/)]);
    expect(problems({ ...PROD, AUTH_JWKS_URL: 'http://127.0.0.1:9000/certs' })).toEqual([]);
    expect(problems({ ...PROD, DATABASE_URL: 'postgres://consilium_app:@db/consilium' })).toContain('DATABASE_URL: has an empty password');
  });
});

describe('one rule for every URL that carries a secret or data', () => {
  const FHIR = { FHIR_CLIENT_ID: 'consilium', FHIR_PRIVATE_KEY: 'a private key (only parsed at start-up)' };
  const LK = { ...LIVEKIT, LIVEKIT_API_SECRET: STRONG };
  /** Each variable with what else it needs, and which TLS scheme it must use. */
  const WEB: [name: string, scheme: 'https' | 'wss', extra: Record<string, string>, shape: (scheme: string, host: string) => string][] = [
    ['PUBLIC_URL', 'https', {}, (s, h) => `${s}://${h}`],
    ['AUTH_JWKS_URL', 'https', { AUTH_ISSUER: 'https://idp.hospital.example', AUTH_AUDIENCE: 'consilium' }, (s, h) => `${s}://${h}/certs`],
    ['LIVEKIT_URL', 'wss', { LIVEKIT_API_KEY: 'consilium', LIVEKIT_API_SECRET: STRONG }, (s, h) => `${s}://${h}:7880`],
    ['LIVEKIT_API_URL', 'https', LK, (s, h) => `${s}://${h}:7880`],
    ['FHIR_BASE_URL', 'https', FHIR, (s, h) => `${s}://${h}/fhir/r4`],
    ['FHIR_TOKEN_URL', 'https', { ...FHIR, FHIR_BASE_URL: 'https://fhir.hospital.example/r4' }, (s, h) => `${s}://${h}/token`],
    ['IMAGING_VIEWER_URL', 'https', {}, (s, h) => `${s}://${h}/viewer?StudyInstanceUIDs={studyUid}`],
    ['DICOMWEB_URL', 'https', { DICOMWEB_USER: 'consilium', DICOMWEB_PASSWORD: STRONG }, (s, h) => `${s}://${h}/dicom-web`],
    ['CORS_ORIGINS', 'https', {}, (s, h) => `${s}://${h}`],
  ];

  it('plain http:// or ws:// to a remote host is refused for each, naming it; TLS and loopback pass', () => {
    for (const [name, scheme, extra, shape] of WEB) {
      const plain = scheme === 'wss' ? 'ws' : 'http';
      expect(problems({ ...PROD, ...extra, [name]: shape(scheme, 'svc.hospital.example') }), name).toEqual([]);
      expect(problems({ ...PROD, ...extra, [name]: shape(plain, 'svc.hospital.example') }), name).toEqual([expect.stringMatching(new RegExp(`^${name}: must use ${scheme}:// in production`))]);
      // (CORS_ORIGINS' own syntax has no IPv6 literals.)
      for (const loopback of ['127.0.0.1', 'localhost', '127.0.0.2', ...(name === 'CORS_ORIGINS' ? [] : ['[::1]'])]) expect(problems({ ...PROD, ...extra, [name]: shape(plain, loopback) }), `${name} ${loopback}`).toEqual([]);
      // Names that only look local are remote.
      for (const remote of ['localhost.hospital.example', '127.0.0.1.nip.io', '10.0.0.1']) expect(problems({ ...PROD, ...extra, [name]: shape(plain, remote) }), `${name} ${remote}`).toHaveLength(1);
    }
    // LIVEKIT_URL may also be https (the SDK turns it into wss); a plain http one is refused like ws.
    expect(problems({ ...PROD, ...LK, LIVEKIT_URL: 'http://voice.hospital.example' })).toEqual([expect.stringMatching(/^LIVEKIT_URL: must use https:\/\//)]);
    // Outside production the same values are fine (development, tests).
    for (const [name, scheme, extra, shape] of WEB) expect(problems({ ...extra, [name]: shape(scheme === 'wss' ? 'ws' : 'http', 'svc.example') }), name).toEqual([]);
  });

  it('every published development password is refused in each URL that can carry one', () => {
    const dev = readFileSync(path.join(root, 'docker-compose.dev.yml'), 'utf8');
    const devPasswords = [...dev.matchAll(/postgres:\/\/[^:]+:([^@]+)@/g)].map((m) => m[1]!);
    expect(devPasswords).toEqual(expect.arrayContaining(['consilium-dev-only', 'consilium-app-dev-only']));
    const URLS: [string, (pw: string) => string, Record<string, string>][] = [
      ['DATABASE_URL', (pw) => `postgres://consilium_app:${pw}@db/consilium`, {}],
      ['DATABASE_OWNER_URL', (pw) => `postgres://consilium:${pw}@db/consilium`, {}],
      ['REDIS_URL', (pw) => `redis://:${encodeURIComponent(pw)}@redis:6379`, {}],
      ['FHIR_BASE_URL', (pw) => `https://consilium:${encodeURIComponent(pw)}@fhir.hospital.example/r4`, FHIR],
    ];
    for (const [name, url, extra] of URLS) {
      for (const pw of new Set([...devPasswords, ...PUBLISHED_SECRETS])) {
        expect(problems({ ...PROD, ...extra, [name]: url(pw) }), `${name} ${pw}`).toEqual([expect.stringMatching(new RegExp(`^${name} \\(password\\): `))]);
      }
      expect(problems({ ...PROD, ...extra, [name]: url(STRONG) }), name).toEqual([]);
    }
    expect(problems({ ...PROD, DATABASE_OWNER_URL: 'postgres://consilium:@db/consilium' })).toEqual(['DATABASE_OWNER_URL: has an empty password']);
    // The PACS's basic-auth password obeys the same rule; an unauthenticated PACS is refused in production.
    for (const pw of PUBLISHED_SECRETS) expect(problems({ ...PROD, DICOMWEB_URL: 'https://pacs.hospital.example/dicom-web', DICOMWEB_USER: 'consilium', DICOMWEB_PASSWORD: pw })).toEqual([expect.stringMatching(/^DICOMWEB_PASSWORD: /)]);
    expect(problems({ ...PROD, DICOMWEB_URL: 'https://pacs.hospital.example/dicom-web' })).toEqual([expect.stringMatching(/^DICOMWEB_AUTH: required/)]);
    expect(problems({ ...PROD, DICOMWEB_URL: 'https://pacs.hospital.example/dicom-web', DICOMWEB_AUTH: 'smart' })).toEqual([expect.stringMatching(/^DICOMWEB_AUTH=smart: needs/)]);
    // No password at all (peer, certificate or a private network's trust) is the deployment's choice, as before.
    expect(problems({ ...PROD, DATABASE_OWNER_URL: 'postgres://consilium@db/consilium', REDIS_URL: 'redis://redis:6379' })).toEqual([]);
  });
});

describe('production secrets', () => {
  it('a strong configuration starts', () => {
    expect(problems({ ...PROD, ...LIVEKIT, LIVEKIT_API_SECRET: STRONG, METRICS_TOKEN: STRONG })).toEqual([]);
  });

  it('refuses the compose samples, short secrets and placeholders, naming the variable', () => {
    for (const sample of ['change-me-to-a-long-random-secret-0123456789', 'consilium-dev-only-livekit-secret-not-for-production', 'x'.repeat(31), 'changeme-changeme-changeme-changeme-1234']) {
      const found = problems({ ...PROD, ...LIVEKIT, LIVEKIT_API_SECRET: sample });
      expect(found.length).toBeGreaterThan(0);
      for (const p of found) expect(p).toMatch(/^LIVEKIT_API_SECRET: /);
    }
    expect(problems({ ...PROD, METRICS_TOKEN: 'metrics-token-0123456789' })).toEqual([expect.stringMatching(/^METRICS_TOKEN: .*published/)]);
    expect(problems({ ...PROD, DATABASE_URL: 'postgres://consilium:consilium@db/consilium' })).toEqual([expect.stringMatching(/^DATABASE_URL \(password\): /)]);
    expect(problems({ ...PROD, DATABASE_URL: 'postgres://consilium:short@db/consilium' })).toEqual([expect.stringMatching(/32 bytes/)]);
    // The same values are fine outside production (tests, development).
    expect(problems({ ...LIVEKIT, LIVEKIT_API_SECRET: 'change-me-to-a-long-random-secret-0123456789' })).toEqual([]);
  });

  it('every secret published anywhere in the repository is refused in production', () => {
    const found = repositorySecrets();
    // The scan finds the samples it must (so it is not silently matching nothing).
    expect(found.map((f) => f.value)).toEqual(expect.arrayContaining(['consilium-dev-only-livekit-secret-not-for-production', 'consilium-dev-only', 'metrics-token-0123456789']));
    const accepted = found.filter((f) => secretProblem(f.value) === null);
    expect(accepted, 'add these to server/src/secrets.ts PUBLISHED_SECRETS').toEqual([]);
  });

  it('docker-compose.yml runs production by default: no development identity provider, no sample secrets, no demo data', () => {
    const compose = readFileSync(path.join(root, 'docker-compose.yml'), 'utf8')
      .split('\n')
      .filter((l) => !l.trim().startsWith('#'))
      .join('\n');
    expect(compose).toMatch(/^\s+NODE_ENV: production$/m);
    expect(compose).not.toMatch(/NODE_ENV: \$\{/); // not switchable from .env
    expect(compose).not.toMatch(/development/i);
    expect(compose).toMatch(/^\s+SEED_DEMO: "false"$/m);
    for (const m of compose.matchAll(/\$\{([A-Z_]+):-([^}]*)\}/g)) {
      if (/SECRET|PASSWORD|TOKEN/.test(m[1]!)) expect([m[1], m[2]]).toEqual([m[1], '']);
    }
    const dev = readFileSync(path.join(root, 'docker-compose.dev.yml'), 'utf8');
    expect(dev).toMatch(/NODE_ENV: development/);
  });
});

describe('PRIVATE_NETWORK_HOSTS: plain http only to the hosts an operator named', () => {
  it('allows a named compose service, refuses every other remote host, a dotted name and a look-alike', () => {
    const hosts = new Set(['livekit']);
    expect(productionUrlProblems('LIVEKIT_API_URL', 'http://livekit:7880', hosts)).toEqual([]);
    expect(productionUrlProblems('LIVEKIT_API_URL', 'http://livekit:7880')).toHaveLength(1);
    expect(productionUrlProblems('LIVEKIT_API_URL', 'http://livekit.attacker.example:7880', hosts)).toHaveLength(1);
    expect(productionUrlProblems('FHIR_BASE_URL', 'http://fhir:8080/r4', hosts)).toHaveLength(1);
  });
});
