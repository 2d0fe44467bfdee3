import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchMaker, Server } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import express from 'express';
import helmet from 'helmet';
import { rateLimit } from 'express-rate-limit';
import { AppError } from './errors.ts';
import { CLINIC_ROOM, Limits } from '../../shared/src/protocol.ts';
import { AuditLog } from './audit/audit-log.ts';
import { RefusedJoins } from './audit/refused-joins.ts';
import { RecordingAudioFiles } from './media/recording-audio-files.ts';
import { scheduleRetention } from './ops/retention.ts';
import { DEV_AUDIENCE, DEV_ISSUER, DevIssuer } from './auth/dev-issuer.ts';
import { createIdentityVerifier, localKeys, remoteKeys, type IdentityVerifier } from './auth/identity.ts';
import { loadOrCreateSigningKey } from './auth/keys.ts';
import { TicketService } from './auth/tickets.ts';
import { AudioLinks } from './auth/audio-links.ts';
import type { Config } from './config.ts';
import { CasesRepo } from './db/cases.repo.ts';
import { setUpCheckpoints, type AuditCheckpoints } from './audit/setup.ts';
import { openDatabase } from './db/database.ts';
import { KeysRepo } from './db/keys.repo.ts';
import type { Pool } from './db/pool.ts';
import { RoomsRepo } from './db/rooms.repo.ts';
import { SceneRepo } from './db/scene.repo.ts';
import { seedDemo } from './demo/seed.ts';
import { RecordingsRepo } from './db/recordings.repo.ts';
import { UsersRepo } from './db/users.repo.ts';
import { WebhookEventsRepo } from './db/webhook-events.repo.ts';
import { auditRoutes } from './http/audit.routes.ts';
import { casesRoutes } from './http/cases.routes.ts';
import { IMAGING_FRAME_PATH, imagingRoutes } from './http/imaging.routes.ts';
import { createDicomWebSource, createImaging } from './imaging/setup.ts';
import type { CasePuller } from './fhir/case-puller.ts';
import { CaseImporter } from './fhir/case-importer.ts';
import { setWorkerNice } from './thread-priority.ts';
import { devRoutes } from './http/dev.routes.ts';
import { authenticateBeforeBody, refuseUnsafeQuery, smallJson } from './http/body.ts';
import { errorHandler, notFound, requestId } from './http/errors.ts';
import { installFrontDoor } from './http/front-door.ts';
import { healthRoutes } from './http/health.routes.ts';
import { metricsRoutes } from './http/metrics.routes.ts';
import { loadLiveKit } from './media/setup.ts';
import { participantsRoutes } from './http/participants.routes.ts';
import { roomsRoutes } from './http/rooms.routes.ts';
import { RecordingAccess } from './http/recording-access.ts';
import { recordingsRoutes } from './http/recordings.routes.ts';
import { recordingAudioRoutes } from './http/recording-audio.routes.ts';
import { webRoutes } from './http/web.routes.ts';
import { VALIDATE_RESPONSES } from './http/respond.ts';
import { openApiRoutes } from './http/openapi.routes.ts';
import { directoryRoutes } from './http/directory.routes.ts';
import { createLogger, safeError, withSafeErrors, type Logger } from './logger.ts';
import { defineClinicRoom } from './rooms/clinic.room.ts';
import { LiveRooms } from './rooms/live-rooms.ts';
import { PoseBudget } from './rooms/pose-budget.ts';
import { guardMatchmaking } from './rooms/matchmaking.ts';
import { installColyseusFence } from './colyseus/fence.ts';
import { builtinRoutes } from './cds/builtin.ts';
import { CdsGateway } from './cds/gateway.ts';
import { CDS_JWKS_PATH, CdsSigner } from './cds/signer.ts';
import { trustedProxies } from './trusted-proxies.ts';

