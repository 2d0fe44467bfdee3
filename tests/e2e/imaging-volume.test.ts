import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { chestSeries, type CtSeriesOptions } from '../support/ct-phantom.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Volume rendering on the table: a synthetic chest CT (128 × 128 × 64) uploaded to its patient's case; the
 * presenter switches the 3D view from planes to the volume and to a MIP, and changes the window (the
 * transfer function); the follower's 3D view does the same. The voxels reach the GPU only through the
 * room's frame reads, and a participant without ImagingStudy gets no volume and no frame.
 */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const CT: CtSeriesOptions = { size: 128, slices: 64, pixelMm: 2.8, sliceMm: 5, uid: '1.2.826.0.1.3680043.9.7433.2103', patient: { name: 'Phantom^Chest', id: 'VR-CT-1', birthDate: '19700101' }, description: 'Chest phantom' };

type Described = {
  visible: boolean;
  mode: string;
  planesShown: boolean;
  loaded: number;
  of: number;
  planes: Record<'axial' | 'coronal' | 'sagittal', { at: number; corners: number[][]; centre: [number, number, number] }>;
  render: { shown: boolean; size: [number, number, number]; bytes: number; loaded: number; of: number; centre: [number, number, number]; marches: number } | null;
};
declare const __consilium: { volume: { describe(): Described }; world: { screenPointOf(p: number[]): { x: number; y: number } | null }; viewer: { view(): { slice: number; shownSop: string; sliceCount: number; center: number; width: number } } };

let server: TestServer;
let dataDir: string;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let roomId: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-e2e-volume-'));
  server = await startTestServer({}, { DATA_DIR: dataDir });
  const admin = await server.as('root', { admin: true });
  const { caseId } = await admin.api.importCase({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [{ fullUrl: 'urn:uuid:0b3f2a52-4444-4a1b-9c55-eeeeeeeeeeee', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: CT.patient.id }], name: [{ family: 'Phantom', given: ['Chest'] }], gender: 'other', birthDate: '1970-01-01' } }],
  });
  for (const file of chestSeries(CT)) await admin.api.uploadDicom(caseId, file);
  roomId = (await server.createRoom({
    title: 'Chest CT, volume rendered',
    caseId,
    participants: [{ userId: 'vr.a', role: 'host' }, { userId: 'vr.b', role: 'clinician' }, { userId: 'vr.labs', role: 'clinician', scopes: ['patient/Patient.rs', 'patient/Observation.rs'] }],
  })).id;
  ({ browser, close: closeBrowser } = await launchChromium());
}, 180_000);
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})));
});
afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A signed-in page in the room; `imaging` lists every imaging request it makes. */
async function join(userId: string, name: string, waitForImages = true): Promise<{ page: Page; imaging: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => console.error('page error:', err.message));
  const imaging: string[] = [];
  page.on('request', (r) => void (r.url().includes('/imaging') && imaging.push(r.url())));
  await page.goto(`${server.app.url}/#room=${roomId}`);
  await devSignInPage(page, server.app.url, userId, name);
  await page.waitForSelector('.pill.ok', { timeout: 20_000 });
  if (waitForImages) await page.waitForFunction(() => __consilium.viewer?.view().shownSop !== '' && __consilium.viewer.view().sliceCount > 0);
  return { page, imaging };
}

const described = (p: Page) => p.evaluate(() => __consilium.volume.describe());

/** Mean RGB of a patch of the rendered 3D view around a room point (from a screenshot: WebGL keeps no buffer to read). */
async function patchAt(page: Page, point: number[], half = 6): Promise<[number, number, number]> {
  const at = (await page.evaluate((p) => __consilium.world.screenPointOf(p), point))!;
  const box = (await page.locator('.viewport canvas').boundingBox())!;
  const png = await page.screenshot({ clip: { x: box.x + at.x - half, y: box.y + at.y - half, width: 2 * half + 1, height: 2 * half + 1 } });
  return page.evaluate(async (b64) => {
    const bmp = await createImageBitmap(new Blob([Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0))], { type: 'image/png' }));
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const g = c.getContext('2d')!;
    g.drawImage(bmp, 0, 0);
    const d = g.getImageData(0, 0, bmp.width, bmp.height).data;
    const sum = [0, 0, 0];
    for (let i = 0; i < d.length; i += 4) for (let k = 0; k < 3; k++) sum[k]! += d[i + k]!;
    return sum.map((s) => s / (d.length / 4)) as [number, number, number];
  }, png.toString('base64'));
}
const distance = (a: number[], b: number[]) => Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!);

