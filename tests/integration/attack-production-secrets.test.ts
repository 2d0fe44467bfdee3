import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Outside attack on issue 17 item 15 (production refuses published secrets in
 * every secret-bearing URL): both drivers also take the password from the
 * query string (`pg-connection-string` and ioredis read `?password=`), and
 * `productionUrlProblems` looks only at the URL's user-info password. So the
 * compose sample password passes, written the other way the drivers accept.
 */
const root = path.resolve(import.meta.dirname, '../..');

function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

const base = {
  NODE_ENV: 'production',
  PORT: '0',
  AUTH_JWKS_URL: 'https://idp.hospital.example/certs',
  AUTH_ISSUER: 'https://idp.hospital.example',
  AUTH_AUDIENCE: 'consilium',
  PUBLIC_URL: 'https://consilium.hospital.example',
  AUDIT_CHECKPOINTS: 'off',
};

describe('production mode: a published password in a URL query string', () => {
  it('DATABASE_URL / DATABASE_OWNER_URL with ?password=<compose sample> are refused, naming them (exit 78)', async () => {
    const run = await runMain({
      ...base,
      DATABASE_URL: 'postgres://consilium_app@127.0.0.1:1/consilium?password=consilium-app-dev-only',
      DATABASE_OWNER_URL: 'postgres://consilium@127.0.0.1:1/consilium?password=consilium-dev-only',
    });
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/DATABASE_URL/);
    expect(run.stderr).toMatch(/DATABASE_OWNER_URL/);
  }, 30_000);

  it('REDIS_URL with ?password=<compose sample> is refused, naming it (exit 78)', async () => {
    const run = await runMain({ ...base, DATABASE_URL: 'postgres://consilium@127.0.0.1:1/none', REDIS_URL: 'redis://127.0.0.1:1/0?password=consilium-dev-only' });
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/REDIS_URL/);
  }, 30_000);
});
