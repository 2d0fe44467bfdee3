import type { ClinicSession } from '../../sdk/session.ts';
import type { HandsFreeCommand, VoiceStatus } from './hands-free.ts';

/** How long a highlight (guidance.next / repeat) pulses. */
export const FLASH_MS = 2000;
/** How long a command's result stays on the status line. */
export const TOAST_MS = 4000;
/** The surgeon's head and hands go to the room about 30 times a second (docs/ar-client.md §3). */
export const POSE_INTERVAL_MS = 33;
/** With an anchor registered, re-placing needs the trigger held this long (an accidental click must not move the patient frame mid-procedure). */
export const REPLACE_HOLD_MS = 800;
/** …and seen held over at least this many frames (a headset renders ~58 in 800 ms). */
export const REPLACE_HOLD_FRAMES = 8;
/**
 * Drift correction: when the runtime refines the patient anchor's pose by more than this
 * (5 mm or 1°), the frame is registered again (anchor.set) so everyone's annotations follow.
 */
export const DRIFT_METRES = 0.005;
export const DRIFT_RADIANS = (1 * Math.PI) / 180;
/** At most one drift re-registration in flight, and not more often than this. */
export const DRIFT_MIN_INTERVAL_MS = 500;

export type Vec3 = [number, number, number];
export type Quat = [number, number, number, number];
export type Pose = { p: Vec3; q: Quat };

/** What the surgeon's AR view uses of the SDK session: a fake drives it in unit tests. */
export type SurgeonSession = Pick<ClinicSession, 'state' | 'status' | 'onStatus'> & {
  guidance: Pick<ClinicSession['guidance'], 'onHighlight' | 'focus' | 'anchor' | 'pending' | 'ack' | 'dismiss' | 'next' | 'repeat' | 'setAnchor'>;
  avatars: Pick<ClinicSession['avatars'], 'claim'>;
};

type PoseClaim = ReturnType<SurgeonSession['avatars']['claim']>;
/** Head and hands, as the SDK's pose stream takes them. */
export type HeadsetPose = Parameters<PoseClaim['send']>[0];

/** A runtime anchor (WebXR's XRAnchor) as far as the controller cares: it can be let go. */
export interface AnchorHandle {
  delete(): void;
}

/**
 * The surgeon's AR view without three.js or WebXR: hands-free commands and their answers, the trigger
 * (register vs. hold to re-place), the patient frame held as a runtime anchor with drift correction, the
 * pose stream's rate, and what the banner and status line say. The view (surgeon-ar.ts) feeds it the
 * headset's events and poses each frame and draws what it decides.
 */
export class SurgeonController<Source = unknown, Anchor extends AnchorHandle = AnchorHandle> {
  flash = { id: '', until: 0 };
  toast = { text: '', until: 0 };
  voice: { status: VoiceStatus; stop: () => void } = { status: 'off', stop: () => {} };
  posesSent = 0;
  driftCorrections = 0;
  frameMs = 0;
  private ended = false;
  private placing = false;
  /** Trigger presses in progress: when they began and how many frames saw them held. */
  private readonly presses = new Map<Source, { at: number; frames: number }>();
  /** A registration this client made, to be held as a runtime anchor (anchors are created from a frame). */
  private anchorRequest: { pose: Pose; version: number } | null = null;
  private held: { anchor: Anchor; sent: Pose; version: number } | null = null;
  private driftInFlight = false;
  private lastDriftSent = 0;
  private lastPoseSent = 0;
  private lastFrame = 0;
  private readonly poseClaim: PoseClaim;
  private readonly offs: (() => void)[];

  constructor(
    private readonly session: SurgeonSession,
    /** The session closed: the view ends the headset session (and then calls end()). */
    onClosed: () => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    // While the headset view runs it is this seat's only pose source: the page's desktop view keeps
    // rendering underneath and would interleave its camera pose (its sendPose calls are ignored meanwhile).
    this.poseClaim = session.avatars.claim();
    this.offs = [
      session.guidance.onHighlight((id) => (this.flash = { id, until: this.now() + FLASH_MS })),
      session.onStatus((s) => s === 'closed' && onClosed()),
    ];
  }

  say(text: string): void {
    this.toast = { text, until: this.now() + TOAST_MS };
  }

