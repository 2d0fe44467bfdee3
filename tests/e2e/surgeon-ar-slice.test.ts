import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_PIN, GAZE_LIFT, PANEL_WIDTH } from '../../client/src/app/ar/slice-panel-controller.ts';
import type { SurgeonArView } from '../../client/src/app/ar/surgeon-ar.ts';
import type { ClinicSession } from '../../client/src/sdk/index.ts';
import { fromPatientFrame, type V3 } from '../../shared/src/patient-frame.ts';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { chestSeries, type CtSeriesOptions } from '../support/ct-phantom.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { HEADSET_INIT, IWER } from '../support/headset.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The surgeon's slice panel, pinned in the patient frame: the surgeon (an emulated Quest 3, iwer) registers
 * the patient; the remote guide, in the web client, scrolls the room's CT and pins the slice for the surgeon;
 * the headset draws it beside the patient, following the room's slice and window, and it stays at the
 * patient when the head moves. The surgeon re-pins it where they look by voice and takes it down. A second
 * surgeon whose access has no ImagingStudy sees no panel and reads no frame.
 */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const CT: CtSeriesOptions = { size: 128, slices: 32, pixelMm: 2.8, sliceMm: 10, uid: '1.2.826.0.1.3680043.9.7433.2104', patient: { name: 'Phantom^Theatre', id: 'AR-CT-1', birthDate: '19650101' }, description: 'Chest phantom' };

declare const __consilium: { viewer: { view(): { slice: number; shownSop: string; sliceCount: number; series: string } } };

let server: TestServer;
let dataDir: string;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let roomId: string;
let host: ClinicSession;
let headset: Page;
let guide: Page;
const contexts: BrowserContext[] = [];
const pageErrors: string[] = [];

type Panel = NonNullable<ReturnType<SurgeonArView['slicePanel']>>;
const panel = (p: Page): Promise<Panel | null> => p.evaluate(() => (window as unknown as { __surgeonAr: SurgeonArView }).__surgeonAr.slicePanel());
const near = (a: readonly number[], b: readonly number[], tol = 2e-3) => a.every((x, i) => Math.abs(x - b[i]!) <= tol);
const say = (p: Page, text: string) => p.evaluate((t) => (window as unknown as { __say(t: string): boolean }).__say(t), text);

/** Turn the emulated head: yaw (left positive) and pitch (down negative), in radians. */
const look = (p: Page, yaw: number, pitch: number) =>
  p.evaluate(([y, x]) => {
    const d = (window as unknown as { __xrDevice: { quaternion: { set(x: number, y: number, z: number, w: number): void } } }).__xrDevice;
    const [sy, cy, sp, cp] = [Math.sin(y! / 2), Math.cos(y! / 2), Math.sin(x! / 2), Math.cos(x! / 2)];
    d.quaternion.set(cy * sp, sy * cp, -sy * sp, cy * cp); // yaw ∘ pitch
  }, [yaw, pitch]);
const headPosition = (p: Page) => p.evaluate(() => {
  const d = (window as unknown as { __xrDevice: { position: { x: number; y: number; z: number } } }).__xrDevice.position;
  return [d.x, d.y, d.z] as V3;
});
const moveHead = (p: Page, dx: number) => p.evaluate((x) => {
  const d = (window as unknown as { __xrDevice: { position: { x: number; y: number; z: number; set(x: number, y: number, z: number): void } } }).__xrDevice;
  d.position.set(d.position.x + x, d.position.y, d.position.z);
}, dx);
async function trigger(p: Page): Promise<void> {
  const set = (v: number) => p.evaluate((value) => (window as unknown as { __xrDevice: { controllers: { right: { updateButtonValue(id: string, v: number): void } } } }).__xrDevice.controllers.right.updateButtonValue('trigger', value), v);
  await set(1);
  await sleep(120);
  await set(0);
}

/** A page signed in and in the room (with the emulated headset when `withHeadset`); `frames` counts the frame reads it makes. */
async function open(userId: string, name: string, withHeadset: boolean): Promise<{ page: Page; frames: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  contexts.push(context);
  if (withHeadset) await context.addInitScript({ content: `${IWER}\n${HEADSET_INIT}` });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => pageErrors.push(`${userId}: ${err.message}`));
  const frames: string[] = [];
  page.on('request', (r) => void (r.url().includes('/frames/') && frames.push(r.url())));
  await page.goto(`${server.app.url}/#room=${roomId}`);
  await devSignInPage(page, server.app.url, userId, name);
  await page.waitForSelector('.pill.ok', { timeout: 20_000 });
  return { page, frames };
}

