import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { devSignInPage, launchChromium, seriousAxeViolations } from '../support/browser.ts';
import { eventually } from '../support/eventually.ts';
import { chartWordProblems } from '../support/vitals-chart.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { clinicalBundle } from './clinical-bundle.ts';

/** The clinic as a clinician uses it: the 3D tools, the clinical summary, host alerts, a phone. */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const NAME = 'Quillfeather';
const MRN = 'QF-448812';

let server: TestServer;
let admin: ConsiliumClient;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let caseId: string;
let patientId: string;
const contexts: BrowserContext[] = [];

type Hook = {
  session: { sessionId: string; objects(): { id: string; kind: string; asset: string; px: number; py: number; pz: number; grabbedBy: string }[]; state: { participants: { get(id: string): { pointing: boolean } | undefined } } };
  world: { screenPositionOf(id: string): { x: number; y: number } | null; visibility(): { avatars: Record<string, boolean>; onScreen: Record<string, boolean>; heads: Record<string, [number, number, number]>; ownLaser: boolean; camera: [number, number, number] } };
};
declare const __consilium: Hook;

beforeAll(async () => {
  server = await startTestServer({}, { IMAGING_VIEWER_URL: 'https://pacs.example.org/viewer?StudyInstanceUIDs={studyUid}' });
  admin = await server.as('root', { admin: true });
  ({ caseId, patientId } = await admin.api.importCase(clinicalBundle(NAME, MRN)));
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterEach(async () => {
  await Promise.all(contexts.splice(0).map((c) => c.close().catch(() => {})));
});
afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
});

/** The user's `case.read` audit rows, oldest first. */
async function caseReads(actor: string): Promise<{ outcome: string; room_id: string | null; details: { resources?: string[]; code?: string; type?: string; imaging?: boolean; variant?: string; types?: Record<string, { variant?: string; count?: number; code?: string }> } }[]> {
  return (await server.app.pool.query(`SELECT outcome, room_id, details FROM audit_log WHERE actor = $1 AND action = 'case.read' ORDER BY seq`, [actor])).rows;
}
/** The join's read has been written, and nothing more comes after it. */
async function joinReads(actor: string) {
  await eventually(async () => (await caseReads(actor)).length > 0, 10_000);
  await new Promise((r) => setTimeout(r, 700));
  return caseReads(actor);
}

