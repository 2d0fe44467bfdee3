import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { chartWordProblems } from '../support/vitals-chart.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { hl7AllergyBundle, hl7PrescriptionBundle, identifyingStrings, syntheaCarroll, syntheaMargie, type Bundle } from '../fixtures/real-fhir.ts';
import { liveObservation } from '../fixtures/case-bundle.ts';
import { observationRows } from '../../client/src/app/clinical/format.ts';

/** The clinical summary on real records: Synthea patients and the HL7 specification's examples, as a clinician reads them. */
const DOCS = path.resolve(import.meta.dirname, '../../docs');

let server: TestServer;
let admin: ConsiliumClient;
let browser: Browser;
let closeBrowser: () => Promise<void>;
const cases: Record<'margie' | 'carroll' | 'allergies' | 'prescriptions' | 'monitored', string> = { margie: '', carroll: '', allergies: '', prescriptions: '', monitored: '' };
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

async function joinCase(which: keyof typeof cases, userId: string, role: 'clinician' | 'observer' = 'clinician', scopes?: string[], watch?: (page: Page) => void): Promise<Page> {
  const room = await admin.api.createRoom({ title: `Review ${which}`, kind: role === 'observer' ? 'training' : 'case-conference', caseId: cases[which], participants: [{ userId, role, ...(scopes ? { scopes } : {}) }] });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1500 } });
  contexts.push(context);
  const page = await context.newPage();
  watch?.(page);
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
    // Every name and latest value readable whole, the latest rounded as a flowsheet has it and exact on hover.
    const words = await chartWordProblems(page);
    expect(words.words).toBeGreaterThanOrEqual(3 * 8);
    expect(words.problems).toEqual([]);
    const temp = latestVitals(syntheaMargie()).get('Temp (oral)')!;
    expect(await latestShown(page, '8331-1')).toEqual({ text: temp.value.toFixed(1), title: expect.stringContaining(`Oral temperature ${temp.value} °C`) });
    expect(await page.getAttribute('[data-testid="vitals"] .vital-name[data-series="59576-9"]', 'title')).toBe('Body mass index (BMI) [Percentile] Per age and gender');
    await page.locator('[data-testid="vitals"]').screenshot({ path: path.join(DOCS, 'vitals-identified.png') });
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

/** Every date or time finer than the year the record writes, in the forms it writes them: full dates, `"YYYY-MM`, times of day. */
function recordDateStrings(bundle: Bundle): { dates: string[]; times: string[] } {
  const dates = new Set<string>();
  const times = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    else if (typeof v === 'string') {
      const m = /^(\d{4}-\d{2})(-\d{2})?(?:T(\d{2}:\d{2}:\d{2}))?/.exec(v);
      if (!m) return;
      dates.add(`"${m[1]}`);
      if (m[2]) dates.add(m[1] + m[2]);
      if (m[3]) times.add(m[3]);
    }
  };
  for (const e of bundle.entry) walk(e.resource);
  return { dates: [...dates], times: [...times] };
}

/** The newest numeric vital-sign value per shown name, as the identified record has it. */
function latestVitals(bundle: Bundle): Map<string, { value: number; year: number }> {
  const best = new Map<string, { value: number; year: number; ms: number }>();
  for (const e of bundle.entry) {
    if (e.resource['resourceType'] !== 'Observation') continue;
    for (const row of observationRows(e.resource)) {
      if (row.category !== 'vital' || row.numeric === undefined || !row.when) continue;
      const cur = best.get(row.name);
      if (!cur || row.when.ms > cur.ms) best.set(row.name, { value: row.numeric, year: Number(row.when.raw.slice(0, 4)), ms: row.when.ms });
    }
  }
  return new Map([...best].map(([k, v]) => [k, { value: v.value, year: v.year }]));
}

/** "Latest: Weight 71.9 kg (2020); …" → name → value and year. */
function latestInLabel(label: string): Map<string, { value: number; year: number }> {
  const items = label.slice(label.indexOf('Latest: ') + 8).replace(/\.$/, '').split('; ');
  return new Map(items.map((it) => {
    const m = /^(.+?) (-?\d+(?:\.\d+)?) .*\((\d{4})\)$/.exec(it);
    if (!m) throw new Error(`unreadable latest value: ${it}`);
    return [m[1]!, { value: Number(m[2]), year: Number(m[3]) }];
  }));
}

/** The latest value of a series as shown and as its tooltip says it. */
const latestShown = async (page: Page, code: string) => {
  const el = page.locator(`[data-testid="vitals"] .vital-latest[data-series="${code}"]`);
  return { text: await el.textContent(), title: (await el.getAttribute('title')) ?? '' };
};

