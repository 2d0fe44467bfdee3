import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({}, { HTTP_RATE_LIMIT_PER_MINUTE: '20', IMAGING_FRAME_RATE_LIMIT_PER_MINUTE: '40', METRICS_TOKEN: 'metrics-token-0123456789' });
});
afterAll(async () => {
  await server?.stop();
});

describe('metrics', () => {
  it('serves Prometheus metrics only with the bearer token', async () => {
    const room = await server.createRoom({ participants: [{ userId: 'm1', role: 'host' }] });
    const s = await server.join('m1', room.id);
    expect((await fetch(`${server.app.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${server.app.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status).toBe(401);
    const res = await fetch(`${server.app.url}/metrics`, { headers: { authorization: 'Bearer metrics-token-0123456789' } });
    const text = await res.text();
    expect(text).toMatch(/^consilium_live_rooms 1$/m);
    expect(text).toMatch(/^consilium_connected_participants 1$/m);
    expect(text).toMatch(/^consilium_voice_degraded 0$/m);
    await s.leave();
  });
});

describe('HTTP rate limiting', () => {
  it('answers 429 RATE_LIMITED past the per-minute budget on /api, and leaves health checks alone', async () => {
    // (the metrics test above already spent a few requests of this minute's budget of 20)
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await fetch(`${server.app.url}/api/auth/config`)).status);
    const firstRefusal = statuses.indexOf(429);
    expect(firstRefusal).toBeGreaterThan(5);
    expect(statuses.slice(0, firstRefusal).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(firstRefusal).every((s) => s === 429)).toBe(true);
    const res = await fetch(`${server.app.url}/api/auth/config`);
    expect(res.status).toBe(429);
    expect(await res.json()).toEqual({ error: { code: 'RATE_LIMITED', message: expect.any(String) } });
    expect(res.headers.get('ratelimit-policy') ?? res.headers.get('ratelimit')).toBeTruthy();
    expect((await fetch(`${server.app.url}/healthz`)).status).toBe(200);
  });

  it('image frames have a budget of their own: reading a series does not spend the API budget, and has its own cap', async () => {
    const frame = `${server.app.url}/api/cases/00000000-0000-4000-8000-000000000000/imaging/series/1.2.3/instances/1.2.3.4/frames/1`;
    const statuses: number[] = [];
    for (let i = 0; i < 45; i++) statuses.push((await fetch(frame)).status);
    // Past the API's 20 (spent above) but within the frames' 40: answered (401, no token); past 40: refused.
    expect(statuses.slice(0, 30).every((s) => s === 401)).toBe(true);
    expect(statuses.slice(-3).every((s) => s === 429)).toBe(true);
  });
});
