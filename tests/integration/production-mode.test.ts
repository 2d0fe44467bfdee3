import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestOidcProvider } from '../support/oidc-provider.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const root = path.resolve(import.meta.dirname, '../..');
const idp = new TestOidcProvider('consilium-web', 'consilium', { sub: 'p.user', name: 'P User', scope: 'openid' });
let server: TestServer;

beforeAll(async () => {
  await idp.start();
  server = await startTestServer({}, { NODE_ENV: 'production', AUTH_JWKS_URL: `${idp.issuer}/jwks`, AUTH_ISSUER: idp.issuer, AUTH_AUDIENCE: 'consilium', PUBLIC_URL: 'https://consilium.hospital.example', AUDIT_CHECKPOINTS: 'off' });
});
afterAll(async () => {
  await server?.stop();
  await idp.stop();
});

/** Run the real entry point (server/src/main.ts) and collect how it ends. */
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

describe('production mode', () => {
  it('the server refuses to start with the compose sample LiveKit secret or a short metrics token', async () => {
    const base = {
      NODE_ENV: 'production',
      PORT: '0',
      AUTH_JWKS_URL: 'https://idp.hospital.example/certs',
      AUTH_ISSUER: 'https://idp.hospital.example',
      AUTH_AUDIENCE: 'consilium',
      PUBLIC_URL: 'https://consilium.hospital.example',
      DATABASE_URL: 'postgres://consilium@127.0.0.1:1/none',
      AUDIT_CHECKPOINTS: 'off',
    };
    const sample = await runMain({ ...base, LIVEKIT_URL: 'wss://v.example', LIVEKIT_API_KEY: 'consilium', LIVEKIT_API_SECRET: 'change-me-to-a-long-random-secret-0123456789', METRICS_TOKEN: 'short-but-16-chars' });
    expect(sample.code).toBe(78);
    expect(sample.stderr).toMatch(/LIVEKIT_API_SECRET: is a sample published in the Consilium repository/);
    expect(sample.stderr).toMatch(/METRICS_TOKEN: must be at least 32 bytes/);
  }, 30_000);

  it('the server refuses to start with a development database password or plain-text remote FHIR, token and LiveKit URLs, naming each', async () => {
    const run = await runMain({
      NODE_ENV: 'production',
      PORT: '0',
      AUTH_JWKS_URL: 'https://idp.hospital.example/certs',
      AUTH_ISSUER: 'https://idp.hospital.example',
      AUTH_AUDIENCE: 'consilium',
      PUBLIC_URL: 'https://consilium.hospital.example',
      DATABASE_URL: 'postgres://consilium_app@127.0.0.1:1/none',
      DATABASE_OWNER_URL: 'postgres://consilium:consilium-dev-only@127.0.0.1:1/none', // docker-compose.dev.yml's
      AUDIT_CHECKPOINTS: 'off',
      FHIR_BASE_URL: 'http://fhir.hospital.example/r4',
      FHIR_TOKEN_URL: 'http://fhir.hospital.example/token',
      FHIR_CLIENT_ID: 'consilium',
      FHIR_PRIVATE_KEY: 'unused: the configuration is refused first',
      LIVEKIT_URL: 'ws://voice.hospital.example:7880',
      LIVEKIT_API_KEY: 'consilium',
      LIVEKIT_API_SECRET: randomBytes(36).toString('base64'), // strong: only the URLs are wrong
    });
    expect(run.code).toBe(78);
    expect(run.stderr).toMatch(/DATABASE_OWNER_URL \(password\): is a sample published in the Consilium repository/);
    expect(run.stderr).toMatch(/FHIR_BASE_URL: must use https:\/\/ in production/);
    expect(run.stderr).toMatch(/FHIR_TOKEN_URL: must use https:\/\/ in production/);
    expect(run.stderr).toMatch(/LIVEKIT_URL: must use wss:\/\/ in production/);
    expect(run.stderr).not.toContain('consilium-dev-only'); // the refusal names the variable, never the secret
  }, 30_000);

  it('a production server has no development identity provider: no sign-in, no keys, no anonymous access', async () => {
    const url = `http://127.0.0.1:${server.app.port}`; // app.url is the public URL
    expect(server.app.devIdentity).toBe(false);
    const login = await fetch(`${url}/api/dev/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userId: 'attacker', name: 'A', admin: true }) });
    expect(login.status).toBe(404);
    expect((await fetch(`${url}/.well-known/jwks.json`)).status).toBe(404);
    expect((await fetch(`${url}/api/rooms`)).status).toBe(401);
    expect(await (await fetch(`${url}/api/auth/config`)).json()).toMatchObject({ mode: 'oidc', issuer: idp.issuer });
  });
});
