import * as THREE from 'three';
import { dequantizePose } from '../../../../shared/src/quantize.ts';
import type { GhostState, ParticipantState } from '../../../../shared/src/state.ts';
import type { AvatarPose } from '../../sdk/index.ts';
import { sizeTag, textSprite } from './labels.ts';

export const ROLE_COLORS: Record<string, string> = {
  host: '#f5c542',
  clinician: '#3fb68b',
  specialist: '#5aa9e6',
  surgeon: '#e5534b',
  observer: '#9aa5b1',
};

/** Avatars closer than this to the viewer's eye are hidden: nobody sees the inside of a head. */
export const NEAR_HIDE_METRES = 0.8;

/** What an avatar shows of whom it stands for: a live participant, or a recorded one in a replay. */
export type AvatarSubject = Pick<ParticipantState | GhostState, 'pointing' | 'pointer'> & { connected?: boolean };

/** Recorded participants (a replay's ghosts) are see-through, with a dashed beam and "recorded" on their tag. */
export const GHOST_OPACITY = 0.45;

/**
 * Head, hands, name tag and laser pointer for one remote participant — or, with `recorded`, for one
 * recorded participant of a replay, drawn as a ghost so nobody takes it for someone in the room now.
 */
export class Avatar {
  readonly root = new THREE.Group();
  private readonly head: THREE.Group;
  private readonly left: THREE.Mesh;
  private readonly right: THREE.Mesh;
  readonly tag: THREE.Sprite;
  private readonly laser: THREE.Line;
  private readonly laserDot: THREE.Mesh;
  private connected = true;
  private posed = false;

  constructor(readonly sessionId: string, name: string, role: string, readonly recorded = false) {
    const color = new THREE.Color(ROLE_COLORS[role] ?? '#cccccc');
    const see = recorded ? { transparent: true, opacity: GHOST_OPACITY, depthWrite: false } : {};
    const skin = new THREE.MeshStandardMaterial({ color, roughness: 0.6, ...(recorded ? { emissive: color.clone().multiplyScalar(0.35) } : {}), ...see });
    this.head = new THREE.Group();
    const skull = new THREE.Mesh(new THREE.SphereGeometry(0.11, 20, 14), skin);
    const visor = new THREE.Mesh(new THREE.BoxGeometry(0.16, 0.05, 0.05), new THREE.MeshStandardMaterial({ color: 0x111111, ...see }));
    visor.position.set(0, 0.01, -0.1);
    this.head.add(skull, visor);
    if (recorded) {
      // A wire shell round the head: a ghost reads as one from any side, even where it overlaps a live avatar.
      const shell = new THREE.Mesh(new THREE.IcosahedronGeometry(0.13, 1), new THREE.MeshBasicMaterial({ color: 0xdfe8f2, wireframe: true, transparent: true, opacity: 0.45, depthWrite: false }));
      this.head.add(shell);
    }
    const handGeo = new THREE.SphereGeometry(0.04, 12, 8);
    this.left = new THREE.Mesh(handGeo, skin);
    this.right = new THREE.Mesh(handGeo, skin);
    this.tag = recorded ? textSprite(`${name} · ${role} · recorded`, '#dfe8f2', 'rgba(40,48,58,0.75)') : textSprite(`${name} · ${role}`, ROLE_COLORS[role] ?? '#fff');
    const beam = recorded ? new THREE.LineDashedMaterial({ color: 0xff6060, dashSize: 0.03, gapSize: 0.02, transparent: true, opacity: 0.8 }) : new THREE.LineBasicMaterial({ color: 0xff3030 });
    this.laser = new THREE.Line(new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(), new THREE.Vector3()]), beam);
    this.laserDot = new THREE.Mesh(new THREE.SphereGeometry(0.012, 8, 6), new THREE.MeshBasicMaterial({ color: 0xff3030, ...see }));
    this.root.add(this.head, this.left, this.right, this.tag, this.laser, this.laserDot);
  }

  /** Place the avatar: `pose` is already smoothed (the SDK's jitter buffer, or a replay's interpolation; null: no pose yet). */
  update(p: AvatarSubject, pose: AvatarPose | null): void {
    this.posed = pose !== null;
    if (pose) {
      this.head.position.set(...pose.head.p);
      this.head.quaternion.set(...pose.head.q);
    }
    const place = (mesh: THREE.Mesh, hand: AvatarPose['left'] | undefined) => {
      mesh.visible = !!hand;
      if (hand) mesh.position.set(...hand.p);
    };
    place(this.left, pose?.left);
    place(this.right, pose?.right);
    this.laser.visible = this.laserDot.visible = p.pointing;
    if (p.pointing) {
      const target = new THREE.Vector3(...dequantizePose(p.pointer).p);
      // The beam starts a little below and in front of the head (or at the hand), so it is visible to others.
      const from = pose?.right ? this.right.position.clone() : this.head.position.clone().add(new THREE.Vector3(0, -0.15, 0));
      (this.laser.geometry as THREE.BufferGeometry).setFromPoints([from, target]);
      if (this.recorded) this.laser.computeLineDistances(); // for the dashes
      this.laserDot.position.copy(target);
    }
    this.connected = p.connected ?? true;
  }

  /** Hide the body when it is inside the viewer's head (or not placed yet); size the tag. */
  tick(camera: THREE.PerspectiveCamera, viewportHeightPx: number): void {
    this.tag.position.copy(this.head.position).add(new THREE.Vector3(0, 0.2, 0));
    const near = this.head.position.distanceTo(camera.position) < NEAR_HIDE_METRES;
    this.root.visible = this.connected && this.posed;
    this.head.visible = this.tag.visible = !near;
    if (near) this.left.visible = this.right.visible = false;
    if (this.tag.visible) sizeTag(this.tag, camera, viewportHeightPx);
  }

  /** Whether the viewer currently sees this avatar's head (for tests and screen readers). */
  get headShown(): boolean {
    return this.root.visible && this.head.visible;
  }

  get headPosition(): THREE.Vector3 {
    return this.head.position;
  }

  get headQuaternion(): THREE.Quaternion {
    return this.head.quaternion;
  }
}