async function enterAr(p: Page): Promise<void> {
  await p.click('button:has-text("Enter AR")');
  await p.waitForFunction(() => !!(window as unknown as { __surgeonAr?: unknown }).__surgeonAr, null, { timeout: 20_000 });
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-e2e-ar-slice-'));
  server = await startTestServer({}, { DATA_DIR: dataDir });
  const admin = await server.as('root', { admin: true });
  const { caseId } = await admin.api.importCase({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [{ fullUrl: 'urn:uuid:0b3f2a52-5555-4a1b-9c55-ffffffffffff', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: CT.patient.id }], name: [{ family: 'Phantom', given: ['Theatre'] }], gender: 'other', birthDate: '1965-01-01' } }],
  });
  for (const file of chestSeries(CT)) await admin.api.uploadDicom(caseId, file);
  roomId = (await admin.api.createRoom({
    title: 'Thoracoscopic wedge resection',
    kind: 'surgical-guidance',
    caseId,
    participants: [
      { userId: 'ars.surgeon', role: 'surgeon' },
      { userId: 'ars.guide', role: 'specialist' },
      { userId: 'ars.host', role: 'host' },
      { userId: 'ars.labs', role: 'surgeon', scopes: ['patient/Patient.rs', 'patient/Observation.rs'] },
    ],
  })).id;
  host = await server.join('ars.host', roomId, { name: 'Dr. Host' });
  ({ browser, close: closeBrowser } = await launchChromium());
}, 180_000);
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await host?.leave().catch(() => {});
  await closeBrowser?.();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the slice panel pinned in the patient frame', { timeout: 180_000 }, () => {
  it('the guide pins the room’s slice; the headset shows it beside the patient, following the room’s slice and window; it stays there when the head moves', async () => {
    ({ page: headset } = await open('ars.surgeon', 'Dr. Cut', true));
    await headset.waitForFunction(() => __consilium.viewer?.view().sliceCount > 0);
    await look(headset, Math.PI / 6, -Math.PI / 4);
    await enterAr(headset);
    await eventually(async () => (await headset.evaluate(() => (window as unknown as { __surgeonAr: SurgeonArView }).__surgeonAr.reticle()))?.onSurface === true, 10_000);
    await trigger(headset);
    await eventually(() => host.guidance.anchor().version === 1, 10_000);
    expect(await panel(headset)).toMatchObject({ visible: false, mayPin: true }); // nothing pinned yet

    // The guide, in the web client, scrolls the room's CT to slice 16 and pins it for the surgeon.
    ({ page: guide } = await open('ars.guide', 'Dr. Guide', false));
    await guide.waitForFunction(() => __consilium.viewer?.view().shownSop !== '');
    await guide.focus('.slice-canvas');
    for (let i = 0; i < 3; i++) await guide.keyboard.press('PageDown');
    await eventually(() => host.state.viewer.get('shared')?.slice === 15, 10_000);
    await guide.click('[data-testid=pin-slice]');
    await guide.waitForSelector('[data-testid=pin-status]:has-text("Pinned for the surgeon by Dr. Guide")');
    expect(await guide.textContent('[data-testid=pin-slice]')).toBe('Unpin slice');
    const key = host.state.viewer.get('shared')!.series;

    const anchor = host.guidance.anchor();
    const shown = await eventually(async () => {
      const p = (await panel(headset))!;
      return p.visible && p.painted === `${key}/15` ? p : undefined;
    }, 15_000);
    expect(shown.texture).toEqual([128, 128]);
    expect(near(shown.world, fromPatientFrame(anchor, DEFAULT_PIN.p))).toBe(true);
    expect(shown.caption).toMatch(/^CT Chest phantom · Slice 16 \/ 32 · W 400 L 40 · pinned by Dr\. Guide$/);
    expect(shown.size[0]).toBeCloseTo(PANEL_WIDTH, 6);

    // It follows the room: the guide scrolls one slice and chooses the lung window.
    await guide.focus('.slice-canvas');
    await guide.keyboard.press('ArrowDown');
    await guide.click('button[data-preset=lung]');
    await eventually(async () => {
      const p = (await panel(headset))!;
      return p.painted === `${key}/16` && /Slice 17 \/ 32 · W 1500 L -600/.test(p.caption);
    }, 15_000);

    // The surgeon steps 30 cm to the side: the panel stays at the patient (the HUD would have moved with the head).
    const before = (await panel(headset))!.world;
    await moveHead(headset, 0.3);
    await sleep(500);
    expect(near((await panel(headset))!.world, before, 1e-4)).toBe(true);
    await moveHead(headset, -0.3);

    // The picture for the docs: the guide's arrow on the site, and the panel beside it; lean in and look.
    expect(await host.add({ id: 'nodule', kind: 'arrow', asset: 'builtin:arrow', frame: 'patient', points: [0.06, 0.08, 0.02, 0, 0.005, 0], transform: { position: [0, 0, 0], rotation: [0, 0, 0, 1] }, label: 'Nodule, right lung — 24 mm' })).toMatchObject({ ok: true });
    await eventually(async () => (await headset.evaluate(() => (window as unknown as { __surgeonAr: SurgeonArView }).__surgeonAr.annotations())).some((a) => a.id === 'nodule' && a.visible), 10_000);
    const head = await headPosition(headset);
    await headset.evaluate(([ax, ay, az]) => {
      const d = (window as unknown as { __xrDevice: { fovy: number; position: { x: number; y: number; z: number; set(x: number, y: number, z: number): void } } }).__xrDevice;
      const [x, y, z] = [ax! - d.position.x, ay! - d.position.y, az! - d.position.z];
      const n = Math.hypot(x, y, z);
      d.position.set(d.position.x + (0.25 * x) / n, d.position.y + (0.25 * y) / n, d.position.z + (0.25 * z) / n);
      d.fovy = 1.0;
    }, [...fromPatientFrame(anchor, [0.15, 0.1, 0])]);
    await look(headset, Math.PI / 6 - 0.2, -0.72);
    await headset.waitForTimeout(800);
    await headset.screenshot({ path: path.join(DOCS, 'surgeon-ar-slice.png') });
    await headset.evaluate(([x, y, z]) => (window as unknown as { __xrDevice: { position: { set(x: number, y: number, z: number): void } } }).__xrDevice.position.set(x!, y!, z!), [...head]);
  });

  it('the surgeon re-pins it where they look by voice; "unpin the slice" takes it down for everyone', async () => {
    await look(headset, Math.PI / 6 - 0.35, -Math.PI / 4); // a little to the right of the site
    await headset.waitForTimeout(300);
    const reticle = (await headset.evaluate(() => (window as unknown as { __surgeonAr: SurgeonArView }).__surgeonAr.reticle()))!;
    expect(reticle.onSurface).toBe(true);
    expect(await say(headset, 'pin the slice')).toBe(true);
    const surgeonSid = host.participants().find((p) => p.userId === 'ars.surgeon' && p.connected)!.sessionId;
    await eventually(() => host.state.viewer.get('shared')?.pinBy === surgeonSid, 10_000);
    const want: V3 = [reticle.p[0], reticle.p[1] + GAZE_LIFT + PANEL_WIDTH / 2, reticle.p[2]];
    const moved = await eventually(async () => {
      const p = (await panel(headset))!;
      return near(p.world, want, 0.01) ? p : undefined;
    }, 10_000);
    // Upright and turned to the surgeon: its face points horizontally at the head.
    const head = await headPosition(headset);
    const to = [head[0] - moved.world[0], 0, head[2] - moved.world[2]];
    const len = Math.hypot(to[0]!, to[2]!);
    expect(Math.abs(moved.normal[1])).toBeLessThan(1e-3);
    expect(moved.normal[0] * (to[0]! / len) + moved.normal[2] * (to[2]! / len)).toBeGreaterThan(0.999);
    await guide.waitForSelector('[data-testid=pin-status]:has-text("Pinned for the surgeon by Dr. Cut")');

    expect(await say(headset, 'unpin the slice')).toBe(true);
    await eventually(() => host.state.viewer.get('shared')?.pinBy === '', 10_000);
    await eventually(async () => (await panel(headset))!.visible === false, 10_000);
    await guide.waitForSelector('[data-testid=pin-slice]:has-text("Pin slice for the surgeon")');
    expect(await headset.evaluate(() => (window as unknown as { __surgeonAr: SurgeonArView }).__surgeonAr.status())).toMatch(/Slice panel removed|Frame v/);
  });

  it('a surgeon whose access has no ImagingStudy sees no panel and reads no frame, though one is pinned', async () => {
    await guide.click('[data-testid=pin-slice]');
    await eventually(() => host.state.viewer.get('shared')?.pinBy !== '', 10_000);
    await headset.context().close(); // one software-rendered headset at a time on this machine
    const { page: labs, frames } = await open('ars.labs', 'Dr. Labs', true);
    await labs.waitForSelector('[data-testid=viewer-notice]:has-text("does not include images")');
    expect(await labs.locator('[data-testid=pin-slice]').isVisible()).toBe(false);
    await enterAr(labs);
    await sleep(1500);
    expect(await panel(labs)).toMatchObject({ visible: false, texture: null, mayPin: false });
    expect(await labs.evaluate(() => (window as unknown as { __surgeonAr: SurgeonArView }).__surgeonAr.anchorVersion())).toBe(1); // the frame is there, the panel is not
    expect(await say(labs, 'pin the slice')).toBe(true);
    await sleep(500);
    expect(await labs.evaluate(() => (window as unknown as { __surgeonAr: SurgeonArView }).__surgeonAr.status())).toMatch(/No images in your access/);
    expect(frames).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
