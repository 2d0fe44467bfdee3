import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession } from '../../client/src/sdk/index.ts';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { chestSeries, type CtSeriesOptions } from '../support/ct-phantom.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The slice viewer on a phone (390 × 844, touch): a one-finger swipe scrolls the slices, two fingers dragged
 * together window/level, two fingers spread zoom — each change is the room's shared view, seen by a
 * follower. Touches are the browser's own (DevTools Input.dispatchTouchEvent), so the page sees the
 * pointer events a phone's touchscreen gives it.
 */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const CT: CtSeriesOptions = { size: 128, slices: 64, pixelMm: 2.8, sliceMm: 5, uid: '1.2.826.0.1.3680043.9.7433.2105', patient: { name: 'Phantom^Pocket', id: 'PH-CT-1', birthDate: '19800101' }, description: 'Chest phantom' };

type View = { series: string; slice: number; center: number; width: number; zoom: number; panX: number; panY: number; follow: boolean; drives: boolean };
declare const __consilium: { viewer: { view(): View & { shownSop: string; sliceCount: number } } };

let server: TestServer;
let dataDir: string;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let roomId: string;
let context: BrowserContext;
let phone: Page;
let cdp: CDPSession;
let follower: ClinicSession;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-e2e-touch-'));
  server = await startTestServer({}, { DATA_DIR: dataDir });
  const admin = await server.as('root', { admin: true });
  const { caseId } = await admin.api.importCase({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [{ fullUrl: 'urn:uuid:0b3f2a52-6666-4a1b-9c55-111111111111', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: CT.patient.id }], name: [{ family: 'Phantom', given: ['Pocket'] }], gender: 'other', birthDate: '1980-01-01' } }],
  });
  for (const file of chestSeries(CT)) await admin.api.uploadDicom(caseId, file);
  roomId = (await server.createRoom({ title: 'Chest CT on call', caseId, participants: [{ userId: 'tc.phone', role: 'host' }, { userId: 'tc.desk', role: 'clinician' }] })).id;
  follower = await server.join('tc.desk', roomId, { name: 'Dr. Desk' });
  ({ browser, close: closeBrowser } = await launchChromium());
  context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  phone = await context.newPage();
  phone.setDefaultTimeout(20_000);
  phone.on('pageerror', (err) => console.error('page error:', err.message));
  cdp = await context.newCDPSession(phone);
}, 180_000);
afterAll(async () => {
  await follower?.leave().catch(() => {});
  await context?.close().catch(() => {});
  await closeBrowser?.();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** One touch gesture: every finger's path (CSS px in the viewport), moved together step by step, then lifted. */
async function gesture(paths: { from: [number, number]; to: [number, number] }[], steps = 12): Promise<void> {
  const at = (t: number) => paths.map((p, id) => ({ id, x: p.from[0] + (p.to[0] - p.from[0]) * t, y: p.from[1] + (p.to[1] - p.from[1]) * t }));
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: at(0) });
  for (let i = 1; i <= steps; i++) {
    await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: at(i / steps) });
    await phone.waitForTimeout(16);
  }
  await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
  await phone.waitForTimeout(100);
}

const view = () => phone.evaluate(() => __consilium.viewer.view());
const shared = () => follower.state.viewer.get('shared');

describe('the slice viewer by touch on a phone', { timeout: 180_000 }, () => {
  it('swipe scrolls, two fingers window, a pinch zooms; the follower sees each; nothing is cut off at 390 px', async () => {
    await phone.goto(`${server.app.url}/#room=${roomId}`);
    await devSignInPage(phone, server.app.url, 'tc.phone', 'Dr. Pocket');
    await phone.waitForSelector('.pill.ok', { timeout: 20_000 });
    await phone.waitForFunction(() => __consilium.viewer?.view().shownSop !== '' && __consilium.viewer.view().sliceCount === 64);
    await phone.locator('.slice-stage').scrollIntoViewIfNeeded();
    await phone.waitForTimeout(300);
    const box = (await phone.locator('.slice-canvas').boundingBox())!;
    const [cx, cy] = [box.x + box.width / 2, box.y + box.height / 2];
    expect((await view()).drives).toBe(true); // nobody presents: the host's phone drives the room's view

    // One finger swipes down 160 px: 20 slices on (one per 8 px).
    await gesture([{ from: [cx, cy - 80], to: [cx, cy + 80] }]);
    expect((await view()).slice).toBe(20);
    await eventually(() => expect(shared()).toMatchObject({ slice: 20 }), 10_000);
    await phone.waitForFunction(() => document.querySelector('[data-testid=overlay-slice]')?.textContent?.startsWith('Slice 21 / 64'));

    // Two fingers dragged together 60 px right and 40 px down: a wider window, a higher level.
    const before = await view();
    await gesture([{ from: [cx - 50, cy - 40], to: [cx + 10, cy] }, { from: [cx + 50, cy - 40], to: [cx + 110, cy] }]);
    const windowed = await view();
    expect(windowed.width).toBeGreaterThan(before.width + 50);
    expect(windowed.center).toBeGreaterThan(before.center + 30);
    expect(windowed.zoom).toBe(before.zoom); // a drag, not a pinch
    expect(windowed.slice).toBe(20); // and no scrolling
    await eventually(() => expect(shared()).toMatchObject({ width: windowed.width, center: windowed.center }), 10_000);

    // Two fingers spread from 60 to 180 px apart about the middle: three times the zoom, the middle kept.
    await gesture([{ from: [cx - 30, cy], to: [cx - 90, cy] }, { from: [cx + 30, cy], to: [cx + 90, cy] }]);
    const zoomed = await view();
    expect(zoomed.zoom).toBeGreaterThan(2.6);
    expect(zoomed.zoom).toBeLessThan(3.4);
    expect(Math.abs(zoomed.panX) + Math.abs(zoomed.panY)).toBeLessThan(0.05);
    expect(zoomed.width).toBe(windowed.width); // a pinch does not window
    await eventually(() => expect(shared()!.zoom).toBeCloseTo(zoomed.zoom, 4), 10_000);
    expect(zoomed.follow).toBe(true);

    // The phone layout: nothing wider than the screen, the canvas and every viewer button within it.
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    for (const sel of ['.slice-canvas', '.slice-viewer .viewer-head select', ...['Soft tissue', 'Planes', 'Volume', 'Region'].map((t) => `.slice-viewer button:has-text("${t}")`)]) {
      const b = (await phone.locator(sel).first().boundingBox())!;
      expect(b.x, sel).toBeGreaterThanOrEqual(0);
      expect(b.x + b.width, sel).toBeLessThanOrEqual(390.5);
    }
    const select = (await phone.locator('.slice-viewer .viewer-head select').boundingBox())!;
    const card = (await phone.locator('.slice-viewer').boundingBox())!;
    expect(select.x + select.width).toBeLessThanOrEqual(card.x + card.width - 8); // inside the card's padding, not over its edge
    await phone.evaluate(() => document.querySelector('.slice-viewer')!.scrollIntoView({ block: 'start' }));
    await phone.waitForTimeout(300);
    await phone.screenshot({ path: path.join(DOCS, 'imaging-phone.png') });
  });
});
