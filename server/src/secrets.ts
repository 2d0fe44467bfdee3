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
    const p = new URL(url).password;
    return p ? decodeURIComponent(p) : null;
  } catch {
    return null;
  }
}