const CLOCK_OR_MONTH = /\d{1,2}:\d{2}|\b(AM|PM|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b/;

describe('vital signs as a de-identified student sees them', { timeout: 180_000 }, () => {
  it('Synthea: readings spread over their years in order, each latest value the record’s latest, ranges in years; nothing dated reaches the browser', async () => {
    const margie = syntheaMargie();
    const ws: string[] = [];
    const caseAnswers: string[] = [];
    const apiAnswers: string[] = [];
    // A student whose de-identified access covers the whole record (more on demand over HTTP: more to inspect).
    const page = await joinCase('margie', 'vit.stu', 'observer', ['deidentified', 'patient/*.rs'], (p) => {
      p.on('websocket', (s) => s.on('framereceived', (f) => void ws.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('latin1'))));
      p.on('response', async (res) => {
        if (!new URL(res.url()).pathname.startsWith('/api/')) return;
        const text = await res.text().catch(() => '');
        apiAnswers.push(text);
        if (new URL(res.url()).pathname.startsWith('/api/cases/')) caseAnswers.push(text);
      });
    });
    expect(await page.textContent('[data-testid="patient"]')).toMatch(/^De-identified patient/);
    const label = async () => (await page.getAttribute('[data-testid="vitals"] canvas', 'aria-label')) ?? '';
    await eventually(async () => /Latest:/.test(await label()), 10_000);
    // Opens on everything (a de-identified record has no week), ranges in whole years.
    expect(await page.$$eval('[data-testid="trend-range"] button', (bs) => bs.map((b) => `${b.textContent}:${b.getAttribute('aria-pressed')}`))).toEqual(['Newest year:false', '5 years:false', 'All:true']);
    const all = await label();
    expect(all).toMatch(/^Vital signs from 2011 to 2020, placed by year and in order within each year/);
    expect(all).not.toMatch(CLOCK_OR_MONTH); // no invented time of day, day or month
    // Each series ends on the value the identified record has as its newest, in that year.
    const truth = latestVitals(margie);
    const shown = latestInLabel(all);
    expect(shown.size).toBeGreaterThan(5);
    for (const [name, v] of shown) expect(v, name).toEqual(truth.get(name));
    // Names and latest values whole; the latest temperature to a tenth, exact (and dated by year only) on hover.
    const words = await chartWordProblems(page);
    expect(words.words).toBe(3 * shown.size);
    expect(words.problems).toEqual([]);
    const temp = truth.get('Temp (oral)')!;
    expect(await latestShown(page, '8331-1')).toEqual({ text: temp.value.toFixed(1), title: `Latest: Oral temperature ${temp.value} °C (${temp.year})` });
    expect(String(temp.value)).toMatch(/\.\d\d/); // the record's value has more than a tenth
    expect(await page.textContent('[data-testid="vitals"] .vitals-keys')).not.toMatch(CLOCK_OR_MONTH);
    await page.locator('[data-testid="vitals"]').screenshot({ path: path.join(DOCS, 'vitals-deidentified.png') });

    await page.click('[data-testid="trend-range"] button[data-range="year"]');
    await eventually(async () => /^Vital signs in 2020,/.test(await label()), 5000);
    await page.click('[data-testid="trend-range"] button[data-range="5y"]');
    await eventually(async () => /^Vital signs from 20(16|17|18|19) to 2020,/.test(await label()), 5000);
    await page.click('[data-testid="trend-range"] button[data-range="all"]');
    await eventually(async () => (await label()) === all, 5000);
    // More of the record over HTTP, as a student would ask for it.
    await page.click('[data-testid="immunizations-more"] button');
    await eventually(async () => (await page.locator('[data-testid="immunizations-more"]').count()) === 0, 10_000);

    // The attacker's view: every frame and every API answer this browser received.
    const { dates, times } = recordDateStrings(margie);
    const forbidden = [...new Set([...identifyingStrings(margie), ...dates])];
    expect(dates.length).toBeGreaterThan(100);
    expect(ws.join('').length).toBeGreaterThan(10_000);
    expect(caseAnswers.length).toBeGreaterThan(0);
    for (const [where, texts, list] of [['frames', ws, [...forbidden, ...times]], ['case answers', caseAnswers, [...forbidden, ...times]], ['API answers', apiAnswers, forbidden]] as const) {
      const text = texts.join('\n');
      expect(list.filter((f) => text.includes(f)), `record dates in ${where}`).toEqual([]);
    }
    expect(ws.join('')).toContain('8480-6'); // …and the capture does hold the readings
  });

  it('a monitored patient: every reading this year; the one that arrives live is the latest the chart shows', async () => {
    const patient = 'urn:uuid:monitored';
    const now = Date.now();
    const newest = Math.max(now - 60_000, Date.UTC(new Date(now).getUTCFullYear(), 0, 1) + 3_600_000); // all in this UTC year
    const hr = [88, 96, 110, 124];
    const imported = await admin.api.importCase({
      resourceType: 'Bundle', type: 'collection', entry: [
        { fullUrl: patient, resource: { resourceType: 'Patient', gender: 'male', birthDate: '1958-04-02' } },
        ...hr.map((value, i) => ({ resource: {
          resourceType: 'Observation', status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] }, subject: { reference: patient },
          effectiveDateTime: new Date(newest - (hr.length - 1 - i) * 20 * 60_000).toISOString(), valueQuantity: { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
        } })),
      ],
    } as never);
    cases.monitored = imported.caseId;
    const page = await joinCase('monitored', 'mon.stu', 'observer');
    const label = async () => (await page.getAttribute('[data-testid="vitals"] canvas', 'aria-label')) ?? '';
    const year = new Date(newest).getUTCFullYear();
    await eventually(async () => (await label()).includes(`Latest: Heart rate 124 bpm (${year})`), 10_000);
    await admin.api.ingestObservation(cases.monitored, liveObservation(imported.patientId, 'Zqxmonitor', 131));
    await eventually(async () => (await label()).includes(`Latest: Heart rate 131 bpm (${year})`), 10_000);
    expect(await label()).toMatch(new RegExp(`^Vital signs in ${year},`));
    expect(await label()).not.toMatch(CLOCK_OR_MONTH);
    await page.locator('[data-testid="vitals"]').screenshot({ path: path.join(DOCS, 'vitals-deidentified-monitored.png') });
    // A student who joins afterwards sees the same: the room's order, not the moment of arrival, says which is newest.
    const late = await joinCase('monitored', 'mon.late', 'observer');
    await eventually(async () => ((await late.getAttribute('[data-testid="vitals"] canvas', 'aria-label')) ?? '').includes(`Latest: Heart rate 131 bpm (${year})`), 10_000);
  });
});
