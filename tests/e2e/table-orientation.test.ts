import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { slowUplink } from '../support/uplink.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { clinicalBundle } from './clinical-bundle.ts';

/**
 * The table and orientation, as a student, a host and a remote specialist meet them: the same table for
 * everyone (hidden text as a counted placeholder), a patient banner that stays on screen, host alerts that
 * reach a host scrolled down, and the surgeon's slow link shown in the specialist's web view.
 */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const NAME = 'Tablethorne';
const MRN = 'TB-552190';
const NOTE_CANARY = 'Zqxtablenote8812';

let server: TestServer;
let admin: ConsiliumClient;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let caseId: string;
const contexts: BrowserContext[] = [];

type Obj = { id: string; kind: string; asset: string; label: string | undefined; hasText: boolean; frame: string; px: number; py: number; pz: number };
type Hook = {
  session: { objects(): Obj[] };
  world: { screenPositionOf(id: string): { x: number; y: number } | null; view(): { eye: [number, number, number]; target: [number, number, number] } };
};
declare const __consilium: Hook;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  ({ caseId } = await admin.api.importCase(clinicalBundle(NAME, MRN)));
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})));
});
afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
});

async function open(width = 1400, height = 860): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => console.error('page error:', err.message));
  return page;
}

async function joinByLink(userId: string, name: string, roomId: string, page?: Page): Promise<Page> {
  const p = page ?? (await open());
  await p.goto(`${server.app.url}/#room=${roomId}`);
  await devSignInPage(p, server.app.url, userId, name);
  await p.waitForSelector('.pill.ok', { timeout: 20_000 });
  await p.waitForSelector('.room-layout canvas');
  return p;
}

const objects = (p: Page) => p.evaluate(() => __consilium.session.objects().map((o) => ({ id: o.id, kind: o.kind, asset: o.asset, label: o.label, hasText: o.hasText, frame: o.frame, p: [o.px, o.py, o.pz] })));
const screenOf = async (p: Page, id: string) => {
  const box = (await p.locator('.viewport canvas').boundingBox())!;
  const s = (await p.evaluate((i) => __consilium.world.screenPositionOf(i), id))!;
  return { x: box.x + s.x, y: box.y + s.y };
};
/** Is the element wholly inside the window (not scrolled away, not under the fold)? */
const onScreen = async (p: Page, selector: string) => {
  const box = await p.locator(selector).first().boundingBox();
  const vp = p.viewportSize()!;
  return box !== null && box.y >= -1 && box.y + box.height <= vp.height + 1 && box.height > 0;
};
/** Draw a circle of `r` px round a screen point with the Draw tool, starting beside it. */
async function circle(p: Page, c: { x: number; y: number }, r: number): Promise<void> {
  await p.click('button[data-tool="draw"]');
  await p.mouse.move(c.x + r, c.y);
  await p.mouse.down();
  for (let i = 1; i <= 36; i++) await p.mouse.move(c.x + r * Math.cos((i / 36) * 2 * Math.PI), c.y + r * Math.sin((i / 36) * 2 * Math.PI));
  await p.mouse.up();
  await p.click('button[data-tool="move"]');
}

