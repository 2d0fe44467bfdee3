import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import type { ClinicSession } from '../../sdk/session.ts';
import type { SceneObjectState } from '../../../../shared/src/state.ts';
import { Avatar } from './avatars.ts';
import { sizeTag, textSprite } from './labels.ts';
import { createModel, pin } from './models.ts';
import { HIDDEN_REASON, textHidden } from '../scene-list.ts';

export type Tool = 'move' | 'draw' | 'laser';

/** A stroke is picked only when the cursor is this close to it on screen. */
export const STROKE_PICK_PX = 6;
/** Seats around the table, in the order they are taken: across first, then the sides, so the first four see each other. */
const SEAT_ORDER = [0, 4, 2, 6, 1, 5, 3, 7].map((i) => (i / 8) * Math.PI * 2);
/** How long a newcomer waits for the others' poses before choosing a seat anyway. */
const SEATING_WAIT_MS = 1500;
const SEAT_RADIUS = 1.9;
/**
 * A replay's viewers watch from a gallery: a wider ring, between the seats the recorded
 * participants took (theirs were the ordinary ones), so nobody stands inside a ghost.
 */
const GALLERY = { radius: 2.5, offset: Math.PI / 8 };
/**
 * While following, the follower's eye sits this far behind and above the presenter's — never inside
 * their head — and within NEAR_HIDE_METRES, so presenter and follower do not see each other's avatar.
 */
const FOLLOW_OFFSET = new THREE.Vector3(0, 0.1, 0.55);
/** The orbit's centre: above the middle of the table. */
const TABLE_CENTRE = new THREE.Vector3(0, 1.1, 0);
/** The camera stays this far above the table top (0.92 m): never under the table. */
const MIN_EYE_Y = 1.0;
/** A stroke begun this close to a model (its bounding sphere grown by this factor) is drawn at the model, not on the table behind it. */
const NEAR_MODEL = 1.6;

/**
 * The 3D clinic: renders the synced scene and avatars, sends this user's pose
 * (camera on desktop; headset and controllers in WebXR), and turns mouse or
 * controller input into grab / move / release, strokes and the laser pointer.
 */
export class World {
  readonly available: boolean;
  tool: Tool = 'move';
  followPresenter = false;
  onSelect: (id: string | null) => void = () => {};

