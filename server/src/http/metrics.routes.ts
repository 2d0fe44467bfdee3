import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol.ts';
import pkg from '../../../package.json' with { type: 'json' };
import type { Pool } from '../db/pool.ts';
import { AppError } from '../errors.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';

export interface MetricsDeps {
  token: string | null;
  live: LiveRooms;
  voiceStatus: () => string;
  /** The app role's connection pool (saturation). */
  pool?: Pool;
  /** Audit checkpoints: when the head was last covered, and the signing interval; null when off. */
  checkpoints?: { lastCoveredAt: () => number | null; intervalMs: number } | null;
  /** Refused joins since start, by error code. */
  joinRefusals?: () => ReadonlyMap<string, number>;
}

/**
 * Prometheus metrics (no patient data: counts only). Deny by default: the
 * endpoint exists only when METRICS_TOKEN is set, and requires it as a bearer token.
 * Every metric is listed in docs/OPERATIONS.md; deploy/prometheus/consilium-rules.yml alerts on them.
 */
export function metricsRoutes(deps: MetricsDeps): Router {
  const router = Router();
  if (!deps.token) return router;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'consilium_' });
  new Gauge({
    name: 'consilium_build_info',
    help: 'Always 1; labels name the release and room protocol version',
    labelNames: ['version', 'protocol'],
    registers: [registry],
    collect() {
      this.set({ version: pkg.version, protocol: String(PROTOCOL_VERSION) }, 1);
    },
  });
  new Gauge({
    name: 'consilium_live_rooms',
    help: 'Rooms with someone in them (this process)',
    registers: [registry],
    collect() {
      this.set(deps.live.count());
    },
  });
  new Gauge({
    name: 'consilium_connected_participants',
    help: 'Participants connected to live rooms (this process)',
    registers: [registry],
    collect() {
      this.set(deps.live.participantCount());
    },
  });
  new Gauge({
    name: 'consilium_voice_degraded',
    help: '1 when LiveKit calls are failing and being retried',
    registers: [registry],
    collect() {
      this.set(deps.voiceStatus() === 'degraded' ? 1 : 0);
    },
  });
  const pool = deps.pool;
  if (pool) {
    new Gauge({
      name: 'consilium_db_pool_connections',
      help: 'Connections of the database pool by state (total, idle)',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
      },
    });
    new Gauge({
      name: 'consilium_db_pool_max',
      help: 'Most connections the database pool opens',
      registers: [registry],
      collect() {
        this.set(pool.options.max ?? 10);
      },
    });
    new Gauge({
      name: 'consilium_db_pool_waiting',
      help: 'Queries waiting for a free database connection',
      registers: [registry],
      collect() {
        this.set(pool.waitingCount);
      },
    });
  }
  const checkpoints = deps.checkpoints;
  if (checkpoints) {
    new Gauge({
      name: 'consilium_audit_checkpoint_covered_timestamp_seconds',
      help: 'When the audit chain head was last covered by a signed checkpoint (signed then, or already); 0 before the first run',
      registers: [registry],
      collect() {
        this.set((checkpoints.lastCoveredAt() ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'consilium_audit_checkpoint_interval_seconds',
      help: 'AUDIT_CHECKPOINT_INTERVAL_SECONDS',
      registers: [registry],
      collect() {
        this.set(checkpoints.intervalMs / 1000);
      },
    });
  }
  const refusals = deps.joinRefusals;
  if (refusals) {
    new Counter({
      name: 'consilium_join_refusals_total',
      help: 'Room joins refused (bad, expired, replayed or foreign tickets, rate limits…), by error code',
      labelNames: ['code'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [code, n] of refusals()) this.inc({ code }, n);
      },
    });
  }
  const responses = new Counter({
    name: 'consilium_http_responses_total',
    help: 'HTTP responses by status class (2xx, 3xx, 4xx, 5xx)',
    labelNames: ['class'],
    registers: [registry],
  });
  router.use((_req, res, next) => {
    res.once('finish', () => responses.inc({ class: `${Math.floor(res.statusCode / 100)}xx` }));
    next();
  });

  const expected = Buffer.from(`Bearer ${deps.token}`);
  router.get('/metrics', async (req, res) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AppError('AUTH_REQUIRED');
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
