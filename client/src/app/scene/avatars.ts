import * as THREE from 'three';
import { dequantizePose } from '../../../../shared/src/quantize.ts';
import type { ParticipantState } from '../../../../shared/src/state.ts';
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

/** Head, hands, name tag and laser pointer for one remote participant. */
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

  constructor(readonly sessionId: string, name: string, role: string) {
    const color = new THREE.Color(ROLE_COLORS[role] ?? '#cccccc');
    const skin = new THREE.MeshStandardMaterial({ color, roughness: 0.6 });
    this.head = new THREE.Group();
    const skull = new THREE.Mesh(new THREE.SphereGeometry(0.11, 20, 14), skin);
    const visor = new THREE.Mesh(new THREE.BoxGeometry(0.16, 0.05, 0.05), new THREE.MeshStandardMaterial({ color: 0x111111 }));
    visor.position.set(0, 0.01, -0.1);
    this.head.add(skull, visor);
    const handGeo = new THREE.SphereGeometry(0.04, 12, 8);
    this.left = new THREE.Mesh(handGeo, skin);
    this.right = new THREE.Mesh(handGeo, skin);
    this.tag = textSprite(`${name} · ${role}`, ROLE_COLORS[role] ?? '#fff');
    this.laser = new THREE.Line(new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(), new THREE.Vector3()]), new THREE.LineBasicMaterial({ color: 0xff3030 }));
    this.laserDot = new THREE.Mesh(new THREE.SphereGeometry(0.012, 8, 6), new THREE.MeshBasicMaterial({ color: 0xff3030 }));
    this.root.add(this.head, this.left, this.right, this.tag, this.laser, this.laserDot);
  }

  /** Place the avatar: `pose` is already smoothed by the SDK's jitter buffer (null: no pose received yet). */
  update(p: ParticipantState, pose: AvatarPose | null): void {
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
      this.laserDot.position.copy(target);
    }
    this.connected = p.connected;
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
