import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { Client } from '@colyseus/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromJoinError } from '../../client/src/sdk/errors.ts';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { PROTOCOL_VERSION } from '../../shared/src/protocol.ts';
import { RefusedJoins } from '../../server/src/audit/refused-joins.ts';
import { loadConfig } from '../../server/src/config.ts';
import { trustedProxies } from '../../server/src/trusted-proxies.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const JOIN_LIMIT = 30;
const CONSOLE_ORIGIN = 'https://console.hospital.example';

let server: TestServer;
let admin: ConsiliumClient;
let base: string;

beforeAll(async () => {
  server = await startTestServer({ refusedJoinsIntervalMs: 60_000 }, { JOIN_RATE_LIMIT_PER_MINUTE: String(JOIN_LIMIT), CORS_ORIGINS: CONSOLE_ORIGIN });
  base = server.app.url;
  admin = await server.as('load.admin', { admin: true });
});
afterAll(async () => {
  await server?.stop();
});

/** Declare a big body, send only its first kilobyte, and see what the server answers. */
function partialPost(pathname: string, headers: Record<string, string>, declared = 9 * 1024 * 1024): Promise<{ status: number; body: string; connection: string | undefined; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(pathname, base), { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': String(declared), ...headers } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection, ms: performance.now() - started }));
    });
    req.on('error', reject);
    req.write(Buffer.alloc(1024, 'a')); // and never the rest
  });
}