export interface App {
  /** Base URL (http) the server is reachable at. */
  url: string;
  port: number;
  pool: Pool;
  audit: AuditLog;
  /** Signed audit checkpoints; null when AUDIT_CHECKPOINTS=off. */
  auditCheckpoints: AuditCheckpoints | null;
  /** Aggregates refused joins into one audit row per address and interval. */
  refusedJoins: RefusedJoins;
  logger: Logger;
  devIdentity: boolean;
  demoSeeded: boolean;
  /** Stop accepting joins, persist every room, close connections and the pool. */
  close(): Promise<void>;
  /** Pulls cases from FHIR_BASE_URL; null when unset. */
  casePuller: CasePuller | null;
  /** The Express app (its routes are checked against the OpenAPI description). */
  web: express.Express;
}

export interface AppOverrides {
  logger?: Logger;
  /** Seconds a dropped client may take to come back (tests shorten it). */
  reconnectSeconds?: number;
  flushIntervalMs?: number;
  /** Interval of the aggregated refused-join audit rows (default 60 s). */
  refusedJoinsIntervalMs?: number;
}

/** Seats one user may hold in one room at once (e.g. a desktop and a headset). */
export const MAX_SEATS_PER_USER = 3;

/** Composition root: builds every part from the config and starts listening. Tests reuse it. */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const logger = withSafeErrors(overrides.logger ?? createLogger(config.logLevel));

  const database = await openDatabase(config, logger); // migrates as the owner, connects as the app role
  const pool = database.pool;

  const keys = new KeysRepo(pool);
  const rooms = new RoomsRepo(pool);
  const scene = new SceneRepo(pool);
  const recordings = new RecordingsRepo(pool);
  const users = new UsersRepo(pool);
  const cases = new CasesRepo(pool);
  const checkpoints = setUpCheckpoints(config, pool, logger);
  const audit = new AuditLog(pool, { logger: logger.child({ component: 'audit' }), trustedKeys: checkpoints?.trustedKeys ?? [] });
  const refusedJoins = new RefusedJoins(audit, {
    intervalMs: overrides.refusedJoinsIntervalMs ?? config.refusedJoinsIntervalMs,
    onError: (err) => logger.error({ err }, 'refused-join audit row failed'),
  });
  const ticketKey = await loadOrCreateSigningKey(keys, 'ticket');
  const tickets = new TicketService(ticketKey, config.ticketTtlSeconds);
  // Links to recordings' voice are signed with the same server key, under a type of their own (audio-links.ts).
  const audioLinks = new AudioLinks(ticketKey);
  // A process's stable identity across restarts: with Redis its PUBLIC_URL (unique: clients are sent to it);
  // without Redis a process is alone with its database, so any earlier lease holder was an earlier boot of it.
  const live = new LiveRooms(config.redisUrl ? config.publicUrl! : 'standalone');
  const media = config.livekit ? await loadLiveKit(config.livekit, logger.child({ component: 'livekit' })) : null;
  const voice = media?.voice ?? null;
  if (!voice) logger.info('LIVEKIT_* unset: voice is off (tickets carry voice: null)');

  let identity: IdentityVerifier;
  let devIssuer: DevIssuer | null = null;
  if (config.auth.mode === 'oidc') {
    identity = createIdentityVerifier({ issuer: config.auth.issuer, audience: config.auth.audience, keys: remoteKeys(config.auth.jwksUrl), admin: config.auth.admin });
  } else {
    devIssuer = new DevIssuer(await loadOrCreateSigningKey(keys, 'dev-idp'));
    identity = createIdentityVerifier({ issuer: DEV_ISSUER, audience: DEV_AUDIENCE, keys: localKeys(devIssuer.jwks) });
    logger.warn('DEVELOPMENT IDENTITY PROVIDER ENABLED: anyone can sign in as anyone via POST /api/dev/login. Set AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE for real deployments.');
  }

  let shuttingDown = false;
  let baseUrl = '';

  // Decision support (CDS Hooks 2.0): Consilium's client key signs every call; its public half is published.
  const cdsSigner = new CdsSigner(await loadOrCreateSigningKey(keys, 'cds-client', 'ES384'), () => baseUrl);
  const cds = new CdsGateway({ bases: config.cds.services, builtin: config.cds.builtin, signer: cdsSigner, logger: logger.child({ component: 'cds' }) });

  const web = express();
  web.disable('x-powered-by');
  // One rule for who may name the client's address, here and at the front door (matchmaking, upgrades).
  const trusted = trustedProxies(config.trustedProxies);
  web.set('trust proxy', trusted);
  // Outside production every JSON answer is checked against its published schema (respond.ts).
  web.locals[VALIDATE_RESPONSES] = config.nodeEnv !== 'production';
  web.use(requestId);
  // First, so every response (rate-limited and refused ones too) is counted.
  web.use(
    metricsRoutes({
      token: config.metricsToken,
      live,
      voiceStatus: () => (voice ? voice.status : 'off'),
      pool,
      checkpoints: checkpoints ? { lastCoveredAt: () => checkpoints.signer.lastCoveredAt, intervalMs: config.auditCheckpoints!.intervalMs } : null,
      joinRefusals: () => refusedJoins.totals,
    }),
  );
  web.use(securityHeaders(config));
  const perMinute = (limit: number, skip: (req: express.Request) => boolean) =>
    rateLimit({
      windowMs: 60_000,
      limit,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      skip,
      handler: (_req, res) => {
        const err = new AppError('RATE_LIMITED', 'Too many requests; try again in a minute');
        res.status(err.status).json({ error: err.toBody() });
      },
    });
  // Image frames have a budget of their own: reading a series at 20 slices a second is 1,200 requests a minute.
  const isFrame = (req: express.Request) => IMAGING_FRAME_PATH.test(req.path);
  web.use('/api', perMinute(config.httpRateLimitPerMinute, (req) => req.path === '/livekit/webhook' || isFrame(req)));
  web.use('/api', perMinute(config.imagingFrameRateLimitPerMinute, (req) => !isFrame(req)));
  // Anonymous clients cannot make us read a body; query strings obey the shared text rule.
  web.use('/api', authenticateBeforeBody(identity, ['/api/dev/login', '/api/livekit/webhook']));
  web.use(refuseUnsafeQuery);
  web.use(healthRoutes(pool, () => shuttingDown));
  web.use(openApiRoutes(() => baseUrl));
  setWorkerNice(config.workerNice);
  const importer = new CaseImporter(config.caseImport);
  // The FHIR server's client is loaded only when configured (as LiveKit's SDK is).
  const fhir = config.fhir ? (await import('./fhir/setup.ts')).createCasePuller(config.fhir, { cases, audit, live, logger: logger.child({ component: 'fhir' }), importer }) : null;
  const dicomweb = config.dicomweb ? createDicomWebSource(config.dicomweb, fhir?.auth ?? null) : null;
  const { local, service: imaging } = createImaging({ pool, cases, dataDir: config.dataDir, dicomweb });
  // Who holds a recording follows grants and training rooms' membership, live (recording-access.ts); a replay room's case is read only by them.
  const recordingAccess = new RecordingAccess({ recordings, rooms, users, live, audit, replayRoomMs: config.replayRoomMs });
  web.use(imagingRoutes({ cases, rooms, replays: recordingAccess, identity, audit, imaging, local })); // uploads are streamed to disk, never parsed as JSON
  web.use(casesRoutes({ cases, rooms, replays: recordingAccess, identity, live, audit, importer, imaging, puller: fhir?.puller ?? null, smartAuth: fhir?.auth ?? null })); // before the small-body parser: bundles are read after authorization
  if (config.livekit) {
    const { livekitRoutes } = await import('./http/livekit.routes.ts'); // with the SDK: only when voice is on (media/setup.ts)
    web.use(livekitRoutes({ cfg: config.livekit, live, logger, voice, events: new WebhookEventsRepo(pool) })); // raw body for the signature
  }
  web.use('/api', ...smallJson());
  if (devIssuer) web.use(devRoutes(devIssuer));
  const membershipChanged = (roomId: string, actor: string) => recordingAccess.roomMembershipChanged(roomId, actor);
  web.use(participantsRoutes({ rooms, identity, live, audit, logger, membershipChanged, maySeat: (principal, room) => recordingAccess.maySeat(principal, room) }));
  web.use(roomsRoutes({ rooms, recordings, users, tickets, identity, live, audit, media: media?.tokens ?? null, endpoint: () => baseUrl, membershipChanged, beforeReplayTicket: (room, actor) => recordingAccess.beforeReplayTicket(room, actor) }));
  // Before the recordings router, which asks every /api/recordings request for a bearer token: an <audio> element sends its link instead.
  const audioFiles = new RecordingAudioFiles(config.recordingAudioDir);
  web.use(recordingAudioRoutes({ access: recordingAccess, audit, links: audioLinks, identity, audioFiles }));
  web.use(recordingsRoutes({ recordings, rooms, users, identity, live, audit, access: recordingAccess, audioFiles }));
  web.use(auditRoutes({ audit, identity, pool, checkpoints }));
  web.use(directoryRoutes({ pool, users, audit, identity }));
  web.get(CDS_JWKS_PATH, (_req, res) => void res.json(cdsSigner.jwks()));
  if (config.cds.builtin) web.use(builtinRoutes({ issuer: () => baseUrl, jwks: async () => cdsSigner.jwks() }));
  web.use(webRoutes(config.auth, { imagingViewerUrl: config.imagingViewerUrl, fhirServer: config.fhir !== null, publicUrl: () => baseUrl }));

  installColyseusFence(); // checks the internals we patch, then patches what must precede any room
  const httpServer = http.createServer(web);
  const address = config.redisUrl ? publicAddress(config.publicUrl!) : null;
  // Redis presence and driver (with ioredis) only when REDIS_URL is set: a single process need not keep them loaded.
  const shared = config.redisUrl && address ? await redisPresence(config.redisUrl) : null;
  const gameServer = new Server({
    transport: new WebSocketTransport({ server: httpServer, maxPayload: Limits.maxSocketFrameBytes }),
    greet: false,
    gracefullyShutdown: false,
    logger: colyseusLogger(logger),
    // With Redis, rooms are shared across processes: listings live in Redis, calls travel through
    // its pub/sub, and a client whose room runs elsewhere connects to that process's public address.
    ...(shared ? { ...shared, publicAddress: address! } : {}),
  });
  if (address) logger.info({ publicAddress: address }, 'REDIS_URL set: rooms are shared with other processes');
  gameServer.define(
    CLINIC_ROOM,
    defineClinicRoom({
      rooms,
      scene,
      cases,
      live,
      audit,
      logger,
      breakGlass: config.breakGlass,
      voice,
      reconnectSeconds: overrides.reconnectSeconds ?? 30,
      flushIntervalMs: overrides.flushIntervalMs ?? 1000,
      maxSeatsPerUser: MAX_SEATS_PER_USER,
      guidance: config.guidance,
      poseBudget: new PoseBudget(config.poseWindowMs, config.poseFramesPerSecond),
      cds: cds.enabled ? cds : null,
      recordings,
      audioRecorder: media?.audioRecorder ?? null,
      recordingRetentionDays: config.recordingRetentionDays,
      membershipChanged,
    }),
  );
  guardMatchmaking({
    live,
    tickets,
    refusedJoins,
    consumeTicket: (jti, roomId, userId) => rooms.consumeTicket(jti, roomId, userId),
    maxSeatsPerUser: MAX_SEATS_PER_USER,
  });
  const pruneTickets = setInterval(() => void rooms.pruneTicketUses().catch(() => {}), 60_000);
  pruneTickets.unref();

  // A process that crashed left its listings in Redis: drop them now, not after Colyseus' 2 s ping at listen().
  await matchMaker.onReady;
  await live.sweepDeadProcesses().catch((err: unknown) => logger.warn({ err }, 'sweeping dead processes failed'));
  await gameServer.listen(config.port, config.host);
  // After listen(): Colyseus has installed its router (matchmaking, CORS) in front of Express.
  installFrontDoor(httpServer, { corsOrigins: config.corsOrigins, trusted, joinRateLimitPerMinute: config.joinRateLimitPerMinute, refusedJoins });
  // Matchmaking routes are registered on the Express app by listen(); our 404/error handlers go last.
  web.use(notFound);
  web.use(errorHandler(logger));

  const port = (httpServer.address() as AddressInfo).port;
  baseUrl = config.publicUrl ?? `http://localhost:${port}`;

  const demoSeeded = config.seedDemo ? await seedDemo(rooms, scene, cases, { local, service: imaging }) : false;
  await checkpoints?.signer.checkpoint().catch(() => {}); // anchor what a previous run left unsigned
  checkpoints?.signer.start(config.auditCheckpoints!.intervalMs);
  fhir?.puller.start();
  const retention = scheduleRetention(
    { pool, cases, recordings, rooms, audit, audioFiles, imaging, actor: 'system', closeLiveRoom: async (id) => void (await live.call(id, 'close')) },
    { caseDays: config.retention.caseDays, replayRoomMs: config.replayRoomMs, intervalMs: config.retention.intervalMs, logger: logger.child({ component: 'retention' }) },
  );

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      clearInterval(pruneTickets);
      await retention.stop();
      await fhir?.puller.stop();
      await live.flushAll().catch((err: unknown) => logger.error({ err }, 'flush before shutdown failed'));
      await gameServer.gracefullyShutdown(false);
      voice?.stop();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      await refusedJoins.close().catch((err: unknown) => logger.error({ err }, 'refused-join flush at shutdown failed'));
      await audit.flush().catch((err: unknown) => logger.error({ err }, 'audit flush at shutdown failed'));
      await checkpoints?.signer.stop(); // the last checkpoint covers everything written
      await database.close();
    })());

  return { url: baseUrl, port, pool, audit, auditCheckpoints: checkpoints, refusedJoins, logger, devIdentity: devIssuer !== null, demoSeeded, close, casePuller: fhir?.puller ?? null, web };
}

