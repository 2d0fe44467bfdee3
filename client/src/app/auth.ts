import { ConsiliumApi } from '../sdk/api.ts';

/**
 * Sign-in for the browser app and the admin console. Development: the
 * server's dev identity provider. Production: OpenID Connect authorization
 * code flow with PKCE against the configured issuer (public client). The
 * identity token lives in sessionStorage only (gone with the tab).
 */
export interface Identity {
  token: string;
  userId: string;
  name: string;
  admin: boolean;
  expiresAt: number;
  /** Issued by the development identity provider (it can simply be asked again). */
  dev?: boolean;
}

const KEY = 'consilium.identity';
const PKCE_KEY = 'consilium.pkce';

export function decodeClaims(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(decodeURIComponent(escape(atob(part.replace(/-/g, '+').replace(/_/g, '/'))))) as Record<string, unknown>;
}

function identityFrom(token: string): Identity {
  const c = decodeClaims(token);
  const scopes = [c['scope'], c['scp'], c['roles'], c['groups']].flatMap((v) => (typeof v === 'string' ? v.split(' ') : Array.isArray(v) ? v : []));
  return {
    token,
    userId: String(c['sub']),
    name: String(c['name'] ?? c['preferred_username'] ?? c['sub']),
    admin: scopes.includes('consilium:admin'),
    expiresAt: Number(c['exp']) * 1000,
  };
}

export function currentIdentity(): Identity | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  const id = JSON.parse(raw) as Identity;
  return id.expiresAt > Date.now() + 30_000 ? id : null;
}

export function signOut(): void {
  sessionStorage.removeItem(KEY);
}

/**
 * A development identity reads patient data like a clinician's token from the hospital's provider would
 * (SMART `patient/*.rs`): HTTP reads through a room (older results, images) still get only what the room
 * gives this participant — the room's access and the token's are intersected (caseReadAccess).
 */
export async function devSignIn(api: ConsiliumApi, userId: string, name: string, admin: boolean): Promise<Identity> {
  // Like a SMART launch with patient scope: reading a case over HTTP (the rest of a big case, on demand) needs patient
  // scopes in the identity token, and is still capped by the room's access. Administrators keep a token without them.
  const res = await api.devLogin({ userId, name, admin, ...(admin ? {} : { scopes: ['patient/*.rs'] }) });
  const id = { ...identityFrom(res.token), dev: true };
  sessionStorage.setItem(KEY, JSON.stringify(id));
  return id;
}

let refreshTimer: ReturnType<typeof setTimeout> | null = null;

/**
 * Keep the identity token fresh: two minutes before it expires, a development identity signs in
 * again by itself; an OpenID Connect one (no refresh token for a public browser client) asks
 * the user to sign in again — `expired` is called, and the page decides how to ask.
 */
export function scheduleRefresh(id: Identity, api: ConsiliumApi, on: { refreshed(id: Identity): void; expired(): void }): void {
  if (refreshTimer) clearTimeout(refreshTimer);
  const lead = Math.min(120_000, Math.max(5_000, (id.expiresAt - Date.now()) / 4));
  const due = Math.max(1_000, id.expiresAt - Date.now() - lead);
  refreshTimer = setTimeout(async () => {
    if (!id.dev) return on.expired();
    try {
      const fresh = await devSignIn(api, id.userId, id.name, id.admin);
      on.refreshed(fresh);
      scheduleRefresh(fresh, api, on);
    } catch {
      on.expired();
    }
  }, Math.min(due, 2 ** 31 - 1));
}

const b64url = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

async function discovery(issuer: string): Promise<{ authorization_endpoint: string; token_endpoint: string }> {
  const res = await fetch(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  if (!res.ok) throw new Error(`identity provider discovery failed (${res.status})`);
  return (await res.json()) as { authorization_endpoint: string; token_endpoint: string };
}

/** Redirect to the hospital's identity provider (authorization code + PKCE). */
export async function oidcSignIn(issuer: string, clientId: string, scopes = 'openid profile'): Promise<void> {
  const { authorization_endpoint } = await discovery(issuer);
  const verifier = b64url(crypto.getRandomValues(new Uint8Array(48)));
  const state = b64url(crypto.getRandomValues(new Uint8Array(16)));
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state, returnTo: location.pathname + location.hash }));
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: `${location.origin}${location.pathname}`,
    scope: scopes,
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  location.assign(url.toString());
}

/** Finish the redirect: exchange the code for tokens. Returns null when this is not a redirect back. */
export async function completeOidcSignIn(issuer: string, clientId: string): Promise<Identity | null> {
  const params = new URLSearchParams(location.search);
  const code = params.get('code');
  const pending = sessionStorage.getItem(PKCE_KEY);
  if (!code || !pending) return null;
  const { verifier, state, returnTo } = JSON.parse(pending) as { verifier: string; state: string; returnTo?: string };
  sessionStorage.removeItem(PKCE_KEY);
  if (params.get('state') !== state) throw new Error('sign-in state mismatch; please try again');
  const { token_endpoint } = await discovery(issuer);
  const res = await fetch(token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${location.origin}${location.pathname}`, client_id: clientId, code_verifier: verifier }),
  });
  if (!res.ok) throw new Error(`token exchange failed (${res.status})`);
  const tokens = (await res.json()) as { access_token?: string; id_token?: string };
  // The access token is issued for Consilium's audience; the id token is the fallback for IdPs that put the client id there.
  const token = tokens.access_token ?? tokens.id_token;
  if (!token) throw new Error('the identity provider returned no token');
  // Back to where sign-in started, room link included (only a same-origin path is accepted).
  history.replaceState(null, '', returnTo && returnTo.startsWith('/') && !returnTo.startsWith('//') ? returnTo : location.pathname);
  const id = identityFrom(token);
  sessionStorage.setItem(KEY, JSON.stringify(id));
  return id;
}