  /** Voice recognition started (in the background: the view does not wait for it). */
  voiceReady(v: { status: VoiceStatus; stop: () => void }): void {
    if (this.ended) v.stop();
    else this.voice = v;
  }

  // ---- hands-free commands ------------------------------------------------------------------

  /** The annotation in focus, unless dismissed. */
  focused() {
    const obj = this.session.guidance.focus();
    return obj && !obj.dismissed ? obj : undefined;
  }

  /** A button or a spoken word: the answer goes to the status line. */
  command(cmd: HandsFreeCommand): Promise<void> {
    return this.run(cmd).catch(() => this.say(`${cmd}: not sent`));
  }

  /** Pinning the image slice where one looks: the view knows the gaze (surgeon-ar.ts), so it answers these. */
  onPin: ((cmd: 'pin' | 'unpin') => Promise<string>) | null = null;

  private async run(cmd: HandsFreeCommand): Promise<void> {
    if (cmd === 'pin' || cmd === 'unpin') return this.say(this.onPin ? await this.onPin(cmd) : 'No images in this room');
    const g = this.session.guidance;
    const focus = this.focused();
    if ((cmd === 'ack' || cmd === 'dismiss') && !focus) return this.say('Nothing in focus: say "next"');
    const reply = cmd === 'ack' ? await g.ack(focus!.id) : cmd === 'dismiss' ? await g.dismiss(focus!.id) : cmd === 'next' ? await g.next() : await g.repeat();
    this.say(reply.ok ? { ack: 'Seen ✓', dismiss: 'Dismissed', next: 'Next', repeat: 'Repeated' }[cmd] : `${cmd}: ${reply.error.code}`);
  }

  // ---- the trigger: register, or hold to re-place ----------------------------------------------

  pressStart(source: Source): void {
    this.presses.set(source, { at: this.now(), frames: 0 });
  }

  /** Any trigger held now (the reticle then shows, to re-place). */
  get pressing(): boolean {
    return this.presses.size > 0;
  }

  /**
   * Decided on release: runtimes order 'select' differently (the spec fires it on release, iwer's emulator
   * on press), but every one brackets a press with selectstart / selectend. Returns true when the frame
   * should be registered where the reticle is (call place()).
   */
  pressEnd(source: Source): boolean {
    const started = this.presses.get(source);
    this.presses.delete(source);
    if (started === undefined) return false;
    const anchored = this.session.guidance.anchor().version > 0;
    // A hold is both long and seen over several frames: a stalled frame must not turn a click into a hold.
    const held = this.now() - started.at >= REPLACE_HOLD_MS && started.frames >= REPLACE_HOLD_FRAMES;
    if (!anchored || held) return true;
    this.say('Hold the trigger to re-place the patient frame');
    return false;
  }

  /** Register the patient frame at this pose (one at a time); a success is then held as a runtime anchor. */
  async place(pose: Pose): Promise<void> {
    if (this.placing) return;
    this.placing = true;
    try {
      const reply = await this.session.guidance.setAnchor(pose);
      this.say(reply.ok ? `Patient frame registered (v${reply.version})` : `Not registered: ${reply.error.code}`);
      if (reply.ok) this.anchorRequest = { pose, version: reply.version };
    } catch {
      this.say('Not registered: no connection');
    } finally {
      this.placing = false;
    }
  }

  // ---- per frame ----------------------------------------------------------------------------

  /** A headset frame began: frame timing, and presses seen held over one more frame. */
  frame(): void {
    const now = this.now();
    if (this.lastFrame) this.frameMs = this.frameMs * 0.9 + (now - this.lastFrame) * 0.1;
    this.lastFrame = now;
    for (const press of this.presses.values()) press.frames++;
  }

  /** Once registered, the reticle shows only while the trigger is held (re-placing), not over the anatomy. */
  get reticleVisible(): boolean {
    return this.session.guidance.anchor().version === 0 || this.pressing;
  }

  /** Time to send the head and hands (connected, and at most ~30 Hz)? */
  poseDue(): boolean {
    return this.session.status === 'connected' && this.now() - this.lastPoseSent >= POSE_INTERVAL_MS;
  }

  sendPose(pose: HeadsetPose): void {
    this.lastPoseSent = this.now();
    this.poseClaim.send(pose);
    this.posesSent++;
  }

