import * as THREE from 'three';
import { acknowledgementText, annotationAgeMs, type Acknowledger } from '../../../../shared/src/guidance.ts';
import type { SceneObjectState } from '../../../../shared/src/state.ts';
import { TextSprite } from './text-sprite.ts';

/** At most this many points are drawn per annotation (the server accepts 300). */
const MAX_POINTS = 300;
const FOCUS_COLOR = 0xffe14d;
const DEFAULT_COLOR = 0x4dd2ff;

/** "x,y,z,…" → points; anything malformed (NaN, a partial triple) yields no points rather than a crash. */
export function parsePoints(text: string): THREE.Vector3[] {
  if (!text) return [];
  const n = text.split(',', MAX_POINTS * 3 + 1).map(Number);
  if (n.length % 3 !== 0 || !n.every(Number.isFinite)) return [];
  const out: THREE.Vector3[] = [];
  for (let i = 0; i + 2 < n.length && out.length < MAX_POINTS; i += 3) out.push(new THREE.Vector3(n[i], n[i + 1], n[i + 2]));
  return out;
}

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ago` : `${Math.floor(m / 60)} h ${m % 60} min ago`;
}

function colorOf(text: string): number {
  return /^#[0-9a-f]{6}$/i.test(text) ? Number.parseInt(text.slice(1), 16) : DEFAULT_COLOR;
}

/** What a frame needs to tell an annotation's age and acknowledgement truthfully. */
export interface GuidanceClock {
  /** The server's clock as this client estimates it (annotations' `sentAt` is the server's time). */
  serverNow: number;
  /** Who a recorded `ackedBy` is (undefined once they have left). */
  who: (userId: string) => Acknowledger | undefined;
}

/** "12 s ago", "12 s ago · in focus", "12 s ago · Seen by Dr. Cut (surgeon)" / "… · Acknowledged by Dr. Adams (host)". */
export function ageLine(obj: SceneObjectState, focused: boolean, clock: GuidanceClock): string {
  const age = obj.sentAt > 0 ? formatAge(annotationAgeMs(obj.sentAt, clock.serverNow)) : 'age unknown';
  const acked = acknowledgementText({ ackedAt: obj.ackedAt, ackedBy: obj.ackedBy, dismissed: false }, clock.who(obj.ackedBy));
  return acked ? `${age} · ${acked}` : focused ? `${age} · in focus` : age;
}

/**
 * One patient-frame annotation as the surgeon sees it: a stroke (tube), a
 * marker (pin), an arrow (shaft and head) or a label, with its text and its
 * age and who acknowledged it ("12 s ago · Seen by Dr. Cut (surgeon)"). Placed inside the anchor group, so the patient
 * frame's transform (fromPatientFrame) is applied by the parent.
 */
export class AnnotationView {
  readonly group = new THREE.Group();
  private readonly body = new THREE.Group();
  private readonly material: THREE.MeshBasicMaterial;
  private readonly baseColor: number;
  private readonly label: TextSprite | null;
  private readonly age = new TextSprite({ color: '#e8f4ff', background: 'rgba(10,16,22,0.75)', height: 0.02 });
  /** kind|points|label|color: a change of any of them rebuilds the view. */
  readonly key: string;
  /** Where the annotation points (arrow head, pin tip, stroke start), in its own frame. */
  readonly tip = new THREE.Vector3();
  focused = false;

  constructor(readonly id: string, obj: SceneObjectState) {
    this.key = AnnotationView.keyOf(obj);
    this.baseColor = colorOf(obj.color);
    this.material = new THREE.MeshBasicMaterial({ color: this.baseColor });
    const pts = parsePoints(obj.points);
    this.build(obj.kind, pts);
    this.group.add(this.body);
    const labelText = obj.label || (obj.kind === 'label' ? '(label)' : '');
    this.label = labelText ? new TextSprite({ color: '#ffffff', background: 'rgba(20,60,90,0.85)', height: 0.028, maxLines: 2 }) : null;
    if (this.label) {
      this.label.setText(labelText);
      this.label.sprite.position.copy(this.tip).add(new THREE.Vector3(0, obj.kind === 'label' ? 0.03 : 0.06, 0));
      this.group.add(this.label.sprite);
    }
    this.age.sprite.position.copy(this.tip).add(new THREE.Vector3(0, this.label ? (obj.kind === 'label' ? 0.085 : 0.115) : 0.05, 0));
    this.group.add(this.age.sprite);
    this.group.name = `annotation:${id}`;
  }

  static keyOf(obj: SceneObjectState): string {
    return `${obj.kind}|${obj.points}|${obj.label}|${obj.color}`;
  }

  private build(kind: string, pts: THREE.Vector3[]): void {
    if (kind === 'arrow') {
      const tail = pts[0] ?? new THREE.Vector3(0, 0.06, 0);
      const head = pts[pts.length - 1] ?? new THREE.Vector3(0, 0, 0);
      const dir = head.clone().sub(tail);
      const len = dir.length() || 0.06;
      if (dir.lengthSq() === 0) dir.set(0, -1, 0);
      dir.normalize();
      const headLen = Math.min(0.02, len * 0.4);
      const shaft = new THREE.Mesh(new THREE.CylinderGeometry(0.002, 0.002, len - headLen, 8), this.material);
      shaft.position.copy(tail).addScaledVector(dir, (len - headLen) / 2);
      shaft.quaternion.setFromUnitVectors(new THREE.Vector3(0, 1, 0), dir);
      const cone = new THREE.Mesh(new THREE.ConeGeometry(0.007, headLen, 12), this.material);
      cone.position.copy(head).addScaledVector(dir, -headLen / 2);
      cone.quaternion.setFromUnitVectors(new THREE.Vector3(0, 1, 0), dir);
      this.body.add(shaft, cone);
      this.tip.copy(head);
    } else if (kind === 'stroke' && pts.length >= 2) {
      const curve = new THREE.CatmullRomCurve3(pts);
      this.body.add(new THREE.Mesh(new THREE.TubeGeometry(curve, Math.min(600, pts.length * 4), 0.0025, 6), this.material));
      this.tip.copy(pts[0]!);
    } else {
      // marker, label, or a stroke without usable points: a pin whose tip is at the annotation's origin.
      const tip = pts[0] ?? new THREE.Vector3();
      const head = new THREE.Mesh(new THREE.SphereGeometry(kind === 'label' ? 0.004 : 0.008, 16, 12), this.material);
      head.position.copy(tip).add(new THREE.Vector3(0, kind === 'label' ? 0 : 0.03, 0));
      this.body.add(head);
      if (kind !== 'label') {
        const needle = new THREE.Mesh(new THREE.ConeGeometry(0.003, 0.03, 8), this.material);
        needle.position.copy(tip).add(new THREE.Vector3(0, 0.015, 0));
        needle.rotation.x = Math.PI;
        this.body.add(needle);
      }
      this.tip.copy(tip);
    }
  }

  /** Per frame: transform from state, focus highlight (pulsing while `flashUntil` is ahead), age and acknowledgement. */
  update(obj: SceneObjectState, focused: boolean, now: number, flashUntil: number, clock: GuidanceClock): void {
    this.group.position.set(obj.px, obj.py, obj.pz);
    this.group.quaternion.set(obj.qx, obj.qy, obj.qz, obj.qw).normalize();
    this.group.scale.set(obj.sx || 1, obj.sy || 1, obj.sz || 1);
    this.group.visible = !obj.dismissed;
    this.focused = focused;
    this.material.color.setHex(focused ? FOCUS_COLOR : this.baseColor);
    const pulse = now < flashUntil ? 1 + 0.35 * Math.abs(Math.sin(now / 120)) : focused ? 1.25 : 1;
    this.body.scale.setScalar(pulse);
    this.age.setText(ageLine(obj, focused, clock), { background: focused ? 'rgba(120,90,0,0.85)' : 'rgba(10,16,22,0.75)' });
  }

  /** The label as drawn (cleaned, wrapped, cut). */
  labelText(): string {
    return this.label?.current ?? '';
  }

  ageText(): string {
    return this.age.current;
  }

  dispose(): void {
    this.group.traverse((o) => {
      if (o instanceof THREE.Mesh) o.geometry.dispose();
    });
    this.material.dispose();
    this.label?.dispose();
    this.age.dispose();
    this.group.removeFromParent();
  }
}
