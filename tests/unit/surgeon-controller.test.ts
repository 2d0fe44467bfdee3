import { describe, expect, it } from 'vitest';
import { REPLACE_HOLD_FRAMES, REPLACE_HOLD_MS, SurgeonController, type SurgeonSession } from '../../client/src/app/ar/surgeon-controller.ts';
import { FakeSession } from '../support/fake-session.ts';

class FakeAnchor {
  deleted = false;
  delete(): void {
    this.deleted = true;
  }
}

function setup() {
  const session = new FakeSession();
  let clock = 1000;
  let closed = 0;
  const ctl = new SurgeonController<string, FakeAnchor>(session as unknown as SurgeonSession, () => closed++, () => clock);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  return { session, ctl, tick: (ms: number) => (clock += ms), closed: () => closed, settle };
}

describe('SurgeonController: hands-free commands', () => {
  it('ack and dismiss need an annotation in focus; the answers and refusals go to the status line', async () => {
    const { ctl, session } = setup();
    session.setAnchorState(1);
    await ctl.command('ack');
    expect(ctl.statusLine().text).toBe('Nothing in focus: say "next"');
    session.put('a1', { kind: 'arrow', frame: 'patient', focused: true, label: 'Incision' });
    await ctl.command('ack');
    expect(ctl.statusLine().text).toBe('Seen ✓');
    session.refuse('guidance.next', 'RATE_LIMITED');
    await ctl.command('next');
    expect(ctl.statusLine().text).toBe('next: RATE_LIMITED');
    await ctl.command('dismiss');
    expect(ctl.statusLine().text).toBe('Dismissed');
    expect(session.sent.map((s) => s.type)).toEqual(['guidance.ack', 'guidance.next', 'guidance.dismiss']);
  });

  it('a dismissed focus is no focus; a command that cannot be sent says so', async () => {
    const { ctl, session } = setup();
    session.put('a1', { frame: 'patient', focused: true, dismissed: true });
    await ctl.command('dismiss');
    expect(ctl.toast.text).toBe('Nothing in focus: say "next"');
    session.guidance.repeat = () => Promise.reject(new Error('socket closed'));
    await ctl.command('repeat');
    expect(ctl.toast.text).toBe('repeat: not sent');
  });

  it('a command’s answer shows for a while, then the frame summary (pending, focus, buttons, voice)', async () => {
    const { ctl, session, tick } = setup();
    session.setAnchorState(3);
    session.put('a1', { kind: 'arrow', frame: 'patient', focused: true, label: '' });
    session.put('a2', { kind: 'stroke', frame: 'patient', ackedAt: 5 });
    await ctl.command('repeat');
    expect(ctl.statusLine().text).toBe('Repeated');
    tick(4001);
    expect(ctl.statusLine()).toEqual({ text: 'Frame v3 · 1 pending · focus: arrow · A seen · B next · grip repeat', alarm: false });
    ctl.voiceReady({ status: 'listening', stop: () => {} });
    expect(ctl.statusLine().text).toMatch(/ · voice on$/);
  });

  it('a highlight pulses that object for two seconds', () => {
    const { ctl, session } = setup();
    session.highlight('a1');
    expect(ctl.flashUntil('a1')).toBe(3000);
    expect(ctl.flashUntil('a2')).toBe(0);
  });
});

describe('SurgeonController: link and connection', () => {
  it('the link warning is a banner and greys video strokes; a lost connection turns the status line red', () => {
    const { ctl, session } = setup();
    expect([ctl.banner, ctl.linkWarned]).toEqual(['', false]);
    session.state.info.linkWarning = 'Dr. Lee’s link is slow (900 ms): pointers may be out of date';
    expect(ctl.banner).toBe('⚠ Dr. Lee’s link is slow (900 ms): pointers may be out of date');
    expect(ctl.linkWarned).toBe(true);
    expect(ctl.statusLine()).toEqual({ text: 'Look at the patient and pull the trigger to register', alarm: false });
    session.setStatus('reconnecting');
    expect(ctl.statusLine()).toEqual({ text: 'Connection reconnecting: guidance may be out of date', alarm: true });
  });

  it('poses go out at most every 33 ms and only while connected; the page’s view is held off until the end', () => {
    const { ctl, session, tick } = setup();
    expect(session.claims).toBe(1);
    const pose = { head: { p: [0, 1.6, 0] as [number, number, number], q: [0, 0, 0, 1] as [number, number, number, number] }, left: null, right: null };
    expect(ctl.poseDue()).toBe(true);
    ctl.sendPose(pose);
    tick(20);
    expect(ctl.poseDue()).toBe(false);
    tick(13);
    expect(ctl.poseDue()).toBe(true);
    session.setStatus('reconnecting');
    expect(ctl.poseDue()).toBe(false);
    expect([session.poses.length, ctl.posesSent]).toEqual([1, 1]);
    ctl.end();
    expect(session.claims).toBe(0);
  });

  it('a closed session ends the headset view; after end() nothing more is heard', () => {
    const { ctl, session, closed } = setup();
    session.setStatus('closed', 4403);
    expect(closed()).toBe(1);
    ctl.end();
    session.setStatus('closed', 4404);
    session.highlight('x');
    expect([closed(), ctl.flash.id]).toEqual([1, '']);
  });
});

