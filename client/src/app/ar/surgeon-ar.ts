import * as THREE from 'three';
import type { V3 } from '../../../../shared/src/patient-frame.ts';
import type { ClinicSession } from '../../sdk/session.ts';
import { acknowledgerOf } from '../../../../shared/src/guidance.ts';
import type { ViewerController } from '../imaging/viewer-controller.ts';
import { AnnotationView, type GuidanceClock } from './annotation-view.ts';
import { ButtonEdges, listenForCommands, type VoiceStatus } from './hands-free.ts';
import { estimateGazeHit, facingYaw } from './placement.ts';
import { PointerMarker } from './pointer-view.ts';
import { GAZE_LIFT, PANEL_WIDTH, SlicePanelController } from './slice-panel-controller.ts';
import { SlicePanelView } from './slice-panel-view.ts';
import { SurgeonController, type Quat, type Vec3 } from './surgeon-controller.ts';
import { TextSprite } from './text-sprite.ts';
import { VideoHud } from './video-hud.ts';

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
  /** The image slice pinned in the patient frame (null: this room has no image viewer for this participant). */
  slicePanel(): (ReturnType<SlicePanelView['describe']> & { mayPin: boolean }) | null;
}

/**
 * The surgeon's "Enter AR" in a surgical-guidance room: its own three.js
 * renderer and immersive-ar session. The surgeon looks at the patient and
 * pulls the trigger (or pinches) to register the patient frame; annotations
 * and pointers of the patient frame are drawn on the anatomy; controller
 * buttons and on-device speech drive ack / next / repeat / dismiss; the link
 * warning is a banner in view. Resolves once the session runs; everything
 * is torn down when it ends. The decisions (commands, trigger, drift, HUD
 * texts, pose rate) are SurgeonController's; this draws them and feeds it
 * the headset's events and poses. With the room's image viewer (`imaging`),
 * the slice pinned in the patient frame is drawn there too (SlicePanelController
 * decides whether this participant may see it).
 */