describe('the CT rendered as a volume on the table', { timeout: 240_000 }, () => {
  it('the presenter switches planes → volume → MIP and changes the window; the follower’s rendering follows; reads stay room-scoped', async () => {
    const { page: a } = await join('vr.a', 'Dr. Adams');
    const { page: b, imaging } = await join('vr.b', 'Dr. Baker');
    await a.click('#present');
    await eventually(async () => expect(await described(b)).toMatchObject({ visible: true, mode: 'planes', planesShown: true, loaded: 64, of: 64 }), 60_000);
    expect((await described(b)).render).toBeNull(); // no brick until someone looks at the volume

    // Volume rendering, for everyone following.
    await a.click('button[data-mode3d=volume]');
    await eventually(async () => expect(await described(b)).toMatchObject({ mode: 'volume', planesShown: false }), 10_000);
    const vol = await eventually(async () => {
      const d = await described(b);
      expect(d.render).toMatchObject({ shown: true, loaded: 64, of: 64 });
      return d.render!;
    }, 60_000);
    // The whole series fits the GPU as it is: 128 × 128 × 64 half floats (2 bytes a voxel).
    expect(vol.size).toEqual([128, 128, 64]);
    expect(vol.bytes).toBe(128 * 128 * 64 * 2);
    expect(await b.getAttribute('button[data-mode3d=volume]', 'aria-pressed')).toBe('true');

    // Marched once per change, not every frame: a still camera and an unchanged view draw no new picture.
    await b.waitForTimeout(1500);
    const marches = (await described(b)).render!.marches;
    await b.waitForTimeout(1000);
    expect((await described(b)).render!.marches).toBe(marches);
    // What the follower sees at the middle of the volume changes with the window: soft tissue, then bone.
    const soft = await patchAt(b, vol.centre);
    await a.click('button[data-preset=bone]');
    await eventually(async () => expect((await b.evaluate(() => __consilium.viewer.view())).width).toBe(1800), 10_000);
    await b.waitForTimeout(1500);
    const bone = await patchAt(b, vol.centre);
    expect(distance(soft, bone), `soft ${soft} bone ${bone}`).toBeGreaterThan(8);
    await a.screenshot({ path: path.join(os.tmpdir(), 'consilium-volume-presenter.png') });

    // Hidden on the follower's side, the table shows through where the volume was.
    await b.click('[data-testid=volume-toggle]');
    await eventually(async () => expect((await described(b)).visible).toBe(false));
    await b.waitForTimeout(800);
    const hidden = await patchAt(b, vol.centre);
    expect(distance(bone, hidden), `bone ${bone} hidden ${hidden}`).toBeGreaterThan(15);
    await b.click('[data-testid=volume-toggle]');

    // A MIP in a CT angiography window: the contrast-filled aorta and heart, the bones.
    await a.click('button[data-mode3d=mip]');
    await eventually(async () => expect(await described(b)).toMatchObject({ mode: 'mip', visible: true, render: { shown: true } }), 10_000);

    // Every imaging read the follower made went through the room (and so through its own access).
    expect(imaging.length).toBeGreaterThan(64);
    for (const url of imaging) expect(new URL(url).searchParams.get('room')).toBe(roomId);

    // Pictures for the docs: the presenter's view turned to look along the table at the chest; the MIP in the bone
    // window, then the volume in the soft-tissue window (muscle translucent over ribs, sternum and spine).
    await a.setViewportSize({ width: 1400, height: 1300 });
    const canvas = (await a.locator('.viewport canvas').boundingBox())!;
    await a.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height * 0.3);
    await a.mouse.down();
    await a.mouse.move(canvas.x + canvas.width / 2 + 260, canvas.y + canvas.height * 0.3 + 30, { steps: 10 });
    await a.mouse.up();
    for (let i = 0; i < 20; i++) await a.mouse.wheel(0, -100);
    await a.waitForTimeout(1500);
    await a.locator('.main-col').screenshot({ path: path.join(DOCS, 'imaging-mip.png') });
    await a.click('button[data-mode3d=volume]');
    await a.click('button[data-preset=soft-tissue]');
    await a.waitForTimeout(2000);
    await a.locator('.main-col').screenshot({ path: path.join(DOCS, 'imaging-volume.png') });
    await a.click('button[data-mode3d=planes]');
    await eventually(async () => expect(await described(b)).toMatchObject({ mode: 'planes', planesShown: true, render: { shown: false } }), 10_000);
  });

  it('a participant without ImagingStudy gets no volume and reads no frame', async () => {
    const { page, imaging } = await join('vr.labs', 'Dr. Labs', false);
    await page.waitForSelector('[data-testid=viewer-notice]:has-text("does not include images")');
    await page.waitForTimeout(1500);
    expect(await described(page)).toMatchObject({ visible: false, render: null, loaded: 0 });
    expect(imaging.filter((u) => u.includes('/frames/'))).toEqual([]);
  });
});
