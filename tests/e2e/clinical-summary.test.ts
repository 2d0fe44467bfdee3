import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { hl7AllergyBundle, hl7PrescriptionBundle, syntheaCarroll, syntheaMargie } from '../fixtures/real-fhir.ts';

/** The clinical summary on real records: Synthea patients and the HL7 specification's examples, as a clinician reads them. */
const DOCS = path.resolve(import.meta.dirname, '../../docs');

let server: TestServer;
let admin: ConsiliumClient;
let browser: Browser;
let closeBrowser: () => Promise<void>;
const cases: Record<'margie' | 'carroll' | 'allergies' | 'prescriptions', string> = { margie: '', carroll: '', allergies: '', prescriptions: '' };
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  cases.margie = (await admin.api.importCase(syntheaMargie())).caseId;
  cases.carroll = (await admin.api.importCase(syntheaCarroll())).caseId;
  cases.allergies = (await admin.api.importCase(hl7AllergyBundle())).caseId;
  cases.prescriptions = (await admin.api.importCase(hl7PrescriptionBundle())).caseId;
  ({ browser, close: closeBrowser } = await launchChromium());
}, 180_000);
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})));
});
afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
});

async function joinCase(which: keyof typeof cases, userId: string, role: 'clinician' | 'observer' = 'clinician', scopes?: string[]): Promise<Page> {
  const room = await admin.api.createRoom({ title: `Review ${which}`, kind: role === 'observer' ? 'training' : 'case-conference', caseId: cases[which], participants: [{ userId, role, ...(scopes ? { scopes } : {}) }] });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1500 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(`${server.app.url}/#room=${room.id}`);
  await devSignInPage(page, server.app.url, userId, `Dr. ${userId}`);
  await page.waitForSelector('.pill.ok', { timeout: 30_000 });
  await page.waitForSelector('[data-testid="patient"]');
  return page;
}

