import * as THREE from 'three';

/** Height of an operating table above the floor (m): where a gaze reticle lands without hit-test. */
export const TABLE_HEIGHT = 0.9;
/** Without any surface, the reticle floats this far along the gaze. */
const FALLBACK_DISTANCE = 0.6;

/**
 * The patient frame's orientation: yaw only (the table is level), its +Z
 * axis pointing horizontally at the surgeon, so "towards me" is +Z and
 * "up" is +Y for everyone annotating in patient coordinates.
 */
export function facingYaw(anchor: THREE.Vector3, viewer: THREE.Vector3): [number, number, number, number] {
  const dx = viewer.x - anchor.x;
  const dz = viewer.z - anchor.z;
  const yaw = Math.hypot(dx, dz) < 1e-6 ? 0 : Math.atan2(dx, dz);
  return [0, Math.sin(yaw / 2), 0, Math.cos(yaw / 2)];
}

/**
 * Where the gaze ray lands when the device gives no hit-test result: on a
 * table-height plane if it points down at one within 2 m, else a short way
 * along the gaze. `floorY` is the floor's height in the reference space
 * (0 for local-floor; about −1.6 for a head-origin `local` space).
 */
export function estimateGazeHit(origin: THREE.Vector3, direction: THREE.Vector3, floorY: number): { p: THREE.Vector3; onSurface: boolean } {
  const dir = direction.clone().normalize();
  const planeY = floorY + TABLE_HEIGHT;
  if (dir.y < -1e-3) {
    const t = (planeY - origin.y) / dir.y;
    if (t > 0 && t <= 2) return { p: origin.clone().addScaledVector(dir, t), onSurface: true };
  }
  return { p: origin.clone().addScaledVector(dir, FALLBACK_DISTANCE), onSurface: false };
}
