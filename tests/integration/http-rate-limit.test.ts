import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, { HTTP_RATE_LIMIT_PER_MINUTE: '20' });
});
afterAll(async () => {
  await server?.stop();
});

describe('HTTP rate limiting', () => {
  it('answers 429 RATE_LIMITED past the per-minute budget on /api, and leaves health checks alone', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await fetch(`${server.app.url}/api/auth/config`)).status);
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    const res = await fetch(`${server.app.url}/api/auth/config`);
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String) } });
    expect(res.headers.get('ratelimit-policy') ?? res.headers.get('ratelimit')).toBeTruthy();
    expect((await fetch(`${server.app.url}/healthz`)).status).toBe(200);
  });
});