async function open(width = 1400, height = 860): Promise<Page> {
  const context = await browser.newContext({ viewport: { width, height } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000); // below the test timeout, so a stuck wait names itself
  page.on('pageerror', (err) => console.error('page error:', err.message));
  return page;
}

/** Sign in from a room link: the app must land in that room, not on the room list. */
async function joinByLink(userId: string, name: string, roomId: string, page?: Page): Promise<Page> {
  const p = page ?? (await open());
  await p.goto(`${server.app.url}/#room=${roomId}`);
  await devSignInPage(p, server.app.url, userId, name);
  await p.waitForSelector('.pill.ok', { timeout: 20_000 });
  await p.waitForSelector('.room-layout canvas');
  return p;
}

const objects = (p: Page) => p.evaluate(() => __consilium.session.objects().map((o) => ({ id: o.id, kind: o.kind, asset: o.asset, p: [o.px, o.py, o.pz], grabbedBy: o.grabbedBy })));
const screenOf = async (p: Page, id: string) => {
  const box = (await p.locator('.viewport canvas').boundingBox())!;
  const s = (await p.evaluate((i) => __consilium.world.screenPositionOf(i), id))!;
  return { x: box.x + s.x, y: box.y + s.y };
};
async function drag(p: Page, from: { x: number; y: number }, dx: number, dy: number): Promise<void> {
  await p.mouse.move(from.x, from.y);
  await p.mouse.down();
  await p.mouse.move(from.x + dx, from.y + dy, { steps: 8 });
  await p.mouse.up();
  await p.waitForTimeout(400);
}

describe('3D interaction', { timeout: 90_000 }, () => {
  it('a stroke is picked only within a few pixels, and models stay draggable after drawing', async () => {
    const room = await admin.api.createRoom({ title: 'Picking', kind: 'case-conference', participants: [{ userId: 'pk.host', role: 'host' }] });
    const page = await joinByLink('pk.host', 'Dr. Pick', room.id);
    await page.selectOption('select[aria-label="Sample model"]', 'heart');
    await page.click('text=Add model');
    await page.waitForSelector('[data-testid^="object-"]:has-text("Heart model")');
    const heart = (await objects(page)).find((o) => o.asset === 'builtin:heart')!;
    const h0 = await screenOf(page, heart.id);

    // Draw a straight stroke 70 px above the heart.
    await page.click('button[data-tool="draw"]');
    expect(await page.getAttribute('button[data-tool="draw"]', 'aria-pressed')).toBe('true');
    expect(await page.getAttribute('button[data-tool="move"]', 'aria-pressed')).toBe('false');
    await page.mouse.move(h0.x - 160, h0.y - 70);
    await page.mouse.down();
    await page.mouse.move(h0.x + 160, h0.y - 70, { steps: 30 });
    await page.mouse.up();
    await eventually(async () => (await objects(page)).some((o) => o.kind === 'stroke'), 5000);
    const stroke = (await objects(page)).find((o) => o.kind === 'stroke')!;
    expect(await page.textContent(`[data-testid="object-${stroke.id}"]`)).toContain('Stroke by Dr. Pick');
    // Drawn where the cursor meets the table (or its plane past the edge), never out in the air or on an avatar.
    expect(Math.abs(stroke.p[1]! - 0.92)).toBeLessThan(0.05);
    expect(Math.hypot(stroke.p[0]!, stroke.p[2]!)).toBeLessThan(3);
    await page.click('button[data-tool="move"]');

    // 1. Pressing 14 px off the stroke does not grab it (three.js' default would grab from ~1 m away): the view orbits instead.
    const s0 = await screenOf(page, stroke.id);
    const cam0 = (await page.evaluate(() => __consilium.world.visibility())).camera;
    await drag(page, { x: s0.x, y: s0.y + 14 }, 0, 40);
    expect((await objects(page)).find((o) => o.id === stroke.id)!.p).toEqual(stroke.p);
    expect((await page.evaluate(() => __consilium.world.visibility())).camera).not.toEqual(cam0);

    // 2. The heart is still movable with the mouse.
    const h1 = await screenOf(page, heart.id);
    await drag(page, h1, 80, 0);
    await eventually(async () => {
      const now = (await objects(page)).find((o) => o.id === heart.id)!;
      return Math.hypot(now.p[0]! - heart.p[0]!, now.p[2]! - heart.p[2]!) > 0.03 && now.grabbedBy === '';
    }, 5000);
    expect((await objects(page)).find((o) => o.id === stroke.id)!.p).toEqual(stroke.p);

    // 3. Pressing within 2 px of the stroke does grab and move it.
    const s1 = await screenOf(page, stroke.id);
    await drag(page, { x: s1.x, y: s1.y + 2 }, 50, 0);
    await eventually(async () => {
      const now = (await objects(page)).find((o) => o.id === stroke.id)!;
      return now.p.some((v, i) => Math.abs(v - stroke.p[i]!) > 0.01) && now.grabbedBy === '';
    }, 5000);
  });

  it('presenter mode: neighbours are in view, the follower parks behind the presenter, nobody sees inside a head; the presenter sees their own laser', async () => {
    const room = await admin.api.createRoom({ title: 'Presenting', kind: 'case-conference', participants: [{ userId: 'pr.host', role: 'host' }, { userId: 'pr.cli', role: 'clinician' }] });
    const host = await joinByLink('pr.host', 'Dr. Present', room.id);
    const cli = await joinByLink('pr.cli', 'Dr. Follow', room.id);
    const hostSid = await host.evaluate(() => __consilium.session.sessionId);
    const cliSid = await cli.evaluate(() => __consilium.session.sessionId);
    // Seats: each sees the other in the frame without turning.
    await eventually(async () => (await cli.evaluate(() => __consilium.world.visibility())).onScreen[hostSid] === true, 5000);
    await eventually(async () => (await host.evaluate(() => __consilium.world.visibility())).onScreen[cliSid] === true, 5000);

    await host.click('#present');
    await cli.waitForSelector('[data-testid="participant-pr.host"] .badge.present');
    await cli.check('#follow');
    await cli.waitForTimeout(2500);
    const c = await cli.evaluate(() => __consilium.world.visibility());
    const head = c.heads[hostSid]!;
    const gap = Math.hypot(c.camera[0] - head[0], c.camera[1] - head[1], c.camera[2] - head[2]);
    expect(gap).toBeGreaterThan(0.4); // not inside the presenter's head…
    expect(gap).toBeLessThan(0.8); // …but right behind it
    expect(c.avatars[hostSid]).toBe(false); // the follower does not see the presenter's head from inside
    await eventually(async () => (await host.evaluate(() => __consilium.world.visibility())).avatars[cliSid] === false, 5000); // nor the presenter the follower

    // The presenter's own laser.
    await host.click('button[data-tool="laser"]');
    const box = (await host.locator('.viewport canvas').boundingBox())!;
    await host.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await host.mouse.move(box.x + box.width / 2 + 40, box.y + box.height / 2 + 20, { steps: 6 });
    await eventually(async () => (await host.evaluate(() => __consilium.world.visibility())).ownLaser, 5000);
    await eventually(async () => cli.evaluate((sid) => __consilium.session.state.participants.get(sid)?.pointing === true, hostSid), 5000);
  });
});

describe('clinical summary', { timeout: 90_000 }, () => {
  it('identified: banner, allergies and active medications first, labs newest first with human units, ranges and flags, vitals with live points', async () => {
    const room = await admin.api.createRoom({ title: 'Anticoagulation review', kind: 'case-conference', caseId, participants: [{ userId: 'cs.cli', role: 'clinician' }] });
    const page = await joinByLink('cs.cli', 'Dr. Summary', room.id);
    await page.waitForSelector('[data-testid="labs"]');
    // The join reads what the room did not send — seven types this record has none of — in one request: one audit row, each type with its count.
    const NONE = ['Procedure', 'DocumentReference', 'Encounter', 'MedicationRequest', 'Immunization', 'DiagnosticReport', 'Medication'];
    const all = await joinReads('cs.cli');
    // The image viewer's list of the case's studies is a read of its own (one row, what it showed); the rest is the panel's.
    expect(all.filter((r) => r.details.imaging).map((r) => [r.outcome, r.details.type, r.details.variant])).toEqual([['success', 'ImagingStudy', 'identified']]);
    const reads = all.filter((r) => !r.details.imaging);
    expect(reads).toHaveLength(1);
    expect(reads[0]).toMatchObject({ outcome: 'success', room_id: room.id, details: { resources: [] } });
    expect(reads[0]!.details.types).toEqual(Object.fromEntries(NONE.map((t) => [t, { variant: 'identified', count: 0 }])));
    await page.waitForSelector('[data-testid="encounters"] .not-on-file');
    const banner = (await page.textContent('[data-testid="patient"]'))!;
    expect(banner).toContain(`Maria ${NAME}`);
    expect(banner).toMatch(new RegExp(`\\d{2} y · F · born .*1958 · MRN ${MRN}`));

    const order = await page.$$eval('.case .clin-section', (els) => els.map((e) => e.getAttribute('data-testid')));
    // Decision support sits under the banner (views/cds-panel.ts); the record itself opens with allergies and medications.
    expect(order.filter((k) => k !== 'cds').slice(0, 2)).toEqual(['allergies', 'medications']);
    const allergy = page.locator('[data-testid="allergies"] li').first();
    expect(await allergy.getAttribute('class')).toContain('allergy-high');
    expect(await allergy.textContent()).toMatch(/Penicillin — high criticality.*Anaphylaxis/);
    const meds = (await page.textContent('[data-testid="medications"] .clin-group >> nth=0'))!;
    expect(meds).toMatch(/^Active.*Warfarin sodium 5 MG Oral Tablet/);
    expect(meds).not.toContain('Amiodarone'); // stopped: listed under Past
    expect(await page.textContent('[data-testid="medications"] .clin-group >> nth=1')).toMatch(/^Past.*Amiodarone 200 MG.*stopped/);

    const rows = await page.$$eval('[data-testid="labs-section"] tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent?.trim() ?? '')));
    const find = (name: string) => rows.filter((r) => r[0] === name);
    expect(find('Potassium')[0]![1]).toMatch(/^5\.9 mmol\/L H/); // newest first, flagged high
    expect(find('Potassium')[1]![1]).toBe('4.8 mmol/L');
    expect(find('Potassium')[0]![2]).toBe('3.5–5.1 mmol/L');
    expect(find('INR')[0]![1]).toMatch(/^3\.8 H/); // flag computed from the range; {INR} is not a unit
    expect(find('Hemoglobin')[0]![1]).toMatch(/^8\.1 g\/dL L/);
    expect(find('Cholesterol')[0]![3]).toBe('2024'); // a year-only date stays a year
    expect(find('Creatinine')[0]![3]).not.toBe(''); // effectivePeriod
    expect(find('ABO and Rh group')[0]![1]).toBe('O Rh(D) positive');
    expect(rows.map((r) => r[0])).toEqual(expect.arrayContaining(['Electrolytes', 'Coagulation', 'Blood count']));

    // Imaging opens in the site's viewer (IMAGING_VIEWER_URL), series listed.
    expect(await page.getAttribute('[data-testid="imaging"] a', 'href')).toBe('https://pacs.example.org/viewer?StudyInstanceUIDs=1.2.826.0.1.3680043.8.498.777');
    expect(await page.textContent('[data-testid="imaging"]')).toContain('Series 1: Chest CT · 120 images');

    const panel = (await page.textContent('.case'))!;
    for (const raw of ['mm[Hg]', '{INR}', 'AllergyIntolerance', 'MedicationStatement', 'Observation (']) expect(panel).not.toContain(raw);
    expect(panel).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}/); // no raw timestamps

    // Vitals: one strip per measure with its own unit; a new reading appears live.
    await eventually(async () => (await page.getAttribute('[data-testid="vitals"] canvas', 'aria-label'))?.includes('Systolic BP 118 mmHg'), 5000);
    expect(await page.getAttribute('[data-testid="vitals"] canvas', 'aria-label')).toContain('Heart rate 112 bpm');
    await admin.api.ingestObservation(caseId, {
      resourceType: 'Observation', status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] }, subject: { reference: `Patient/${patientId}` },
      effectiveDateTime: new Date().toISOString(), valueQuantity: { value: 131, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    await eventually(async () => (await page.getAttribute('[data-testid="vitals"] canvas', 'aria-label'))?.includes('Heart rate 131 bpm'), 5000);
    await page.waitForTimeout(300);
    await page.setViewportSize({ width: 1400, height: 3400 }); // tall enough for the whole summary (every readable section shows)
    await page.waitForTimeout(500);
    // The side column from its top: the patient banner (sticky) above the summary, nothing scrolled under it.
    const clip = await page.evaluate(() => {
      const side = document.querySelector('.side')!;
      side.scrollTo(0, 0);
      const box = side.getBoundingClientRect();
      const bottom = Math.max(...[...side.children].map((c) => c.getBoundingClientRect().bottom));
      return { x: box.x, y: box.y, width: box.width, height: Math.min(box.height, bottom - box.y + 8) };
    });
    await page.screenshot({ path: path.join(DOCS, 'case-summary.png'), clip });

    const violations = await seriousAxeViolations(page, ['.side', '.topbar', '.viewport .overlay']);
    expect(violations).toEqual([]);
    // A live reading, resizing, scrolling: nothing more read, nothing more audited.
    expect(await caseReads('cs.cli')).toHaveLength(all.length);
  });

  it('de-identified and restricted views still say whose case it is, and no more', async () => {
    const room = await admin.api.createRoom({
      title: 'Teaching: anticoagulation',
      kind: 'training',
      caseId,
      participants: [{ userId: 'cs.obs', role: 'observer' }, { userId: 'cs.lim', role: 'clinician', scopes: ['patient/Observation.rs'] }],
    });
    const obs = await joinByLink('cs.obs', 'Student', room.id);
    await obs.waitForSelector('[data-testid="patient"]');
    expect(await obs.textContent('[data-testid="patient"]')).toMatch(/^De-identified patient · F · 60–69/);
    const html = await obs.content();
    for (const c of [NAME, MRN, '1958-07-02']) expect(html).not.toContain(c);

    const lim = await joinByLink('cs.lim', 'Dr. Limited', room.id);
    await lim.waitForSelector('[data-testid="labs"]');
    const banner = (await lim.textContent('[data-testid="patient"]'))!;
    expect(banner).toContain('Case: Teaching: anticoagulation');
    expect(banner).toContain('Patient identity is outside your access');
    expect(banner).toMatch(/Not shown to you: .*Allergies.*Medications/);
    expect(await lim.locator('[data-testid="allergies"]').count()).toBe(0);
    // The case panel asks about twelve types at the join, none readable: one refused read naming each — not twelve rows.
    // (The image viewer's own list of the case's studies is refused apart, as before: its one type, its one row.)
    const limReads = await joinReads('cs.lim');
    expect(limReads.filter((r) => !r.details.types).map((r) => [r.outcome, r.details])).toEqual([['failure', { code: 'SCOPE_DENIED', type: 'ImagingStudy' }]]);
    const panelReads = limReads.filter((r) => r.details.types);
    expect(panelReads).toHaveLength(1);
    expect(panelReads[0]!.outcome).toBe('failure');
    expect(Object.keys(panelReads[0]!.details.types!).sort()).toEqual(['AllergyIntolerance', 'Condition', 'DiagnosticReport', 'DocumentReference', 'Encounter', 'ImagingStudy', 'Immunization', 'Medication', 'MedicationRequest', 'MedicationStatement', 'Patient', 'Procedure']);
    expect(Object.values(panelReads[0]!.details.types!).every((t) => t.code === 'SCOPE_DENIED')).toBe(true);
    // The de-identified observer: one row for the join too; each type it asked about named as refused or with its count.
    const obsReads = (await joinReads('cs.obs')).filter((r) => !r.details.imaging && r.details.type !== 'ImagingStudy');
    expect(obsReads).toHaveLength(1);
    expect(Object.keys(obsReads[0]!.details.types!)).toContain('AllergyIntolerance'); // outside an observer's defaults
    expect(Object.values(obsReads[0]!.details.types!).every((t) => t.code === 'SCOPE_DENIED' || (t.variant === 'deidentified' && t.count === 0))).toBe(true);
  });
});

describe('host attention', { timeout: 90_000 }, () => {
  it('break-glass arrives as an announced alert with requester, reason and countdown; joins are announced; voice controls are hidden when voice is off; Kick ends every seat of that user', async () => {
    const room = await admin.api.createRoom({
      title: 'Night shift',
      kind: 'case-conference',
      caseId,
      participants: [{ userId: 'ha.host', role: 'host' }, { userId: 'ha.cli', role: 'clinician', scopes: ['patient/Observation.rs'] }],
    });
    const host = await joinByLink('ha.host', 'Dr. Night', room.id);
    const cli = await joinByLink('ha.cli', 'Dr. Resident', room.id);
    await host.waitForSelector('[data-testid="participant-ha.cli"]');
    expect(await host.locator('button:has-text("Join voice"):visible').count()).toBe(0);
    expect(await host.locator('button:has-text("Mute"):visible').count()).toBe(0);
    expect((await host.textContent('#who'))!.trim()).toBe('Dr. Night');

    await cli.click('[data-testid="break-glass"]');
    await cli.check('dialog input[value="MedicationStatement"]');
    await cli.fill('dialog textarea', 'short');
    await cli.click('dialog button:text-is("Request")');
    expect(await cli.textContent('dialog [role="alert"]')).toBe('Please give a reason of at least 10 characters (you wrote 5).');
    await cli.fill('dialog textarea', 'Bleeding risk: need the anticoagulant list');
    await cli.click('dialog button:text-is("Request")');

    const alert = host.locator('[data-testid="alerts"] .alert.pending');
    await alert.waitFor();
    const text = (await alert.textContent())!;
    expect(text).toContain('Dr. Resident (clinician) asks for Medications');
    expect(text).toContain('Bleeding risk: need the anticoagulant list');
    const left1 = /lapses in (\d+):(\d\d)/.exec(text)!;
    expect(left1).not.toBeNull();
    await eventually(async () => (await host.textContent('#announce-urgent'))?.includes('Emergency access request from Dr. Resident'), 3000);
    await host.waitForTimeout(2100);
    const left2 = /lapses in (\d+):(\d\d)/.exec((await alert.textContent())!)!;
    expect(Number(left2[1]) * 60 + Number(left2[2])).toBeLessThan(Number(left1[1]) * 60 + Number(left1[2]));
    // The alert sits above the patient summary, where a host sees it without scrolling.
    const [alertBox, caseBox] = [await alert.boundingBox(), await host.locator('.case').boundingBox()];
    expect(alertBox!.y).toBeLessThan(caseBox!.y);
    await alert.locator('text=Approve for Dr. Resident').click();
    await cli.waitForSelector('[data-testid="medications"]:has-text("Warfarin")');

    // A second seat of the same user: announced, shown once with "2 devices".
    const second = await server.join('ha.cli', room.id, { name: 'Dr. Resident' });
    await eventually(async () => (await host.textContent('#announce'))?.includes('Dr. Resident joined the room.'), 5000);
    await host.waitForSelector('[data-testid="participant-ha.cli"] .badge:has-text("2 devices")');
    expect(await host.locator('[data-testid="participant-ha.cli"]').count()).toBe(1);

    // Kick acts on the user: both seats end.
    const closed = new Promise<number | undefined>((resolve) => second.onStatus((s, code) => s === 'closed' && resolve(code)));
    host.on('dialog', (d) => void d.accept());
    await host.click('[data-testid="participant-ha.cli"] >> text=Kick');
    expect(await closed).toBe(4403);
    await cli.waitForSelector('text=The host removed you from this room.');
    await host.waitForSelector('[data-testid="participant-ha.cli"]', { state: 'detached' });
  });
});

describe('phone and accessibility', { timeout: 90_000 }, () => {
  it('at 390 px the 3D view sits above the panels at a usable size; the sign-in page and the room pass axe', async () => {
    const room = await admin.api.createRoom({ title: 'Ward round', kind: 'case-conference', caseId, participants: [{ userId: 'ph.cli', role: 'clinician' }] });
    const page = await open(390, 844);
    await page.goto(`${server.app.url}/#room=${room.id}`);
    await page.waitForSelector('#user-id');
    expect((await page.textContent('#status'))!.trim()).toBe('Signed out'); // the pill is never empty
    expect(await page.getAttribute('link[rel="icon"]', 'href')).toBe('/favicon.svg');
    expect(await seriousAxeViolations(page, ['body'])).toEqual([]);
    await joinByLink('ph.cli', 'Dr. Phone', room.id, page);
    await page.waitForSelector('[data-testid="labs"]');
    const view = (await page.locator('.viewport').boundingBox())!;
    const side = (await page.locator('.side').boundingBox())!;
    expect(view.width).toBeGreaterThanOrEqual(370);
    expect(view.height).toBeGreaterThanOrEqual(300);
    expect(side.y).toBeGreaterThanOrEqual(view.y + view.height - 1);
    // Nothing runs off the side (the message names what does).
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 392).map((e) => `${e.tagName}.${e.className}`).slice(0, 8));
    expect(wide).toEqual([]);
    await page.click('text=Add model'); // a heart on the table, as a clinician would have it
    await page.waitForSelector('[data-testid^="object-"]:has-text("Heart model")');
    await page.evaluate(() => window.scrollTo(0, 0)); // the click scrolled down to the button
    await page.waitForTimeout(500);
    await page.screenshot({ path: path.join(DOCS, 'phone.png'), fullPage: false });
    expect(await seriousAxeViolations(page, ['.side', '.topbar'])).toEqual([]);
    // The vitals chart at phone width: every name and latest value whole, none on the plot.
    const vitals = page.locator('[data-testid="vitals"]');
    await eventually(async () => /Latest:/.test((await vitals.locator('canvas').getAttribute('aria-label')) ?? ''), 5000);
    const words = await chartWordProblems(page);
    expect(words.words).toBeGreaterThanOrEqual(3 * 3);
    expect(words.problems).toEqual([]);
    await vitals.screenshot({ path: path.join(DOCS, 'vitals-phone.png') });

    // Keyboard path: Tab reaches the tools, and Enter on Draw selects it.
    await page.locator('button[data-tool="draw"]').focus();
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('button[data-tool="draw"]', 'aria-pressed')).toBe('true');
  });
});
