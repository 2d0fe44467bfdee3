import { describe, expect, it } from 'vitest';
import { DEFAULT_PIN, SlicePanelController, type SlicePanelSession } from '../../client/src/app/ar/slice-panel-controller.ts';
import { SurgeonController, type SurgeonSession } from '../../client/src/app/ar/surgeon-controller.ts';
import { BUTTON_COMMANDS, commandForPhrase } from '../../client/src/app/ar/hands-free.ts';
import { fromPatientFrame, poseFromPatientFrame, rotate } from '../../shared/src/patient-frame.ts';
import { ViewerState } from '../../shared/src/state.ts';
import { FakeSession } from '../support/fake-session.ts';

function setup(opts: { role?: string; images?: boolean; kind?: string } = {}) {
  const session = new FakeSession();
  session.state.info.kind = opts.kind ?? 'surgical-guidance';
  session.join('me', { userId: 'u.surgeon', name: 'Dr. Cut', role: opts.role ?? 'surgeon' });
  session.join('guide', { userId: 'u.guide', name: 'Dr. Guide', role: 'specialist' });
  session.state.viewer.set('shared', new ViewerState());
  const imaging = { available: opts.images ?? true };
  const panels = new SlicePanelController(session as unknown as SlicePanelSession, imaging);
  const shared = (fields: Partial<ViewerState>) => Object.assign(session.state.viewer.get('shared')!, fields);
  return { session, panels, imaging, shared };
}

describe('SlicePanelController: the slice pinned in the patient frame', () => {
  it('shows the room’s slice and window where it was pinned, once the patient frame is registered', () => {
    const { session, panels, shared } = setup();
    shared({ series: '2.25.7', slice: 12, center: 40, width: 400, pinBy: 'guide', pinPx: 0.3, pinPy: 0.2, pinPz: 0, pinQw: 1 });
    expect(panels.shown()).toBeNull(); // no patient frame yet: nowhere to put it
    session.setAnchorState(1, [1, 0.8, -0.5]);
    expect(panels.shown()).toEqual({ series: '2.25.7', slice: 12, center: 40, width: 400, pose: { p: [0.3, 0.2, 0], q: [0, 0, 0, 1] }, pinnedBy: 'Dr. Guide' });
    // It follows the shared viewer: the presenter scrolls and changes the window.
    shared({ slice: 30, center: -600, width: 1500 });
    expect(panels.shown()).toMatchObject({ slice: 30, center: -600, width: 1500 });
    expect(panels.pinnedText).toBe('Pinned for the surgeon by Dr. Guide');
    expect(SlicePanelController.caption(panels.shown()!, 64, 'CT Chest')).toBe('CT Chest · Slice 31 / 64 · W 1500 L -600 · pinned by Dr. Guide');
    // Nothing pinned, or no series open: no panel.
    shared({ pinBy: '' });
    expect(panels.shown()).toBeNull();
    shared({ pinBy: 'guide', series: '' });
    expect(panels.shown()).toBeNull();
  });

  it('never for a participant without ImagingStudy (their viewer refused the images), whatever the state says', async () => {
    const { session, panels, shared } = setup({ images: false });
    session.setAnchorState(1);
    shared({ series: '2.25.7', pinBy: 'guide' });
    expect(panels.shown()).toBeNull();
    expect(panels.mayPin).toBe(false);
    expect(await panels.pin(null)).toBe('No images in your access');
    expect(session.sentOf('viewer.pin')).toEqual([]);
  });

  it('pinned where the surgeon looks: the world pose goes to the room in the patient frame, so it stays at the patient', async () => {
    const { session, panels } = setup();
    expect(await panels.pin({ p: [0, 1, 0], q: [0, 0, 0, 1] })).toBe('Register the patient frame first');
    const yaw = Math.PI / 2;
    session.setAnchorState(2, [1, 0.8, -0.5]);
    session.state.anchor.qy = Math.sin(yaw / 2);
    session.state.anchor.qw = Math.cos(yaw / 2);
    const world = { p: [1.2, 1.05, -0.3] as [number, number, number], q: [0, Math.sin(0.3), 0, Math.cos(0.3)] as [number, number, number, number] };
    expect(await panels.pin(world)).toBe('Slice pinned');
    const sent = session.sentOf('viewer.pin')[0] as { pose: { p: [number, number, number]; q: [number, number, number, number] } };
    // Back through the anchor it is the same world pose: drawn under the anchor's group, it is where the surgeon pinned it.
    const anchor = session.guidance.anchor();
    fromPatientFrame(anchor, sent.pose.p).forEach((c, i) => expect(c).toBeCloseTo(world.p[i]!, 6));
    const back = poseFromPatientFrame(anchor, sent.pose);
    const facing = rotate(back.q, [0, 0, 1]);
    rotate(world.q, [0, 0, 1]).forEach((c, i) => expect(facing[i]).toBeCloseTo(c, 6));
    // From the web (no gaze): beside the site, facing the surgeon.
    await panels.pin(null);
    expect(session.sentOf('viewer.pin')[1]).toEqual({ pose: { p: [...DEFAULT_PIN.p], q: [...DEFAULT_PIN.q] } });
    session.refuse('viewer.pin', 'FORBIDDEN');
    expect(await panels.pin(null)).toBe('Pin: FORBIDDEN');
    expect(await panels.unpin()).toBe('Slice panel removed');
    expect(session.sentOf('viewer.pin').at(-1)).toEqual({ pose: null });
  });

  it('who may pin is the room policy’s: guiding roles with images, in surgical guidance only', () => {
    expect(setup({ role: 'surgeon' }).panels.mayPin).toBe(true);
    expect(setup({ role: 'specialist' }).panels.mayPin).toBe(true);
    expect(setup({ role: 'host' }).panels.mayPin).toBe(true);
    expect(setup({ role: 'observer' }).panels.mayPin).toBe(false);
    expect(setup({ role: 'clinician' }).panels.mayPin).toBe(false);
    expect(setup({ kind: 'case-conference' }).panels.mayPin).toBe(false);
  });
});

describe('hands-free pinning', () => {
  it('"pin the slice" and the thumbstick pin, "unpin" / "hide the image" take it down; "pin" alone (orthopaedics) does nothing', () => {
    expect(commandForPhrase('pin the slice')).toBe('pin');
    expect(commandForPhrase('show image please')).toBe('pin');
    expect(commandForPhrase('unpin the slice')).toBe('unpin');
    expect(commandForPhrase('hide the scan')).toBe('unpin');
    expect(commandForPhrase('hand me the pin')).toBeNull();
    expect(commandForPhrase('pin it here')).toBeNull();
    expect(BUTTON_COMMANDS[3]).toBe('pin');
  });

  it('the surgeon controller hands pin and unpin to the view (which knows the gaze) and shows the answer', async () => {
    const session = new FakeSession();
    const ctl = new SurgeonController(session as unknown as SurgeonSession, () => {}, () => 0);
    await ctl.command('pin');
    expect(ctl.toast.text).toBe('No images in this room');
    const asked: string[] = [];
    ctl.onPin = async (cmd) => (asked.push(cmd), cmd === 'pin' ? 'Slice pinned' : 'Slice panel removed');
    await ctl.command('pin');
    expect(ctl.toast.text).toBe('Slice pinned');
    await ctl.command('unpin');
    expect(ctl.toast.text).toBe('Slice panel removed');
    expect(asked).toEqual(['pin', 'unpin']);
    expect(session.sent).toEqual([]); // no guidance command went out for these
  });
});
