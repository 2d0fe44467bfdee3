import { timingSafeEqual } from 'node:crypto';
import { Router } from 'express';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { AppError } from '../errors.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';

/**
 * Prometheus metrics (no patient data: counts only). Deny by default: the
 * endpoint exists only when METRICS_TOKEN is set, and requires it as a bearer token.
 */
export function metricsRoutes(deps: { token: string | null; live: LiveRooms; voiceStatus: () => string }): Router {
  const router = Router();
  if (!deps.token) return router;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'consilium_' });
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
  const expected = Buffer.from(`Bearer ${deps.token}`);
  router.get('/metrics', async (req, res) => {
    const given = Buffer.from(req.headers.authorization ?? '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new AppError('AUTH_REQUIRED');
    res.type(registry.contentType).send(await registry.metrics());
  });
  return router;
}
