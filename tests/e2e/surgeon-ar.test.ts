import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Vector3 } from 'three';
import { commandForPhrase, listenForCommands } from '../../client/src/app/ar/hands-free.ts';
import { estimateGazeHit, facingYaw, TABLE_HEIGHT } from '../../client/src/app/ar/placement.ts';
import { formatAge, parsePoints } from '../../client/src/app/ar/annotation-view.ts';
import type { SurgeonArView } from '../../client/src/app/ar/surgeon-ar.ts';
import { hudPoint, VIDEO_HUD } from '../../client/src/app/ar/video-hud.ts';
import type { VideoPanelView } from '../../client/src/app/video-panel.ts';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { fromPatientFrame, rotate, type V3 } from '../../shared/src/patient-frame.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { devSignInPage, launchChromium } from '../support/browser.ts';
import { HEADSET_INIT, IWER } from '../support/headset.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { slowUplink } from '../support/uplink.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The surgeon's AR view in Chromium with an emulated Meta Quest 3 (iwer,
 * Meta's Immersive Web Emulation Runtime, loaded before the app): enter AR,
 * register the patient frame by gaze and trigger, see a specialist's
 * patient-frame arrow and live pointer, acknowledge by controller button and
 * by voice, and see the pointer go stale when the specialist's link degrades.
 * A second browser page is a specialist in the web client drawing on the
 * surgeon's video; the stroke shows over the video and on the surgeon's HUD.
 */
const DOCS = path.resolve(import.meta.dirname, '../../docs');
let server: TestServer;
let admin: ConsiliumClient;
let browser: Browser;
let closeBrowser: () => Promise<void>;
let context: BrowserContext;
let page: Page;
/** The specialist's web client (a second browser context, no headset). */
let webContext: BrowserContext;
let web: Page;
let roomId: string;
let specialist: ClinicSession;
let host: ClinicSession;
const pageErrors: string[] = [];
let videoStrokeId = '';

const I = { position: [0, 0, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };
const ar = <T>(fn: (v: SurgeonArView) => T): Promise<T> => page.evaluate(`(${fn.toString()})(window.__surgeonAr)`) as Promise<T>;
const near = (a: readonly number[], b: readonly number[], tol = 1e-3) => a.every((x, i) => Math.abs(x - b[i]!) <= tol);

/** Press a controller button on the emulated right controller for `ms`. */
async function press(button: string, ms = 120): Promise<void> {
  await page.evaluate((b) => (window as unknown as { __xrDevice: { controllers: { right: { updateButtonValue(id: string, v: number): void } } } }).__xrDevice.controllers.right.updateButtonValue(b, 1), button);
  await sleep(ms);
  await page.evaluate((b) => (window as unknown as { __xrDevice: { controllers: { right: { updateButtonValue(id: string, v: number): void } } } }).__xrDevice.controllers.right.updateButtonValue(b, 0), button);
  await sleep(150);
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  const { caseId } = await admin.api.importCase(caseBundle({ name: 'Arname7731', mrn: 'AR-MRN-1', note: 'arnote' }));
  roomId = (
    await admin.api.createRoom({
      title: 'Laparoscopic cholecystectomy',
      kind: 'surgical-guidance',
      caseId,
      participants: [
        { userId: 'ar.surgeon', role: 'surgeon' },
        { userId: 'ar.guide', role: 'specialist' },
        { userId: 'ar.host', role: 'host' },
        { userId: 'ar.video', role: 'specialist' },
      ],
    })
  ).id;
  ({ browser, close: closeBrowser } = await launchChromium());
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  await context.addInitScript({ content: `${IWER}\n${HEADSET_INIT}` });
  page = await context.newPage();
  page.on('pageerror', (err) => pageErrors.push(err.message));
  webContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  web = await webContext.newPage();
  web.on('pageerror', (err) => pageErrors.push(`specialist page: ${err.message}`));
  host = await server.join('ar.host', roomId, { name: 'Dr. Host' });
  specialist = await server.join('ar.guide', roomId, { name: 'Dr. Guide' });
}, 120_000);
afterAll(async () => {
  await context?.close().catch(() => {});
  await webContext?.close().catch(() => {});
  await closeBrowser?.();
  await server?.stop();
});

