import * as THREE from 'three';
import type { V3 } from '../../../../shared/src/patient-frame.ts';
import { acknowledgerOf } from '../../../../shared/src/guidance.ts';
import type { ClinicSession } from '../../sdk/session.ts';
import { AnnotationView, type GuidanceClock } from './annotation-view.ts';
import { ButtonEdges, listenForCommands, type HandsFreeCommand, type VoiceStatus } from './hands-free.ts';
import { estimateGazeHit, facingYaw, REPLACE_HOLD_FRAMES, REPLACE_HOLD_MS } from './placement.ts';
import { PointerMarker } from './pointer-view.ts';
import { TextSprite } from './text-sprite.ts';
import { VideoHud } from './video-hud.ts';

/** How long a highlight (guidance.next / repeat) pulses. */
const FLASH_MS = 2000;
/** How long a command's result stays on the status line. */
const TOAST_MS = 4000;
/** The surgeon's head and hands go to the room about 30 times a second (docs/ar-client.md §3). */
const POSE_INTERVAL_MS = 33;
/**
 * Drift correction: when the runtime refines the patient anchor's pose by more than this
 * (5 mm or 1°), the frame is registered again (anchor.set) so everyone's annotations follow.
 */
const DRIFT_METRES = 0.005;
const DRIFT_RADIANS = (1 * Math.PI) / 180;
/** At most one drift re-registration in flight, and not more often than this. */
const DRIFT_MIN_INTERVAL_MS = 500;
type Vec3 = [number, number, number];
type Quat = [number, number, number, number];

/** Read-only view of what the headset shows, for tests and diagnostics (window.__surgeonAr). */
export interface SurgeonArView {
  anchorVersion(): number;
  reticle(): { p: V3; onSurface: boolean } | null;
  annotations(): { id: string; kind: string; visible: boolean; focused: boolean; label: string; age: string; tip: V3 }[];
  pointers(): { sessionId: string; visible: boolean; current: boolean; world: V3 }[];
  /** `frame: 'video'` strokes on the head-locked HUD panel: first point in the head frame and in the world. */
  videoStrokes(): { id: string; visible: boolean; focused: boolean; stale: boolean; age: string; local: V3; world: V3 }[];
  /** How the patient frame is held: a WebXR anchor the runtime keeps refining, or only the registered pose. */
  anchorTracking(): 'xr-anchor' | 'pose-only';
  /** The XRAnchor holding the patient frame (diagnostics and tests), if the runtime gave one. */
  xrAnchor(): XRAnchor | null;
  /** Re-registrations sent because the anchor drifted. */
  driftCorrections(): number;
  /** Poses sent to the room so far. */
  posesSent(): number;
  banner(): string;
  status(): string;
  voice(): VoiceStatus;
  /** Smoothed time between rendered frames (ms). */
  frameMs(): number;
}

/**
 * The surgeon's "Enter AR" in a surgical-guidance room: its own three.js
 * renderer and immersive-ar session. The surgeon looks at the patient and
 * pulls the trigger (or pinches) to register the patient frame; annotations
 * and pointers of the patient frame are drawn on the anatomy; controller
 * buttons and on-device speech drive ack / next / repeat / dismiss; the link
 * warning is a banner in view. Resolves once the session runs; everything
 * is torn down when it ends.
 */
