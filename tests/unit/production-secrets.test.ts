import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/src/config.ts';
import { secretProblem } from '../../server/src/secrets.ts';

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
    expect(problems({ ...PROD, PUBLIC_URL: 'http://consilium.hospital.example' })).toContain('PUBLIC_URL: must be an https:// URL in production');
    expect(problems({ ...PROD, AUTH_JWKS_URL: 'http://idp.hospital.example/certs' })).toContain('AUTH_JWKS_URL: must be an https:// URL in production');
    expect(problems({ ...PROD, AUTH_JWKS_URL: 'http://127.0.0.1:9000/certs' })).toEqual([]);
    expect(problems({ ...PROD, DATABASE_URL: 'postgres://consilium_app:@db/consilium' })).toContain('DATABASE_URL: has an empty password');
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