describe('bodies are read only after authentication', () => {
  it('an anonymous or forged 9 MB import is refused before the body arrives, and the connection is closed', async () => {
    const anon = await partialPost('/api/cases', {});
    expect([anon.status, JSON.parse(anon.body).error.code, anon.connection]).toEqual([401, 'AUTH_REQUIRED', 'close']);
    const forged = await partialPost('/api/cases', { authorization: 'Bearer eyJhbGciOiJFZERTQSJ9.e30.forged' });
    expect([forged.status, JSON.parse(forged.body).error.code]).toEqual([401, 'AUTH_INVALID']);
    const user = await server.as('load.user');
    const notAdmin = await partialPost('/api/cases', { authorization: `Bearer ${user.api.identityToken}` });
    expect([notAdmin.status, JSON.parse(notAdmin.body).error.code]).toEqual([403, 'ADMIN_REQUIRED']);
    // Every other route with a body, too.
    const rooms = await partialPost('/api/rooms', {});
    expect([rooms.status, JSON.parse(rooms.body).error.code]).toEqual([401, 'AUTH_REQUIRED']);
    const observations = await partialPost('/api/cases/00000000-0000-4000-8000-000000000001/observations', {});
    expect(observations.status).toBe(401);
  });

  it('ordinary bodies are capped at 64 KB, before parsing (by the declared length)', async () => {
    const big = await partialPost('/api/rooms', { authorization: `Bearer ${admin.api.identityToken}` }, 65 * 1024);
    expect([big.status, JSON.parse(big.body).error.code]).toEqual([400, 'BODY_INVALID']);
    const res = await fetch(`${base}/api/rooms`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.api.identityToken}` },
      body: JSON.stringify({ title: 'x', kind: 'case-conference', participants: [], pad: 'p'.repeat(70_000) }),
    });
    expect([res.status, ((await res.json()) as { error: { message: string } }).error.message]).toEqual([400, 'Request body is too large']);
  });

  it('join options are capped too (Colyseus reads them itself)', async () => {
    const join = await partialPost('/matchmake/joinOrCreate/clinic', { 'x-forwarded-for': '10.1.1.1' });
    expect(join.status).toBe(413);
    expect(JSON.parse(join.body).error).toMatch(/^BODY_INVALID: /);
  });
});

describe('join attempts are rate-limited per address and their refusals aggregated', () => {
  it(`after ${JOIN_LIMIT} attempts a minute an address gets RATE_LIMITED; other addresses still join; one audit row per address`, async () => {
    const room = await server.createRoom({ participants: [{ userId: 'load.host', role: 'host' }] });
    const flooder = new Client(base, { headers: { 'x-forwarded-for': '10.77.0.9' } });
    flooder.auth.token = 'forged.ticket.value';
    const codes: string[] = [];
    for (let i = 0; i < JOIN_LIMIT + 15; i++) {
      try {
        await flooder.joinById(room.id, { protocolVersion: PROTOCOL_VERSION });
        codes.push('JOINED');
      } catch (err) {
        codes.push(fromJoinError(err).code);
      }
    }
    expect(codes.slice(0, JOIN_LIMIT).every((c) => c === 'TICKET_INVALID')).toBe(true);
    expect(codes.slice(JOIN_LIMIT)).toEqual(Array(15).fill('RATE_LIMITED'));
    // A real participant from another address is not affected.
    const host = await server.join('load.host', room.id);
    expect(host.sessionId).toBeTruthy();
    await host.leave();

    await server.app.refusedJoins.flush();
    await server.app.audit.flush();
    const rows = (await admin.api.audit({ limit: 1000 })).events.filter((e) => e.action === 'ticket.refused' && e.details['address'] === '10.77.0.9');
    expect(rows).toHaveLength(1);
    // Forged tickets and rate-limited attempts alike: one row, with counts per code.
    expect(rows[0]!.details).toMatchObject({ attempts: JOIN_LIMIT + 15, codes: { TICKET_INVALID: JOIN_LIMIT, RATE_LIMITED: 15 } });
  });

  it('a forwarded address is believed only from a loopback proxy', async () => {
    const { clientAddress } = await import('../../server/src/http/front-door.ts');
    const loopbackOnly = trustedProxies([]);
    const req = (remoteAddress: string, xff?: string) => ({ socket: { remoteAddress }, headers: xff ? { 'x-forwarded-for': xff } : {} }) as unknown as http.IncomingMessage;
    expect(clientAddress(req('203.0.113.5', '10.0.0.1'), loopbackOnly)).toBe('203.0.113.5');
    expect(clientAddress(req('127.0.0.1', '198.51.100.7, 10.0.0.1'), loopbackOnly)).toBe('10.0.0.1');
    expect(clientAddress(req('::ffff:127.0.0.1', '198.51.100.7, 127.0.0.1'), loopbackOnly)).toBe('198.51.100.7');
    expect(clientAddress(req('::ffff:192.0.2.1'), loopbackOnly)).toBe('192.0.2.1');
  });

  it('TRUSTED_PROXIES: a load balancer on the private network names the client; a client cannot name itself through it, and nothing else is believed', async () => {
    const { clientAddress } = await import('../../server/src/http/front-door.ts');
    const lb = trustedProxies(['172.28.0.10', 'fd00:1::/64']);
    const req = (remoteAddress: string, xff?: string) => ({ socket: { remoteAddress }, headers: xff ? { 'x-forwarded-for': xff } : {} }) as unknown as http.IncomingMessage;
    // Two clients behind the balancer count as two addresses, not as the balancer's one.
    expect(clientAddress(req('::ffff:172.28.0.10', '198.51.100.7'), lb)).toBe('198.51.100.7');
    expect(clientAddress(req('fd00:1::5', '198.51.100.8'), lb)).toBe('198.51.100.8');
    // A client that writes its own X-Forwarded-For: the balancer appends the real peer, which is what counts.
    expect(clientAddress(req('172.28.0.10', '10.9.9.9, 203.0.113.66'), lb)).toBe('203.0.113.66');
    // Another host on the same network, or the balancer's neighbour: not a proxy.
    expect(clientAddress(req('172.28.0.11', '198.51.100.7'), lb)).toBe('172.28.0.11');
    expect(clientAddress(req('fd00:2::5', '198.51.100.7'), lb)).toBe('fd00:2::5');
    // Entries that are neither an address nor a subnet are refused at start, with the setting named.
    expect(() => loadConfig({ TRUSTED_PROXIES: '10.0.0.0/33' })).toThrow(/TRUSTED_PROXIES/);
    expect(() => loadConfig({ TRUSTED_PROXIES: 'lb.internal' })).toThrow(/TRUSTED_PROXIES/);
    expect(loadConfig({ TRUSTED_PROXIES: ' 10.0.0.0/8, fd00::1 ' }).trustedProxies).toEqual(['10.0.0.0/8', 'fd00::1']);
  });
});

describe('RefusedJoins (on the real audit log)', () => {
  it('writes one ticket.refused row per address and interval with counts per code, whatever the input', async () => {
    const rooms = ['00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-0000000000a2'];
    const agg = new RefusedJoins(server.app.audit, { intervalMs: 300, maxAddresses: 4 });
    const started = performance.now();
    for (let i = 0; i < 100_000; i++) agg.note('192.0.2.10', i % 4 === 0 ? 'TICKET_EXPIRED' : 'TICKET_INVALID', rooms[i % 2]);
    expect(performance.now() - started).toBeLessThan(500);
    agg.note('192.0.2.11', 'NOT_INVITED', 'not-a-uuid');
    agg.note('x\u0000<script>', 'DROP TABLE audit_log');
    agg.note(undefined, 'TICKET_REQUIRED');
    agg.note('192.0.2.12', 'TICKET_INVALID'); // fourth key ("unknown" is one): still its own row
    agg.note('192.0.2.13', 'TICKET_INVALID'); // beyond maxAddresses → "other"
    agg.note('192.0.2.14', 'TICKET_INVALID');
    const rows = await eventually(async () => {
      await server.app.audit.flush();
      const events = (await admin.api.audit({ limit: 1000 })).events.filter((e) => e.action === 'ticket.refused' && String(e.details['address']).match(/^(192\.0\.2\.|unknown|other)/));
      return events.length >= 5 ? events : null;
    }, 5000);
    await agg.close();
    const by = Object.fromEntries(rows.map((r) => [r.details['address'] as string, r.details]));
    expect(Object.keys(by).sort()).toEqual(['192.0.2.10', '192.0.2.11', '192.0.2.12', 'other', 'unknown']);
    expect(by['192.0.2.10']).toMatchObject({ attempts: 100_000, codes: { TICKET_EXPIRED: 25_000, TICKET_INVALID: 75_000 }, rooms });
    expect(by['192.0.2.11']).toMatchObject({ attempts: 1, codes: { NOT_INVITED: 1 }, rooms: [] });
    expect(by['unknown']).toMatchObject({ attempts: 2, codes: { OTHER: 1, TICKET_REQUIRED: 1 } });
    expect(by['other']).toMatchObject({ attempts: 2, codes: { TICKET_INVALID: 2 } });
    expect(JSON.stringify(rows)).not.toContain('script');
    expect((await admin.api.verifyAudit()).ok).toBe(true);
  });
});

describe('room tickets stay out of URLs', () => {
  it('the SDK sends the ticket only as a header: the WebSocket URL carries no ticket and no _authToken', async () => {
    const room = await server.createRoom({ participants: [{ userId: 'load.url', role: 'clinician' }] });
    const client = await server.as('load.url');
    const ticket = await client.api.getTicket(room.id);
    const session = await client.joinWithTicket(ticket);
    await session.ready();
    const wsUrl = (session.room.connection.transport as unknown as { ws: { url: string } }).ws.url;
    expect(wsUrl).toMatch(/^ws:\/\//);
    expect(wsUrl).not.toContain('_authToken');
    expect(wsUrl).not.toContain(ticket.ticket);
    expect(wsUrl).not.toContain(ticket.ticket.split('.')[2]!);
    await session.leave();
  });
});

describe('CORS', () => {
  it('only allowlisted origins get CORS headers — on the API and on Colyseus matchmaking — and never with credentials', async () => {
    for (const [method, pathname] of [['OPTIONS', '/api/rooms'], ['OPTIONS', '/matchmake/joinOrCreate/clinic'], ['GET', '/api/auth/config']] as const) {
      const evil = await fetch(`${base}${pathname}`, { method, headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
      expect([pathname, evil.headers.get('access-control-allow-origin'), evil.headers.get('access-control-allow-credentials')]).toEqual([pathname, null, null]);
      const ok = await fetch(`${base}${pathname}`, { method, headers: { origin: CONSOLE_ORIGIN, 'access-control-request-method': 'POST' } });
      expect([pathname, ok.headers.get('access-control-allow-origin'), ok.headers.get('access-control-allow-credentials')]).toEqual([pathname, CONSOLE_ORIGIN, null]);
    }
  });
});

describe('an anonymous flood does not slow down authenticated clients', () => {
  it('healthz and the room list keep p95 < 250 ms during a flood of 9 MB bodies and forged joins', async () => {
    const user = await server.as('load.member');
    await server.createRoom({ participants: [{ userId: 'load.member', role: 'clinician' }] });
    const flood = spawn(process.execPath, [path.resolve(import.meta.dirname, '../support/flood.ts'), base, '5', String(PROTOCOL_VERSION)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    flood.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const done = new Promise<void>((resolve) => flood.on('exit', () => resolve()));
    await new Promise((r) => setTimeout(r, 500)); // let the flood build up

    const health: number[] = [];
    const list: number[] = [];
    const until = Date.now() + 3500;
    while (Date.now() < until) {
      let t = performance.now();
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      health.push(performance.now() - t);
      t = performance.now();
      expect((await user.api.listRooms()).length).toBeGreaterThan(0);
      list.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
    await done;
    const counts = JSON.parse(out.trim()) as Record<string, number>;
    const total = (prefix: string) => Object.entries(counts).filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
    const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.95)]!;
    console.log(`flood: ${JSON.stringify(counts)}; healthz p95 ${p95(health).toFixed(1)} ms (n=${health.length}), room list p95 ${p95(list).toFixed(1)} ms (n=${list.length})`);
    // The flood was real: dozens of 9 MB bodies and hundreds of joins.
    expect(total('bigAnon') + total('bigForged')).toBeGreaterThan(30);
    expect(total('join')).toBeGreaterThan(200);
    expect(counts['join:429']).toBeGreaterThan(100);
    expect(p95(health)).toBeLessThan(250);
    expect(p95(list)).toBeLessThan(250);
    // Its refused joins did not become hundreds of audit rows.
    await server.app.refusedJoins.flush();
    await server.app.audit.flush();
    const refused = await eventually(async () => (await admin.api.audit({ limit: 1000 })).events.filter((e) => e.action === 'ticket.refused' && e.details['address'] === '10.66.0.3'));
    expect(refused).toHaveLength(1);
  }, 60_000);
});