describe('the table is the same for everyone', { timeout: 120_000 }, () => {
  it('the student sees the heart, the circle drawn round it and "1 note hidden" with author and reason — never the note; reset view; no camera under the table; removed, no Join', async () => {
    const room = await admin.api.createRoom({
      title: 'Cardiology teaching',
      kind: 'case-conference',
      caseId,
      participants: [{ userId: 'tb.host', role: 'host' }, { userId: 'tb.student', role: 'observer' }],
    });
    const host = await joinByLink('tb.host', 'Dr. Adams', room.id);
    const student = await joinByLink('tb.student', 'Sam Student', room.id);

    await host.selectOption('select[aria-label="Sample model"]', 'heart');
    await host.click('text=Add model');
    await host.waitForSelector('[data-testid^="object-"]:has-text("Heart model")');
    const heart = (await objects(host)).find((o) => o.asset === 'builtin:heart')!;
    await host.fill('input[aria-label="Note text"]', `${NOTE_CANARY}: ${NAME}'s LV wall`);
    await host.click('text=Add note');
    await host.waitForSelector(`[data-testid^="object-"]:has-text("${NOTE_CANARY}")`);
    // A circle round the heart, begun beside it: it lies at the heart, not on the table behind.
    await circle(host, await screenOf(host, heart.id), 40);
    await eventually(async () => (await objects(host)).some((o) => o.kind === 'stroke'), 5000);
    const stroke = (await objects(host)).find((o) => o.kind === 'stroke')!;
    expect(Math.hypot(stroke.p[0]! - heart.p[0]!, stroke.p[1]! - heart.p[1]!, stroke.p[2]! - heart.p[2]!)).toBeLessThan(0.25);
    expect(stroke.p[1]!).toBeGreaterThan(0.97); // above the table top (0.92), at the model

    // The student's table: the heart, the stroke, the note as a placeholder; the count says what is hidden.
    await student.waitForSelector(`[data-testid="object-${stroke.id}"]`);
    const names = await student.locator('[data-testid^="object-"] .obj-name').allTextContents();
    expect(names).toEqual(expect.arrayContaining(['Heart model', 'Stroke by Dr. Adams', 'Note by Dr. Adams — hidden by your access']));
    expect(await student.textContent('[data-testid="scene-hidden"]')).toBe('1 note hidden by your access');
    expect(await student.locator('text=Nothing on the table yet').count()).toBe(0);
    const seen = await objects(student);
    expect(seen.map((o) => o.kind).sort()).toEqual(['label', 'model', 'stroke']);
    expect(seen.find((o) => o.kind === 'label')).toMatchObject({ hasText: true, label: undefined });
    expect(await student.content()).not.toContain(NOTE_CANARY);
    // The host reads the note and sees nothing hidden.
    expect(await host.isHidden('[data-testid="scene-hidden"]')).toBe(true);
    await student.waitForTimeout(400);
    await student.screenshot({ path: path.join(DOCS, 'table-student.png') });
    await student.locator('section[aria-labelledby="scene-h"]').screenshot({ path: path.join(DOCS, 'table-student-scene.png') });

    // The camera stays above the table however it is dragged; Reset view brings the seat back.
    const start = await student.evaluate(() => __consilium.world.view());
    const canvas = (await student.locator('.viewport canvas').boundingBox())!;
    const mid = { x: canvas.x + canvas.width / 2, y: canvas.y + canvas.height / 2 };
    for (const dy of [-500, -500, 300]) {
      await student.mouse.move(mid.x, mid.y);
      await student.mouse.down();
      await student.mouse.move(mid.x + 30, mid.y + dy, { steps: 10 });
      await student.mouse.up();
      expect((await student.evaluate(() => __consilium.world.view())).eye[1]).toBeGreaterThanOrEqual(0.99);
    }
    expect((await student.evaluate(() => __consilium.world.view())).eye).not.toEqual(start.eye);
    await student.click('[data-testid="reset-view"]');
    const reset = await student.evaluate(() => __consilium.world.view());
    reset.eye.forEach((v, i) => expect(v).toBeCloseTo(start.eye[i]!, 2));
    expect(reset.target).toEqual([0, 1.1, 0]);

    // Removed by the host: back on the room list, the room is marked and offers no Join.
    host.on('dialog', (d) => void d.accept()); // "Remove Sam Student from the room?"
    await host.click('[data-testid="participant-tb.student"] >> text=Kick');
    await student.waitForSelector('text=The host removed you from this room.');
    await student.waitForSelector(`[data-testid="room-${room.id}"] [data-testid="removed"]`);
    expect(await student.locator(`[data-testid="room-${room.id}"] button:has-text("Join")`).count()).toBe(0);
  });
});

