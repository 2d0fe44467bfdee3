import { exportPKCS8, generateKeyPair } from 'jose';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheaCarroll } from '../fixtures/real-fhir.ts';
import { launchChromium } from '../support/browser.ts';
import { startLoopbackFhir, type LoopbackFhir } from '../support/fhir-server.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Hospital IT links a patient from the hospital's FHIR server in the admin
 * console (issue 11): by MRN-style identifier, with SMART Backend Services
 * against a loopback FHIR server that serves a real Synthea record page by page
 * and enforces the token. The pulled case then appears in the patient picker.
 */
const CLIENT_ID = 'consilium-console-test';
const PATIENT = '274f5452-2a39-44c4-a7cb-f36de467762e';
let fhir: LoopbackFhir;
let server: TestServer;
let browser: Browser;
let closeBrowser: () => Promise<void>;

beforeAll(async () => {
  const { privateKey } = await generateKeyPair('RS384', { extractable: true });
  fhir = await startLoopbackFhir({ bundle: syntheaCarroll(), clientId: CLIENT_ID, pageSize: 50, allowedScopes: ['system/*.rs'], jwks: async () => (await fetch(`${server.app.url}/.well-known/fhir-client-jwks.json`)).json() });
  server = await startTestServer({}, { FHIR_BASE_URL: fhir.baseUrl, FHIR_CLIENT_ID: CLIENT_ID, FHIR_PRIVATE_KEY: await exportPKCS8(privateKey), FHIR_POLL_SECONDS: '0' });
  ({ browser, close: closeBrowser } = await launchChromium());
}, 120_000);
afterAll(async () => {
  await closeBrowser?.();
  await server?.stop();
  await fhir?.close();
});

describe('admin console: pull a patient from the FHIR server', { timeout: 90_000 }, () => {
  it('pulls by identifier, reports what was stored, and the patient is then pickable for a room', async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(server.app.url + '/admin');
    await page.fill('#admin-user', 'pull.admin');
    await page.click('button[type=submit]');
    await page.waitForSelector('text=New room');
    await page.click('[role=tab]:text-is("Cases")');
    await page.waitForSelector('#pull-patient');
    await page.fill('#pull-patient', 'http://hospital.smarthealthit.org|nobody');
    await page.click('button:text-is("Pull")');
    await page.waitForSelector('#pull-result.error');
    expect(await page.textContent('#pull-result')).not.toMatch(/FHIR_|Error:/); // a sentence, not a code
    await page.fill('#pull-patient', `http://hospital.smarthealthit.org|${PATIENT}`);
    await page.click('button:text-is("Pull")');
    await page.waitForSelector('#pull-result:has-text("Pulled")');
    expect(await page.textContent('#pull-result')).toMatch(/Pulled \d+ resources \(.*Observation/);
    await page.waitForSelector('td:has-text("Carroll471")');
    await page.click('[role=tab]:text-is("Rooms")');
    await page.waitForSelector('#room-case');
    const options = await page.$$eval('#room-case option', (os) => os.map((o) => o.textContent ?? ''));
    expect(options.some((o) => o.includes('Carroll471'))).toBe(true);
    await context.close();
  });
});
