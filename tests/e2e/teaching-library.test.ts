import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { clinicalBundle } from './clinical-bundle.ts';

/**
 * Who may watch, in the web client: a student signs in (their library is empty); the educator who recorded a
 * case conference opens "Who may watch" in the library, is refused a misspelt user id in words, finds the
 * student by name and lets them watch it (de-identified), and a training room too — the list and the timeline
 * name people, not ids; the student finds it in their library with no such controls, reads the timeline
 * without the note's text, and plays it alone; the educator revokes the student, whose replay stops at once
 * and who loses the recording. Then the case is deleted: the educator's replay says so and goes on without
 * it, and the educator deletes the recording after being asked. Screenshots of the library for docs/.
 */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const NAME = 'Thornbury';
const MRN = 'TB-558201';

let server: TestServer;
let admin: ConsiliumClient;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let caseId: string;
let recordingId: string;
let cohortId: string;
const contexts: BrowserContext[] = [];

type Hook = { session: { state: { replay: { status: string } } } };
declare const __consilium: Hook;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  ({ caseId } = await admin.api.importCase(clinicalBundle(NAME, MRN)));
  // The recorded conference (made through the SDK: the recording itself has its own browser test).
  const room = await admin.api.createRoom({ title: 'Cardiothoracic case conference', kind: 'case-conference', caseId, recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }] });
  const edu = await server.join('edu', room.id, { name: 'Dr. Okafor' });
  ({ recordingId } = await edu.do('recording.start', {}));
  const at = { position: [0.1, 1.2, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };
  await edu.do('object.add', { kind: 'model', asset: 'builtin:heart', transform: at });
  await new Promise((r) => setTimeout(r, 800));
  await edu.do('object.add', { kind: 'stroke', asset: 'builtin:pen', points: [0, 1, 0, 0.2, 1.05, 0], transform: at });
  await new Promise((r) => setTimeout(r, 800));
  await edu.do('object.add', { kind: 'label', asset: 'builtin:pin', label: `LV apex mass, ${NAME} ${MRN}: resect?`, transform: at });
  await new Promise((r) => setTimeout(r, 1500));
  await edu.do('recording.stop', {});
  await edu.leave();
  cohortId = (await admin.api.createRoom({ title: 'PGY-1 cardiothoracic cohort', kind: 'training', participants: [{ userId: 'edu', role: 'host' }, { userId: 'res.cohort', role: 'clinician' }, { userId: 'stu.cohort', role: 'observer' }] })).id;
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await closeBrowser?.();
  await server?.stop();
});

async function open(userId: string, name: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(`${server.app.url}/`);
  await devSignInPage(page, server.app.url, userId, name);
  await page.click('#open-library');
  return page;
}

const row = (p: Page) => p.locator(`[data-testid="recording-${recordingId}"]`);