  private renderer: THREE.WebGLRenderer | null = null;
  private readonly scene = new THREE.Scene();
  private readonly camera = new THREE.PerspectiveCamera(70, 1, 0.01, 100);
  private controls: OrbitControls | null = null;
  private readonly objects = new Map<string, THREE.Object3D>();
  /** The table: with the models, the only surfaces one draws or points on (never avatars or name tags). */
  private table!: THREE.Mesh;
  /** What lies on the table besides the synced objects (the imaging volume): pointed and drawn on like the table. */
  private readonly onTable: THREE.Object3D[] = [];
  private readonly avatars = new Map<string, Avatar>();
  /** A replay's recorded participants, drawn as ghosts at the replay's position (see showReplay). */
  private readonly ghosts = new Map<string, { avatar: Avatar; label: string }>();
  private replayPosition: (() => number) | null = null;
  private readonly raycaster = new THREE.Raycaster();
  private dragging: { id: string; plane: THREE.Plane; offset: THREE.Vector3; lastSent: number } | null = null;
  private stroke: THREE.Vector3[] | null = null;
  /** Where the stroke being drawn lies: on a model (its surface, else a plane through it facing the camera), or the table. */
  private strokeOn: { model: THREE.Object3D; plane: THREE.Plane } | null = null;
  private readonly seats: number[];
  private readonly seatRadius: number;
  private mySeat: number;
  private strokeLine: THREE.Line | null = null;
  private lastPoseSent = 0;
  private seated = false;
  private seatingSince: number | undefined;
  private lastPointerSent = 0;
  private readonly controllers: THREE.Group[] = [];
  private readonly unsubscribe: (() => void)[] = [];
  private resizeObserver: ResizeObserver | null = null;
  private pointerTarget: THREE.Vector3 | null = null;
  private readonly myLaser = new THREE.Line(new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(), new THREE.Vector3()]), new THREE.LineBasicMaterial({ color: 0xff3030 }));
  private readonly myLaserDot = new THREE.Mesh(new THREE.SphereGeometry(0.014, 10, 8), new THREE.MeshBasicMaterial({ color: 0xff3030 }));
  private wasFollowing = false;

  constructor(
    private readonly container: HTMLElement,
    private readonly session: ClinicSession,
    private readonly canEdit: boolean,
  ) {
    const gallery = session.state.info?.kind === 'replay';
    this.seats = gallery ? SEAT_ORDER.map((a) => a + GALLERY.offset) : SEAT_ORDER;
    this.seatRadius = gallery ? GALLERY.radius : SEAT_RADIUS;
    this.mySeat = this.seats[0]!;
    try {
      this.renderer = new THREE.WebGLRenderer({ antialias: true });
    } catch {
      this.renderer = null;
    }
    this.available = this.renderer !== null;
    if (!this.renderer) {
      container.append(Object.assign(document.createElement('p'), { className: 'nowebgl', textContent: '3D view unavailable (no WebGL). The room, case panel and voice still work.' }));
      return;
    }
    const r = this.renderer;
    r.setPixelRatio(Math.min(2, window.devicePixelRatio));
    r.xr.enabled = true;
    container.append(r.domElement);
    r.domElement.setAttribute('aria-label', '3D clinic view');
    this.scene.background = new THREE.Color(0x0a1016);
    this.scene.add(new THREE.HemisphereLight(0xdfefff, 0x202830, 1.1));
    const sun = new THREE.DirectionalLight(0xffffff, 1.2);
    sun.position.set(2, 4, 3);
    this.scene.add(sun);
    const grid = new THREE.GridHelper(10, 20, 0x2d4052, 0x1b2733);
    this.scene.add(grid);
    const table = new THREE.Mesh(new THREE.CylinderGeometry(0.9, 0.9, 0.04, 48), new THREE.MeshStandardMaterial({ color: 0x2a3a4a }));
    table.position.y = 0.9;
    table.name = 'table';
    this.scene.add(table);
    this.table = table;
    // Each participant takes the first free seat: across the table from the first, then the sides
    // (once the others' poses are in: see takeSeat).
    this.sitAt(this.seats[0]!);
    this.myLaser.visible = this.myLaserDot.visible = false;
    this.myLaser.frustumCulled = false;
    this.scene.add(this.myLaser, this.myLaserDot);
    this.controls = new OrbitControls(this.camera, r.domElement);
    this.controls.target.copy(TABLE_CENTRE);
    // Orbit from above the table's edge at most (never from under it), and not so far the table is lost.
    this.controls.maxPolarAngle = THREE.MathUtils.degToRad(84);
    this.controls.minDistance = 0.3;
    this.controls.maxDistance = 6;
    this.controls.addEventListener('change', () => this.keepAboveTable());
    this.controls.update();

    for (let i = 0; i < 2; i++) {
      const c = r.xr.getController(i);
      c.add(new THREE.Line(new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(), new THREE.Vector3(0, 0, -1)]), new THREE.LineBasicMaterial({ color: 0x6cb6ff })));
      this.scene.add(c);
      this.controllers.push(c);
    }

    this.bindState();
    this.bindInput(r.domElement);
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
    this.resize();
    r.setAnimationLoop((t) => this.frame(t));
  }

  private sitAt(seat: number): void {
    this.mySeat = seat;
    this.camera.position.set(Math.sin(seat) * this.seatRadius, 1.6, Math.cos(seat) * this.seatRadius);
    this.camera.lookAt(TABLE_CENTRE);
    this.controls?.target.copy(TABLE_CENTRE);
    this.controls?.update();
  }

  /** Back to one's seat, looking at the middle of the table ("Reset view"). */
  resetView(): void {
    this.followPresenter = false;
    this.sitAt(this.mySeat);
  }

  /** Panning can lower the orbit's centre and with it the eye: keep both above the table top. */
  private keepAboveTable(): void {
    if (!this.controls) return;
    if (this.controls.target.y < MIN_EYE_Y) this.controls.target.y = MIN_EYE_Y;
    if (this.camera.position.y < MIN_EYE_Y) this.camera.position.y = MIN_EYE_Y;
  }

  /** Test hook: the camera's height and the orbit centre. */
  view(): { eye: [number, number, number]; target: [number, number, number] } {
    const t = this.controls?.target ?? TABLE_CENTRE;
    return { eye: [this.camera.position.x, this.camera.position.y, this.camera.position.z], target: [t.x, t.y, t.z] };
  }

  /**
   * Take the first free seat once everyone's pose has arrived (a keyframe right
   * after joining), or after SEATING_WAIT_MS; my pose is not sent before, so
   * nobody else mistakes the provisional seat for mine.
   */
  private takeSeat(time: number): boolean {
    if (this.seated) return true;
    this.seatingSince ??= time;
    let waiting = false;
    this.session.state.participants?.forEach((p, sid) => {
      if (sid !== this.session.sessionId && p.connected && !this.session.avatarPose(p, { interpolate: false })) waiting = true;
    });
    if (waiting && time - this.seatingSince < SEATING_WAIT_MS) return false;
    this.sitAt(this.freeSeat());
    this.seated = true;
    return true;
  }

  /** The first seat (SEAT_ORDER, or the gallery's in a replay) with nobody's head within ~20° of it. */
  private freeSeat(): number {
    const taken: number[] = [];
    this.session.state.participants?.forEach((p, sid) => {
      if (sid === this.session.sessionId || !p.connected) return;
      const pose = this.session.avatarPose(p, { interpolate: false });
      if (!pose) return;
      const [x, , z] = pose.head.p;
      if (Math.hypot(x, z) > 0.5) taken.push(Math.atan2(x, z));
    });
    const gap = (a: number, b: number) => Math.abs(Math.atan2(Math.sin(a - b), Math.cos(a - b)));
    return this.seats.find((s) => taken.every((t) => gap(s, t) > 0.35)) ?? this.seats[taken.length % this.seats.length]!;
  }

  // ---- state → scene ---------------------------------------------------------------

  private bindState(): void {
    const s = this.session;
    this.unsubscribe.push(
      s.onObjectAdd((o, id) => {
        this.addObject(id, o);
        this.unsubscribe.push(s.onObjectChange(o, () => {
          this.placeObject(id, o);
          this.tagObject(id, o); // the text may arrive (access widened) or leave (narrowed)
        }));
      }),
      s.onObjectRemove((_o, id) => {
        const obj = this.objects.get(id);
        if (obj) this.scene.remove(obj);
        this.objects.delete(id);
      }),
      s.onParticipantJoin((p, sid) => {
        if (sid === s.sessionId) return;
        const a = new Avatar(sid, p.name, p.role);
        this.avatars.set(sid, a);
        this.scene.add(a.root);
      }),
      s.onParticipantLeave((_p, sid) => {
        const a = this.avatars.get(sid);
        if (a) this.scene.remove(a.root);
        this.avatars.delete(sid);
      }),
    );
  }

  private addObject(id: string, o: SceneObjectState): void {
    if (o.frame === 'slice') return; // marks on an image slice live in the slice viewer, not on the table
    let obj: THREE.Object3D;
    if (o.kind === 'stroke') {
      const nums = o.points.split(',').map(Number);
      const pts: THREE.Vector3[] = [];
      for (let i = 0; i + 2 < nums.length; i += 3) pts.push(new THREE.Vector3(nums[i], nums[i + 1], nums[i + 2]));
      obj = new THREE.Line(new THREE.BufferGeometry().setFromPoints(pts), new THREE.LineBasicMaterial({ color: o.color || '#f5c542' }));
    } else if (o.kind === 'label' || o.kind === 'marker') {
      obj = pin(o.color || '#f5c542');
    } else {
      obj = createModel(o.asset);
    }
    obj.userData['objectId'] = id;
    obj.userData['kind'] = o.kind;
    this.objects.set(id, obj);
    this.scene.add(obj);
    this.placeObject(id, o);
    this.tagObject(id, o);
  }

  /** A pin's text above it; where the text is not for this viewer, a grey placeholder says whose it is and why. */
  private tagObject(id: string, o: SceneObjectState): void {
    const obj = this.objects.get(id);
    if (!obj || (o.kind !== 'label' && o.kind !== 'marker')) return;
    const hidden = textHidden(o);
    const text = hidden ? `Note by ${this.nameOf(o.createdBy)} — ${HIDDEN_REASON}` : o.label ?? '';
    const old = obj.children.find((c) => c.userData['tag'] !== undefined);
    if (old?.userData['tag'] === text) return;
    if (old) obj.remove(old);
    if (!text) return;
    const tag = hidden ? textSprite(text, '#c8d2dc', 'rgba(40,48,58,0.85)') : textSprite(text, '#ffe9a8');
    tag.userData['tag'] = text;
    tag.position.y = 0.12;
    obj.add(tag);
  }

  private nameOf(userId: string): string {
    for (const p of this.session.state.participants.values()) if (p.userId === userId) return p.name;
    return userId || 'someone';
  }

  private placeObject(id: string, o: SceneObjectState): void {
    const obj = this.objects.get(id);
    if (!obj) return;
    obj.position.set(o.px, o.py, o.pz);
    obj.quaternion.set(o.qx, o.qy, o.qz, o.qw);
    obj.scale.set(o.sx, o.sy, o.sz);
  }

  // ---- input -------------------------------------------------------------------------

  private ndc(e: PointerEvent): THREE.Vector2 {
    const rect = this.renderer!.domElement.getBoundingClientRect();
    return new THREE.Vector2(((e.clientX - rect.left) / rect.width) * 2 - 1, -((e.clientY - rect.top) / rect.height) * 2 + 1);
  }

  /**
   * The scene object under the cursor. Solid models are hit by their surface; strokes (thin lines)
   * only when the cursor is within STROKE_PICK_PX pixels of them on screen — three.js' line threshold
   * is in world units (1 m by default), which made a stroke grab every click near it.
   */
  private pick(e: PointerEvent): { id: string; point: THREE.Vector3 } | null {
    const ndc = this.ndc(e);
    this.raycaster.setFromCamera(ndc, this.camera);
    this.raycaster.params.Line = { threshold: 0.2 }; // coarse pass, refined in pixels below
    const rect = this.renderer!.domElement.getBoundingClientRect();
    const hits = this.raycaster.intersectObjects([...this.objects.values()], true);
    for (const hit of hits) {
      let o: THREE.Object3D | null = hit.object;
      while (o && o.userData['objectId'] === undefined) o = o.parent;
      if (!o) continue;
      if (hit.object instanceof THREE.Line) {
        const onLine = (hit as THREE.Intersection & { pointOnLine?: THREE.Vector3 }).pointOnLine ?? hit.point;
        const s = onLine.clone().project(this.camera);
        const px = Math.hypot(((s.x - ndc.x) * rect.width) / 2, ((s.y - ndc.y) * rect.height) / 2);
        if (px > STROKE_PICK_PX) continue;
        return { id: String(o.userData['objectId']), point: onLine.clone() };
      }
      return { id: String(o.userData['objectId']), point: hit.point };
    }
    return null;
  }

  /** The scene's solid models (not strokes, pins' tags or avatars). */
  private models(): THREE.Object3D[] {
    return [...this.objects.values()].filter((o) => !(o instanceof THREE.Line));
  }

  /**
   * Where a stroke starting here lies. Models come before the table: a stroke begun on a model, or just
   * beside one (a circle drawn around it), is drawn at that model — on its surface where the cursor is on
   * it, else on a plane through it facing the camera — never on the table behind it.
   */
  private strokeSurface(e: PointerEvent): { model: THREE.Object3D; plane: THREE.Plane } | null {
    this.raycaster.setFromCamera(this.ndc(e), this.camera);
    const normal = this.camera.getWorldDirection(new THREE.Vector3()).negate();
    const hit = this.raycaster.intersectObjects(this.models(), true).find((h) => h.object instanceof THREE.Mesh);
    if (hit) {
      let model: THREE.Object3D = hit.object;
      while (model.parent && model.userData['objectId'] === undefined) model = model.parent;
      return { model, plane: new THREE.Plane().setFromNormalAndCoplanarPoint(normal, hit.point) };
    }
    let best: { model: THREE.Object3D; centre: THREE.Vector3; d: number } | null = null;
    for (const model of this.models().filter((m) => m.userData['kind'] === 'model')) {
      const sphere = new THREE.Box3().setFromObject(model).getBoundingSphere(new THREE.Sphere());
      if (sphere.isEmpty()) continue;
      const d = this.raycaster.ray.distanceToPoint(sphere.center);
      if (d < sphere.radius * NEAR_MODEL && (!best || d < best.d)) best = { model, centre: sphere.center, d };
    }
    return best ? { model: best.model, plane: new THREE.Plane().setFromNormalAndCoplanarPoint(normal, best.centre) } : null;
  }

  /** Where the cursor meets a solid surface (models, table), else a point 1.5 m out. Lines and the floor grid are ignored. */
  private surfacePoint(e: PointerEvent): THREE.Vector3 {
    this.raycaster.setFromCamera(this.ndc(e), this.camera);
    if (this.strokeOn) {
      // Drawing on a model: its surface under the cursor, else its plane (off its edge, around it).
      const onModel = this.raycaster.intersectObject(this.strokeOn.model, true).find((h) => h.object instanceof THREE.Mesh);
      if (onModel) return onModel.point;
      const onPlane = this.raycaster.ray.intersectPlane(this.strokeOn.plane, new THREE.Vector3());
      if (onPlane) return onPlane;
    }
    // Only the table and the scene's solid models: avatars (some hidden, near ones) and name tags must not catch a stroke.
    const surfaces = [this.table, ...this.onTable.filter((o) => o.visible), ...this.models()];
    const hit = this.raycaster.intersectObjects(surfaces, true).find((h) => h.object instanceof THREE.Mesh);
    if (hit) return hit.point;
    // Past the table's edge: the table's plane, so a stroke drawn across the table stays at its height.
    const onTablePlane = this.raycaster.ray.intersectPlane(new THREE.Plane(new THREE.Vector3(0, 1, 0), -(this.table.position.y + 0.02)), new THREE.Vector3());
    if (onTablePlane && onTablePlane.distanceTo(this.table.position) < 3) return onTablePlane;
    return this.raycaster.ray.at(1.5, new THREE.Vector3());
  }

  /** Test and accessibility hook: where an object is on screen, in CSS pixels relative to the canvas. */
  screenPositionOf(id: string): { x: number; y: number } | null {
    const obj = this.objects.get(id);
    if (!obj || !this.renderer) return null;
    let c: THREE.Vector3;
    if (obj instanceof THREE.Line) {
      // A stroke: its middle vertex (a bounding box centre may be off the line).
      const pos = obj.geometry.getAttribute('position');
      c = new THREE.Vector3().fromBufferAttribute(pos, Math.floor(pos.count / 2)).applyMatrix4(obj.matrixWorld);
    } else {
      const box = new THREE.Box3().setFromObject(obj);
      c = box.isEmpty() ? obj.getWorldPosition(new THREE.Vector3()) : box.getCenter(new THREE.Vector3());
    }
    c.project(this.camera);
    const rect = this.renderer.domElement.getBoundingClientRect();
    return { x: ((c.x + 1) / 2) * rect.width, y: ((1 - c.y) / 2) * rect.height };
  }

  /** Test hook: which avatars this viewer sees (and whether in the frame), heads, and whether their own laser is drawn. */
  visibility(): { avatars: Record<string, boolean>; onScreen: Record<string, boolean>; heads: Record<string, [number, number, number]>; ownLaser: boolean; camera: [number, number, number] } {
    const avatars: Record<string, boolean> = {};
    const onScreen: Record<string, boolean> = {};
    const heads: Record<string, [number, number, number]> = {};
    this.camera.updateMatrixWorld();
    for (const [sid, a] of this.avatars) {
      avatars[sid] = a.headShown;
      const p = a.headPosition.clone();
      heads[sid] = [p.x, p.y, p.z];
      const ndc = p.project(this.camera);
      onScreen[sid] = a.headShown && Math.abs(ndc.x) <= 1 && Math.abs(ndc.y) <= 1 && ndc.z < 1;
    }
    return { avatars, onScreen, heads, ownLaser: this.myLaser.visible, camera: [this.camera.position.x, this.camera.position.y, this.camera.position.z] };
  }

  /** The largest 3D texture this GPU takes (WebGL2 promises 256); 0 without WebGL. */
  get max3dTexture(): number {
    const gl = this.renderer?.getContext();
    return gl && 'MAX_3D_TEXTURE_SIZE' in gl ? Number(gl.getParameter(gl.MAX_3D_TEXTURE_SIZE)) : 0;
  }

  /** Put something on the table (the imaging volume): drawn, and a surface for the laser and strokes. */
  addToTable(obj: THREE.Object3D): void {
    this.onTable.push(obj);
    this.scene.add(obj);
  }

  /** Test hook: where a room point (metres) is on screen, in CSS pixels relative to the canvas; null behind the camera. */
  screenPointOf(p: readonly [number, number, number]): { x: number; y: number } | null {
    if (!this.renderer) return null;
    this.camera.updateMatrixWorld();
    const c = new THREE.Vector3(...p).project(this.camera);
    if (c.z > 1) return null;
    const rect = this.renderer.domElement.getBoundingClientRect();
    return { x: ((c.x + 1) / 2) * rect.width, y: ((1 - c.y) / 2) * rect.height };
  }

  /**
   * A replay room: draw the recorded participants (`replay.ghosts`) as ghosts — see-through, tagged
   * "recorded" — each where the recording had them at `positionMs()` (the replay clock), interpolated
   * between the recorded samples. The room's own participants stay ordinary avatars.
   */
  showReplay(positionMs: () => number): void {
    this.replayPosition = positionMs;
  }

  /** Test hook: each ghost (by `replay.ghosts` key): shown or not, its head, its tag. */
  ghostView(): Record<string, { shown: boolean; head: [number, number, number]; label: string }> {
    const out: Record<string, { shown: boolean; head: [number, number, number]; label: string }> = {};
    for (const [key, g] of this.ghosts) {
      const p = g.avatar.headPosition;
      out[key] = { shown: g.avatar.headShown, head: [p.x, p.y, p.z], label: g.label };
    }
    return out;
  }

  /** Ghosts follow `replay.ghosts` (who was in the recorded room at the position), placed at the replay clock. */
  private drawGhosts(viewH: number): void {
    const clock = this.replayPosition;
    if (!clock) return;
    const recorded = this.session.state.replay?.ghosts;
    if (!recorded) return;
    const position = clock();
    for (const [key, g] of this.ghosts) {
      const now = recorded.get(key);
      if (now && `${now.name} · ${now.role}` === g.label) continue;
      this.scene.remove(g.avatar.root);
      this.ghosts.delete(key);
    }
    recorded.forEach((ghost, key) => {
      let g = this.ghosts.get(key);
      if (!g) {
        g = { avatar: new Avatar(key, ghost.name, ghost.role, true), label: `${ghost.name} · ${ghost.role}` };
        this.ghosts.set(key, g);
        this.scene.add(g.avatar.root);
      }
      g.avatar.update(ghost, this.session.ghostPose(key, position));
      g.avatar.tick(this.camera, viewH);
    });
  }

  /** Point the view at a participant (from the participant list). */
  lookAt(sessionId: string): void {
    const a = this.avatars.get(sessionId);
    if (!a || !this.controls) return;
    this.controls.target.copy(a.headPosition);
    this.controls.update();
  }

  private bindInput(el: HTMLCanvasElement): void {
    el.addEventListener('pointerdown', async (e) => {
      if (this.tool === 'draw' && this.canEdit) {
        el.setPointerCapture?.(e.pointerId);
        this.controls!.enabled = false;
        this.strokeOn = this.strokeSurface(e);
        this.stroke = [this.surfacePoint(e)];
        this.strokeLine = new THREE.Line(new THREE.BufferGeometry(), new THREE.LineBasicMaterial({ color: 0xf5c542 }));
        this.scene.add(this.strokeLine);
        return;
      }
      if (this.tool !== 'move') return;
      const hit = this.pick(e);
      this.onSelect(hit?.id ?? null);
      if (!hit || !this.canEdit) return;
      const obj = this.objects.get(hit.id)!;
      el.setPointerCapture?.(e.pointerId);
      const plane = new THREE.Plane(new THREE.Vector3(0, 1, 0), -obj.position.y);
      this.dragging = { id: hit.id, plane, offset: obj.position.clone().sub(hit.point), lastSent: 0 };
      this.controls!.enabled = false;
      const reply = await this.session.grab(hit.id);
      if (!reply.ok) this.dragging = null;
    });
    el.addEventListener('pointermove', (e) => {
      if (this.tool === 'laser') {
        const now = performance.now();
        if (now - this.lastPointerSent > 66) {
          this.lastPointerSent = now;
          const p = this.surfacePoint(e);
          this.pointerTarget = p;
          this.session.room.send('pointer.update', { target: [p.x, p.y, p.z] });
        }
      }
      if (this.stroke && this.strokeLine) {
        const p = this.surfacePoint(e);
        if (p.distanceTo(this.stroke[this.stroke.length - 1]!) > 0.01 && this.stroke.length < 300) {
          this.stroke.push(p);
          this.strokeLine.geometry.setFromPoints(this.stroke);
        }
      }
      if (!this.dragging) return;
      this.raycaster.setFromCamera(this.ndc(e), this.camera);
      const at = this.raycaster.ray.intersectPlane(this.dragging.plane, new THREE.Vector3());
      if (!at) return;
      const obj = this.objects.get(this.dragging.id)!;
      obj.position.copy(at.add(this.dragging.offset));
      const now = performance.now();
      if (now - this.dragging.lastSent > 50) {
        this.dragging.lastSent = now;
        this.session.move(this.dragging.id, this.transformOf(obj));
      }
    });
    const end = async () => {
      this.controls!.enabled = true;
      if (this.stroke && this.strokeLine) {
        const pts = this.stroke;
        this.scene.remove(this.strokeLine);
        this.stroke = null;
        this.strokeLine = null;
        this.strokeOn = null;
        if (pts.length >= 2) {
          const origin = pts[0]!;
          await this.session.add({
            kind: 'stroke',
            asset: 'builtin:pin',
            color: '#f5c542',
            // In a guidance room this view's space is the patient frame (as the laser pointer's is): the
            // surgeon's headset anchors the stroke on the patient, not in its own world.
            ...(this.session.state.info.kind === 'surgical-guidance' ? { frame: 'patient' as const } : {}),
            points: pts.flatMap((p) => [p.x - origin.x, p.y - origin.y, p.z - origin.z]),
            transform: { position: [origin.x, origin.y, origin.z], rotation: [0, 0, 0, 1] },
          });
        }
      }
      if (!this.dragging) return;
      const { id } = this.dragging;
      this.dragging = null;
      await this.session.release(id, this.transformOf(this.objects.get(id)!));
    };
    el.addEventListener('pointerup', () => void end());
    el.addEventListener('pointercancel', () => void end());
  }

  setTool(tool: Tool): void {
    if (this.tool === 'laser' && tool !== 'laser') {
      this.session.room.send('pointer.update', { target: null });
      this.pointerTarget = null;
    }
    this.tool = tool;
    if (this.renderer) this.renderer.domElement.style.cursor = tool === 'draw' ? 'crosshair' : tool === 'laser' ? 'pointer' : 'grab';
  }

  private transformOf(obj: THREE.Object3D) {
    return {
      position: [obj.position.x, obj.position.y, obj.position.z] as [number, number, number],
      rotation: [obj.quaternion.x, obj.quaternion.y, obj.quaternion.z, obj.quaternion.w] as [number, number, number, number],
      scale: [obj.scale.x, obj.scale.y, obj.scale.z] as [number, number, number],
    };
  }

  // ---- XR -------------------------------------------------------------------------------

  async enterXR(mode: 'immersive-vr' | 'immersive-ar'): Promise<void> {
    if (!this.renderer || !navigator.xr) throw new Error('WebXR is not available in this browser');
    const session = await navigator.xr.requestSession(mode, { optionalFeatures: ['local-floor', 'hand-tracking'] });
    this.renderer.xr.setReferenceSpaceType('local-floor');
    if (mode === 'immersive-ar') this.scene.background = null;
    session.addEventListener('end', () => (this.scene.background = new THREE.Color(0x0a1016)));
    await this.renderer.xr.setSession(session);
  }

  // ---- loop -----------------------------------------------------------------------------

  private frame(time: number): void {
    const r = this.renderer!;
    const s = this.session;
    s.state.participants?.forEach((p, sid) => this.avatars.get(sid)?.update(p, s.avatarPose(p)));
    const viewH = r.domElement.clientHeight || 500;
    for (const a of this.avatars.values()) a.tick(this.camera, viewH);
    this.drawGhosts(viewH);
    for (const obj of this.objects.values()) obj.children.forEach((c) => c instanceof THREE.Sprite && sizeTag(c, this.camera, viewH, 18));

    // Following: sit a little behind and above the presenter's eye, looking where they look (never inside their head).
    const presenter = s.state.info?.presenter;
    const following = this.followPresenter && !!presenter && presenter !== s.sessionId && !r.xr.isPresenting && this.avatars.has(presenter);
    if (following) {
      const a = this.avatars.get(presenter)!;
      const eye = FOLLOW_OFFSET.clone().applyQuaternion(a.headQuaternion).add(a.headPosition);
      if (!this.wasFollowing) {
        // Jump to the parking spot: gliding there from across the table would pass through the presenter's head.
        this.camera.position.copy(eye);
        this.camera.quaternion.copy(a.headQuaternion);
      } else {
        this.camera.position.lerp(eye, 0.2);
        this.camera.quaternion.slerp(a.headQuaternion, 0.2);
      }
    } else {
      if (this.wasFollowing && this.controls) {
        // Hand the view back to orbiting around the point the presenter was looking at.
        this.controls.target.copy(new THREE.Vector3(0, 0, -1.6).applyQuaternion(this.camera.quaternion).add(this.camera.position));
      }
      this.controls?.update();
    }
    this.wasFollowing = following;

    // My own laser: the beam from just below my eye to where I point, as the others see it.
    const showLaser = this.tool === 'laser' && this.pointerTarget !== null;
    this.myLaser.visible = this.myLaserDot.visible = showLaser;
    if (showLaser) {
      const from = new THREE.Vector3(0.12, -0.18, -0.3).applyQuaternion(this.camera.quaternion).add(this.camera.position);
      (this.myLaser.geometry as THREE.BufferGeometry).setFromPoints([from, this.pointerTarget!]);
      this.myLaserDot.position.copy(this.pointerTarget!);
    }

    // Send my pose at 30 Hz (the SDK coalesces anything faster): the XR camera and controllers in a headset, the view camera otherwise.
    if (this.takeSeat(time) && time - this.lastPoseSent > 1000 / 30) {
      this.lastPoseSent = time;
      const cam = r.xr.isPresenting ? r.xr.getCamera() : this.camera;
      const pos = cam.getWorldPosition(new THREE.Vector3());
      const q = cam.getWorldQuaternion(new THREE.Quaternion());
      const hand = (c: THREE.Group | undefined) => {
        if (!r.xr.isPresenting || !c) return null;
        const p = c.getWorldPosition(new THREE.Vector3());
        const cq = c.getWorldQuaternion(new THREE.Quaternion());
        return { p: [p.x, p.y, p.z] as [number, number, number], q: [cq.x, cq.y, cq.z, cq.w] as [number, number, number, number] };
      };
      if (s.status === 'connected') s.sendPose({ head: { p: [pos.x, pos.y, pos.z], q: [q.x, q.y, q.z, q.w] }, left: hand(this.controllers[0]), right: hand(this.controllers[1]) });
    }
    r.render(this.scene, this.camera);
  }

  /** Where a participant's head is, for spatial audio. */
  headOf(userId: string): THREE.Vector3 | null {
    for (const [sid, p] of this.session.state.participants.entries()) {
      const pose = p.userId === userId && sid !== this.session.sessionId ? this.session.avatarPose(p) : null;
      if (pose) return new THREE.Vector3(...pose.head.p);
    }
    return null;
  }

  get listener(): { position: THREE.Vector3; quaternion: THREE.Quaternion } {
    return { position: this.camera.position, quaternion: this.camera.quaternion };
  }

  private resize(): void {
    if (!this.renderer) return;
    const w = this.container.clientWidth || 800;
    const hgt = this.container.clientHeight || 500;
    this.renderer.setSize(w, hgt, false);
    this.camera.aspect = w / hgt;
    this.camera.updateProjectionMatrix();
  }

  dispose(): void {
    this.unsubscribe.forEach((u) => u());
    this.resizeObserver?.disconnect();
    this.renderer?.setAnimationLoop(null);
    this.renderer?.dispose();
  }
}
