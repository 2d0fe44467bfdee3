import * as THREE from 'three';
import type { SceneObjectState } from '../../../../shared/src/state.ts';
import { annotationAgeMs, videoStrokeIsOld } from '../../../../shared/src/guidance.ts';
import { ageLine, parsePoints, type GuidanceClock } from './annotation-view.ts';
import { TextSprite } from './text-sprite.ts';

/**
 * Where the surgeon's camera image sits in their view: a head-locked panel
 * this far ahead, this wide and high (a 16:9 camera with a ≈64° horizontal
 * field of view, about what a headset's passthrough camera captures). A
 * video stroke at (u, v) on the image (0–1, v down) is drawn at
 * ((u − ½)·width, (½ − v)·height, −distance) in the head's frame.
 */
export const VIDEO_HUD = { distance: 0.8, width: 1.0, height: 0.5625 } as const;
/** How old a video stroke may be before it is greyed: shared with the specialist's panel (shared/src/guidance.ts). */
export { VIDEO_STROKE_FRESH_MS } from '../../../../shared/src/guidance.ts';

const COLOR = 0xffd23f;
const FOCUS_COLOR = 0xffffff;
const STALE_COLOR = 0x8a8f96;

/** Normalised image point → head-frame position on the HUD panel. */
export function hudPoint(u: number, v: number): THREE.Vector3 {
  return new THREE.Vector3((u - 0.5) * VIDEO_HUD.width, (0.5 - v) * VIDEO_HUD.height, -VIDEO_HUD.distance);
}

/** One video stroke on the HUD: a thin tube over the image plane and its age ("12 s ago · Seen by Dr. Cut (surgeon)"). */
class VideoStroke {
  readonly group = new THREE.Group();
  private readonly material = new THREE.MeshBasicMaterial({ color: COLOR, depthTest: false, transparent: true });
  private readonly age = new TextSprite({ color: '#e8f4ff', background: 'rgba(10,16,22,0.75)', height: 0.022, onTop: true });
  readonly points: THREE.Vector3[];
  focused = false;
  stale = false;

  constructor(readonly id: string, readonly key: string, obj: SceneObjectState) {
    this.points = parsePoints(obj.points).map((p) => hudPoint(p.x, p.y));
    if (this.points.length >= 2) {
      const curve = new THREE.CatmullRomCurve3(this.points);
      const mesh = new THREE.Mesh(new THREE.TubeGeometry(curve, Math.min(600, this.points.length * 4), 0.0025, 6), this.material);
      mesh.renderOrder = 10;
      this.group.add(mesh);
    }
    const tip = this.points[0] ?? hudPoint(0.5, 0.5);
    this.age.sprite.position.copy(tip).add(new THREE.Vector3(0, 0.03, 0));
    this.group.add(this.age.sprite);
    this.group.name = `video-stroke:${id}`;
  }

  update(obj: SceneObjectState, focused: boolean, linkWarning: boolean, now: number, flashUntil: number, clock: GuidanceClock): void {
    const ageMs = annotationAgeMs(obj.sentAt, clock.serverNow);
    this.focused = focused;
    this.stale = videoStrokeIsOld(ageMs, linkWarning);
    this.group.visible = !obj.dismissed;
    this.material.color.setHex(this.stale ? STALE_COLOR : focused ? FOCUS_COLOR : COLOR);
    this.material.opacity = this.stale ? 0.55 : 1;
    const pulse = now < flashUntil ? 0.5 + 0.5 * Math.abs(Math.sin(now / 120)) : 1;
    if (!this.stale) this.material.opacity = pulse;
    const text = `${this.stale ? '⚠ old frame · ' : ''}${ageLine(obj, focused, clock)}`;
    this.age.setText(text, { background: this.stale ? 'rgba(90,70,20,0.85)' : focused ? 'rgba(120,90,0,0.85)' : 'rgba(10,16,22,0.75)' });
  }

  ageText(): string {
    return this.age.current;
  }

  dispose(): void {
    this.group.traverse((o) => {
      if (o instanceof THREE.Mesh) o.geometry.dispose();
    });
    this.material.dispose();
    this.age.dispose();
    this.group.removeFromParent();
  }
}

/**
 * The video telestration layer of the surgeon's AR view: every `frame: 'video'`
 * stroke, head-locked on a panel that covers what the surgeon's camera sees,
 * inside a faint outline of that panel (shown only while there are strokes).
 */
export class VideoHud {
  readonly group = new THREE.Group();
  private readonly outline: THREE.LineLoop;
  private readonly strokes = new Map<string, VideoStroke>();

  constructor() {
    const c = [hudPoint(0, 0), hudPoint(1, 0), hudPoint(1, 1), hudPoint(0, 1)];
    this.outline = new THREE.LineLoop(new THREE.BufferGeometry().setFromPoints(c), new THREE.LineBasicMaterial({ color: 0x9cc7ff, transparent: true, opacity: 0.35, depthTest: false }));
    this.group.add(this.outline);
    this.group.name = 'video-hud';
  }

  /** Per frame: follow the state (added, changed, removed strokes), focus, staleness, ages. */
  sync(objects: Iterable<[string, SceneObjectState]>, focusId: string, linkWarning: boolean, now: number, flash: { id: string; until: number }, clock: GuidanceClock): void {
    const seen = new Set<string>();
    for (const [id, obj] of objects) {
      if (obj.frame !== 'video' || obj.kind !== 'stroke') continue;
      seen.add(id);
      const key = `${obj.points}|${obj.color}`;
      let view = this.strokes.get(id);
      if (view && view.key !== key) {
        view.dispose();
        view = undefined;
      }
      if (!view) {
        view = new VideoStroke(id, key, obj);
        this.strokes.set(id, view);
        this.group.add(view.group);
      }
      view.update(obj, id === focusId, linkWarning, now, flash.id === id ? flash.until : 0, clock);
    }
    for (const [id, view] of this.strokes) if (!seen.has(id)) (view.dispose(), this.strokes.delete(id));
    this.outline.visible = [...this.strokes.values()].some((s) => s.group.visible);
  }

  /** For tests and diagnostics: each stroke, with its first point in the head frame and in the world. */
  describe(): { id: string; visible: boolean; focused: boolean; stale: boolean; age: string; local: [number, number, number]; world: [number, number, number] }[] {
    return [...this.strokes.values()].map((s) => {
      const p = s.points[0] ?? hudPoint(0.5, 0.5);
      const w = this.group.localToWorld(p.clone());
      return { id: s.id, visible: s.group.visible, focused: s.focused, stale: s.stale, age: s.ageText(), local: [p.x, p.y, p.z], world: [w.x, w.y, w.z] };
    });
  }

  dispose(): void {
    for (const s of this.strokes.values()) s.dispose();
    this.strokes.clear();
    this.outline.geometry.dispose();
    (this.outline.material as THREE.Material).dispose();
    this.group.removeFromParent();
  }
}
