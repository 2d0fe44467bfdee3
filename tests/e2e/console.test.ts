import http from 'node:http';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { launchChromium, seriousAxeViolations } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** The admin console as hospital IT uses it, and how the app is delivered. */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
let server: TestServer;
let admin: ConsiliumClient;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let caseId: string;
let patientId: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('con.admin', { admin: true, name: 'IT Admin' });
  ({ caseId, patientId } = await admin.api.importCase(caseBundle({ name: 'Consolename', mrn: 'CON-MRN-77', note: 'Connote' })));
  const warmup = await admin.api.createRoom({ title: 'Warm-up', kind: 'training', participants: [{ userId: 'con.doc', role: 'clinician' }] });
  await (await server.as('con.doc', { name: 'Dr. Console' })).api.getTicket(warmup.id); // now in the user directory
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})));
});
afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
});

async function consolePage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => console.error('console page error:', err.message));
  await page.goto(server.app.url + '/admin');
  await page.fill('#admin-user', 'con.admin');
  await page.click('button[type=submit]');
  await page.waitForSelector('text=New room');
  return page;
}

describe('admin console', { timeout: 90_000 }, () => {
  it('provisions a room for a patient picked by name, people picked from the directory, access from presets, with plain-language errors', async () => {
    const page = await consolePage();
    const caseOption = (await page.$$eval('#room-case option', (os) => os.map((o) => [o.getAttribute('value'), o.textContent]))).find(([v]) => v === caseId)!;
    expect(caseOption[1]).toBe('Jane Consolename · F · born 1961 · MRN CON-MRN-77');
    await page.fill('#room-title', 'Console tumour board');
    await page.selectOption('#room-case', caseId);
    const first = page.locator('.p-row').nth(0);
    await first.locator('.p-user').fill('con.doc');
    await first.locator('.p-user').dispatchEvent('input');
    expect(await first.locator('.p-name').textContent()).toBe('Dr. Console');
    expect(await page.$$eval('#directory-users option', (os) => os.map((o) => o.getAttribute('value')))).toContain('con.doc');
    await first.locator('.p-role').selectOption('clinician');
    await first.locator('.p-access').selectOption('vitals');
    await page.click('text=Add person');
    const second = page.locator('.p-row').nth(1);
    await second.locator('.p-user').fill('con.student');
    await second.locator('.p-role').selectOption('observer');
    await second.locator('.p-access').selectOption('custom');
    await second.locator('.p-scopes').fill('patient/Observation.everything');
    await page.click('text=Create room');
    // The refusal arrives from the server: wait for it rather than reading the alert before it is filled.
    await page.waitForSelector('form [role="alert"]:has-text("Some fields")');
    const error = (await page.locator('form [role="alert"]').last().textContent())!;
    expect(error).toMatch(/^Some fields are missing or invalid\. Participant 2, scope 1: /);
    expect(error).not.toMatch(/participants\.1|\{|\[/);

    await second.locator('.p-access').selectOption('teaching');
    await page.click('text=Create room');
    await page.waitForSelector('td:has-text("Console tumour board")');
    const row = page.locator('tr:has-text("Console tumour board")');
    expect(await row.textContent()).toContain('Jane Consolename');
    expect(await row.textContent()).toContain('Dr. Console (clinician)');
    const made = (await admin.api.listRooms()).find((r) => r.title === 'Console tumour board')!;
    expect(made.caseId).toBe(caseId);
    expect(made.participants).toEqual([
      { userId: 'con.doc', role: 'clinician', scopes: ['patient/Observation.rs'] },
      { userId: 'con.student', role: 'observer', scopes: ['deidentified', 'patient/Observation.rs', 'patient/Condition.rs', 'patient/ImagingStudy.rs'] },
    ]);
    await page.screenshot({ path: path.join(DOCS, 'admin-console.png') });
    expect(await seriousAxeViolations(page, ['main', '.topbar'])).toEqual([]);
  });

  it('live rooms refresh by themselves; the audit trail is newest first with patient and action filters and a CSV export', async () => {
    const room = await admin.api.createRoom({ title: 'Live board', kind: 'case-conference', caseId, participants: [{ userId: 'con.live', role: 'clinician' }] });
    const page = await consolePage();
    await page.click('role=tab[name="Live rooms"]');
    await page.waitForSelector('[data-testid="live-rooms"]:has-text("No room is live right now.")');
    const session = await server.join('con.live', room.id, { name: 'Dr. Live' });
    await page.waitForSelector('[data-testid="live-rooms"]:has-text("Dr. Live")', { timeout: 12_000 }); // no click: it refreshed
    expect(await page.locator('[data-testid="live-rooms"] button:has-text("Mute"):visible').count()).toBe(0); // voice is off here
    await session.leave();
    await page.waitForSelector('[data-testid="live-rooms"]:has-text("No room is live right now.")', { timeout: 12_000 });
    await page.screenshot({ path: path.join(DOCS, 'admin-live.png') });

    await page.click('role=tab[name="Audit"]');
    await page.waitForSelector('[data-testid="audit-row"]');
    const times = await page.$$eval('[data-testid="audit-row"] td.when', (tds) => tds.map((t) => t.textContent ?? ''));
    const parsed = times.map((t) => Date.parse(t)).filter((n) => !Number.isNaN(n));
    expect(parsed.length).toBeGreaterThan(2);
    expect(parsed).toEqual([...parsed].sort((a, b) => b - a));
    await page.selectOption('#audit-patient', patientId);
    await page.selectOption('#audit-action', 'disclosure');
    await page.click('.filters >> text=Search');
    await page.waitForSelector('table.audit[aria-busy="false"]'); // the filtered page has loaded
    const rows = await page.$$eval('[data-testid="audit-row"]', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent ?? '')));
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r[2]).toMatch(/^disclosure/);
      expect(r[3]).toBe('Jane Consolename');
    }
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('text=Export shown rows (CSV)')]);
    const csv = await (await download.createReadStream()).toArray();
    const text = Buffer.concat(csv as Buffer[]).toString('utf8');
    expect(text.split('\n')[0]).toBe('seq,at,actor,action,outcome,room,patient,subject,details');
    expect(text.split('\n').length).toBe(rows.length + 1);
    await page.screenshot({ path: path.join(DOCS, 'admin-audit.png') });
  });

  it('an invalid or expired sign-in goes back to sign-in with a plain message', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (err) => console.error('expired sign-in page error:', err.message));
    await page.goto(server.app.url + '/admin');
    await page.waitForSelector('#admin-user');
    await page.evaluate(() => sessionStorage.setItem('consilium.identity', JSON.stringify({ token: 'x.eyJzdWIiOiJ4In0.y', userId: 'x', name: 'X', admin: true, expiresAt: Date.now() + 3_600_000 })));
    await page.reload();
    await page.waitForSelector('#admin-user');
    expect(await page.textContent('[role="alert"]')).toMatch(/Your sign-in is no longer valid|Please sign in/);
    expect(await page.content()).not.toContain('ConsiliumError');
  });
});

