import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { TestOidcProvider } from '../support/oidc-provider.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Production sign-in: authorization code + PKCE against the hospital's provider, no dev login anywhere. */
const idp = new TestOidcProvider('consilium-web', 'consilium', { sub: 'oidc.clinician', name: 'Dr. Oidc', scope: 'openid profile' });
let server: TestServer;
let browser: Browser;
let closeBrowser: () => Promise<void>;

beforeAll(async () => {
  await idp.start();
  server = await startTestServer({}, { AUTH_JWKS_URL: `${idp.issuer}/jwks`, AUTH_ISSUER: idp.issuer, AUTH_AUDIENCE: 'consilium', AUTH_CLIENT_ID: 'consilium-web' });
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
  await idp.stop();
});

describe('sign-in with OpenID Connect', () => {
  it('redirects to the provider, exchanges the code with PKCE, and lands signed in', async () => {
    const page = await (await browser.newContext()).newPage();
    await page.goto(server.app.url + '/');
    await page.click('text=Sign in with your hospital account');
    await page.waitForSelector('text=Your rooms');
    expect(await page.textContent('#who')).toBe('Dr. Oidc');
    expect(page.url()).not.toContain('code=');
    expect(idp.tokenRequests).toEqual([{ verifierOk: true }]);
    // The development form is not offered in this mode.
    expect(await page.locator('#user-id').count()).toBe(0);
  });
});