/**
 * Security headers for the app and console. The CSP allows only this origin,
 * plus the LiveKit server (voice) and the identity provider (sign-in), which
 * the browser must reach directly.
 */
function securityHeaders(config: Config) {
  const origin = (u: string) => {
    const url = new URL(u);
    return `${url.protocol}//${url.host}`;
  };
  const connect = ["'self'"];
  if (config.livekit) connect.push(origin(config.livekit.url), origin(config.livekit.url).replace(/^ws/, 'http'));
  if (config.auth.mode === 'oidc') connect.push(origin(config.auth.issuer));
  return helmet({
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        connectSrc: connect,
        imgSrc: ["'self'", 'data:', 'blob:'],
        mediaSrc: ["'self'", 'blob:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        workerSrc: ["'self'", 'blob:'],
        frameAncestors: ["'none'"],
        upgradeInsecureRequests: config.nodeEnv === 'production' ? [] : null,
      },
    },
    crossOriginEmbedderPolicy: false,
    hsts: config.nodeEnv === 'production',
  });
}

async function redisPresence(url: string) {
  const [{ RedisPresence }, { RedisDriver }] = await Promise.all([import('@colyseus/redis-presence'), import('@colyseus/redis-driver')]);
  return { presence: new RedisPresence(url), driver: new RedisDriver(url) };
}

/** Colyseus' public address: host[:port][/path] of PUBLIC_URL. */
function publicAddress(publicUrl: string): string {
  const u = new URL(publicUrl);
  return `${u.host}${u.pathname.replace(/\/+$/, '')}`;
}

/** Route Colyseus' own logging into ours at debug level (its info lines are chatty). */
function colyseusLogger(logger: Logger) {
  const child = logger.child({ component: 'colyseus' });
  // Errors pass through safeError: Colyseus prints what rooms throw, database errors included.
  const text = (a: unknown) => (a instanceof Error ? JSON.stringify(safeError(a)) : String(a));
  const fmt = (args: unknown[]) => args.map(text).join(' ');
  return {
    debug: (...a: unknown[]) => child.debug(fmt(a)),
    info: (...a: unknown[]) => child.debug(fmt(a)),
    warn: (...a: unknown[]) => child.warn(fmt(a)),
    error: (...a: unknown[]) => child.error(fmt(a)),
    trace: (...a: unknown[]) => child.trace(fmt(a)),
  };
}

export { matchMaker };
