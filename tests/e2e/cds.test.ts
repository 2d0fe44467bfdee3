import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { demoCaseBundle } from '../../server/src/demo/demo-case.ts';
import { devSignInPage, launchChromium, seriousAxeViolations } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Decision support in the browser: the clinician's hyperkalaemia card, shared with a room where an observer may not read it. */
const DOCS = path.resolve(import.meta.dirname, '../../docs');

let server: TestServer;
let admin: ConsiliumClient;
let browser: Browser;
let closeBrowser: () => Promise<void>;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => {})));
  await closeBrowser?.();
  await server?.stop();
});

async function joinByLink(userId: string, name: string, roomId: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (err) => console.error('page error:', err.message));
  await page.goto(`${server.app.url}/#room=${roomId}`);
  await devSignInPage(page, server.app.url, userId, name);
  await page.waitForSelector('.pill.ok', { timeout: 20_000 });
  return page;
}

describe('decision support in the case panel', { timeout: 90_000 }, () => {
  it('the clinician sees the hyperkalaemia card with its values and sources, shares it; the observer without Observation scope sees only that a card was shared', async () => {
    const { caseId } = await admin.api.importCase(demoCaseBundle());
    const room = await admin.api.createRoom({
      title: 'Cardiology conference',
      kind: 'case-conference',
      caseId,
      participants: [{ userId: 'cds.doc', role: 'clinician' }, { userId: 'cds.student', role: 'observer', scopes: ['deidentified', 'patient/Condition.rs'] }],
    });
    const doc = await joinByLink('cds.doc', 'Dr. Okafor', room.id);
    const student = await joinByLink('cds.student', 'Student Lee', room.id);

    const card = doc.locator('[data-testid="cds-card"]', { hasText: 'Potassium 5.9 mmol/L' });
    await card.waitFor();
    const text = await card.innerText();
    expect(text).toContain('Lisinopril');
    expect(text).toMatch(/reference range 3\.5–5\.1/);
    expect(text).toContain('Consilium built-in rules (rules, not advice)');
    expect(text).toContain('Suggestions (shown, not executed)');
    expect(await card.locator('.cds-sources a').count()).toBe(2);
    expect(await card.getAttribute('data-indicator')).toBe('warning');
    // The observer's own call saw no Observation: no such card for them.
    await student.waitForSelector('[data-testid="cds"]');
    expect(await student.locator('[data-testid="cds-card"]', { hasText: 'Potassium' }).count()).toBe(0);

    await card.locator('[data-testid="cds-share"]').click();
    await card.locator('[data-testid="cds-share"]:has-text("Shared")').waitFor();
    const notice = student.locator('[data-testid="cds-shared-withheld"]');
    await notice.waitFor();
    expect(await notice.innerText()).toContain('Dr. Okafor shared a decision-support card that is outside your access.');
    const studentPanel = await student.locator('[data-testid="cds"]').innerText();
    for (const secret of ['Potassium', '5.9', 'Lisinopril']) expect(studentPanel).not.toContain(secret);
    // Nor is it anywhere in the observer's page.
    expect(await student.locator('body').innerText()).not.toContain('Potassium 5.9');

    // Dismissing asks for a reason first.
    await card.locator('[data-testid="cds-dismiss"]').click();
    await card.locator('[data-testid="cds-dismiss-form"]').waitFor();
    expect(await seriousAxeViolations(doc, ['[data-testid="cds"]'])).toEqual([]);
    await doc.locator('[data-testid="cds"]').scrollIntoViewIfNeeded();
    await doc.screenshot({ path: path.join(DOCS, 'cds-cards.png') });
    await student.screenshot({ path: path.join(DOCS, 'cds-shared-withheld.png') });
    await card.locator('select[aria-label="Reason for dismissing"]').selectOption('already-addressed');
    await card.locator('button:has-text("Dismiss card")').click();
    await doc.locator('[data-testid="cds-card"]', { hasText: 'Potassium 5.9 mmol/L' }).waitFor({ state: 'detached' });
    const { rows } = await server.app.pool.query(`SELECT details FROM audit_log WHERE action = 'cds.feedback' AND room_id = $1`, [room.id]);
    expect(rows).toEqual([{ details: expect.objectContaining({ outcome: 'overridden', reason: 'already-addressed' }) }]);
  });
});