describe('clinical summary on real records', { timeout: 120_000 }, () => {
  it('lists the HL7 example patient’s MedicationRequest orders with dose and prescriber, active first', async () => {
    const page = await joinCase('prescriptions', 'rx.cli');
    const meds = page.locator('[data-testid="medications"]');
    await meds.waitFor();
    const active = await meds.locator('.clin-group').first().textContent();
    expect(active).toMatch(/^Active/);
    for (const name of ['Prednisone 5mg tablet', 'Myleran 2mg tablet', 'Tylenol PM']) expect(active).toContain(name);
    expect(active).toContain('6 mg PO daily for remission induction');
    expect(active).toContain('by Simone Heps');
    expect(active).toContain('by the patient'); // medicationstatementexample1: reported by the patient
    expect(active).not.toContain('Oxycodone');
    expect(await meds.locator('.clin-group').nth(1).textContent()).toMatch(/^Past.*Oral Form Oxycodone.*completed/);
    await meds.screenshot({ path: path.join(DOCS, 'clinical-summary-medications.png') });
  });

  it('shows both cashew reactions with their severity and marks the unconfirmed penicillin allergy', async () => {
    const page = await joinCase('allergies', 'al.cli');
    const allergies = page.locator('[data-testid="allergies"]');
    await allergies.waitFor();
    const cashew = allergies.locator('li.allergy-high', { hasText: 'Cashew nuts' });
    expect(await cashew.locator('.clin-sub li').allTextContents()).toEqual(['Anaphylactic reaction — severe', 'Urticaria — moderate']);
    const penicillin = allergies.locator('li', { hasText: 'Penicillin G' }).first();
    expect(await penicillin.locator('.mark-unconfirmed').textContent()).toBe('unconfirmed');
    expect(await cashew.locator('.mark-unconfirmed').count()).toBe(0);
    // This record has no medications, problems or immunizations: readable, and said so.
    for (const k of ['medications', 'problems', 'immunizations', 'encounters']) expect(await page.textContent(`[data-testid="${k}"]`), k).toContain('Not on file');
    await allergies.screenshot({ path: path.join(DOCS, 'clinical-summary-allergies.png') });
  });

  it('the largest Synthea case: "10 of 13" immunizations, then all of them after "show all"; encounters, reports with results, problems active vs resolved; the trend range', async () => {
    const page = await joinCase('margie', 'sy.cli');
    const imm = page.locator('[data-testid="immunizations"]');
    await imm.waitFor();
    expect(await imm.locator('.clin-list > li').count()).toBe(10);
    expect(await page.textContent('[data-testid="immunizations-more"]')).toBe('10 of 13 — show all');
    expect(await page.textContent('[data-testid="encounters-more"]')).toBe('10 of 58 — show all');
    await page.click('[data-testid="immunizations-more"] button');
    await eventually(async () => (await imm.locator('.clin-list > li').count()) === 13, 10_000);
    expect(await page.locator('[data-testid="immunizations-more"]').count()).toBe(0);
    // Newest first, all of them.
    const years = (await imm.locator('.clin-list > li .muted').allTextContents()).map((t) => Number(/(\d{4})/.exec(t)![1]));
    expect(years).toEqual([...years].sort((a, b) => b - a));

    const problems = page.locator('[data-testid="problems"]');
    expect(await problems.locator('h4').allTextContents()).toEqual(['Active', 'Resolved']);
    expect(await page.locator('[data-testid="reports"] .clin-sub li').count()).toBeGreaterThan(3);
    expect(await page.textContent('[data-testid="labs"]')).not.toContain('[Mass/volume]');

    const label = () => page.getAttribute('[data-testid="vitals"] canvas', 'aria-label');
    await eventually(async () => /over/.test((await label()) ?? ''), 5000);
    await page.click('[data-testid="trend-range"] button[data-range="all"]');
    await eventually(async () => /over \d{3,} days/.test((await label()) ?? ''), 5000); // years of yearly visits
    expect(await page.getAttribute('[data-testid="trend-range"] button[data-range="all"]', 'aria-pressed')).toBe('true');
    await page.click('[data-testid="trend-range"] button[data-range="24h"]');
    await eventually(async () => /over \d+ h\./.test((await label()) ?? ''), 5000);
    // Every immunization, newest first, as the clinician sees them after "show all".
    await imm.screenshot({ path: path.join(DOCS, 'clinical-summary-synthea.png') });
  });

  it('a de-identified reader loads the rest too, newest first, with short lab names', async () => {
    const page = await joinCase('margie', 'sy.obs', 'observer', ['deidentified', 'patient/*.rs']);
    await page.waitForSelector('[data-testid="immunizations-more"]');
    expect(await page.textContent('[data-testid="patient"]')).toMatch(/^De-identified patient/);
    await page.click('[data-testid="immunizations-more"] button');
    await eventually(async () => (await page.locator('[data-testid="immunizations"] .clin-list > li').count()) === 13, 10_000);
    const labs = await page.$$eval('[data-testid="labs"] tbody tr:not(.panel-row)', (trs) => trs.map((tr) => [tr.children[0]!.textContent!, tr.children[3]!.textContent!]));
    expect(labs.map((l) => l[0])).toContain('Hemoglobin');
    for (const [name] of labs) expect(name).not.toMatch(/\[|by Automated count/);
    const hb = labs.filter((l) => l[0] === 'Hemoglobin').map((l) => Number(l[1]));
    expect(hb).toEqual([...hb].sort((a, b) => b - a));
  });

  it('on a desktop the room fits the window: a long summary scrolls in its panel, never the page below the room', async () => {
    const page = await joinCase('margie', 'fit.cli');
    await page.setViewportSize({ width: 1400, height: 900 });
    await page.waitForSelector('[data-testid="labs"] .sr-only'); // the flags screen readers hear, far down the panel
    const sizes = await page.evaluate(() => ({ page: document.documentElement.scrollHeight, window: innerHeight, panel: document.querySelector('.side')!.scrollHeight }));
    expect(sizes.panel).toBeGreaterThan(sizes.window); // the summary is long…
    expect(sizes.page).toBeLessThanOrEqual(sizes.window); // …and scrolls inside its panel
  });

  it('"Not on file" for a readable empty section; an unreadable section is not shown as empty', async () => {
    const page = await joinCase('carroll', 'ca.cli');
    await eventually(async () => (await page.locator('[data-testid="allergies"]').count()) === 1, 10_000);
    expect(await page.textContent('[data-testid="allergies"]')).toContain('Not on file');
    const lim = await joinCase('carroll', 'ca.lim', 'clinician', ['patient/Observation.rs']);
    await lim.waitForSelector('[data-testid="labs"]');
    await lim.waitForTimeout(1000); // the probes have answered
    expect(await lim.locator('[data-testid="allergies"]').count()).toBe(0);
    expect(await lim.textContent('[data-testid="patient"]')).toMatch(/Not shown to you: .*Allergies/);
  });
});