describe('orientation', { timeout: 120_000 }, () => {
  it('the patient banner stays on screen after scrolling the panel (desktop) and the page (390 px phone); phone buttons are at least 44 px tall', async () => {
    const room = await admin.api.createRoom({ title: 'Ward round', kind: 'case-conference', caseId, participants: [{ userId: 'or.cli', role: 'clinician' }] });
    const desk = await joinByLink('or.cli', 'Dr. Banner', room.id);
    await desk.waitForSelector('[data-testid="labs"]');
    await desk.evaluate(() => document.querySelector('.side')!.scrollTo(0, 1e6));
    await desk.waitForTimeout(200);
    expect(await desk.evaluate(() => document.querySelector('.side')!.scrollTop)).toBeGreaterThan(300); // it did scroll
    expect(await onScreen(desk, '[data-testid="patient"]')).toBe(true);
    expect(await desk.textContent('[data-testid="patient"]')).toContain(MRN);

    const phone = await joinByLink('or.cli', 'Dr. Banner', room.id, await open(390, 844));
    await phone.waitForSelector('[data-testid="labs"]');
    await phone.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await phone.waitForTimeout(200);
    expect(await phone.evaluate(() => window.scrollY)).toBeGreaterThan(600);
    expect(await onScreen(phone, '[data-testid="patient"]')).toBe(true);
    await phone.screenshot({ path: path.join(DOCS, 'phone-scrolled.png') });
    const short = await phone.evaluate(() => [...document.querySelectorAll('button')].filter((b) => {
      const r = b.getBoundingClientRect();
      return r.width > 0 && r.height > 0 && r.height < 44;
    }).map((b) => b.textContent));
    expect(short).toEqual([]);
  });

  it('a host scrolled down is alerted at once (fixed alert, badge, tab title); the requester sees "Request sent — waiting for the host"; the dialog offers only what they lack', async () => {
    const room = await admin.api.createRoom({
      title: 'Night shift',
      kind: 'case-conference',
      caseId,
      participants: [{ userId: 'al.host', role: 'host' }, { userId: 'al.cli', role: 'clinician', scopes: ['patient/Observation.rs'] }],
    });
    const host = await joinByLink('al.host', 'Dr. Night', room.id);
    const cli = await joinByLink('al.cli', 'Dr. Resident', room.id);
    await host.waitForSelector('[data-testid="labs"]');
    await host.evaluate(() => document.querySelector('.side')!.scrollTo(0, 1e6));
    expect(await host.isHidden('[data-testid="alerts"]')).toBe(true);

    await cli.click('[data-testid="break-glass"]');
    expect(await cli.isHidden('dialog label[data-type="Observation"]')).toBe(true); // already held
    expect(await cli.isVisible('dialog label[data-type="MedicationStatement"]')).toBe(true);
    await cli.check('dialog input[value="MedicationStatement"]');
    await cli.fill('dialog textarea', 'Bleeding risk: need the anticoagulant list');
    const asked = Date.now();
    await cli.click('dialog button:text-is("Request")');
    await cli.waitForSelector('[data-testid="access-request"]:has-text("Request sent — waiting for the host")');
    expect(await onScreen(cli, '[data-testid="access-request"]')).toBe(true);

    await host.waitForSelector('[data-testid="alerts"] .alert.pending');
    const alertMs = Date.now() - asked;
    expect(alertMs).toBeLessThan(3000);
    expect(await host.evaluate(() => document.querySelector('.side')!.scrollTop)).toBeGreaterThan(300); // still scrolled down
    expect(await onScreen(host, '[data-testid="alerts"] .alert.pending')).toBe(true);
    expect(await host.textContent('[data-testid="alert-badge"]')).toBe('1 waiting');
    expect(await host.title()).toMatch(/^\(1\) /);
    expect(await host.isVisible('#alert-sound')).toBe(true);
    await host.locator('[data-testid="alerts"]').screenshot({ path: path.join(DOCS, 'host-alert.png') });
    await host.click('[data-testid="alerts"] >> text=Approve for Dr. Resident');
    await cli.waitForSelector('[data-testid="medications"]');
    await eventually(async () => !(await host.title()).startsWith('('), 3000);
  });
});

describe('surgical guidance in the web view', { timeout: 120_000 }, () => {
  let surgeon: ClinicSession | null = null;
  afterEach(async () => {
    await surgeon?.leave().catch(() => {});
  });

  it("the specialist sees the surgeon's slow link with its latency, and their 3D stroke goes to the patient frame", async () => {
    const room = await admin.api.createRoom({
      title: 'Guided hernia repair',
      kind: 'surgical-guidance',
      participants: [{ userId: 'sg.cut', role: 'surgeon' }, { userId: 'sg.spec', role: 'specialist' }],
    });
    surgeon = await server.join('sg.cut', room.id, { name: 'Dr. Cut' });
    const spec = await joinByLink('sg.spec', 'Dr. Spec', room.id);
    await spec.waitForSelector('[data-testid="link-status"]:has-text("Links live")');

    // The surgeon's uplink slows (its link.pong answers too).
    const restore = slowUplink(surgeon, 400);
    await spec.waitForSelector('[data-testid="link-status"].warn:has-text("Dr. Cut (surgeon) is slow")', { timeout: 20_000 });
    const rtt = await spec.textContent('[data-testid="link-rtt"]');
    expect(rtt).toMatch(/^Dr\. Cut \(surgeon\) \d+ ms — slow$/);
    expect(Number(/(\d+) ms/.exec(rtt!)![1])).toBeGreaterThanOrEqual(350);
    await spec.screenshot({ path: path.join(DOCS, 'specialist-slow-link.png') });
    restore();
    await spec.waitForSelector('[data-testid="link-status"]:not(.warn)', { timeout: 20_000 });

    // A stroke drawn in the specialist's 3D view is stored in the patient frame, for the headset to anchor.
    const canvas = (await spec.locator('.viewport canvas').boundingBox())!;
    await spec.click('button[data-tool="draw"]');
    await spec.mouse.move(canvas.x + canvas.width / 2 - 60, canvas.y + canvas.height / 2 + 40);
    await spec.mouse.down();
    await spec.mouse.move(canvas.x + canvas.width / 2 + 60, canvas.y + canvas.height / 2 + 40, { steps: 12 });
    await spec.mouse.up();
    await eventually(() => surgeon!.objects().some((o) => o.kind === 'stroke'), 5000);
    expect(surgeon.objects().find((o) => o.kind === 'stroke')!.frame).toBe('patient');
  });
});