describe('teaching library: who may watch', { timeout: 240_000 }, () => {
  it('the educator finds a student by name and grants them, the student watches alone, the educator revokes and the student loses it at once', async () => {
    // ---- the student signs in: nothing to watch yet --------------------------------------------------
    const stu = await open('stu.lib', 'Sam Student');
    await stu.waitForSelector('text=No recordings you may watch.');

    // ---- the educator: who may watch ----------------------------------------------------------------
    const edu = await open('edu', 'Dr. Okafor');
    await row(edu).waitFor();
    expect(await row(edu).textContent()).toContain('you recorded it');
    await edu.click(`[data-testid="who-${recordingId}"]`);
    await edu.waitForSelector(`[data-testid="no-grants-${recordingId}"]`);
    const person = `[data-testid="grant-user-${recordingId}"]`;
    // A misspelt user id is refused in words, and granted to nobody.
    await edu.fill(person, 'stu.lbi');
    await edu.click('text=Let them watch');
    await edu.waitForSelector(`[data-testid="access-refusal-${recordingId}"]:has-text("Nobody with that user id has signed in")`);
    expect(await edu.locator(`[data-testid="no-grants-${recordingId}"]`).count()).toBe(1);
    // By name: typing finds the student; the field keeps the typing through the redraw the answer causes.
    await edu.fill(person, '');
    await edu.locator(person).pressSequentially('sam st', { delay: 40 });
    await edu.waitForSelector('[data-testid="pick-stu.lib"]');
    expect(await edu.inputValue(person)).toBe('sam st');
    expect(await edu.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset['testid'])).toBe(`grant-user-${recordingId}`);
    expect(await edu.textContent('[data-testid="pick-stu.lib"]')).toBe('Sam Student · stu.lib');
    await edu.locator(`[data-testid="access-${recordingId}"]`).screenshot({ path: path.join(DOCS, 'teaching-library-find-person.png') });
    await edu.click('[data-testid="pick-stu.lib"]');
    expect(await edu.inputValue(person)).toBe('Sam Student');
    await edu.selectOption(`[data-testid="grant-user-role-${recordingId}"]`, 'observer');
    await edu.click('text=Let them watch');
    await edu.waitForSelector('[data-testid="grant-person-stu.lib"]');
    const granted = (await edu.textContent('[data-testid="grant-person-stu.lib"]'))!;
    expect(granted).toContain('Sam Student · student (de-identified)');
    expect(granted).toContain('granted by Dr. Okafor');
    expect(await edu.inputValue(person)).toBe(''); // granted: the field is empty again
    await edu.selectOption(`[data-testid="grant-room-${recordingId}"]`, cohortId);
    await edu.selectOption(`[data-testid="grant-room-role-${recordingId}"]`, 'clinician');
    await edu.click('text=Let the room watch');
    await edu.waitForSelector(`[data-testid="grant-room-${cohortId}"]`);
    expect(await edu.textContent(`[data-testid="grant-room-${cohortId}"]`)).toMatch(/PGY-1 cardiothoracic cohort · resident \(identified\).*3 members now/);
    await edu.click(`[data-testid="recording-${recordingId}"] summary`); // the timeline, as the educator reads it
    expect(await edu.textContent(`[data-testid="timeline-${recordingId}"]`)).toContain(`Note by Dr. Okafor: “LV apex mass, ${NAME}`);
    await edu.screenshot({ path: path.join(DOCS, 'teaching-library-access.png'), fullPage: true });

    // ---- the student: sees it, no controls, no note text; watches alone ----------------------------
    await stu.click('text=Back to rooms');
    await stu.click('#open-library');
    await row(stu).waitFor();
    const stuRow = (await row(stu).textContent())!;
    expect(stuRow).toContain('granted to you');
    for (const control of [`who-${recordingId}`, `delete-${recordingId}`, `learner-${recordingId}`]) expect(await stu.locator(`[data-testid="${control}"]`).count(), control).toBe(0);
    await stu.click(`[data-testid="recording-${recordingId}"] summary`);
    const timeline = (await stu.textContent(`[data-testid="timeline-${recordingId}"]`))!;
    expect(timeline).toContain('Note by Dr. Okafor — hidden by your access');
    expect(timeline).toContain('Stroke by Dr. Okafor');
    for (const canary of [NAME, MRN]) expect(await stu.content(), canary).not.toContain(canary);
    await stu.screenshot({ path: path.join(DOCS, 'teaching-library-student.png'), fullPage: true });
    await stu.click('text=Watch alone');
    await stu.waitForSelector('.replay-bar');
    await stu.waitForSelector('.pill.ok');
    await stu.click('#replay-play'); // their own replay: they drive it
    await eventually(async () => (await stu.evaluate(() => __consilium.session.state.replay.status)) === 'playing', 8000);
    for (const canary of [NAME, MRN]) expect(await stu.content(), canary).not.toContain(canary);

    // ---- the educator revokes: the student's replay stops at once -----------------------------------
    const t0 = Date.now();
    await edu.click('button[aria-label="Revoke Sam Student"]');
    await stu.waitForSelector('text=You may no longer watch this recording', { timeout: 5000 });
    const stoppedMs = Date.now() - t0;
    console.info(`[teaching library] the student's playing replay stopped ${stoppedMs} ms after the educator clicked Revoke`);
    expect(await stu.locator('.replay-bar').count()).toBe(0);
    await edu.waitForSelector('[data-testid="grant-person-stu.lib"]', { state: 'detached' });
    // The timeline the educator opened stayed open through the redraws (grants, revoke).
    expect(await edu.locator(`[data-testid="recording-${recordingId}"] details.timeline`).evaluate((d) => (d as HTMLDetailsElement).open)).toBe(true);
    await stu.click('#open-library');
    await stu.waitForSelector('text=No recordings you may watch.');

    // ---- the case is deleted: the replay says so and goes on -----------------------------------------
    await edu.click(`button[aria-label="Watch Cardiothoracic case conference alone"]`);
    await edu.waitForSelector('.replay-bar');
    await edu.waitForSelector('.pill.ok');
    await admin.api.deleteCase(caseId);
    await edu.waitForSelector('[data-testid="no-case"]:has-text("The case this recording showed has been deleted")');
    expect(await edu.locator('.replay-bar').count()).toBe(1);
    await edu.locator('#replay-markers .marker-annotation').last().click(); // the note's instant: the recorded table, in full
    await edu.waitForTimeout(1200); // the 3D view draws the recorded table
    await edu.screenshot({ path: path.join(DOCS, 'teaching-replay-case-deleted.png') });
    await edu.click('text=Leave room');
    await edu.click('#open-library');
    await edu.waitForSelector(`[data-testid="case-deleted-${recordingId}"]`);

    // ---- deleting asks first ------------------------------------------------------------------------
    await edu.click(`[data-testid="delete-${recordingId}"]`);
    await edu.waitForSelector(`[data-testid="confirm-delete-${recordingId}"]`);
    await edu.click('text=Keep it');
    await edu.waitForSelector(`[data-testid="confirm-delete-${recordingId}"]`, { state: 'detached' });
    expect(await row(edu).count()).toBe(1);
    await edu.click(`[data-testid="delete-${recordingId}"]`);
    await edu.waitForSelector(`[data-testid="confirm-delete-${recordingId}"]`);
    await edu.screenshot({ path: path.join(DOCS, 'teaching-library-delete.png'), clip: { x: 0, y: 0, width: 1000, height: 540 } });
    await edu.click('text=Delete recording');
    await edu.waitForSelector('text=No recordings you may watch.');
    const cohortMember = await server.as('res.cohort');
    expect((await cohortMember.api.listRecordings()).map((r) => r.id)).not.toContain(recordingId);
  });
});