describe('SurgeonController: the trigger and the patient frame', () => {
  it('before registration a click registers; after, only a hold seen over several frames re-places', () => {
    const { ctl, session, tick } = setup();
    ctl.pressStart('right');
    expect(ctl.pressing).toBe(true);
    expect(ctl.pressEnd('right')).toBe(true);
    session.setAnchorState(1);
    ctl.pressStart('right');
    tick(100);
    expect(ctl.pressEnd('right')).toBe(false);
    expect(ctl.toast.text).toBe('Hold the trigger to re-place the patient frame');
    ctl.pressStart('right');
    tick(REPLACE_HOLD_MS); // long, but one stalled frame: still a click
    ctl.frame();
    expect(ctl.pressEnd('right')).toBe(false);
    ctl.pressStart('left');
    for (let i = 0; i < REPLACE_HOLD_FRAMES; i++) ctl.frame();
    tick(REPLACE_HOLD_MS);
    expect(ctl.reticleVisible).toBe(true);
    expect(ctl.pressEnd('left')).toBe(true);
    expect(ctl.reticleVisible).toBe(false);
    expect(ctl.pressEnd('left')).toBe(false); // a release without its press
  });

  it('registering says the version (or the refusal) and asks for a runtime anchor once', async () => {
    const { ctl, session } = setup();
    session.refuse('anchor.set', 'FORBIDDEN');
    await ctl.place({ p: [0, 0.9, -0.5], q: [0, 0, 0, 1] });
    expect(ctl.toast.text).toBe('Not registered: FORBIDDEN');
    expect(ctl.takeAnchorRequest()).toBe(null);
    session.answer('anchor.set', { ok: true, version: 4 });
    await ctl.place({ p: [0, 0.9, -0.5], q: [0, 0, 0, 1] });
    expect(ctl.toast.text).toBe('Patient frame registered (v4)');
    expect(ctl.takeAnchorRequest()).toEqual({ pose: { p: [0, 0.9, -0.5], q: [0, 0, 0, 1] }, version: 4 });
    expect(ctl.takeAnchorRequest()).toBe(null);
    session.guidance.setAnchor = () => Promise.reject(new Error('closed'));
    await ctl.place({ p: [0, 0, 0], q: [0, 0, 0, 1] });
    expect(ctl.toast.text).toBe('Not registered: no connection');
  });

  it('drift beyond 5 mm or 1° re-registers, at most one in flight and not within 500 ms; small wobble does not', async () => {
    const { ctl, session, tick, settle } = setup();
    session.setAnchorState(4);
    const first = new FakeAnchor();
    ctl.anchorCreated(first, { pose: { p: [0, 0.9, -0.5], q: [0, 0, 0, 1] }, version: 4 });
    expect(ctl.anchorCurrent()).toBe(true);
    tick(600);
    ctl.anchorAt({ p: [0.004, 0.9, -0.5], q: [0, 0, 0, 1] });
    expect(session.sentOf('anchor.set')).toEqual([]);
    session.answer('anchor.set', { ok: true, version: 5 });
    ctl.anchorAt({ p: [0.006, 0.9, -0.5], q: [0, 0, 0, 1] });
    ctl.anchorAt({ p: [0.02, 0.9, -0.5], q: [0, 0, 0, 1] }); // in flight: not sent
    session.setAnchorState(5); // the state shows our own new version before the reply: still ours
    expect(ctl.anchorCurrent()).toBe(true);
    await settle();
    expect(ctl.driftCorrections).toBe(1);
    ctl.anchorAt({ p: [0.02, 0.9, -0.5], q: [0, 0, 0, 1] }); // within 500 ms of the last
    tick(600);
    const s = Math.sin((1.5 * Math.PI) / 360);
    ctl.anchorAt({ p: [0.006, 0.9, -0.5], q: [0, s, 0, Math.sqrt(1 - s * s)] }); // 1.5° turn
    await settle();
    expect(session.sentOf('anchor.set')).toHaveLength(2);
    expect(ctl.driftCorrections).toBe(2);
  });

  it('someone else re-registering drops the held anchor; an anchor arriving after the end is let go', () => {
    const { ctl, session } = setup();
    session.setAnchorState(2);
    const a = new FakeAnchor();
    ctl.anchorCreated(a, { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] }, version: 2 });
    const b = new FakeAnchor();
    ctl.anchorCreated(b, { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] }, version: 2 });
    expect(a.deleted).toBe(true); // replaced
    session.setAnchorState(3); // the host registered it since
    expect(ctl.anchorCurrent()).toBe(false);
    expect([b.deleted, ctl.anchor]).toEqual([true, null]);
    ctl.end();
    const late = new FakeAnchor();
    ctl.anchorCreated(late, { pose: { p: [0, 0, 0], q: [0, 0, 0, 1] }, version: 3 });
    expect([late.deleted, ctl.anchor]).toEqual([true, null]);
  });

  it('voice recognition that starts after the end is stopped at once', () => {
    const { ctl } = setup();
    ctl.end();
    let stopped = false;
    ctl.voiceReady({ status: 'listening', stop: () => (stopped = true) });
    expect([stopped, ctl.voice.status]).toEqual([true, 'off']);
  });
});