/** Bytes on the wire (fetch would decompress them). */
function wireBytes(url: string, encoding: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { 'accept-encoding': encoding } }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => (n += c.length));
      res.on('end', () => resolve(n));
    }).on('error', reject);
  });
}

describe('delivery', () => {
  it('compresses, caches hashed files as immutable, and the sign-in page loads without three.js or LiveKit', async () => {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const scripts: { url: string; bytes: number; encoding: string | undefined }[] = [];
    page.on('response', async (res) => {
      if (res.request().resourceType() === 'script') scripts.push({ url: res.url(), bytes: Number(res.headers()['content-length'] ?? 0), encoding: res.headers()['content-encoding'] });
    });
    await page.goto(server.app.url + '/');
    await page.waitForSelector('#user-id');
    await page.waitForLoadState('networkidle');
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.some((s) => /room-view|voice|three|livekit/i.test(s.url))).toBe(false);
    const html = await fetch(server.app.url + '/', { headers: { 'accept-encoding': 'br, gzip' } });
    expect(html.headers.get('cache-control')).toBe('no-cache');
    const main = /src="(\/assets\/[^"]+\.js)"/.exec(await html.text())![1]!;
    const br = await fetch(server.app.url + main, { headers: { 'accept-encoding': 'br' } });
    expect(br.headers.get('content-encoding')).toBe('br');
    expect(br.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const gz = await fetch(server.app.url + main, { headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    // What the sign-in page costs, compressed: printed for the report.
    const rawBytes = await wireBytes(server.app.url + main, 'identity');
    const brBytes = await wireBytes(server.app.url + main, 'br');
    console.log(`sign-in page main script: ${rawBytes} bytes raw, ${brBytes} bytes brotli; scripts loaded: ${scripts.map((s) => s.url.replace(server.app.url, '')).join(', ')}`);
    expect(brBytes).toBeLessThan(rawBytes / 2);
    const fav = await fetch(server.app.url + '/favicon.svg');
    expect(fav.status).toBe(200);
  });
});