describe('hands-free parsing and drawing helpers', () => {
  it('maps phrases to one command each and ignores everything else', () => {
    expect(commandForPhrase('Seen')).toBe('ack');
    expect(commandForPhrase('ok acknowledged')).toBe('ack');
    expect(commandForPhrase('NEXT please')).toBe('next');
    expect(commandForPhrase('can you repeat that')).toBe('repeat');
    expect(commandForPhrase('dismiss')).toBe('dismiss');
    expect(commandForPhrase('next, no, repeat')).toBe('next'); // one phrase, one command: the first
    expect(commandForPhrase('the patient is stable')).toBeNull();
    expect(commandForPhrase('unseen nextdoor')).toBeNull(); // whole words only
    expect(commandForPhrase(`${'x'.repeat(10_000)} next`)).toBeNull(); // only the start of a huge phrase is read
    expect(commandForPhrase('\u0000\ud800 next')).toBe('next');
  });

  it('voice listens only where recognition is promised on-device; otherwise it stays off', async () => {
    const g = globalThis as unknown as { SpeechRecognition?: unknown };
    const started: { processLocally?: boolean }[] = [];
    class Cloud {
      start() {
        started.push(this as { processLocally?: boolean });
      }
      stop() {}
    }
    // Chrome declares processLocally on the prototype (an accessor); that is what voice looks for.
    class Local extends Cloud {
      static verdict = 'available';
      static available = async () => Local.verdict;
    }
    Object.defineProperty(Local.prototype, 'processLocally', { value: false, writable: true });
    try {
      g.SpeechRecognition = undefined;
      expect((await listenForCommands(() => {})).status).toBe('unavailable');
      g.SpeechRecognition = Cloud; // a recogniser that may send audio to a server: never started
      expect((await listenForCommands(() => {})).status).toBe('unavailable');
      Local.verdict = 'downloadable'; // the on-device model is not there yet
      g.SpeechRecognition = Local;
      expect((await listenForCommands(() => {})).status).toBe('unavailable');
      expect(started).toEqual([]);
      Local.verdict = 'available';
      const v = await listenForCommands(() => {});
      expect(v.status).toBe('listening');
      expect(started).toHaveLength(1);
      expect(started[0]!.processLocally).toBe(true);
      v.stop();
    } finally {
      delete g.SpeechRecognition;
    }
  });

  it('without hit-test, the gaze reticle lands on a table-height plane, or a short way ahead', () => {
    const head = new Vector3(0, 1.6, 0);
    const down45 = new Vector3(0, -1, -1);
    expect(estimateGazeHit(head, down45, 0)).toMatchObject({ onSurface: true });
    expect(estimateGazeHit(head, down45, 0).p.toArray().map((n) => +n.toFixed(3))).toEqual([0, TABLE_HEIGHT, -0.7]);
    expect(estimateGazeHit(head, new Vector3(0, 0, -1), 0)).toMatchObject({ onSurface: false }); // level gaze: no surface
    expect(estimateGazeHit(head, new Vector3(0, -0.01, -1), 0).onSurface).toBe(false); // the plane is over 2 m away
    // Facing: +Z of the frame points horizontally at the viewer, whatever the heights.
    const q = facingYaw(new Vector3(1, 0.9, 0), new Vector3(0, 1.7, 0));
    expect(rotate(q, [0, 0, 1]).map((n) => +n.toFixed(6))).toEqual([-1, 0, 0]);
    expect(facingYaw(new Vector3(), new Vector3(0, 2, 0))).toEqual([0, 0, 0, 1]); // straight above: no yaw
  });

  it('parses only well-formed point lists and formats ages', () => {
    expect(parsePoints('0,0.1,0,1,2,3').map((v) => v.toArray())).toEqual([[0, 0.1, 0], [1, 2, 3]]);
    expect(parsePoints('1,2')).toEqual([]);
    expect(parsePoints('1,2,NaN')).toEqual([]);
    expect(parsePoints('1,2,Infinity')).toEqual([]);
    expect(parsePoints('')).toEqual([]);
    expect(parsePoints(Array(3000).fill('1').join(','))).toEqual([]); // over the cap: not half-drawn
    expect(formatAge(1200)).toBe('just now');
    expect(formatAge(42_000)).toBe('42 s ago');
    expect(formatAge(3 * 60_000)).toBe('3 min ago');
    expect(formatAge(-5000)).toBe('just now'); // a server-clock estimate a little behind the server
  });
});