export async function enterSurgeonAr(session: ClinicSession): Promise<void> {
  if (!navigator.xr) throw new Error('WebXR is not available in this browser');
  const xr = await navigator.xr.requestSession('immersive-ar', { optionalFeatures: ['local-floor', 'hit-test', 'hand-tracking', 'anchors'] });
  const localFloor = xr.enabledFeatures?.includes('local-floor') ?? true;

  const renderer = new THREE.WebGLRenderer({ antialias: true, alpha: true });
  renderer.setPixelRatio(Math.min(2, window.devicePixelRatio));
  renderer.setSize(window.innerWidth, window.innerHeight);
  renderer.setClearColor(0x000000, 0);
  renderer.xr.enabled = true;
  renderer.xr.setReferenceSpaceType(localFloor ? 'local-floor' : 'local');
  renderer.domElement.className = 'surgeon-ar-canvas';
  document.body.append(renderer.domElement);
  const scene = new THREE.Scene();
  const camera = new THREE.PerspectiveCamera(70, window.innerWidth / window.innerHeight, 0.01, 20);
  scene.add(camera);

  // ---- scene --------------------------------------------------------------------------------
  /**
   * The patient frame: every annotation and pointer is a child, so this group's transform is exactly
   * fromPatientFrame (shared/src/patient-frame.ts) of the registered anchor; the browser test checks it.
   */
  const anchorGroup = new THREE.Group();
  anchorGroup.name = 'patient-frame';
  const axes = new THREE.AxesHelper(0.08);
  anchorGroup.add(axes);
  scene.add(anchorGroup);
  const reticle = new THREE.Mesh(new THREE.RingGeometry(0.03, 0.04, 32).rotateX(-Math.PI / 2), new THREE.MeshBasicMaterial({ color: 0xffffff, transparent: true, opacity: 0.9 }));
  scene.add(reticle);
  const hud = new THREE.Group();
  const banner = new TextSprite({ color: '#ffffff', background: 'rgba(190,20,20,0.92)', height: 0.04, onTop: true, maxLines: 3, widthPx: 2048 });
  const statusLine = new TextSprite({ color: '#e8f4ff', background: 'rgba(10,16,22,0.8)', height: 0.035, onTop: true, maxLines: 2, widthPx: 2048 });
  banner.sprite.position.set(0, 0.21, -0.8);
  statusLine.sprite.position.set(0, -0.24, -0.8);
  hud.add(banner.sprite, statusLine.sprite);
  // Video telestration: the specialist's strokes on the surgeon's camera image, head-locked over what it sees.
  const videoHud = new VideoHud();
  hud.add(videoHud.group);
  scene.add(hud);

  const annotations = new Map<string, AnnotationView>();
  const pointers = new Map<string, PointerMarker>();
  const edges = new ButtonEdges();
  let flash = { id: '', until: 0 };
  let toast = { text: '', until: 0 };
  let reticleHit: { p: THREE.Vector3; onSurface: boolean } | null = null;
  let hitTestSource: XRHitTestSource | null = null;
  let placing = false;
  /** Trigger presses in progress: when they began and how many frames saw them held. */
  const selectStarted = new Map<XRInputSource, { at: number; frames: number }>();

  const say = (text: string) => (toast = { text, until: performance.now() + TOAST_MS });
  const offHighlight = session.guidance.onHighlight((id) => (flash = { id, until: performance.now() + FLASH_MS }));

  // ---- commands -----------------------------------------------------------------------------
  const focusedAnnotation = () => {
    const obj = session.guidance.focus();
    return obj && !obj.dismissed ? obj : undefined;
  };
  const run = async (cmd: HandsFreeCommand) => {
    const focus = focusedAnnotation();
    if ((cmd === 'ack' || cmd === 'dismiss') && !focus) return say('Nothing in focus: say "next"');
    const reply =
      cmd === 'ack' ? await session.guidance.ack(focus!.id)
      : cmd === 'dismiss' ? await session.guidance.dismiss(focus!.id)
      : cmd === 'next' ? await session.guidance.next()
      : await session.guidance.repeat();
    say(reply.ok ? { ack: 'Seen ✓', dismiss: 'Dismissed', next: 'Next', repeat: 'Repeated' }[cmd] : `${cmd}: ${reply.error.code}`);
  };
  const command = (cmd: HandsFreeCommand) => void run(cmd).catch(() => say(`${cmd}: not sent`));

  const place = async () => {
    if (!reticleHit || placing) return;
    placing = true;
    try {
      const viewer = renderer.xr.getCamera().getWorldPosition(new THREE.Vector3());
      const p = reticleHit.p;
      const pose = { p: [p.x, p.y, p.z] as Vec3, q: facingYaw(p, viewer) };
      const reply = await session.guidance.setAnchor(pose);
      say(reply.ok ? `Patient frame registered (v${reply.version})` : `Not registered: ${reply.error.code}`);
      // Hold the registration as a WebXR anchor (next frame: anchors are created from a frame).
      if (reply.ok) anchorRequest = { pose, version: reply.version };
    } finally {
      placing = false;
    }
  };

  xr.addEventListener('selectstart', (e) => selectStarted.set(e.inputSource, { at: performance.now(), frames: 0 }));
  // Decided on release ('selectend'): runtimes order 'select' differently (the spec fires it on release,
  // iwer's emulator on press), but every one brackets a press with selectstart / selectend.
  xr.addEventListener('selectend', (e) => {
    const started = selectStarted.get(e.inputSource);
    selectStarted.delete(e.inputSource);
    if (started === undefined) return;
    const anchored = session.guidance.anchor().version > 0;
    // A hold is both long and seen over several frames: a stalled frame must not turn a click into a hold.
    const held = performance.now() - started.at >= REPLACE_HOLD_MS && started.frames >= REPLACE_HOLD_FRAMES;
    if (!anchored || held) void place().catch(() => say('Not registered: no connection'));
    else say('Hold the trigger to re-place the patient frame');
  });
  xr.addEventListener('squeeze', () => command('repeat'));
  const viewerSpacePromise = xr.requestReferenceSpace('viewer');
  void viewerSpacePromise
    .then((space) => xr.requestHitTestSource?.({ space }))
    .then((source) => (hitTestSource = source ?? null))
    .catch(() => (hitTestSource = null));
  // Voice starts in the background: the view must not wait on the recogniser.
  let voice: { status: VoiceStatus; stop: () => void } = { status: 'off', stop: () => {} };
  let ended = false;
  void listenForCommands(command).then((v) => (ended ? v.stop() : (voice = v)));

  // ---- the patient frame as a WebXR anchor (drift correction) ---------------------------------
  /**
   * Where the runtime supports anchors (XRFrame.createAnchor), the registered pose is kept as an
   * XRAnchor: as tracking improves, the runtime moves the anchor with the real patient. Its pose is
   * read every frame; when it has moved beyond DRIFT_* from what the room has, the frame is
   * registered again (a new anchor.version), so everyone's annotations follow. Without anchors the
   * registered pose stands as it is.
   */
  let anchorRequest: { pose: { p: Vec3; q: Quat }; version: number } | null = null;
  let held: { anchor: XRAnchor; sent: { p: Vec3; q: Quat }; version: number } | null = null;
  let driftInFlight = false;
  let lastDriftSent = 0;
  let driftCorrections = 0;
  const dropAnchor = () => {
    held?.anchor.delete();
    held = null;
  };
  const trackAnchor = (frame: XRFrame, refSpace: XRReferenceSpace | null, now: number) => {
    if (!refSpace) return;
    if (anchorRequest) {
      const req = anchorRequest;
      anchorRequest = null;
      if (typeof frame.createAnchor === 'function') {
        const { p, q } = req.pose;
        frame
          .createAnchor(new XRRigidTransform({ x: p[0], y: p[1], z: p[2] }, { x: q[0], y: q[1], z: q[2], w: q[3] }), refSpace)
          ?.then((anchor) => {
            if (ended) return anchor.delete();
            dropAnchor();
            held = { anchor, sent: req.pose, version: req.version };
          })
          .catch(() => {}); // no anchor: the registered pose stands
      }
    }
    if (!held) return;
    // Someone else (the host) registered the frame since: this anchor no longer describes it.
    // (Versions only grow; the state may still show an older one than our own reply just gave.)
    // While our own re-registration is in flight the state may already show its version: not someone else's.
    if (!driftInFlight && session.guidance.anchor().version > held.version) return dropAnchor();
    if (frame.trackedAnchors && !frame.trackedAnchors.has(held.anchor)) return; // tracking lost for now: keep the last pose
    let pose: XRPose | undefined;
    try {
      pose = frame.getPose(held.anchor.anchorSpace, refSpace);
    } catch {
      return dropAnchor();
    }
    if (!pose || driftInFlight || now - lastDriftSent < DRIFT_MIN_INTERVAL_MS) return;
    const t = pose.transform;
    const p: Vec3 = [t.position.x, t.position.y, t.position.z];
    const q: Quat = [t.orientation.x, t.orientation.y, t.orientation.z, t.orientation.w];
    const moved = Math.hypot(p[0] - held.sent.p[0], p[1] - held.sent.p[1], p[2] - held.sent.p[2]);
    const dot = Math.min(1, Math.abs(q[0] * held.sent.q[0] + q[1] * held.sent.q[1] + q[2] * held.sent.q[2] + q[3] * held.sent.q[3]));
    const turned = 2 * Math.acos(dot);
    if (moved <= DRIFT_METRES && turned <= DRIFT_RADIANS) return;
    driftInFlight = true;
    lastDriftSent = now;
    const current = held;
    void session.guidance
      .setAnchor({ p, q })
      .then((reply) => {
        if (reply.ok && held === current) {
          held.sent = { p, q };
          held.version = reply.version;
          driftCorrections++;
        }
      })
      .catch(() => {})
      .finally(() => (driftInFlight = false));
  };

  // ---- the surgeon's pose, like the VR and desktop views ------------------------------------
  // While the headset view runs it is this seat's only pose source: the page's desktop view keeps
  // rendering underneath and would interleave its camera pose (its sendPose calls are ignored meanwhile).
  const poseClaim = session.avatars.claim();
  const sendPoseToRoom = poseClaim.send;
  let lastPoseSent = 0;
  let posesSent = 0;
  const poseOf = (space: XRSpace | undefined, frame: XRFrame, refSpace: XRReferenceSpace) => {
    const pose = space ? frame.getPose(space, refSpace) : undefined;
    if (!pose) return null;
    const { position: p, orientation: q } = pose.transform;
    return { p: [p.x, p.y, p.z] as Vec3, q: [q.x, q.y, q.z, q.w] as Quat };
  };
  const sendPose = (frame: XRFrame, refSpace: XRReferenceSpace | null, now: number) => {
    if (!refSpace || now - lastPoseSent < POSE_INTERVAL_MS || session.status !== 'connected') return;
    const head = frame.getViewerPose(refSpace);
    if (!head) return;
    lastPoseSent = now;
    const { position: p, orientation: q } = head.transform;
    // A controller's grip, or a tracked hand's (its grip space where the runtime has one, else its ray).
    const hand = (side: XRHandedness) => {
      const source = [...xr.inputSources].find((s) => s.handedness === side);
      return source ? poseOf(source.gripSpace ?? source.targetRaySpace, frame, refSpace) : null;
    };
    sendPoseToRoom({ head: { p: [p.x, p.y, p.z], q: [q.x, q.y, q.z, q.w] }, left: hand('left'), right: hand('right') });
    posesSent++;
  };

  // ---- per frame ----------------------------------------------------------------------------
  const tmpQ = new THREE.Quaternion();
  const updateReticle = (frame: XRFrame | undefined) => {
    const refSpace = renderer.xr.getReferenceSpace();
    let hit: XRPose | undefined;
    try {
      hit = frame && refSpace && hitTestSource ? frame.getHitTestResults(hitTestSource)[0]?.getPose(refSpace) : undefined;
    } catch {
      hit = undefined; // results are not ready on the frame the source was created in
    }
    if (hit) {
      reticleHit = { p: new THREE.Vector3(hit.transform.position.x, hit.transform.position.y, hit.transform.position.z), onSurface: true };
    } else {
      const cam = renderer.xr.getCamera();
      const origin = cam.getWorldPosition(new THREE.Vector3());
      const dir = new THREE.Vector3(0, 0, -1).applyQuaternion(cam.getWorldQuaternion(tmpQ));
      reticleHit = estimateGazeHit(origin, dir, localFloor ? 0 : -1.6);
    }
    reticle.position.copy(reticleHit.p);
    reticle.material.color.setHex(reticleHit.onSurface ? 0x39ff88 : 0xffffff);
  };

  /** Ages on the server's clock (this headset's own clock may be wrong); acknowledgements name who gave them. */
  const guidanceClock = (): GuidanceClock => ({
    serverNow: session.guidance.serverNow(),
    who: (userId) => acknowledgerOf(session.state.participants?.values() ?? [], userId),
  });

  const syncAnnotations = (now: number, clock: GuidanceClock) => {
    const focusId = session.guidance.focus()?.id ?? '';
    const seen = new Set<string>();
    session.state.objects?.forEach((obj, id) => {
      if (obj.frame !== 'patient') return;
      seen.add(id);
      let view = annotations.get(id);
      if (view && view.key !== AnnotationView.keyOf(obj)) {
        view.dispose();
        view = undefined;
      }
      if (!view) {
        view = new AnnotationView(id, obj);
        annotations.set(id, view);
        anchorGroup.add(view.group);
      }
      view.update(obj, id === focusId, now, flash.id === id ? flash.until : 0, clock);
    });
    for (const [id, view] of annotations) if (!seen.has(id)) (view.dispose(), annotations.delete(id));
  };

  const syncPointers = () => {
    const live = session.guidance.pointers();
    const ids = new Set(live.map((p) => p.sessionId));
    for (const p of live) {
      let marker = pointers.get(p.sessionId);
      if (!marker) {
        marker = new PointerMarker(p.sessionId);
        pointers.set(p.sessionId, marker);
        anchorGroup.add(marker.mesh);
      }
      marker.update(p, session.state.participants?.get(p.sessionId)?.name ?? '');
    }
    for (const [id, m] of pointers) if (!ids.has(id)) (m.dispose(), pointers.delete(id));
  };

  const updateHud = (now: number) => {
    const cam = renderer.xr.getCamera();
    cam.getWorldPosition(hud.position);
    cam.getWorldQuaternion(hud.quaternion);
    banner.setText(session.state.info?.linkWarning ? `⚠ ${session.state.info.linkWarning}` : '');
    const version = session.guidance.anchor().version;
    const focus = focusedAnnotation();
    const pending = session.guidance.pending().length;
    const line =
      now < toast.until ? toast.text
      : version === 0 ? 'Look at the patient and pull the trigger to register'
      : `Frame v${version} · ${pending} pending${focus ? ` · focus: ${focus.label || focus.kind}` : ''} · A seen · B next · grip repeat${voice.status === 'listening' ? ' · voice on' : ''}`;
    statusLine.setText(session.status === 'connected' ? line : `Connection ${session.status}: guidance may be out of date`, {
      background: session.status === 'connected' ? undefined : 'rgba(190,20,20,0.92)',
    });
  };

  let frameMs = 0;
  let lastFrame = 0;
  const loop = (_time: number, frame?: XRFrame) => {
    if (!frame) return; // only the headset's frames: nothing is drawn to the page
    const now = performance.now();
    if (lastFrame) frameMs = frameMs * 0.9 + (now - lastFrame) * 0.1;
    lastFrame = now;
    const a = session.guidance.anchor();
    anchorGroup.position.set(a.p[0], a.p[1], a.p[2]);
    anchorGroup.quaternion.set(a.q[0], a.q[1], a.q[2], a.q[3]).normalize();
    anchorGroup.visible = a.version > 0;
    updateReticle(frame);
    for (const press of selectStarted.values()) press.frames++;
    // Once registered, the reticle shows only while the trigger is held (re-placing), not over the anatomy.
    reticle.visible = a.version === 0 || selectStarted.size > 0;
    const clock = guidanceClock();
    syncAnnotations(now, clock);
    syncPointers();
    for (const source of xr.inputSources) for (const cmd of edges.pressed(source.handedness, source.gamepad)) command(cmd);
    updateHud(now);
    videoHud.sync(session.state.objects?.entries() ?? [], session.guidance.focus()?.id ?? '', !!session.state.info?.linkWarning, now, flash, clock);
    const refSpace = renderer.xr.getReferenceSpace();
    sendPose(frame, refSpace, now);
    trackAnchor(frame, refSpace, now);
    renderer.render(scene, camera);
  };

  // ---- test and diagnostics view --------------------------------------------------------------
  const world = (local: THREE.Vector3): V3 => {
    const w = anchorGroup.localToWorld(local.clone());
    return [w.x, w.y, w.z];
  };
  const view: SurgeonArView = {
    anchorVersion: () => (anchorGroup.visible ? session.guidance.anchor().version : 0),
    reticle: () => (reticleHit ? { p: [reticleHit.p.x, reticleHit.p.y, reticleHit.p.z], onSurface: reticleHit.onSurface } : null),
    annotations: () =>
      [...annotations.values()].map((v) => ({
        id: v.id,
        kind: session.state.objects.get(v.id)?.kind ?? '',
        visible: v.group.visible,
        focused: v.focused,
        label: v.labelText(),
        age: v.ageText(),
        tip: ((w) => [w.x, w.y, w.z] as V3)(v.group.localToWorld(v.tip.clone())),
      })),
    pointers: () => [...pointers.values()].map((m) => ({ sessionId: m.sessionId, ...m.shown, world: world(m.mesh.position) })),
    videoStrokes: () => {
      hud.updateWorldMatrix(true, true);
      return videoHud.describe();
    },
    anchorTracking: () => (held ? 'xr-anchor' : 'pose-only'),
    xrAnchor: () => held?.anchor ?? null,
    driftCorrections: () => driftCorrections,
    posesSent: () => posesSent,
    banner: () => banner.current,
    status: () => statusLine.current,
    voice: () => voice.status,
    frameMs: () => frameMs,
  };
  const hooks = window as unknown as { __surgeonAr?: SurgeonArView };
  hooks.__surgeonAr = view;

  // ---- teardown -----------------------------------------------------------------------------------
  const offStatus = session.onStatus((s) => s === 'closed' && void xr.end().catch(() => {}));
  xr.addEventListener('end', () => {
    ended = true;
    renderer.setAnimationLoop(null);
    offHighlight();
    offStatus();
    voice.stop();
    hitTestSource?.cancel();
    for (const v of annotations.values()) v.dispose();
    for (const m of pointers.values()) m.dispose();
    videoHud.dispose();
    dropAnchor();
    poseClaim.release(); // the page's view sends again
    banner.dispose();
    statusLine.dispose();
    reticle.geometry.dispose();
    reticle.material.dispose();
    axes.dispose();
    renderer.dispose();
    renderer.domElement.remove();
    if (hooks.__surgeonAr === view) delete hooks.__surgeonAr;
  });

  // The loop is set before the session starts: three.js then drives it from the headset's frames only
  // (set afterwards, it would also run on the page's frames).
  renderer.setAnimationLoop(loop);
  try {
    await renderer.xr.setSession(xr);
  } catch (err) {
    await xr.end().catch(() => {}); // the 'end' listener tears everything down
    throw err;
  }
}
