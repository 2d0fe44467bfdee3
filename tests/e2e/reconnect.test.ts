import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Staying in the room: links, reloads and a server restart all end up back in the same room. */
let db: TestDatabase;
let server: TestServer;
let browser: Browser;
let closeBrowser: () => Promise<void>;

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startTestServer({}, {}, db);
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
  await db?.drop();
});

describe('connections that recover', { timeout: 120_000 }, () => {
  it('a room link survives sign-in and reload, and the room comes back by itself after a server restart', async () => {
    const room = await server.createRoom({ title: 'Restart-proof board', participants: [{ userId: 'rc.cli', role: 'clinician' }] });
    const page: Page = await (await browser.newContext({ viewport: { width: 1200, height: 800 } })).newPage();
    page.setDefaultTimeout(20_000);
    const statuses: string[] = [];
    await page.exposeFunction('reportStatus', (s: string) => statuses.push(s));
    await page.addInitScript(() => {
      addEventListener('DOMContentLoaded', () => {
        const el = document.getElementById('status')!;
        new MutationObserver(() => (window as unknown as { reportStatus: (s: string) => void }).reportStatus(el.textContent ?? '')).observe(el, { childList: true, characterData: true, subtree: true });
      });
    });

    // A shared link: sign in, land in the room (not the room list).
    await page.goto(`${server.app.url}/#room=${room.id}`);
    await devSignInPage(page, server.app.url, 'rc.cli', 'Dr. Steady');
    await page.waitForSelector('.pill.ok');
    expect(await page.textContent('.room-title')).toContain('Restart-proof board');
    expect(page.url()).toContain(`#room=${room.id}`);

    // Reload: straight back into the room.
    await page.reload();
    await page.waitForSelector('.pill.ok');
    expect(await page.textContent('.room-title')).toContain('Restart-proof board');

    // Restart the server on the same port and database.
    const port = server.app.port;
    statuses.length = 0;
    await server.app.close();
    await page.waitForSelector('[data-testid="reconnecting"]', { timeout: 30_000 });
    expect(await page.textContent('[data-testid="reconnecting"]')).toMatch(/Reconnecting to the room…[\s\S]*Trying again in \d+ s/);
    expect(await page.locator('text=Retry now').count()).toBe(1);
    server = await startTestServer({}, { PORT: String(port) }, db);
    // "Retry now" (or the backoff timer) puts us back into the same room with a fresh ticket.
    await page.click('text=Retry now').catch(() => {}); // the timer may have won already
    await page.waitForSelector('.pill.ok', { timeout: 40_000 });
    expect(await page.textContent('.room-title')).toContain('Restart-proof board');
    expect(statuses.some((s) => s.startsWith('Reconnecting'))).toBe(true);
    expect(statuses.some((s) => /Connection lost \(|TypeError|Failed to fetch/.test(s))).toBe(false);
    const admin = await server.as('it.admin', { admin: true });
    expect((await admin.api.getRoom(room.id)).live).toBe(true);
  });

  it('a room the user may not enter sends them to their rooms with a plain message, not a retry loop', async () => {
    const room = await server.createRoom({ title: 'Not for you', participants: [{ userId: 'rc.other', role: 'clinician' }] });
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(`${server.app.url}/#room=${room.id}`);
    await devSignInPage(page, server.app.url, 'rc.stranger', 'Dr. Stranger');
    await page.waitForSelector('text=You are not invited to this room. Ask its host or IT to add you.');
    expect(await page.locator('[data-testid="reconnecting"]').count()).toBe(0);
    expect((await page.textContent('#status'))!.trim()).toBe('Not in a room');
  });

  it('renews a development identity token before it expires, without leaving the page', async () => {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(20_000);
    await page.goto(server.app.url + '/');
    await devSignInPage(page, server.app.url, 'rc.renew', 'Dr. Renew');
    await page.waitForSelector('text=Your rooms');
    // Pretend the token is about to expire, then reload: the app must renew it by itself.
    const before = await page.evaluate(() => {
      const id = JSON.parse(sessionStorage.getItem('consilium.identity')!) as { token: string; expiresAt: number };
      sessionStorage.setItem('consilium.identity', JSON.stringify({ ...id, expiresAt: Date.now() + 40_000 }));
      return id.token;
    });
    await page.reload();
    await page.waitForSelector('text=Your rooms');
    await page.waitForFunction((old) => (JSON.parse(sessionStorage.getItem('consilium.identity')!) as { token: string }).token !== old, before, { timeout: 45_000 });
    const after = await page.evaluate(() => JSON.parse(sessionStorage.getItem('consilium.identity')!) as { token: string; expiresAt: number; userId: string });
    expect(after.userId).toBe('rc.renew');
    expect(after.expiresAt).toBeGreaterThan(Date.now() + 60_000);
    await page.click('text=Sign out');
    await page.waitForSelector('#user-id');
  });
});