describe("the surgeon's AR view (emulated Quest 3)", () => {
  it('enters AR and registers the patient frame where the surgeon looks, facing the surgeon', async () => {
    await page.goto(server.app.url + '/');
    await page.fill('#user-id', 'ar.surgeon');
    await page.fill('#user-name', 'Dr. Surgeon');
    await page.click('button[type=submit]');
    await page.click(`[data-testid="room-${roomId}"] button`);
    await page.waitForSelector('.pill.ok');
    expect(await page.evaluate(() => typeof WebGL2RenderingContext === 'function' && !!document.createElement('canvas').getContext('webgl2'))).toBe(true);

    // Turn the emulated head 30° left and look 45° down at the table.
    await page.evaluate(() => {
      const d = (window as unknown as { __xrDevice: { quaternion: { set(x: number, y: number, z: number, w: number): void } } }).__xrDevice;
      const yaw = Math.PI / 6;
      const pitch = -Math.PI / 4;
      const [sy, cy, sp, cp] = [Math.sin(yaw / 2), Math.cos(yaw / 2), Math.sin(pitch / 2), Math.cos(pitch / 2)];
      d.quaternion.set(cy * sp, sy * cp, -sy * sp, cy * cp); // yaw ∘ pitch
    });
    await page.click('button:has-text("Enter AR")');
    await page.waitForFunction(() => !!(window as unknown as { __surgeonAr?: unknown }).__surgeonAr, null, { timeout: 15_000 });
    await eventually(async () => (await ar((v) => v.reticle()))?.onSurface === true, 10_000);
    expect(await ar((v) => v.status())).toMatch(/pull the trigger/);
    expect(await ar((v) => v.anchorVersion())).toBe(0);

    await press('trigger');
    await eventually(() => host.guidance.anchor().version === 1, 10_000);
    const anchor = host.guidance.anchor();
    const viewer = await page.evaluate(() => {
      const p = (window as unknown as { __xrDevice: { position: { x: number; y: number; z: number } } }).__xrDevice.position;
      return [p.x, p.y, p.z] as V3;
    });
    // On the table top the headset's hit-test found (0.8 m; the no-hit-test estimate would say 0.9):
    // a 45° gaze from 1.6 m meets it 0.8 m out horizontally from the head.
    expect(await page.evaluate(() => (window as unknown as { __hitTests?: number }).__hitTests ?? 0)).toBeGreaterThan(0);
    expect(anchor.p[1]).toBeCloseTo(0.8, 2);
    expect(Math.hypot(anchor.p[0] - viewer[0], anchor.p[2] - viewer[2])).toBeCloseTo(0.8, 1);
    // Yaw only, +Z pointing horizontally at the surgeon.
    expect(Math.abs(anchor.q[0]) + Math.abs(anchor.q[2])).toBeLessThan(1e-3);
    const towards = rotate(anchor.q, [0, 0, 1]);
    const toViewer = [viewer[0] - anchor.p[0], 0, viewer[2] - anchor.p[2]];
    const len = Math.hypot(toViewer[0]!, toViewer[2]!);
    expect(towards[0] * (toViewer[0]! / len) + towards[2] * (toViewer[2]! / len)).toBeGreaterThan(0.998); // the server stores the pose quantized
    await eventually(async () => (await ar((v) => v.anchorVersion())) === 1);
    console.log(`surgeon AR view: ${(await ar((v) => v.frameMs())).toFixed(0)} ms per frame (software WebGL)`);
    // From here on, sample the headset view: a pointer must never be drawn as current while the link banner shows.
    await page.evaluate(() => {
      const w = window as unknown as { __surgeonAr: SurgeonArView; __violations: string[]; __samples: number };
      w.__violations = [];
      w.__samples = 0;
      const timer = setInterval(() => {
        const v = w.__surgeonAr;
        if (!v) return clearInterval(timer);
        w.__samples++;
        const banner = v.banner();
        for (const p of v.pointers()) if (p.current && banner !== '') w.__violations.push(`${p.sessionId} current under "${banner}"`);
      }, 30);
    });
  });

  it("sends the headset's pose (~30 Hz): the others see the surgeon's head where the headset is", async () => {
    const device = () =>
      page.evaluate(() => {
        const d = (window as unknown as { __xrDevice: { position: { x: number; y: number; z: number }; quaternion: { x: number; y: number; z: number; w: number } } }).__xrDevice;
        return { p: [d.position.x, d.position.y, d.position.z] as V3, q: [d.quaternion.x, d.quaternion.y, d.quaternion.z, d.quaternion.w] };
      });
    const surgeonHead = () => {
      const p = host.participants().find((x) => x.userId === 'ar.surgeon' && x.connected);
      return p ? host.avatarPose(p, { interpolate: false })?.head ?? null : null;
    };
    const want = await device();
    await eventually(() => {
      const head = surgeonHead();
      return !!head && near(head.p, want.p, 0.01) && Math.abs(head.q.reduce((sum, c, i) => sum + c * want.q[i]!, 0)) > 0.999;
    }, 10_000);
    // It follows the head: step 20 cm to the side and the room sees it.
    await page.evaluate(() => {
      const d = (window as unknown as { __xrDevice: { position: { x: number; y: number; z: number; set(x: number, y: number, z: number): void } } }).__xrDevice;
      d.position.set(d.position.x + 0.2, d.position.y, d.position.z);
    });
    await eventually(() => near(surgeonHead()?.p ?? [0, 0, 0], [want.p[0] + 0.2, want.p[1], want.p[2]], 0.01), 10_000);
    await page.evaluate(() => {
      const d = (window as unknown as { __xrDevice: { position: { x: number; y: number; z: number; set(x: number, y: number, z: number): void } } }).__xrDevice;
      d.position.set(d.position.x - 0.2, d.position.y, d.position.z);
    });
    // Throttled: about 30 a second, not one per rendered frame of a fast headset.
    const n0 = await ar((v) => v.posesSent());
    await sleep(1000);
    const rate = (await ar((v) => v.posesSent())) - n0;
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThanOrEqual(31);
  });

  it('keeps the patient frame as a WebXR anchor (iwer emulates anchors); when the runtime moves the anchor, the frame is registered again', async () => {
    await eventually(async () => (await ar((v) => v.anchorTracking())) === 'xr-anchor', 10_000);
    const before = host.guidance.anchor();
    // Emulate the runtime refining its map: the anchor's space moves 2 cm along x in iwer's world
    // (iwer keeps an XRSpace's offset matrix under a private symbol).
    await page.evaluate(() => {
      const anchor = (window as unknown as { __surgeonAr: SurgeonArView }).__surgeonAr.xrAnchor()!;
      const space = anchor.anchorSpace as unknown as Record<symbol, { offsetMatrix?: Float32Array }>;
      const key = Object.getOwnPropertySymbols(space).find((k) => space[k]?.offsetMatrix)!;
      const m = space[key]!.offsetMatrix!;
      m[12] = (m[12] ?? 0) + 0.02;
    });
    await eventually(() => host.guidance.anchor().version === before.version + 1, 10_000);
    const after = host.guidance.anchor();
    expect(after.p[0] - before.p[0]).toBeCloseTo(0.02, 3);
    expect(near(after.p.slice(1), before.p.slice(1), 1e-3)).toBe(true);
    await eventually(async () => (await ar((v) => v.driftCorrections())) === 1); // its reply may arrive after the host's patch
    // A sub-threshold wobble (2 mm) is not a re-registration.
    await page.evaluate(() => {
      const anchor = (window as unknown as { __surgeonAr: SurgeonArView }).__surgeonAr.xrAnchor()!;
      const space = anchor.anchorSpace as unknown as Record<symbol, { offsetMatrix?: Float32Array }>;
      const key = Object.getOwnPropertySymbols(space).find((k) => space[k]?.offsetMatrix)!;
      const m = space[key]!.offsetMatrix!;
      m[12] = (m[12] ?? 0) + 0.002;
    });
    await sleep(800);
    expect(host.guidance.anchor().version).toBe(after.version);
  });

  it('a short trigger click does not move the registered frame; holding the trigger re-registers it', async () => {
    const v0 = host.guidance.anchor().version;
    await press('trigger', 100);
    await sleep(600);
    expect(host.guidance.anchor().version).toBe(v0);
    expect(await ar((v) => v.status())).toMatch(/Hold the trigger/);
    await press('trigger', 1100);
    await eventually(() => host.guidance.anchor().version === v0 + 1, 10_000);
  });

  it("draws the specialist's patient-frame arrow on the anatomy and the live pointer as current", async () => {
    const head: V3 = [0.01, 0.02, 0];
    expect(await specialist.add({ id: 'duct', kind: 'arrow', asset: 'builtin:arrow', frame: 'patient', points: [0.01, 0.08, 0, ...head], sentAt: Date.now(), transform: I, label: 'Cystic duct — clip here' })).toMatchObject({ ok: true });
    // A world-frame object in the same room is not guidance: not drawn in the surgeon's AR view.
    expect(await host.add({ id: 'heart', kind: 'model', asset: 'builtin:heart', transform: I })).toMatchObject({ ok: true });
    await eventually(async () => (await ar((v) => v.annotations())).some((a) => a.id === 'duct' && a.visible), 10_000);
    const anchor = host.guidance.anchor();
    const duct = (await ar((v) => v.annotations())).find((a) => a.id === 'duct')!;
    expect(duct.kind).toBe('arrow');
    expect(near(duct.tip, fromPatientFrame(anchor, head))).toBe(true);
    expect(duct.age).toMatch(/just now|s ago/);
    expect((await ar((v) => v.annotations())).map((a) => a.id)).not.toContain('heart');

    const target: [number, number, number] = [0.02, 0.01, -0.03];
    const timer = setInterval(() => specialist.guidance.point(target), 40);
    try {
      await eventually(async () => (await ar((v) => v.pointers())).some((p) => p.sessionId === specialist.sessionId && p.current), 10_000);
      const p = (await ar((v) => v.pointers())).find((x) => x.sessionId === specialist.sessionId)!;
      expect(near(p.world, fromPatientFrame(anchor, target))).toBe(true);
    } finally {
      clearInterval(timer);
    }
    // The specialist stops refreshing: within a moment the surgeon sees it grey, never current.
    await eventually(async () => (await ar((v) => v.pointers())).some((x) => x.sessionId === specialist.sessionId && x.visible && !x.current), 5000);
  });

  it('B focuses the next annotation, A acknowledges it: the specialist sees who saw it', async () => {
    await press('b-button');
    await eventually(() => host.guidance.focus()?.id === 'duct', 10_000);
    await eventually(async () => (await ar((v) => v.annotations())).find((a) => a.id === 'duct')?.focused === true);
    expect(specialist.state.objects.get('duct')!.ackedAt).toBe(0);
    await press('a-button');
    await eventually(() => specialist.state.objects.get('duct')?.ackedBy === 'ar.surgeon', 10_000);
    // Grip repeats the highlight of the focused annotation.
    const highlighted: string[] = [];
    const off = specialist.guidance.onHighlight((id) => highlighted.push(id));
    await press('squeeze');
    await eventually(() => highlighted.includes('duct'), 10_000);
    off();
    await eventually(async () => /· Seen by Dr\. Surgeon \(surgeon\)$/.test((await ar((v) => v.annotations())).find((a) => a.id === 'duct')?.age ?? ''));
    // A held button is one press, not one ack per frame.
    const audit = await admin.api.audit({ room: roomId, limit: 200 });
    expect(audit.events.filter((e) => e.action === 'guidance.ack').length).toBe(1);
  });

  it('voice (on-device only): "next" focuses, "dismiss" hides the annotation; chatter does nothing', async () => {
    expect(await ar((v) => v.voice())).toBe('listening');
    // The biggest annotations the server accepts draw without breaking the view: a 500-character label, a 300-point stroke.
    const long = 'Ligate the cystic artery before the duct, '.repeat(12).slice(0, 500);
    const points = Array.from({ length: 300 }, (_, i) => [0.1 * Math.cos(i / 20), 0.001 * i, 0.1 * Math.sin(i / 20)]).flat();
    expect(await specialist.add({ id: 'big', kind: 'stroke', asset: 'builtin:pen', frame: 'patient', points, transform: { position: [0.3, 0, 0], rotation: [0, 0, 0, 1] }, sentAt: Date.now(), label: long })).toMatchObject({ ok: true });
    const big = await eventually(async () => (await ar((v) => v.annotations())).find((a) => a.id === 'big'), 10_000);
    expect(big.visible).toBe(true);
    expect(big.label.length).toBeLessThanOrEqual(200);
    expect(big.label.endsWith('…')).toBe(true);
    expect(near(big.tip, fromPatientFrame(host.guidance.anchor(), [0.3 + points[0]!, points[1]!, points[2]!]))).toBe(true);
    await specialist.remove('big');
    await eventually(async () => !(await ar((v) => v.annotations())).some((a) => a.id === 'big'), 10_000);
    // Backdated by its author's clock: the server stamps its own time, so the headset shows it as new, not 42 s old.
    expect(await specialist.add({ id: 'clip', kind: 'marker', asset: 'builtin:pin', frame: 'patient', transform: { position: [0.03, 0, 0.01], rotation: [0, 0, 0, 1] }, sentAt: Date.now() - 42_000, label: 'Clip' })).toMatchObject({ ok: true });
    await eventually(async () => (await ar((v) => v.annotations())).some((a) => a.id === 'clip'));
    expect((await ar((v) => v.annotations())).find((a) => a.id === 'clip')!.age).toMatch(/^(just now|\d s ago)$/);
    expect(await page.evaluate(() => (window as unknown as { __say(t: string): boolean }).__say('the patient is stable'))).toBe(true);
    await sleep(300);
    expect(host.guidance.focus()?.id).toBe('duct');
    await page.evaluate(() => (window as unknown as { __say(t: string): boolean }).__say('next'));
    await eventually(() => host.guidance.focus()?.id === 'clip', 10_000);
    // "dismiss" acts on what the surgeon sees in focus: wait until the headset shows the new focus.
    await eventually(async () => (await ar((v) => v.annotations())).find((a) => a.id === 'clip')?.focused === true);
    await page.evaluate(() => (window as unknown as { __say(t: string): boolean }).__say('dismiss'));
    await eventually(() => specialist.state.objects.get('clip')?.dismissed === true, 10_000);
    await eventually(async () => (await ar((v) => v.annotations())).find((a) => a.id === 'clip')?.visible === false);
  });

  it("a specialist draws on the surgeon's video in the web client: the stroke lies over the video, stamped with its frame time", async () => {
    await devSignInPage(web, server.app.url, 'ar.video', 'Dr. Video');
    await web.click(`[data-testid="room-${roomId}"] button`);
    await web.waitForSelector('[data-testid="video-panel"]');
    // No LiveKit media can flow here (no LiveKit server on this machine): a faithful stand-in for the
    // surgeon's camera — a canvas stream of a moving surgical field — enters the panel through the same
    // entry point the LiveKit feed uses (video-feed.ts: onStream → VideoPanel.showStream).
    await web.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 640;
      c.height = 360;
      const g = c.getContext('2d')!;
      let t = 0;
      const paint = () => {
        t++;
        g.fillStyle = '#5a1e22';
        g.fillRect(0, 0, 640, 360);
        const grad = g.createRadialGradient(320, 180, 20, 320, 180, 260);
        grad.addColorStop(0, '#d98a7a');
        grad.addColorStop(1, '#6b2328');
        g.fillStyle = grad;
        g.beginPath();
        g.ellipse(320, 185, 250, 150, 0, 0, Math.PI * 2);
        g.fill();
        g.fillStyle = '#7fa35a'; // the gallbladder
        g.beginPath();
        g.ellipse(300 + 3 * Math.sin(t / 15), 200, 70, 38, -0.4, 0, Math.PI * 2);
        g.fill();
        g.strokeStyle = '#e9d6a8'; // the cystic duct
        g.lineWidth = 9;
        g.beginPath();
        g.moveTo(350, 180);
        g.quadraticCurveTo(410, 150, 470, 160);
        g.stroke();
        g.strokeStyle = '#b0b7bf'; // an instrument
        g.lineWidth = 14;
        g.beginPath();
        g.moveTo(640, 40);
        g.lineTo(470 + 4 * Math.cos(t / 10), 150);
        g.stroke();
        g.fillStyle = '#fff';
        g.font = '14px sans-serif';
        g.fillText(`stand-in camera · frame ${t}`, 12, 350);
      };
      paint();
      setInterval(paint, 40);
      const w = window as unknown as { __consilium: { showVideo(s: MediaStream): void } };
      w.__consilium.showVideo(c.captureStream(25));
    });
    const panel = <T>(fn: (v: VideoPanelView) => T): Promise<T> => web.evaluate(`(${fn.toString()})(window.__consilium.video)`) as Promise<T>;
    await eventually(async () => (await panel((v) => v.playing())) && (await panel((v) => v.status())) === '', 10_000);
    const rect = (await panel((v) => v.imageRect()))!;
    expect(rect.width / rect.height).toBeCloseTo(16 / 9, 1);

    // Draw along the cystic duct: from (0.55, 0.5) to (0.72, 0.44) of the image.
    await web.click('button:has-text("Draw on video")');
    const at = (u: number, v: number) => [rect.x + u * rect.width, rect.y + v * rect.height] as const;
    await web.mouse.move(...at(0.55, 0.5));
    await web.mouse.down();
    for (let i = 1; i <= 12; i++) await web.mouse.move(...at(0.55 + (0.17 * i) / 12, 0.5 - (0.06 * i) / 12 - 0.03 * Math.sin((Math.PI * i) / 12)));
    const sentBefore = Date.now();
    await web.mouse.up();

    const stroke = await eventually(() => host.objects().find((o) => o.frame === 'video'), 10_000);
    expect(stroke.kind).toBe('stroke');
    expect(stroke.createdBy).toBe('ar.video');
    const pts = stroke.points.split(',').map(Number);
    expect(pts[0]).toBeCloseTo(0.55, 2);
    expect(pts[1]).toBeCloseTo(0.5, 2);
    expect(pts.at(-3)).toBeCloseTo(0.72, 2);
    expect(pts.at(-2)).toBeCloseTo(0.44, 2);
    expect(stroke.videoTime).toBeGreaterThan(0); // the media time of the frame on screen
    expect(Math.abs(stroke.sentAt - sentBefore)).toBeLessThan(5000);
    videoStrokeId = stroke.id;
    // Over the video, where it was drawn.
    const drawn = await eventually(async () => (await panel((v) => v.strokes())).find((s) => s.id === stroke.id), 10_000);
    const [x0, y0] = at(0.55, 0.5);
    expect(Math.hypot(drawn.points[0]![0] - x0, drawn.points[0]![1] - y0)).toBeLessThan(2);
    expect(drawn.age).toMatch(/just now|s ago/);
    expect(drawn.seen).toBe('not yet seen');
    await web.waitForSelector(`[data-testid="video-stroke-${stroke.id}-seen"]:has-text("not yet seen")`);
  });

  it("the surgeon sees the video stroke head-locked on the HUD, focuses it and acknowledges it: the specialist sees when", async () => {
    // The headset shows a video stroke as current for 10 s after it was drawn. The steps before can take that long on
    // a loaded machine: then the specialist draws it again, fresh (same points), as they would.
    const age = Date.now() - (host.state.objects.get(videoStrokeId)?.sentAt ?? 0);
    if (age > 4000) {
      videoStrokeId = await web.evaluate(async (id) => {
        type Obj = { asset: string; points: string; videoTime: number; color: string };
        type S = { state: { objects: { get(id: string): Obj | undefined } }; remove(id: string): Promise<unknown>; add(o: unknown): Promise<{ objectId?: string }> };
        const session = (window as unknown as { __consilium: { session: S } }).__consilium.session;
        const o = session.state.objects.get(id)!;
        await session.remove(id);
        const r = await session.add({ kind: 'stroke', asset: o.asset, frame: 'video', points: o.points.split(',').map(Number), videoTime: o.videoTime, sentAt: Date.now(), color: o.color, transform: { position: [0, 0, 0], rotation: [0, 0, 0, 1] } });
        return r.objectId!;
      }, videoStrokeId);
    }
    await page.evaluate((id) => void ((window as unknown as { __strokeId: string }).__strokeId = id), videoStrokeId);
    // Fresh, so greyed only while a link warning is up (on a loaded machine the software-rendered headset page's own
    // link can be slow for seconds: greying it then is right). One snapshot of the view, so stroke and banner agree.
    const { stroke: s, banner } = await eventually(async () => {
      const view = await ar((v) => ({ stroke: v.videoStrokes().find((x) => x.id === (window as unknown as { __strokeId: string }).__strokeId), banner: v.banner() }));
      return view.stroke ? { stroke: view.stroke, banner: view.banner } : undefined;
    }, 8000);
    expect(s.stale).toBe(banner !== '');
    expect(s.visible).toBe(true);
    expect(near(s.local, hudPoint(0.55, 0.5).toArray(), 0.002)).toBe(true);
    // Head-locked: VIDEO_HUD.distance ahead of the eyes, wherever the head is.
    const head = await page.evaluate(() => {
      const p = (window as unknown as { __xrDevice: { position: { x: number; y: number; z: number } } }).__xrDevice.position;
      return [p.x, p.y, p.z] as V3;
    });
    const off = hudPoint(0.55, 0.5);
    expect(Math.hypot(s.world[0] - head[0], s.world[1] - head[1], s.world[2] - head[2])).toBeCloseTo(off.length(), 1);
    expect(VIDEO_HUD.distance).toBeGreaterThan(0.5);
    await page.screenshot({ path: path.join(tmpdir(), 'consilium-surgeon-ar-video.png') }); // for a look, not for the docs

    await page.evaluate(() => (window as unknown as { __say(t: string): boolean }).__say('next'));
    await eventually(() => host.guidance.focus()?.id === videoStrokeId, 10_000);
    await eventually(async () => (await ar((v) => v.videoStrokes())).find((x) => x.id === videoStrokeId)?.focused === true);
    await press('a-button');
    await eventually(() => specialist.state.objects.get(videoStrokeId)?.ackedBy === 'ar.surgeon', 10_000);
    await web.waitForSelector(`[data-testid="video-stroke-${videoStrokeId}-seen"]:has-text("Seen by Dr. Surgeon (surgeon)")`, { timeout: 10_000 });
    await eventually(async () => /· Seen by Dr\. Surgeon \(surgeon\)$/.test((await ar((v) => v.videoStrokes())).find((x) => x.id === videoStrokeId)?.age ?? ''));
    await web.waitForTimeout(300);
    await web.screenshot({ path: path.join(DOCS, 'video-telestration.png') });
  });

  it('an old video stroke is greyed and flagged in the headset; undo takes it away everywhere', async () => {
    // A stroke stamped a year ahead by its author's clock does not stay fresh: the server's time counts, and once
    // 10 s have passed on it the stroke is on a frame the surgeon's view has left.
    expect(await specialist.add({ id: 'oldvid', kind: 'stroke', asset: 'builtin:pen', frame: 'video', points: [0.2, 0.2, 0, 0.3, 0.25, 0], videoTime: 5000, sentAt: Date.now() + 365 * 24 * 3600 * 1000, transform: I })).toMatchObject({ ok: true });
    const added = Date.now();
    await eventually(async () => (await ar((v) => v.videoStrokes())).some((x) => x.id === 'oldvid'), 10_000);
    await sleep(Math.max(0, added + 10_500 - Date.now()));
    const old = await eventually(async () => (await ar((v) => v.videoStrokes())).find((x) => x.id === 'oldvid' && x.stale), 10_000);
    expect(old.age).toMatch(/^⚠ old frame · 1\d s ago$/);
    // The specialist's panel says so, and the scene list places it on the video, not on the table.
    await eventually(async () => /^1\d s ago · shown as old in the headset$/.test((await web.evaluate(() => (window as unknown as { __consilium: { video: VideoPanelView } }).__consilium.video.strokes())).find((x) => x.id === 'oldvid')?.age ?? ''), 10_000);
    expect(await web.textContent('[data-testid="object-oldvid-pos"]')).toBe('on the surgeon’s video');
    // The host acknowledges it, not the surgeon: the panel, the scene list and the headset say who — never "seen by surgeon".
    expect(await host.guidance.ack('oldvid')).toMatchObject({ ok: true });
    await web.waitForSelector('[data-testid="video-stroke-oldvid-seen"]:has-text("Acknowledged by Dr. Host (host)")', { timeout: 10_000 });
    expect(await web.textContent('[data-testid="object-oldvid-ack"]')).toMatch(/^Acknowledged by Dr\. Host \(host\) /);
    await eventually(async () => /· Acknowledged by Dr\. Host \(host\)$/.test((await ar((v) => v.videoStrokes())).find((x) => x.id === 'oldvid')?.age ?? ''), 10_000);
    await specialist.remove('oldvid');
    await web.click('button:has-text("Undo my last")');
    await eventually(() => !host.objects().some((o) => o.frame === 'video'), 10_000);
    await eventually(async () => (await ar((v) => v.videoStrokes())).length === 0, 10_000);
    await eventually(async () => (await web.evaluate(() => (window as unknown as { __consilium: { video: VideoPanelView } }).__consilium.video.strokes().length)) === 0);
  }, 60_000);

  it("a slowed specialist link raises the in-headset banner and the pointer is never shown as current", async () => {
    await specialist.add({ id: 'note', kind: 'label', asset: 'builtin:label', frame: 'patient', transform: { position: [-0.12, 0.0, 0.03], rotation: [0, 0, 0, 1] }, sentAt: Date.now(), label: 'Hepatic artery ⚠ posterior' });
    const restore = slowUplink(specialist, 400);
    const timer = setInterval(() => specialist.guidance.point([0.0, 0.03, 0.0]), 40);
    const seenCurrent: boolean[] = [];
    try {
      // The surgeon's own link may flicker under this machine's load; wait for the specialist's warning.
      await eventually(async () => (await ar((v) => v.banner())).includes('Dr. Guide'), 15_000);
      for (let i = 0; i < 10; i++) {
        const p = (await ar((v) => v.pointers())).find((x) => x.sessionId === specialist.sessionId);
        seenCurrent.push(p?.current ?? false);
        expect(p?.visible).toBe(true);
        await sleep(100);
      }
      expect(seenCurrent.every((c) => c === false)).toBe(true);
      // The whole warning is shown (wrapped, not cut to one line).
      expect(await ar((v) => v.banner())).toMatch(/^⚠ Guidance link: .*Dr\. Guide \(specialist\) is slow .*pointers are not live$/);
      // For the picture: lean in (the head 0.3 m closer along the gaze).
      const a = host.guidance.anchor();
      await page.evaluate((anchor) => {
        const d = (window as unknown as { __xrDevice: { fovy: number; position: { x: number; y: number; z: number; set(x: number, y: number, z: number): void } } }).__xrDevice;
        const [x, y, z] = [anchor[0]! - d.position.x, anchor[1]! - d.position.y, anchor[2]! - d.position.z];
        const n = Math.hypot(x, y, z);
        d.position.set(d.position.x + (0.3 * x) / n, d.position.y + (0.3 * y) / n, d.position.z + (0.3 * z) / n);
        d.fovy = 0.9; // a narrower view than the Quest's, so the picture is legible at page size
      }, [...a.p]);
      await page.waitForTimeout(600);
      await page.screenshot({ path: path.join(DOCS, 'surgeon-ar.png') });
    } finally {
      clearInterval(timer);
      restore();
    }
    // The specialist's link recovers, and the warning stops naming them (the surgeon's own link, rendering in
    // software on a busy CI machine, may still flicker — that is the surgeon's warning, not this one).
    await eventually(() => !host.state.info.linkWarning.includes('Dr. Guide'), 20_000);
  });

  it('ends cleanly: the XR session ends, the renderer and hooks are gone, no page errors', async () => {
    const sampled = await page.evaluate(() => { const w = window as unknown as { __violations: string[]; __samples: number }; return { __violations: w.__violations, __samples: w.__samples }; });
    expect(sampled.__samples).toBeGreaterThan(20); // timers are throttled while software WebGL renders
    expect(sampled.__violations).toEqual([]);
    await page.evaluate(() => (window as unknown as { __xrDevice: { activeSession?: { end(): Promise<void> } } }).__xrDevice.activeSession?.end());
    await page.waitForFunction(() => !(window as unknown as { __surgeonAr?: unknown }).__surgeonAr, null, { timeout: 10_000 });
    expect(await page.locator('canvas.surgeon-ar-canvas').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});
