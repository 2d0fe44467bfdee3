import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { clinicalBundle } from './clinical-bundle.ts';

/**
 * Teaching, as a residency programme runs it: an educator records a short case conference (with the
 * consent prompt and the "● Recording" indicator), then replays it from the library to two learners —
 * a student with de-identified access and a resident — who follow play, pause, seek and speed, and see
 * the scene as it was at the chosen instant, each through their own access.
 */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const NAME = 'Wrenfield';
const MRN = 'WF-773104';

let server: TestServer;
let admin: ConsiliumClient;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let caseId: string;
const contexts: BrowserContext[] = [];

type Obj = { id: string; kind: string; label: string };
type Hook = { session: { objects(): Obj[]; state: { replay: { status: string; positionMs: number; speed: number } } } };
declare const __consilium: Hook;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  ({ caseId } = await admin.api.importCase(clinicalBundle(NAME, MRN)));
  // Learners seated in group replays have signed in (a seat names someone Consilium knows).
  for (const u of ['stu.deid', 'res.ident']) await server.signIn(u);
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await closeBrowser?.();
  await server?.stop();
});

async function open(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 860 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => console.error('page error:', err.message));
  return page;
}

const objects = (p: Page) => p.evaluate(() => __consilium.session.objects().map((o) => ({ id: o.id, kind: o.kind, label: o.label ?? '' })));
const recorded = async (p: Page) => (await objects(p)).filter((o) => o.id.startsWith('rec_'));
const player = (p: Page) => p.evaluate(() => {
  const r = __consilium.session.state.replay;
  return { status: r.status, positionMs: r.positionMs, speed: r.speed };
});

