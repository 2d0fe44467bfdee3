import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium driven by playwright-core (no browser download). The
 * background-networking flags keep Chromium off the closed network; SwiftShader
 * gives it WebGL without a GPU. Playwright gives every launch a fresh, empty
 * profile directory of its own (it refuses an explicit --user-data-dir).
 */
export const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export async function launchChromium(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

/** Sign in through the development identity form (the page is on the app's origin or goes there). */
export async function devSignInPage(page: Page, url: string, userId: string, name: string, admin = false): Promise<void> {
  if (!page.url().startsWith(url)) await page.goto(url + '/');
  await page.fill('#user-id', userId);
  await page.fill('#user-name', name);
  if (admin) await page.check('#user-admin');
  await page.click('button[type=submit]');
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: string[];
}

/**
 * Run axe-core (WCAG 2.0/2.1 A and AA rules) inside the page on `include` and return the
 * serious and critical violations. The source is evaluated through the DevTools protocol, so the
 * page's Content Security Policy (no inline scripts) is left as it is.
 */
export async function seriousAxeViolations(page: Page, include: string[]): Promise<AxeViolation[]> {
  await page.evaluate(AXE_SOURCE);
  return page.evaluate(async (sel) => {
    const axe = (window as unknown as { axe: { run(ctx: unknown, opts: unknown): Promise<{ violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const res = await axe.run({ include: sel.map((s) => [s]) }, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
    return res.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) }));
  }, include);
}
