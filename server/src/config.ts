import { z } from 'zod';
import { RoomRole } from '../../shared/src/roles.ts';

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
  DATA_DIR: z.string().default('.data'),
  REDIS_URL: z.preprocess(emptyAsUndefined, z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional()),
  AUTH_ISSUER: optionalString,
  AUTH_AUDIENCE: optionalString,
  AUTH_JWKS_URL: optionalUrl,
  /** Public OIDC client id the browser app uses (authorization code + PKCE). */
  AUTH_CLIENT_ID: optionalString,
  METRICS_TOKEN: z.preprocess(emptyAsUndefined, z.string().min(16, 'use at least 16 characters').optional()),
  HTTP_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).default(600),
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
});

export type AuthConfig =
  | { mode: 'oidc'; issuer: string; audience: string; jwksUrl: string; clientId: string | null }
  | { mode: 'dev' };

export interface Config {
  nodeEnv: 'development' | 'test' | 'production';
  port: number;
  host: string;
  /** Public base URL; derived from the bound port when unset. */
  publicUrl: string | null;
  /** null → start embedded PostgreSQL in dataDir. */
  databaseUrl: string | null;
  dataDir: string;
  redisUrl: string | null;
  auth: AuthConfig;
  ticketTtlSeconds: number;
  /** Requests per minute per client address on /api (webhooks exempt: they are signed). */
  httpRateLimitPerMinute: number;
  /** Bearer token for GET /metrics; null → no metrics endpoint. */
  metricsToken: string | null;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  /** Seed the demo room when it does not exist (defaults to on for the embedded database). */
  seedDemo: boolean;
  breakGlass: { selfGrantRoles: RoomRole[]; grantMs: number; pendingMs: number };
  /** null → voice off (tickets carry voice: null). */
  livekit: LiveKitConfig | null;
  /** The site's image viewer (PACS / DICOMweb), `{studyUid}` replaced by the study's UID; null → series listed only. */
  imagingViewerUrl: string | null;
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
    auth = { mode: 'oidc', issuer: e.AUTH_ISSUER ?? '', audience: e.AUTH_AUDIENCE ?? '', jwksUrl: e.AUTH_JWKS_URL, clientId: e.AUTH_CLIENT_ID ?? null };
  } else if (e.NODE_ENV === 'production') {
    problems.push('AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE: required in production (the development identity provider is disabled)');
    auth = { mode: 'dev' };
  } else {
    auth = { mode: 'dev' };
  }
  if (e.NODE_ENV === 'production' && !e.PUBLIC_URL) problems.push('PUBLIC_URL: required in production');
  if (e.REDIS_URL && !e.PUBLIC_URL) problems.push("PUBLIC_URL: required with REDIS_URL (this process's own address, which clients of rooms hosted here connect to)");
  if (e.NODE_ENV === 'production' && !e.DATABASE_URL) problems.push('DATABASE_URL: required in production (embedded PostgreSQL is for development)');
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
  if (problems.length > 0) throw new ConfigError(problems);

  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.PUBLIC_URL ? e.PUBLIC_URL.replace(/\/+$/, '') : null,
    imagingViewerUrl: e.IMAGING_VIEWER_URL ?? null,
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: e.DATA_DIR,
    redisUrl: e.REDIS_URL ?? null,
    auth,
    ticketTtlSeconds: e.TICKET_TTL_SECONDS,
    httpRateLimitPerMinute: e.HTTP_RATE_LIMIT_PER_MINUTE,
    metricsToken: e.METRICS_TOKEN ?? null,
    logLevel: e.LOG_LEVEL,
    seedDemo: e.SEED_DEMO ? e.SEED_DEMO === 'true' : !e.DATABASE_URL,
    breakGlass: {
      selfGrantRoles: e.BREAK_GLASS_SELF_GRANT_ROLES,
      grantMs: Math.round(e.BREAK_GLASS_MINUTES * 60_000),
      pendingMs: Math.round(e.BREAK_GLASS_PENDING_MINUTES * 60_000),
    },
    livekit,
  };
}