describe('teaching: record a session, replay it to two learners', { timeout: 240_000 }, () => {
  it('the educator records with consent; the learners follow the replay, each through their own access', async () => {
    const room = await admin.api.createRoom({ title: 'Cardiothoracic case conference', kind: 'case-conference', caseId, recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }] });

    // ---- recording, with consent --------------------------------------------------------------
    const edu = await open();
    await edu.goto(`${server.app.url}/#room=${room.id}`);
    await devSignInPage(edu, server.app.url, 'edu', 'Dr. Okafor');
    await edu.waitForSelector('#recording-consent');
    expect(await edu.textContent('#recording-consent')).toContain('The host may record this room for teaching');
    await edu.click('#consent-join');
    await edu.waitForSelector('.pill.ok');
    await edu.waitForSelector('.room-layout canvas');
    expect(await edu.isVisible('#recording-indicator')).toBe(false);
    await edu.click('button:has-text("Record")');
    await edu.waitForSelector('#recording-indicator:visible');
    expect(await edu.textContent('#recording-indicator')).toBe('● Recording');

    await edu.selectOption('select[aria-label="Sample model"]', 'heart');
    await edu.click('text=Add model');
    await edu.waitForSelector('[data-testid^="object-"]:has-text("Heart")');
    await edu.waitForTimeout(1200);
    const box = (await edu.locator('.viewport canvas').boundingBox())!;
    await edu.click('button[data-tool="draw"]');
    await edu.mouse.move(box.x + box.width * 0.35, box.y + box.height * 0.7);
    await edu.mouse.down();
    await edu.mouse.move(box.x + box.width * 0.65, box.y + box.height * 0.72, { steps: 25 });
    await edu.mouse.up();
    await edu.click('button[data-tool="move"]');
    await eventually(async () => (await objects(edu)).some((o) => o.kind === 'stroke'), 8000);
    await edu.waitForTimeout(1200);
    await edu.fill('input[aria-label="Note text"]', `LV apex mass, ${NAME} ${MRN}: resect?`);
    await edu.click('text=Add note');
    await eventually(async () => (await objects(edu)).some((o) => o.label.includes(NAME)), 8000);
    await edu.waitForTimeout(1500);
    await edu.screenshot({ path: path.join(DOCS, 'teaching-recording.png') });
    await edu.click('button:has-text("Stop recording")');
    await edu.waitForSelector('#recording-indicator', { state: 'hidden' });

    // ---- the library: open it for two learners --------------------------------------------------
    await edu.click('text=Leave room');
    await edu.click('#open-library');
    const row = edu.locator('[data-testid^="recording-"]').first();
    await row.waitFor();
    const rowText = (await row.textContent())!;
    expect(rowText).toContain('Cardiothoracic case conference');
    expect(rowText).toContain('no audio'); // no LiveKit here: said, not hidden
    expect(rowText).toMatch(/ 0:[0-2]\d /); // a few seconds long (longer on a loaded machine)
    const recId = (await row.getAttribute('data-testid'))!.replace('recording-', '');
    await edu.fill(`[data-testid="learner-${recId}"]`, 'stu.deid');
    await edu.selectOption(`[data-testid="learner-role-${recId}"]`, 'observer');
    await edu.click('text=Add learner');
    await edu.fill(`[data-testid="learner-${recId}"]`, 'res.ident');
    await edu.selectOption(`[data-testid="learner-role-${recId}"]`, 'clinician');
    await edu.click('text=Add learner');
    await edu.waitForSelector('text=Replay to 2 learners');
    await edu.screenshot({ path: path.join(DOCS, 'teaching-library.png') });
    await edu.click('text=Replay to 2 learners');
    await edu.waitForSelector('.replay-bar');
    await edu.waitForSelector('.pill.ok');
    const replayRoom = /room=([0-9a-f-]{36})/.exec(edu.url())![1]!;
    expect(replayRoom).not.toBe(room.id);
    await edu.waitForSelector('#replay-markers .marker-annotation'); // the markers arrive with the recording
    expect(await edu.isDisabled('#replay-seek')).toBe(false);

    // ---- the learners join the replay ---------------------------------------------------------
    const join = async (userId: string, name: string) => {
      const p = await open();
      await p.goto(`${server.app.url}/#room=${replayRoom}`);
      await devSignInPage(p, server.app.url, userId, name);
      await p.waitForSelector('.pill.ok');
      await p.waitForSelector('.replay-bar');
      return p;
    };
    const stu = await join('stu.deid', 'Sam Student');
    const res = await join('res.ident', 'Riya Resident');
    for (const p of [stu, res]) {
      expect(await p.isVisible('#replay-play')).toBe(false); // learners follow: no controls
      expect(await p.isDisabled('#replay-seek')).toBe(true);
      expect(await p.textContent('#replay-follow')).toContain('The educator controls the replay');
      expect(await p.textContent('#replay-audio')).toContain('No audio');
    }
    // The de-identified student's timeline has the annotations' markers too — who annotated when, never the note's text.
    await res.waitForSelector('#replay-markers .marker-annotation');
    await stu.waitForSelector('#replay-markers .marker-annotation');
    expect(await stu.locator('#replay-markers .marker-annotation').count()).toBe(2);
    // A learner's markers cannot be clicked (the educator seeks) but keep the legend's colours.
    const colour = (p: Page, sel: string) => p.locator(sel).first().evaluate((e) => getComputedStyle(e).backgroundColor);
    expect(await stu.locator('#replay-markers .marker-annotation').first().isDisabled()).toBe(true);
    expect(await colour(stu, '#replay-markers .marker-annotation:not(.passed)')).toBe(await colour(stu, '.replay-legend .marker-annotation'));

    // ---- seek: the scene at the chosen instant ---------------------------------------------------
    const marks = await edu.locator('#replay-markers .marker-annotation').evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset['t'])));
    expect(marks).toHaveLength(2); // the stroke, then the note
    const [strokeAt, noteAt] = marks as [number, number];
    const kinds = async (p: Page) => (await recorded(p)).map((o) => o.kind).sort().join();
    // At the stroke's marker: the model and the stroke, not yet the note.
    await edu.locator(`#replay-markers .marker-annotation[data-t="${strokeAt}"]`).click();
    await eventually(async () => (await player(res)).positionMs === strokeAt && (await kinds(res)) === 'model,stroke', 8000);
    await eventually(async () => (await player(stu)).positionMs === strokeAt, 8000);
    // A de-identified viewer sees the table's geometry — the model and the stroke, as in the live room — and who
    // was there; free text written under the educator's access stays the educator's (below).
    await eventually(async () => (await kinds(stu)) === 'model,stroke', 8000);
    await eventually(async () => (await stu.textContent('#replay-people'))?.includes('Dr. Okafor') === true, 8000);
    // Back to the start (the slider): nothing on the table yet.
    await edu.fill('#replay-seek', '0');
    await eventually(async () => (await player(res)).positionMs === 0 && (await kinds(res)) === '', 8000);
    // At the note's marker: the resident reads the note; the student sees that a note is there, not its text.
    await edu.locator(`#replay-markers .marker-annotation[data-t="${noteAt}"]`).click();
    await eventually(async () => (await recorded(res)).some((o) => o.label.includes(NAME)), 8000);
    await eventually(async () => (await player(stu)).positionMs === noteAt, 8000);
    await eventually(async () => (await kinds(stu)) === 'label,model,stroke', 8000);
    expect((await recorded(stu)).every((o) => !o.label.includes(NAME))).toBe(true);

    // ---- play, speed, pause: the learners follow ------------------------------------------------
    await edu.fill('#replay-seek', '0');
    await eventually(async () => (await player(stu)).positionMs === 0, 8000);
    await edu.selectOption('#replay-speed', '2');
    await eventually(async () => (await player(stu)).speed === 2 && (await player(res)).speed === 2, 8000);
    await edu.click('#replay-play');
    await eventually(async () => (await player(stu)).status === 'playing' && (await player(res)).status === 'playing', 8000);
    const shown0 = await stu.textContent('#replay-time');
    await eventually(async () => (await stu.textContent('#replay-time')) !== shown0, 5000); // the learner's clock runs on
    await edu.click('#replay-play'); // pause
    await eventually(async () => (await player(stu)).status === 'paused', 8000);
    const pausedAt = (await player(stu)).positionMs;
    expect(pausedAt).toBeGreaterThan(0);
    expect((await player(res)).positionMs).toBe(pausedAt);

    // Back to the note for the pictures.
    await edu.locator(`#replay-markers .marker-annotation[data-t="${noteAt}"]`).click();
    await eventually(async () => (await player(stu)).positionMs === noteAt && (await player(res)).positionMs === noteAt, 8000);
    await eventually(async () => (await res.locator('#replay-people').textContent())?.includes('Dr. Okafor') === true, 8000);
    await edu.waitForTimeout(800); // the 3D view draws the scene
    await edu.screenshot({ path: path.join(DOCS, 'teaching-replay-educator.png') });
    await stu.screenshot({ path: path.join(DOCS, 'teaching-replay-student.png') });

    // ---- the de-identified student: no identified text anywhere on the page --------------------------
    for (const canary of [NAME, MRN]) {
      expect(await stu.content(), canary).not.toContain(canary);
      expect(JSON.stringify(await objects(stu)), canary).not.toContain(canary);
    }
    expect(await res.content()).toContain(NAME);
  });
});