export async function enterSurgeonAr(session: ClinicSession, imaging: ViewerController | null = null): Promise<void> {
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
  let reticleHit: { p: THREE.Vector3; onSurface: boolean } | null = null;
  let hitTestSource: XRHitTestSource | null = null;
  const ctl = new SurgeonController<XRInputSource, XRAnchor>(session, () => void xr.end().catch(() => {}));
  const command = ctl.command.bind(ctl);
  // The room's slice, pinned in the patient frame: a child of the anchor's group, like the annotations.
  const panels = new SlicePanelController(session, imaging);
  const panelView = imaging ? new SlicePanelView(imaging) : null;
  if (panelView) anchorGroup.add(panelView.group);
  ctl.onPin = (cmd) => {
    if (cmd === 'unpin') return panels.unpin();
    // Where the surgeon looks, lifted so the panel's lower edge clears that spot, turned to face them.
    const head = renderer.xr.getCamera().getWorldPosition(new THREE.Vector3());
    const at = reticleHit?.p.clone().add(new THREE.Vector3(0, GAZE_LIFT + PANEL_WIDTH / 2, 0)) ?? null;
    return panels.pin(at ? { p: [at.x, at.y, at.z], q: facingYaw(at, head) } : null);
  };

  // ---- the headset's input ------------------------------------------------------------------
  xr.addEventListener('selectstart', (e) => ctl.pressStart(e.inputSource));
  xr.addEventListener('selectend', (e) => {
    if (!ctl.pressEnd(e.inputSource) || !reticleHit) return;
    const viewer = renderer.xr.getCamera().getWorldPosition(new THREE.Vector3());
    const p = reticleHit.p;
    void ctl.place({ p: [p.x, p.y, p.z], q: facingYaw(p, viewer) });
  });
  xr.addEventListener('squeeze', () => void command('repeat'));
  const viewerSpacePromise = xr.requestReferenceSpace('viewer');
  void viewerSpacePromise
    .then((space) => xr.requestHitTestSource?.({ space }))
    .then((source) => (hitTestSource = source ?? null))
    .catch(() => (hitTestSource = null));
  // Voice starts in the background: the view must not wait on the recogniser.
  void listenForCommands((cmd) => void command(cmd)).then((v) => ctl.voiceReady(v));

  // ---- the patient frame as a WebXR anchor (drift correction: SurgeonController decides) -------
  const trackAnchor = (frame: XRFrame, refSpace: XRReferenceSpace | null) => {
    if (!refSpace) return;
    const req = ctl.takeAnchorRequest();
    if (req && typeof frame.createAnchor === 'function') {
      const { p, q } = req.pose;
      frame
        .createAnchor(new XRRigidTransform({ x: p[0], y: p[1], z: p[2] }, { x: q[0], y: q[1], z: q[2], w: q[3] }), refSpace)
        ?.then((anchor) => ctl.anchorCreated(anchor, req))
        .catch(() => {}); // no anchor: the registered pose stands
    }
    const anchor = ctl.anchor;
    if (!anchor || !ctl.anchorCurrent()) return;
    if (frame.trackedAnchors && !frame.trackedAnchors.has(anchor)) return; // tracking lost for now: keep the last pose
    let pose: XRPose | undefined;
    try {
      pose = frame.getPose(anchor.anchorSpace, refSpace);
    } catch {
      return ctl.dropAnchor();
    }
    if (!pose) return;
    const t = pose.transform;
    ctl.anchorAt({ p: [t.position.x, t.position.y, t.position.z], q: [t.orientation.x, t.orientation.y, t.orientation.z, t.orientation.w] });
  };

  // ---- the surgeon's pose, like the VR and desktop views ------------------------------------
  const poseOf = (space: XRSpace | undefined, frame: XRFrame, refSpace: XRReferenceSpace) => {
    const pose = space ? frame.getPose(space, refSpace) : undefined;
    if (!pose) return null;
    const { position: p, orientation: q } = pose.transform;
    return { p: [p.x, p.y, p.z] as Vec3, q: [q.x, q.y, q.z, q.w] as Quat };
  };
  const sendPose = (frame: XRFrame, refSpace: XRReferenceSpace | null) => {
    if (!refSpace || !ctl.poseDue()) return;
    const head = frame.getViewerPose(refSpace);
    if (!head) return;
    const { position: p, orientation: q } = head.transform;
    // A controller's grip, or a tracked hand's (its grip space where the runtime has one, else its ray).
    const hand = (side: XRHandedness) => {
      const source = [...xr.inputSources].find((s) => s.handedness === side);
      return source ? poseOf(source.gripSpace ?? source.targetRaySpace, frame, refSpace) : null;
    };
    ctl.sendPose({ head: { p: [p.x, p.y, p.z], q: [q.x, q.y, q.z, q.w] }, left: hand('left'), right: hand('right') });
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
      view.update(obj, id === focusId, now, ctl.flashUntil(id), clock);
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

  const updateHud = () => {
    const cam = renderer.xr.getCamera();
    cam.getWorldPosition(hud.position);
    cam.getWorldQuaternion(hud.quaternion);
    banner.setText(ctl.banner);
    const line = ctl.statusLine();
    statusLine.setText(line.text, { background: line.alarm ? 'rgba(190,20,20,0.92)' : undefined });
  };

  const loop = (_time: number, frame?: XRFrame) => {
    if (!frame) return; // only the headset's frames: nothing is drawn to the page
    ctl.frame();
    const now = performance.now();
    const a = session.guidance.anchor();
    anchorGroup.position.set(a.p[0], a.p[1], a.p[2]);
    anchorGroup.quaternion.set(a.q[0], a.q[1], a.q[2], a.q[3]).normalize();
    anchorGroup.visible = a.version > 0;
    updateReticle(frame);
    reticle.visible = ctl.reticleVisible;
    const clock = guidanceClock();
    syncAnnotations(now, clock);
    syncPointers();
    panelView?.sync(panels.shown());
    for (const source of xr.inputSources) for (const cmd of edges.pressed(source.handedness, source.gamepad)) void command(cmd);
    updateHud();
    videoHud.sync(session.state.objects?.entries() ?? [], session.guidance.focus()?.id ?? '', ctl.linkWarned, now, ctl.flash, clock);
    const refSpace = renderer.xr.getReferenceSpace();
    sendPose(frame, refSpace);
    trackAnchor(frame, refSpace);
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
    anchorTracking: () => (ctl.anchor ? 'xr-anchor' : 'pose-only'),
    xrAnchor: () => ctl.anchor,
    driftCorrections: () => ctl.driftCorrections,
    posesSent: () => ctl.posesSent,
    banner: () => banner.current,
    status: () => statusLine.current,
    voice: () => ctl.voice.status,
    frameMs: () => ctl.frameMs,
    slicePanel: () => (panelView ? { ...panelView.describe(), mayPin: panels.mayPin } : null),
  };
  const hooks = window as unknown as { __surgeonAr?: SurgeonArView };
  hooks.__surgeonAr = view;

  // ---- teardown -----------------------------------------------------------------------------------
  xr.addEventListener('end', () => {
    renderer.setAnimationLoop(null);
    ctl.end();
    hitTestSource?.cancel();
    for (const v of annotations.values()) v.dispose();
    for (const m of pointers.values()) m.dispose();
    videoHud.dispose();
    panelView?.dispose();
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