  // ---- the patient frame as a runtime anchor (drift correction) ---------------------------------
  /*
   * Where the runtime supports anchors, the registered pose is kept as an anchor that the runtime moves with
   * the real patient as tracking improves. Its pose is read every frame; when it has moved beyond DRIFT_* from
   * what the room has, the frame is registered again (a new anchor.version), so everyone's annotations follow.
   * Without anchors the registered pose stands as it is.
   */

  /** The registration waiting to become a runtime anchor (taken once). */
  takeAnchorRequest(): { pose: Pose; version: number } | null {
    const req = this.anchorRequest;
    this.anchorRequest = null;
    return req;
  }

  anchorCreated(anchor: Anchor, req: { pose: Pose; version: number }): void {
    if (this.ended) return anchor.delete();
    this.dropAnchor();
    this.held = { anchor, sent: req.pose, version: req.version };
  }

  get anchor(): Anchor | null {
    return this.held?.anchor ?? null;
  }

  dropAnchor(): void {
    this.held?.anchor.delete();
    this.held = null;
  }

  /**
   * The held anchor still describes the room's frame? Not once someone else (the host) registered it since.
   * (Versions only grow; the state may still show an older one than our own reply just gave, and while our
   * own re-registration is in flight the state may already show its version: not someone else's.)
   */
  anchorCurrent(): boolean {
    if (!this.held) return false;
    if (!this.driftInFlight && this.session.guidance.anchor().version > this.held.version) {
      this.dropAnchor();
      return false;
    }
    return true;
  }

  /** Where the runtime now puts the held anchor: re-register when it drifted far enough (at most one in flight). */
  anchorAt(pose: Pose): void {
    const held = this.held;
    const now = this.now();
    if (!held || this.driftInFlight || now - this.lastDriftSent < DRIFT_MIN_INTERVAL_MS) return;
    const { p, q } = pose;
    const moved = Math.hypot(p[0] - held.sent.p[0], p[1] - held.sent.p[1], p[2] - held.sent.p[2]);
    const dot = Math.min(1, Math.abs(q[0] * held.sent.q[0] + q[1] * held.sent.q[1] + q[2] * held.sent.q[2] + q[3] * held.sent.q[3]));
    const turned = 2 * Math.acos(dot);
    if (moved <= DRIFT_METRES && turned <= DRIFT_RADIANS) return;
    this.driftInFlight = true;
    this.lastDriftSent = now;
    void this.session.guidance
      .setAnchor({ p, q })
      .then((reply) => {
        if (reply.ok && this.held === held) {
          held.sent = { p, q };
          held.version = reply.version;
          this.driftCorrections++;
        }
      })
      .catch(() => {})
      .finally(() => (this.driftInFlight = false));
  }

  // ---- what the HUD says ----------------------------------------------------------------------

  /** The link warning, in view ('' hides the banner). */
  get banner(): string {
    const w = this.session.state.info?.linkWarning;
    return w ? `⚠ ${w}` : '';
  }

  /** Video strokes are greyed while the link warning is up. */
  get linkWarned(): boolean {
    return !!this.session.state.info?.linkWarning;
  }

  /** The status line: a command's answer for a while, else how to register or the frame's summary; red while not connected. */
  statusLine(): { text: string; alarm: boolean } {
    if (this.session.status !== 'connected') return { text: `Connection ${this.session.status}: guidance may be out of date`, alarm: true };
    const version = this.session.guidance.anchor().version;
    const focus = this.focused();
    const pending = this.session.guidance.pending().length;
    const text =
      this.now() < this.toast.until ? this.toast.text
      : version === 0 ? 'Look at the patient and pull the trigger to register'
      : `Frame v${version} · ${pending} pending${focus ? ` · focus: ${focus.label || focus.kind}` : ''} · A seen · B next · grip repeat${this.voice.status === 'listening' ? ' · voice on' : ''}`;
    return { text, alarm: false };
  }

  /** Until when the object with this id pulses (0: not highlighted). */
  flashUntil(id: string): number {
    return this.flash.id === id ? this.flash.until : 0;
  }

  /** The headset session ended: let go of everything this view held. */
  end(): void {
    this.ended = true;
    this.offs.forEach((off) => off());
    this.voice.stop();
    this.dropAnchor();
    this.poseClaim.release(); // the page's view sends again
  }
}
