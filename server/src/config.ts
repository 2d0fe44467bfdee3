import path from 'node:path';
import { z } from 'zod';
import { RoomRole } from '../../shared/src/roles.ts';
import { productionUrlProblems, secretProblem } from './secrets.ts';
import { parseProxyEntry } from './trusted-proxies.ts';

/**
 * The only reader of the environment. `loadConfig` is pure (takes the env as
 * an argument) so tests can build configs without touching process.env.
 */
const emptyAsUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
const optionalUrl = z.preprocess(emptyAsUndefined, z.url().optional());

const EnvSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(2567),
  HOST: z.string().default('0.0.0.0'),
  PUBLIC_URL: optionalUrl,
  IMAGING_VIEWER_URL: z.preprocess(emptyAsUndefined, z.string().regex(/^https?:\/\/[^\s]*\{studyUid\}/, 'must be an http(s) URL containing {studyUid}').optional()),
  DATABASE_URL: z.preprocess(emptyAsUndefined, z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional()),
  /** Owner role (runs migrations, grants the app role); DATABASE_URL is then the least-privileged app role. */
  DATABASE_OWNER_URL: z.preprocess(emptyAsUndefined, z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional()),
  DATA_DIR: z.string().default('.data'),
  /**
   * Where LiveKit's egress leaves recordings' voice: the folder holding `<recording id>.ogg` (the
   * egress writes `consilium/<id>.ogg` to its storage; mount or sync that `consilium` folder here).
   * Unset: recorded audio is not played back (replays say it is not reachable).
   */
  RECORDING_AUDIO_DIR: optionalString,
  AUDIT_CHECKPOINTS: z.enum(['on', 'off']).default('on'),
  AUDIT_CHECKPOINT_KEY_FILE: optionalString,
  AUDIT_CHECKPOINT_PREVIOUS_KEYS_FILE: optionalString,
  AUDIT_CHECKPOINT_INTERVAL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  REDIS_URL: z.preprocess(emptyAsUndefined, z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional()),
  AUTH_ISSUER: optionalString,
  AUTH_AUDIENCE: optionalString,
  AUTH_JWKS_URL: optionalUrl,
  /** Public OIDC client id the browser app uses (authorization code + PKCE). */
  AUTH_CLIENT_ID: optionalString,
  /** Scopes the browser app asks the provider for (Entra ID: add your API's scope so the access token is for Consilium). */
  AUTH_SCOPES: z.string().default('openid profile').pipe(z.string().regex(/^[\x21-\x7e]+( [\x21-\x7e]+)*$/, 'space-separated scopes')),
  /** The claim that makes an administrator (a dot path, e.g. groups, roles, realm_access.roles); unset: scope, scp, roles or groups. */
  AUTH_ADMIN_CLAIM: z.preprocess(emptyAsUndefined, z.string().regex(/^[A-Za-z0-9_:$-]+(\.[A-Za-z0-9_:$-]+)*$/, 'a claim name or dot path (realm_access.roles)').optional()),
  /** Values of that claim that make an administrator (comma-separated: a group name or object id, a role). */
  AUTH_ADMIN_VALUES: z
    .string()
    .default('consilium:admin')
    .transform((v) => v.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.string().max(200)).min(1, 'at least one value')),
  METRICS_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(16, 'use at least 16 characters').optional()),
  HTTP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
  /** Image frame reads per minute per client address (their own budget: scrolling a series at 20 slices/s is 1,200). */
  IMAGING_FRAME_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(6000),
  JOIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(120),
  /** Origins allowed cross-origin (comma-separated scheme://host[:port]); unset → same origin only. */
  CORS_ORIGINS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/, 'origins are scheme://host[:port], no path, no wildcard'))),
  /**
   * Host names on the deployment's own private network (compose service names: `livekit`) that production may
   * reach over plain http/ws; unset → loopback only. An explicit choice, for traffic that never leaves the host network.
   */
  PRIVATE_NETWORK_HOSTS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean))
    .pipe(z.array(z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'single-label host names (no dots: a name on the private network, not a public one)'))),
  /**
   * Load balancers / ingress whose X-Forwarded-For is believed (comma-separated addresses or CIDR subnets);
   * loopback always. Without it, clients behind a proxy on another host share the proxy's rate limits.
   */
  TRUSTED_PROXIES: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((h) => h.trim()).filter(Boolean))
    .pipe(z.array(z.string().refine((entry) => parseProxyEntry(entry) !== null, 'addresses (10.0.0.7, fd00::1) or subnets (10.0.0.0/8)'))),
  TICKET_TTL_SECONDS: z.coerce.number().int().min(30).max(300).default(300),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SEED_DEMO: z.preprocess(emptyAsUndefined, z.enum(['true', 'false']).optional()),
  BREAK_GLASS_SELF_GRANT_ROLES: z
    .string()
    .default('surgeon')
    .transform((v) => v.split(',').map((r) => r.trim()).filter(Boolean))
    .pipe(z.array(RoomRole)),
  LIVEKIT_URL: z.preprocess(emptyAsUndefined, z.string().regex(/^(wss?|https?):\/\//, 'must be a ws(s):// or http(s):// URL').optional()),
  LIVEKIT_API_URL: optionalUrl,
  LIVEKIT_API_KEY: optionalString,
  LIVEKIT_API_SECRET: optionalString,
  BREAK_GLASS_MINUTES: z.coerce.number().positive().max(240).default(15),
  BREAK_GLASS_PENDING_MINUTES: z.coerce.number().positive().max(240).default(10),
  /** State patches per second in surgical-guidance rooms (pointers bypass the patch cycle anyway). */
  GUIDANCE_PATCH_HZ: z.coerce.number().int().min(10).max(120).default(60),
  /** Avatar poses gather at least this long before a frame goes out (off the patch cycle; shared/src/pose-wire.ts). */
  POSE_WINDOW_MS: z.coerce.number().int().min(1).max(100).default(10),
  /** Pose frames (socket writes) per second the process aims to stay under: past it the window widens (PoseBudget). */
  POSE_FRAMES_PER_SECOND: z.coerce.number().int().min(1000).max(1_000_000).default(20_000),
  /** Hours a replay room lasts (one teaching session): then it closes, and the seats in it with it. */
  REPLAY_ROOM_HOURS: z.coerce.number().int().min(1).max(720).default(12),
  /** Days a recording is kept before it expires; 0 = until deleted. */
  RECORDING_RETENTION_DAYS: z.coerce.number().int().min(0).max(3650).default(365),
  /** Days a case is kept after the last room showing it closed (or its import, if none did); 0 = until deleted. */
  CASE_RETENTION_DAYS: z.coerce.number().int().min(0).max(36_500).default(0),
  /** How often the retention job runs (it also runs at start). */
  RETENTION_INTERVAL_MINUTES: z.coerce.number().int().min(1).max(10_080).default(60),
  /** Refused joins are written as one audit row per client address per this interval. */
  REFUSED_JOINS_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(3600).default(60),
  /** A guiding link over this round-trip time marks every pointer stale. */
  GUIDANCE_LINK_LIMIT_MS: z.coerce.number().int().min(20).max(2000).default(150),
  /** Case imports (POST /api/cases, FHIR pulls) run on a worker thread with this heap cap; past it the import is refused (IMPORT_TOO_LARGE). */
  IMPORT_WORKER_HEAP_MB: z.coerce.number().int().min(16).max(16_384).default(512),
  /** …and stopped after this long (IMPORT_TIMEOUT). */
  IMPORT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
  /** Worker threads (imports, image indexing and unzipping) run this much below the rooms' CPU priority (Linux nice; 0 = the same). */
  WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  FHIR_BASE_URL: optionalUrl,
  /** The PACS's DICOMweb root (QIDO-RS / WADO-RS), e.g. http://orthanc:8042/dicom-web; unset → uploaded studies only. */
  DICOMWEB_URL: optionalUrl,
  /** basic: DICOMWEB_USER/DICOMWEB_PASSWORD; smart: the FHIR SMART Backend Services token; none: test archives only. */
  DICOMWEB_AUTH: z.enum(['basic', 'smart', 'none']).optional(),
  DICOMWEB_USER: optionalString,
  DICOMWEB_PASSWORD: optionalString,
  FHIR_TOKEN_URL: optionalUrl,
  FHIR_CLIENT_ID: optionalString,
  FHIR_PRIVATE_KEY: optionalString,
  FHIR_KEY_ID: optionalString,
  FHIR_SCOPES: z.string().default('system/*.rs'),
  FHIR_POLL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(60),
  /** CDS Hooks services (comma-separated base URLs; discovery is `{base}/cds-services`). */
  CDS_SERVICES: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((u) => u.trim().replace(/\/+$/, '')).filter(Boolean))
    .pipe(z.array(z.string().regex(/^https?:\/\/[^\s?#@]+$/, 'CDS service base URLs are http(s)://host[:port][/path], no credentials, query or fragment')).max(10)),
  /** The built-in rule service (/cds-services on this server), called for every participant. */
  CDS_BUILTIN: z.enum(['on', 'off']).default('on'),
});

/** Every environment variable the server reads (deployment manifests are checked against it). */
export const ENV_NAMES: readonly string[] = Object.keys(EnvSchema.shape);

/** Who is an administrator: any of `values` in `claim` (a dot path), or in scope/scp/roles/groups when claim is null. */
export interface AdminClaim {
  claim: string | null;
  values: string[];
}

export type AuthConfig =
  | { mode: 'oidc'; issuer: string; audience: string; jwksUrl: string; clientId: string | null; scopes: string; admin: AdminClaim }
  | { mode: 'dev' };

export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  port: number;
  host: string;
  /** Public base URL; derived from the bound port when unset. */
  publicUrl: string | null;
  /** null → start embedded PostgreSQL in dataDir. */
  databaseUrl: string | null;
  /** null → migrations run with databaseUrl (development only; the app then owns the audit table). */
  databaseOwnerUrl: string | null;
  dataDir: string;
  /** The folder holding recordings' voice files as the egress wrote them (null: audio not played back). */
  recordingAudioDir: string | null;
  /** Signed audit checkpoints; null → explicitly off (AUDIT_CHECKPOINTS=off). */
  auditCheckpoints: AuditCheckpointConfig | null;
  redisUrl: string | null;
  auth: AuthConfig;
  ticketTtlSeconds: number;
  /** Requests per minute per client address on /api (webhooks exempt: they are signed). */
  httpRateLimitPerMinute: number;
  imagingFrameRateLimitPerMinute: number;
  /** Matchmaking requests (joins, reconnects) per minute per client address. */
  joinRateLimitPerMinute: number;
  /** Exact origins allowed cross-origin; empty → same origin only. */
  corsOrigins: string[];
  /** Proxies (beyond loopback) whose X-Forwarded-For names the client. */
  trustedProxies: string[];
  /** Bearer token for GET /metrics; null → no metrics endpoint. */
  metricsToken: string | null;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** Seed the demo room when it does not exist (defaults to on for the embedded database). */
  seedDemo: boolean;
  breakGlass: { selfGrantRoles: RoomRole[]; grantMs: number; pendingMs: number };
  guidance: { patchHz: number; linkLimitMs: number };
  /** Milliseconds avatar poses gather at least before a frame goes out. */
  poseWindowMs: number;
  /** Pose frames per second the process aims to stay under. */
  poseFramesPerSecond: number;
  /** Days a recording is kept (null: until deleted). */
  recordingRetentionDays: number | null;
  /** How long a replay room lasts before it closes (ms). */
  replayRoomMs: number;
  /** Cases: days without a room before deletion (null: kept); the job's period. */
  retention: { caseDays: number | null; intervalMs: number };
  /** Length of one refused-join audit aggregation interval. */
  refusedJoinsIntervalMs: number;
  /** The case import worker's limits (fhir/case-importer.ts). */
  caseImport: { heapMb: number; timeoutMs: number };
  workerNice: number;
  /** null → voice off (tickets carry voice: null). */
  livekit: LiveKitConfig | null;
  /** The site's image viewer (PACS / DICOMweb), `{studyUid}` replaced by the study's UID; null → series listed only. */
  imagingViewerUrl: string | null;
  /** The hospital's FHIR server cases are pulled from; null → pulling is off. */
  fhir: FhirServerConfig | null;
  /** The PACS over DICOMweb; null → only studies uploaded to Consilium. */
  dicomweb: DicomWebConfig | null;
  /** Decision support (CDS Hooks 2.0): external services' base URLs, and the built-in rule service. */
  cds: { services: string[]; builtin: boolean };
}

export interface DicomWebConfig {
  baseUrl: string;
  auth: { kind: 'basic'; user: string; password: string } | { kind: 'smart' } | { kind: 'none' };
}

export interface FhirServerConfig {
  baseUrl: string;
  /** SMART Backend Services; null → the server is open (test servers only; refused in production). */
  auth: { clientId: string; privateKey: string; keyId: string | null; tokenUrl: string | null; scopes: string } | null;
  /** Poll for new Observations of pulled cases this often; 0 → never. */
  pollSeconds: number;
}

export interface AuditCheckpointConfig {
  /** Ed25519 private key (PKCS#8 PEM), kept outside the database. */
  keyFile: string;
  /** Create the key file (mode 600) when missing: never in production. */
  createKey: boolean;
  /** PEM public keys of retired checkpoint keys that still verify old checkpoints. */
  previousKeysFile: string | null;
  intervalMs: number;
}

export interface LiveKitConfig {
  /** What clients connect to (ws/wss). */
  url: string;
  /** Server-side API (http/https). */
  apiUrl: string;
  apiKey: string;
  apiSecret: string;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];

  let auth: AuthConfig;
  if (e.AUTH_JWKS_URL) {
    if (!e.AUTH_ISSUER) problems.push('AUTH_ISSUER: required when AUTH_JWKS_URL is set');
    if (!e.AUTH_AUDIENCE) problems.push('AUTH_AUDIENCE: required when AUTH_JWKS_URL is set');
    auth = {
      mode: 'oidc',
      issuer: e.AUTH_ISSUER ?? '',
      audience: e.AUTH_AUDIENCE ?? '',
      jwksUrl: e.AUTH_JWKS_URL,
      clientId: e.AUTH_CLIENT_ID ?? null,
      scopes: e.AUTH_SCOPES,
      admin: { claim: e.AUTH_ADMIN_CLAIM ?? null, values: e.AUTH_ADMIN_VALUES },
    };
  } else if (e.NODE_ENV === 'production') {
    problems.push('AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE: required in production (the development identity provider is disabled)');
    auth = { mode: 'dev' };
  } else {
    auth = { mode: 'dev' };
  }
  if (e.NODE_ENV === 'production' && !e.PUBLIC_URL) problems.push('PUBLIC_URL: required in production');
  if (e.REDIS_URL && !e.PUBLIC_URL) problems.push("PUBLIC_URL: required with REDIS_URL (this process's own address, which clients of rooms hosted here connect to)");
  if (e.NODE_ENV === 'production' && !e.DATABASE_URL) problems.push('DATABASE_URL: required in production (embedded PostgreSQL is for development)');
  if (e.DATABASE_OWNER_URL && !e.DATABASE_URL) problems.push("DATABASE_URL: required with DATABASE_OWNER_URL (the app role's URL)");
  let auditCheckpoints: AuditCheckpointConfig | null = null;
  if (e.AUDIT_CHECKPOINTS === 'on') {
    if (e.NODE_ENV === 'production' && !e.AUDIT_CHECKPOINT_KEY_FILE) {
      problems.push('AUDIT_CHECKPOINT_KEY_FILE: required in production (an Ed25519 private key outside the database), or set AUDIT_CHECKPOINTS=off');
    }
    auditCheckpoints = {
      keyFile: e.AUDIT_CHECKPOINT_KEY_FILE ?? path.join(e.DATA_DIR, 'audit-checkpoint-key.pem'),
      createKey: e.NODE_ENV !== 'production',
      previousKeysFile: e.AUDIT_CHECKPOINT_PREVIOUS_KEYS_FILE ?? null,
      intervalMs: e.AUDIT_CHECKPOINT_INTERVAL_SECONDS * 1000,
    };
  }
  let livekit: LiveKitConfig | null = null;
  const lk = [e.LIVEKIT_URL, e.LIVEKIT_API_KEY, e.LIVEKIT_API_SECRET];
  if (lk.some(Boolean)) {
    if (!lk.every(Boolean)) problems.push('LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET: set all three to enable voice, or none');
    else if (e.LIVEKIT_API_SECRET!.length < 32) problems.push('LIVEKIT_API_SECRET: must be at least 32 characters');
    else {
      const apiUrl = e.LIVEKIT_API_URL ?? e.LIVEKIT_URL!.replace(/^ws(s?):\/\//, 'http$1://');
      livekit = { url: e.LIVEKIT_URL!, apiUrl: apiUrl.replace(/\/+$/, ''), apiKey: e.LIVEKIT_API_KEY!, apiSecret: e.LIVEKIT_API_SECRET! };
    }
  }
  let fhir: FhirServerConfig | null = null;
  if (e.FHIR_BASE_URL) {
    const hasClient = Boolean(e.FHIR_CLIENT_ID) || Boolean(e.FHIR_PRIVATE_KEY);
    if (hasClient && !(e.FHIR_CLIENT_ID && e.FHIR_PRIVATE_KEY)) problems.push('FHIR_CLIENT_ID, FHIR_PRIVATE_KEY: set both for SMART Backend Services');
    if (!hasClient && e.NODE_ENV === 'production') problems.push('FHIR_CLIENT_ID, FHIR_PRIVATE_KEY: required with FHIR_BASE_URL in production (SMART Backend Services)');
    if (!/^(system\/(\*|[A-Za-z]+)\.(rs|r|s|read)\s*)+$/.test(e.FHIR_SCOPES.trim())) problems.push('FHIR_SCOPES: space-separated system/<Type|*>.rs scopes');
    fhir = {
      baseUrl: e.FHIR_BASE_URL.replace(/\/+$/, ''),
      auth: e.FHIR_CLIENT_ID && e.FHIR_PRIVATE_KEY ? { clientId: e.FHIR_CLIENT_ID, privateKey: e.FHIR_PRIVATE_KEY, keyId: e.FHIR_KEY_ID ?? null, tokenUrl: e.FHIR_TOKEN_URL ?? null, scopes: e.FHIR_SCOPES.trim() } : null,
      pollSeconds: e.FHIR_POLL_SECONDS,
    };
  }
  let dicomweb: DicomWebConfig | null = null;
  if (e.DICOMWEB_URL) {
    const kind = e.DICOMWEB_AUTH ?? (e.DICOMWEB_USER ? 'basic' : 'none');
    if (kind === 'basic' && !(e.DICOMWEB_USER && e.DICOMWEB_PASSWORD)) problems.push('DICOMWEB_USER, DICOMWEB_PASSWORD: set both for basic authentication');
    if (kind === 'smart' && !fhir?.auth) problems.push('DICOMWEB_AUTH=smart: needs the SMART Backend Services client (FHIR_BASE_URL, FHIR_CLIENT_ID, FHIR_PRIVATE_KEY)');
    if (kind === 'none' && e.NODE_ENV === 'production') problems.push('DICOMWEB_AUTH: required with DICOMWEB_URL in production (basic or smart)');
    if (e.NODE_ENV === 'production' && kind === 'basic' && e.DICOMWEB_PASSWORD) {
      const problem = secretProblem(e.DICOMWEB_PASSWORD);
      if (problem) problems.push(`DICOMWEB_PASSWORD: ${problem}`);
    }
    dicomweb = { baseUrl: e.DICOMWEB_URL.replace(/\/+$/, ''), auth: kind === 'basic' ? { kind, user: e.DICOMWEB_USER ?? '', password: e.DICOMWEB_PASSWORD ?? '' } : { kind } };
  } else if (e.DICOMWEB_USER || e.DICOMWEB_PASSWORD || e.DICOMWEB_AUTH) problems.push('DICOMWEB_URL: required with DICOMWEB_AUTH, DICOMWEB_USER or DICOMWEB_PASSWORD');
  if (e.NODE_ENV === 'production') {
    // Secrets published in the repository (compose samples, tests) or short enough to guess never run in production.
    for (const [name, value] of [['LIVEKIT_API_SECRET', e.LIVEKIT_API_SECRET], ['METRICS_TOKEN', e.METRICS_TOKEN]] as const) {
      const problem = value ? secretProblem(value) : null;
      if (problem) problems.push(`${name}: ${problem}`);
    }
    // One rule for every URL that carries a secret or data (passwords in it; TLS unless loopback): secrets.ts productionUrlProblems.
    const urls: [string, string | undefined][] = [
      ['PUBLIC_URL', e.PUBLIC_URL],
      ['DATABASE_URL', e.DATABASE_URL],
      ['DATABASE_OWNER_URL', e.DATABASE_OWNER_URL],
      ['REDIS_URL', e.REDIS_URL],
      ['AUTH_JWKS_URL', e.AUTH_JWKS_URL],
      ['LIVEKIT_URL', e.LIVEKIT_URL],
      ['LIVEKIT_API_URL', e.LIVEKIT_API_URL],
      ['FHIR_BASE_URL', e.FHIR_BASE_URL],
      ['FHIR_TOKEN_URL', e.FHIR_TOKEN_URL],
      ['DICOMWEB_URL', e.DICOMWEB_URL],
      ['IMAGING_VIEWER_URL', e.IMAGING_VIEWER_URL],
      // Each CDS call carries the participant's patient data: TLS unless loopback, no password in the URL.
      ...e.CDS_SERVICES.map((u): [string, string] => ['CDS_SERVICES', u]),
      ...e.CORS_ORIGINS.map((o): [string, string] => ['CORS_ORIGINS', o]),
    ];
    const privateHosts = new Set(e.PRIVATE_NETWORK_HOSTS);
    for (const [name, url] of urls) if (url) problems.push(...productionUrlProblems(name, url, privateHosts));
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL ? e.PUBLIC_URL.replace(/\/+$/, '') : null,
    imagingViewerUrl: e.IMAGING_VIEWER_URL ?? null,
    databaseUrl: e.DATABASE_URL ?? null,
    databaseOwnerUrl: e.DATABASE_OWNER_URL ?? null,
    dataDir: e.DATA_DIR,
    recordingAudioDir: e.RECORDING_AUDIO_DIR ? path.resolve(e.RECORDING_AUDIO_DIR) : null,
    auditCheckpoints,
    redisUrl: e.REDIS_URL ?? null,
    auth,
    ticketTtlSeconds: e.TICKET_TTL_SECONDS,
    httpRateLimitPerMinute: e.HTTP_RATE_LIMIT_PER_MINUTE,
    imagingFrameRateLimitPerMinute: e.IMAGING_FRAME_RATE_LIMIT_PER_MINUTE,
    joinRateLimitPerMinute: e.JOIN_RATE_LIMIT_PER_MINUTE,
    corsOrigins: e.CORS_ORIGINS,
    trustedProxies: e.TRUSTED_PROXIES,
    metricsToken: e.METRICS_TOKEN ?? null,
    logLevel: e.LOG_LEVEL,
    seedDemo: e.SEED_DEMO ? e.SEED_DEMO === 'true' : !e.DATABASE_URL,
    guidance: { patchHz: e.GUIDANCE_PATCH_HZ, linkLimitMs: e.GUIDANCE_LINK_LIMIT_MS },
    poseWindowMs: e.POSE_WINDOW_MS,
    poseFramesPerSecond: e.POSE_FRAMES_PER_SECOND,
    recordingRetentionDays: e.RECORDING_RETENTION_DAYS === 0 ? null : e.RECORDING_RETENTION_DAYS,
    replayRoomMs: e.REPLAY_ROOM_HOURS * 3_600_000,
    retention: { caseDays: e.CASE_RETENTION_DAYS === 0 ? null : e.CASE_RETENTION_DAYS, intervalMs: e.RETENTION_INTERVAL_MINUTES * 60_000 },
    refusedJoinsIntervalMs: e.REFUSED_JOINS_INTERVAL_SECONDS * 1000,
    caseImport: { heapMb: e.IMPORT_WORKER_HEAP_MB, timeoutMs: e.IMPORT_TIMEOUT_SECONDS * 1000 },
    workerNice: e.WORKER_NICE,
    breakGlass: {
      selfGrantRoles: e.BREAK_GLASS_SELF_GRANT_ROLES,
      grantMs: Math.round(e.BREAK_GLASS_MINUTES * 60_000),
      pendingMs: Math.round(e.BREAK_GLASS_PENDING_MINUTES * 60_000),
    },
    livekit,
    fhir,
    dicomweb,
    cds: { services: [...new Set(e.CDS_SERVICES)], builtin: e.CDS_BUILTIN === 'on' },
  };
}
