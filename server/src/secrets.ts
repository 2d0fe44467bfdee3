/**
 * Secrets that are published in this repository — compose samples and test
 * fixtures — and so are known to everyone. Production refuses them, and any
 * secret shorter than 32 bytes. tests/unit/production-secrets.test.ts scans
 * the repository and fails when a secret-looking literal is missing here.
 */
export const PUBLISHED_SECRETS: readonly string[] = [
  'change-me-to-a-long-random-secret-0123456789', // docker-compose sample LiveKit secret (removed; kept refused)
  'consilium', // docker-compose sample PostgreSQL password (removed; kept refused)
  'consilium-dev-only-livekit-secret-not-for-production', // docker-compose.dev.yml
  'consilium-dev-only', // docker-compose.dev.yml PostgreSQL password
  'consilium-app-dev-only', // docker-compose.dev.yml app role password
  'metrics-token-0123456789', // tests
  'test-secret-that-is-long-enough-for-hs256', // tests
];

export const MIN_SECRET_BYTES = 32;
const PLACEHOLDER = /change[-_ ]?me|example|placeholder|not[-_ ]for[-_ ]production|dev[-_ ]only/i;

/** Why this secret may not be used in production, or null. */
export function secretProblem(value: string): string | null {
  if (PUBLISHED_SECRETS.includes(value)) return 'is a sample published in the Consilium repository; generate your own (e.g. openssl rand -base64 48)';
  if (PLACEHOLDER.test(value)) return 'looks like a placeholder; generate your own (e.g. openssl rand -base64 48)';
  if (new TextEncoder().encode(value).length < MIN_SECRET_BYTES) return `must be at least ${MIN_SECRET_BYTES} bytes in production`;
  return null;
}

/** The password in a postgres:// or redis:// URL, if any. */
export function urlPassword(url: string): string | null {
  try {
    const u = new URL(url);
    // node-postgres and ioredis also take the password as a query parameter (`?password=`), which wins over userinfo.
    const p = u.searchParams.get('password') ?? (u.password ? decodeURIComponent(u.password) : '');
    return p || null;
  } catch {
    return null;
  }
}

/**
 * Hosts a plain-text (http://, ws://) connection may reach in production: this
 * machine only — a sidecar or local TLS proxy, where nothing crosses a network.
 */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

const SECURE: Record<string, string> = { 'http:': 'https:', 'ws:': 'wss:' };

/**
 * The production rule for every URL that carries a secret or patient data
 * (config.ts applies it to each such variable): a password in it must be one
 * secretProblem accepts, and never empty; a web or WebSocket URL must use TLS
 * (https://, wss://) unless it points at loopback or at a single-label host the
 * operator named in PRIVATE_NETWORK_HOSTS (a compose service). Database and Redis URLs are
 * checked for their passwords only: their transport is the deployment's
 * private network or the driver's TLS settings.
 */
export function productionUrlProblems(name: string, value: string, privateHosts: ReadonlySet<string> = new Set()): string[] {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [`${name}: is not a valid URL`];
  }
  const problems: string[] = [];
  const password = urlPassword(value);
  if (password) {
    const problem = secretProblem(password);
    if (problem) problems.push(`${name} (password): ${problem}`);
  } else if (/^[a-z][a-z0-9+.-]*:\/\/[^/@:]*:@/i.test(value)) {
    problems.push(`${name}: has an empty password`);
  }
  const secure = SECURE[url.protocol];
  if (secure && !isLoopbackHost(url.hostname) && !privateHosts.has(url.hostname.toLowerCase())) {
    problems.push(`${name}: must use ${secure}// in production (plain ${url.protocol}// only to loopback: localhost, 127.0.0.0/8, [::1], or a host named in PRIVATE_NETWORK_HOSTS)`);
  }
  else if (!secure && !/^(https|wss|postgres|postgresql|redis|rediss):$/.test(url.protocol)) problems.push(`${name}: ${url.protocol}// is not a supported scheme`);
  return problems;
}
