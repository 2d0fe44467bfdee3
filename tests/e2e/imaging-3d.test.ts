import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The case's CT on the table in 3D: pydicom's cardiac CT (5 slices) uploaded to its patient's case;
 * the presenter scrolls and the follower's axial plane moves through the volume with the 2D viewer.
 */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dicom/ct-series');

type Described = { visible: boolean; slice: number; loaded: number; of: number; planes: Record<'axial' | 'coronal' | 'sagittal', { at: number; corners: number[][]; texture: [number, number] | null; centre: [number, number, number] }> };
declare const __consilium: { volume: { describe(): Described }; world: { screenPointOf(p: number[]): { x: number; y: number } | null }; viewer: { view(): { slice: number; shownSop: string; sliceCount: number } } };

let server: TestServer;
let dataDir: string;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let roomId: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-e2e-imaging3d-'));
  server = await startTestServer({}, { DATA_DIR: dataDir });
  const admin = await server.as('root', { admin: true });
  const { caseId } = await admin.api.importCase({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [{ fullUrl: 'urn:uuid:0b3f2a52-3333-4a1b-9c55-dddddddddddd', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: '98890234' }], name: [{ family: 'Doe', given: ['Peter'] }], gender: 'male', birthDate: '1950-01-01' } }],
  });
  for (const name of (await readdir(FIXTURES)).sort()) await admin.api.uploadDicom(caseId, new Uint8Array(await readFile(path.join(FIXTURES, name))));
  roomId = (await server.createRoom({ title: 'Cardiac CT in 3D', caseId, participants: [{ userId: 'v3.a', role: 'host' }, { userId: 'v3.b', role: 'clinician' }] })).id;
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await closeBrowser?.();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function join(userId: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(`${server.app.url}/#room=${roomId}`);
  await devSignInPage(page, server.app.url, userId, name);
  await page.waitForSelector('.pill.ok', { timeout: 20_000 });
  await page.waitForFunction(() => __consilium.viewer?.view().shownSop !== '' && __consilium.viewer.view().sliceCount > 0);
  return page;
}

const described = (p: Page) => p.evaluate(() => __consilium.volume.describe());

/** Mean RGB of an 11×11 patch of the rendered page around a room point (from a screenshot: WebGL keeps no buffer to read). */
async function patchAt(page: Page, point: number[]): Promise<[number, number, number]> {
  const at = (await page.evaluate((p) => __consilium.world.screenPointOf(p), point))!;
  const box = (await page.locator('.viewport canvas').boundingBox())!;
  const png = await page.screenshot({ clip: { x: box.x + at.x - 5, y: box.y + at.y - 5, width: 11, height: 11 } });
  return page.evaluate(async (b64) => {
    const bmp = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], { type: 'image/png' })); // the page's CSP refuses data: URLs
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const g = c.getContext('2d')!;
    g.drawImage(bmp, 0, 0);
    const d = g.getImageData(0, 0, bmp.width, bmp.height).data;
    const sum = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) sum[k]! += d[i + k]!;
    return sum.map((s) => s / (d.length / 4)) as [number, number, number];
  }, png.toString('base64'));
}

describe('the CT on the table in 3D', { timeout: 120_000 }, () => {
  it('axial, coronal and sagittal planes lie on the table; the follower’s axial plane moves with the presenter’s slice; the toggle hides them', async () => {
    const a = await join('v3.a', 'Dr. Adams');
    const b = await join('v3.b', 'Dr. Baker');
    await a.click('#present');
    await eventually(async () => expect(await described(b)).toMatchObject({ visible: true, loaded: 5, of: 5 }), 20_000);
    const before = await described(b);
    // Every plane is textured and lies over the table top (y ≥ 0.92 m), within the table's radius.
    for (const plane of Object.values(before.planes)) {
      expect(plane.texture).not.toBeNull();
      for (const c of plane.corners) {
        expect(c[1]).toBeGreaterThanOrEqual(0.919);
        expect(Math.hypot(c[0]!, c[2]!)).toBeLessThan(0.9);
      }
    }
    expect(before.planes.axial.texture).toEqual([16, 16]); // the acquired plane at full resolution (pydicom's CT is 16 × 16)
    expect(before.planes.coronal.texture![1]).toBe(5); // reformats across the 5 slices

    // The presenter scrolls two slices: the follower's axial plane is now at slice 2, moved along the table's long axis.
    await a.focus('.slice-canvas');
    await a.keyboard.press('ArrowDown');
    await a.keyboard.press('ArrowDown');
    await eventually(async () => expect((await described(b)).planes.axial.at).toBe(2), 10_000);
    const after = await described(b);
    expect(Math.abs(after.planes.axial.centre[2] - before.planes.axial.centre[2])).toBeGreaterThan(0.001);
    expect(after.planes.axial.centre[0]).toBeCloseTo(before.planes.axial.centre[0], 6);

    // On screen: the axial plane's middle shows the CT (not the table or the room behind); hidden, it does not.
    await b.waitForTimeout(400);
    // A quarter of the way from the plane's middle to a corner: clear of the lines where the other two planes cross it.
    const spot = after.planes.axial.centre.map((c, i) => 0.75 * c + 0.25 * after.planes.axial.corners[0]![i]!);
    const shown = await patchAt(b, spot);
    await b.click('[data-testid=volume-toggle]');
    await eventually(async () => expect((await described(b)).visible).toBe(false));
    await b.waitForTimeout(300);
    const hidden = await patchAt(b, spot);
    const diff = Math.hypot(shown[0] - hidden[0], shown[1] - hidden[1], shown[2] - hidden[2]);
    expect(diff, `shown ${shown} hidden ${hidden}`).toBeGreaterThan(20);
    // A CT in a soft-tissue window is grey: the three channels agree.
    expect(Math.max(...shown) - Math.min(...shown)).toBeLessThan(12);

    // The picture for the docs: the presenter's view, turned a little so all three planes show.
    const canvas = (await a.locator('.viewport canvas').boundingBox())!;
    await a.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height * 0.3);
    await a.mouse.down();
    await a.mouse.move(canvas.x + canvas.width / 2 + 140, canvas.y + canvas.height * 0.3 + 25, { steps: 8 });
    await a.mouse.up();
    for (let i = 0; i < 10; i++) await a.mouse.wheel(0, -100);
    await a.waitForTimeout(800);
    await a.locator('.main-col').screenshot({ path: path.join(DOCS, 'imaging-3d.png') });
  });
});
