import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { ImagingListResponse } from '../../shared/src/imaging.ts';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The patient's CT read together in the browser: pydicom's gated cardiac CT
 * of its fictional patient Doe^Peter, uploaded to his case; two clinicians
 * (one presenting), an observer (de-identified) and a clinician whose access
 * has no ImagingStudy.
 */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dicom/ct-series');
/** Identity in the case and the DICOM headers: none of it may reach the observer. */
const IDENTITY = ['Doe', 'Peter', '98890234', '19500101', '1950-01-01', '20010101', '2001-01-01', '1.3.6.1.4.1.5962'];

let server: TestServer;
let dataDir: string;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let caseId: string;
let roomId: string;
let key: string;
const contexts: BrowserContext[] = [];

type ViewerHook = { clientPointOf(col: number, row: number): { x: number; y: number }; view(): { series: string; slice: number; center: number; width: number; zoom: number; follow: boolean; shownSop: string; sliceCount: number } };
declare const __consilium: { viewer: ViewerHook; session: { state: { viewer: { get(k: string): unknown } } } };

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-e2e-imaging-'));
  server = await startTestServer({}, { DATA_DIR: dataDir });
  const admin = await server.as('root', { admin: true });
  const patientUrl = 'urn:uuid:0b3f2a52-2222-4a1b-9c55-dddddddddddd';
  ({ caseId } = await admin.api.importCase({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [{ fullUrl: patientUrl, resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: '98890234' }], name: [{ family: 'Doe', given: ['Peter'] }], gender: 'male', birthDate: '1950-01-01' } }],
  }));
  for (const name of (await readdir(FIXTURES)).sort()) await admin.api.uploadDicom(caseId, new Uint8Array(await readFile(path.join(FIXTURES, name))));
  const room = await server.createRoom({
    title: 'Cardiac CT review',
    caseId,
    participants: [
      { userId: 'im.a', role: 'host' },
      { userId: 'im.b', role: 'clinician' },
      { userId: 'im.obs', role: 'observer' },
      { userId: 'im.labs', role: 'clinician', scopes: ['patient/Patient.rs', 'patient/Observation.rs'] },
    ],
  });
  roomId = room.id;
  const cli: ConsiliumClient = await server.as('im.a', { scopes: ['patient/*.rs'] });
  key = (await cli.api.call('GET /api/cases/:id/imaging', { params: { id: caseId }, query: { room: roomId } }) as ImagingListResponse).studies[0]!.series[0]!.key;
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})));
});
afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A page that records every HTTP body and WebSocket frame it receives. */
async function open(width = 1400, height = 1000): Promise<{ page: Page; received: () => string }> {
  const context = await browser.newContext({ viewport: { width, height } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => console.error('page error:', err.message));
  const chunks: string[] = [];
  page.on('response', (res) => void res.body().then((b) => chunks.push(b.toString('latin1')), () => {}));
  page.on('websocket', (ws) => ws.on('framereceived', (f) => chunks.push(typeof f.payload === 'string' ? f.payload : Buffer.from(f.payload).toString('latin1'))));
  return { page, received: () => chunks.join('\n') };
}

async function join(userId: string, name: string, width?: number, height?: number) {
  const o = await open(width, height);
  await o.page.goto(`${server.app.url}/#room=${roomId}`);
  await devSignInPage(o.page, server.app.url, userId, name);
  await o.page.waitForSelector('.pill.ok', { timeout: 20_000 });
  return o;
}

const view = (p: Page) => p.evaluate(() => __consilium.viewer.view());
const shown = (p: Page) => p.waitForFunction(() => __consilium.viewer?.view().shownSop !== '' && __consilium.viewer.view().sliceCount > 0);

describe('reading a CT together', { timeout: 120_000 }, () => {
  it('the follower’s slice, window and zoom follow the presenter; a length drawn by one is seen by the other in mm; unfollow and rejoin', async () => {
    const { page: a } = await join('im.a', 'Dr. Adams');
    const { page: b } = await join('im.b', 'Dr. Baker');
    await Promise.all([shown(a), shown(b)]);
    await a.click('#present');
    await b.waitForFunction(() => document.querySelector('[data-testid=viewer-follow]')?.textContent === 'Following Dr. Adams');

    // The presenter scrolls to the third slice, chooses the lung window and zooms in.
    await a.focus('.slice-canvas');
    await a.keyboard.press('ArrowDown');
    await a.keyboard.press('ArrowDown');
    await a.click('button[data-preset=lung]');
    await a.click('button[data-tool=zoom]');
    const box = (await a.locator('.slice-canvas').boundingBox())!;
    await a.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await a.mouse.down();
    await a.mouse.move(box.x + box.width / 2, box.y + box.height / 2 - 60, { steps: 6 });
    await a.mouse.up();
    const lead = await view(a);
    expect(lead).toMatchObject({ series: key, slice: 2, center: -600, width: 1500 });
    expect(lead.zoom).toBeGreaterThan(1.3);
    await eventually(async () => expect(await view(b)).toMatchObject({ series: key, slice: 2, center: -600, width: 1500, follow: true }), 10_000);
    await eventually(async () => expect((await view(b)).zoom).toBeCloseTo(lead.zoom, 4), 10_000);
    await eventually(async () => expect(await b.textContent('[data-testid=overlay-slice]')).toContain('Slice 3 / 5'), 10_000);

    // The follower measures: a length across 10 columns and 8 rows at 0.488281 mm per pixel ≈ 6.3 mm.
    await b.click('button[data-tool=length]');
    const [p, q] = await b.evaluate(() => [__consilium.viewer.clientPointOf(2, 3), __consilium.viewer.clientPointOf(12, 11)]);
    await b.mouse.move(p!.x, p!.y);
    await b.mouse.down();
    await b.mouse.move(q!.x, q!.y, { steps: 5 });
    await b.mouse.up();
    const li = a.locator('.measure-list li').first();
    await li.waitFor();
    const mm = Number(/Length (\d+\.\d) mm · by Dr\. Baker/.exec((await li.textContent())!)?.[1]);
    expect(Math.abs(mm - Math.hypot(10, 8) * 0.488281)).toBeLessThan(0.25);
    expect((await view(b)).follow).toBe(true); // drawing is not scrolling

    await a.click('button[data-preset=soft-tissue]');
    await a.waitForTimeout(300);
    await a.locator('.slice-viewer').screenshot({ path: path.join(DOCS, 'imaging-viewer.png') });

    // The follower scrolls on their own: the presenter's next slice no longer moves them; one click rejoins.
    await b.focus('.slice-canvas');
    await b.keyboard.press('ArrowUp');
    await b.waitForSelector('[data-testid=viewer-rejoin]:not([hidden])');
    expect(await view(b)).toMatchObject({ slice: 1, follow: false });
    await a.focus('.slice-canvas');
    await a.keyboard.press('ArrowDown');
    await eventually(async () => expect((await view(a)).slice).toBe(3));
    await b.waitForTimeout(300);
    expect((await view(b)).slice).toBe(1);
    await b.click('[data-testid=viewer-rejoin]');
    await eventually(async () => expect(await view(b)).toMatchObject({ slice: 3, follow: true }));
  });

  it('someone joining after the room’s view has moved sees that slice (the shared view arrives before the series list)', async () => {
    const { page: a } = await join('im.a', 'Dr. Adams');
    await shown(a);
    await a.focus('.slice-canvas');
    await a.keyboard.press('ArrowDown');
    await a.keyboard.press('ArrowDown');
    await eventually(async () => expect((await view(a)).slice).toBe(2));
    const { page: late } = await join('im.b', 'Dr. Baker');
    await shown(late);
    expect(await view(late)).toMatchObject({ series: key, slice: 2, follow: true });
    await eventually(async () => expect(await late.textContent('[data-testid=overlay-slice]')).toContain('Slice 3 / 5'));

    // On a laptop screen the 3D view and the images do not both fit: the column scrolls, the viewer's buttons stay in its card.
    await late.setViewportSize({ width: 1366, height: 768 });
    const fit = await late.evaluate(() => {
      const bottom = (s: string) => Math.max(...[...document.querySelectorAll(s)].map((e) => e.getBoundingClientRect().bottom));
      return { tools: bottom('.slice-viewer .viewer-tools'), card: bottom('.slice-viewer'), page: document.documentElement.scrollHeight };
    });
    expect(fit.tools).toBeLessThanOrEqual(fit.card);
    expect(fit.page).toBeLessThanOrEqual(768);
  });

  it('an observer reads the same series de-identified: no name, ID, full date or real UID in any frame or response', async () => {
    const { page: a } = await join('im.a', 'Dr. Adams');
    const { page: obs, received } = await join('im.obs', 'S. Diaz');
    await Promise.all([shown(a), shown(obs)]);
    await a.focus('.slice-canvas');
    await a.keyboard.press('ArrowDown');
    await eventually(async () => expect((await view(obs)).slice).toBe((await view(a)).slice), 10_000);
    await obs.waitForFunction((s) => __consilium.viewer.view().shownSop !== '' && document.querySelector('.slice-viewer')?.getAttribute('data-shown-slice') === String(s), (await view(a)).slice);
    expect(await obs.textContent('[data-testid=overlay-patient]')).toBe('De-identified');
    expect(await obs.textContent('[data-testid=overlay-study]')).toBe('CT · 2001');
    expect(await a.textContent('[data-testid=overlay-patient]')).toContain('DOE, Peter');
    const bytes = received();
    for (const s of IDENTITY) expect(bytes.includes(s), s).toBe(false);
    expect(bytes.includes(key)).toBe(true); // the room's name for the series is all it shares
    await obs.locator('.slice-viewer').screenshot({ path: path.join(DOCS, 'imaging-observer.png') });
  });

  it('a participant without ImagingStudy gets no pixel data by socket or HTTP, and is told why', async () => {
    const { page: a } = await join('im.a', 'Dr. Adams');
    const { page: labs, received } = await join('im.labs', 'Dr. Labs');
    await shown(a);
    await a.focus('.slice-canvas');
    await a.keyboard.press('ArrowUp');
    await labs.waitForSelector('[data-testid=viewer-notice]:has-text("does not include images")');
    expect(await labs.evaluate(() => __consilium.session.state.viewer.get('shared') === undefined)).toBe(true);
    expect(await labs.locator('.slice-stage').isHidden()).toBe(true);
    // Straight at the routes with their own token: refused.
    const res = await labs.evaluate(async ({ caseId, roomId, url }) => {
      const token = (JSON.parse(sessionStorage.getItem('consilium.identity')!) as { token: string }).token;
      const list = await fetch(`${url}/api/cases/${caseId}/imaging?room=${roomId}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: list.status, body: await list.text() };
    }, { caseId, roomId, url: server.app.url });
    expect(res.status).toBe(403);
    expect(res.body).toContain('SCOPE_DENIED');
    await labs.waitForTimeout(500);
    const bytes = received();
    expect(bytes.includes(key)).toBe(false);
    expect(bytes.includes('octet-stream')).toBe(false);
  });
});
