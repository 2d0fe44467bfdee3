import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { matchMaker } from '@colyseus/core';
import type { RefusedJoins } from '../audit/refused-joins.ts';
import type { TrustedProxies } from '../trusted-proxies.ts';

/**
 * What every HTTP request and WebSocket upgrade passes before Express or
 * Colyseus sees it. Colyseus serves `/matchmake/...` from its own router in
 * front of Express (and sets CORS headers on every response), so the rules
 * for those routes live here, on the http.Server itself:
 *
 * 1. The client address is resolved once, trusting X-Forwarded-For only from
 *    trusted proxies (loopback and TRUSTED_PROXIES: trusted-proxies.ts, the
 *    same rule Express' `trust proxy` is given), and written to
 *    X-Real-IP, which Colyseus' auth context reads first: `context.ip` can no
 *    longer be spoofed with a forwarded header.
 * 2. Matchmaking (joins, reconnects) is rate-limited per address, and its
 *    bodies are capped (join options are tiny); refusals are counted by
 *    RefusedJoins, not written one audit row each.
 * 3. CORS: only origins in the allowlist get CORS headers (no credentials
 *    flag: the API uses bearer tokens, not cookies); Colyseus' default
 *    reflects any origin with `Allow-Credentials: true`.
 */
export interface FrontDoorOptions {
  /** Exact origins (scheme://host[:port]) allowed cross-origin; empty → same origin only. */
  corsOrigins: readonly string[];
  trusted: TrustedProxies;
  joinRateLimitPerMinute: number;
  refusedJoins: RefusedJoins;
  now?: () => number;
}

export const MATCHMAKE_BODY_LIMIT = 16 * 1024;
const WINDOW_MS = 60_000;

export function installFrontDoor(server: http.Server, options: FrontDoorOptions): void {
  restrictCors(options.corsOrigins);
  const joins = new FixedWindowCounter(options.joinRateLimitPerMinute, options.now ?? Date.now);

  const requestListeners = server.listeners('request') as ((req: http.IncomingMessage, res: http.ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const address = pinClientAddress(req, options.trusted);
    if (req.url?.startsWith('/matchmake/') && req.method === 'POST') {
      const refusal = matchmakeRefusal(req, address, joins);
      if (refusal) {
        options.refusedJoins.note(address, refusal.code);
        res.writeHead(refusal.status, { 'content-type': 'application/json', connection: 'close', ...(refusal.status === 429 ? { 'retry-after': '60' } : {}) });
        // Colyseus' error shape: the SDK turns `error` into a ConsiliumError code.
        res.end(JSON.stringify({ code: refusal.status, error: `${refusal.code}: ${refusal.message}` }));
        return;
      }
    }
    for (const listener of requestListeners) listener.call(server, req, res);
  });

  const upgradeListeners = server.listeners('upgrade') as ((req: http.IncomingMessage, socket: Duplex, head: Buffer) => void)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    pinClientAddress(req, options.trusted);
    for (const listener of upgradeListeners) listener.call(server, req, socket, head);
  });
}

function matchmakeRefusal(req: http.IncomingMessage, address: string, joins: FixedWindowCounter) {
  if (!joins.take(address)) return { status: 429, code: 'RATE_LIMITED', message: 'too many join attempts from your address; try again in a minute' } as const;
  const length = Number(req.headers['content-length'] ?? NaN);
  if (req.headers['transfer-encoding'] !== undefined || !(length <= MATCHMAKE_BODY_LIMIT)) {
    return { status: 413, code: 'BODY_INVALID', message: `join options must be JSON of at most ${MATCHMAKE_BODY_LIMIT} bytes with a Content-Length` } as const;
  }
  return null;
}

/**
 * The client's address: the socket's peer, or — while that peer is a trusted
 * proxy — the next hop to the left in X-Forwarded-For.
 */
export function clientAddress(req: Pick<http.IncomingMessage, 'headers' | 'socket'>, trusted: TrustedProxies): string {
  const hops = [
    ...String(req.headers['x-forwarded-for'] ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
  ];
  let address = req.socket.remoteAddress ?? 'unknown';
  while (trusted(address) && hops.length > 0) address = hops.pop()!;
  return address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, '$1');
}

function pinClientAddress(req: http.IncomingMessage, trusted: TrustedProxies): string {
  const address = clientAddress(req, trusted);
  req.headers['x-real-ip'] = address;
  delete req.headers['x-client-ip'];
  return address;
}

/** CORS for the Colyseus router, which answers preflights and decorates every response. */
function restrictCors(allowed: readonly string[]): void {
  const origins = new Set(allowed);
  // Typed as the exact default set; an empty object is what we mean.
  (matchMaker.controller as { DEFAULT_CORS_HEADERS: Record<string, string> }).DEFAULT_CORS_HEADERS = {};
  matchMaker.controller.getCorsHeaders = (headers: Headers): Record<string, string> => {
    const origin = headers.get('origin');
    if (!origin || !origins.has(origin)) return {};
    return {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Allow-Headers': 'Content-Type, Accept, Authorization',
      'Access-Control-Allow-Methods': 'GET,HEAD,PUT,PATCH,POST,DELETE',
      'Access-Control-Max-Age': '600',
      Vary: 'Origin',
    };
  };
}

/** Attempts per address per minute (fixed window; the map is cleared each window). */
class FixedWindowCounter {
  private counts = new Map<string, number>();
  private windowStart: number;

  constructor(
    private readonly limit: number,
    private readonly now: () => number,
  ) {
    this.windowStart = now();
  }

  take(key: string): boolean {
    const t = this.now();
    if (t - this.windowStart >= WINDOW_MS) {
      this.counts.clear();
      this.windowStart = t;
    }
    const n = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, n);
    return n <= this.limit;
  }
}
