import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, seriousAxeViolations } from '../support/browser.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { zip } from '../support/zip-writer.ts';

/** An administrator uploads a case's images in the console: a zip of a study beside single files, one of them another patient's. */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dicom');
let server: TestServer;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let dataDir: string;
let caseId: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-console-imaging-'));
  server = await startTestServer({}, { DATA_DIR: dataDir });
  const admin = await server.as('img.admin', { admin: true, name: 'IT Admin' });
  // Pydicom's fictional Peter Doe, the patient of the real CT slices.
  ({ caseId } = await admin.api.importCase({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0b3f2a52-2222-4a1b-9c55-eeeeeeeeeeee', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: '98890234' }], name: [{ family: 'Doe', given: ['Peter'] }], gender: 'male', birthDate: '1950-01-01' } }] }));
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('admin console: images', { timeout: 90_000 }, () => {
  it('uploads a zip of the CT study with single files; another patient\'s file is refused, saying what differs; what is not DICOM is listed', async () => {
    const names = (await readdir(path.join(FIXTURES, 'ct-series'))).sort();
    const slices = await Promise.all(names.map(async (n) => ({ name: `DICOM/SE000/${n}`, data: new Uint8Array(await readFile(path.join(FIXTURES, 'ct-series', n))) })));
    const study = zip([...slices.slice(0, 4), { name: 'README.TXT', data: new TextEncoder().encode('Open viewer.exe') }]);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    page.on('pageerror', (err) => console.error('console page error:', err.message));
    await page.goto(server.app.url + '/admin');
    await page.fill('#admin-user', 'img.admin');
    await page.click('button[type=submit]');
    await page.click('role=tab[name="Cases"]');
    await page.waitForSelector(`#images-case option[value="${caseId}"]`, { state: 'attached' });
    expect(await page.locator(`#images-case option[value="${caseId}"]`).textContent()).toBe('Peter Doe · M · born 1950 · MRN 98890234');

    // Nothing chosen: a plain sentence, no request.
    await page.click('#images-upload');
    await page.waitForSelector('#images-result p.error:has-text("Choose the patient case")');

    await page.selectOption('#images-case', caseId);
    await page.setInputFiles('#images-files', [
      { name: 'CT study.zip', mimeType: 'application/zip', buffer: Buffer.from(study) },
      { name: '3353.dcm', mimeType: 'application/dicom', buffer: Buffer.from(slices[4]!.data) },
      { name: 'other-patient-ct.dcm', mimeType: 'application/dicom', buffer: await readFile(path.join(FIXTURES, 'other-patient-ct.dcm')) },
    ]);
    await page.click('#images-upload');
    await page.locator('#images-result p.error').waitFor();
    expect(await page.locator('#images-result p').allTextContents()).toEqual([
      'Stored 5 images (5 new) in 1 study.',
      'Skipped 1 not DICOM (README.TXT).',
      "Refused other-patient-ct.dcm: the study's patient ID and name differ from the case's patient.",
    ]);
    expect(await page.locator('#images-result p.error').allTextContents()).toHaveLength(1);
    const rows = await server.app.pool.query(`SELECT count(*) AS n FROM imaging_instances WHERE case_id = $1`, [caseId]);
    expect(rows.rows[0].n).toBe('5');
    expect(await seriousAxeViolations(page, ['[data-testid="images-card"]'])).toEqual([]);
    await page.locator('[data-testid="images-card"]').screenshot({ path: path.join(DOCS, 'admin-imaging-upload.png') });
    await context.close();
  });
});
