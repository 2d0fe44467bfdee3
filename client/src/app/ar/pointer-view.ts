import * as THREE from 'three';
import { POINTER_MAX_AGE_MS } from '../../../../shared/src/guidance.ts';
import type { PointerView as PointerState } from '../../sdk/guidance.ts';
import { TextSprite } from './text-sprite.ts';

const CURRENT = 0x39ff88;
const STALE = 0x8a8f96;
/** A pointer not refreshed for this long is hidden rather than left greyed on the anatomy forever. */
const HIDE_AFTER_MS = 5000;

/**
 * A guiding participant's relayed pointer in the patient frame: bright
 * green only while `current` (the SDK applies `pointerIsCurrent`), grey and
 * translucent with a "stale" tag otherwise — never drawn as current when it
 * is not. Hidden when its author stopped pointing or it is long stale.
 */
export class PointerMarker {
  readonly mesh: THREE.Mesh<THREE.SphereGeometry, THREE.MeshBasicMaterial>;
  private readonly tag = new TextSprite({ color: '#ffffff', background: 'rgba(10,16,22,0.8)', height: 0.022 });
  /** What the last frame drew: read by the test hooks, so they report what the surgeon sees. */
  shown: { current: boolean; visible: boolean } = { current: false, visible: false };

  constructor(readonly sessionId: string) {
    this.mesh = new THREE.Mesh(new THREE.SphereGeometry(0.009, 20, 14), new THREE.MeshBasicMaterial({ color: STALE, transparent: true }));
    this.mesh.name = `pointer:${sessionId}`;
    this.tag.sprite.position.set(0, 0.03, 0);
    this.mesh.add(this.tag.sprite);
  }

  update(p: PointerState, authorName: string): void {
    const visible = p.target !== null && (p.current || p.ageMs < HIDE_AFTER_MS);
    this.mesh.visible = visible;
    if (p.target) this.mesh.position.set(p.target[0], p.target[1], p.target[2]);
    const m = this.mesh.material;
    m.color.setHex(p.current ? CURRENT : STALE);
    m.opacity = p.current ? 1 : 0.45;
    this.mesh.scale.setScalar(p.current ? 1 : 0.8);
    const who = authorName || 'pointer';
    // Fresh but not current means the link (or the server) flagged it: say so rather than "stale 0.0 s".
    const why = p.ageMs > POINTER_MAX_AGE_MS ? `stale ${(p.ageMs / 1000).toFixed(1)} s` : 'not live';
    this.tag.setText(p.current ? who : `${who} · ${why}`, { color: p.current ? '#b9ffd6' : '#c8ccd2' });
    this.shown = { current: visible && p.current, visible };
  }

  dispose(): void {
    this.mesh.geometry.dispose();
    this.mesh.material.dispose();
    this.tag.dispose();
    this.mesh.removeFromParent();
  }
}
