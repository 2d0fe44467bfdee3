import type { SceneObjectState } from '../../../shared/src/state.ts';

/** An object's transform as the SDK sends it (object.release). */
export type Transform = { position: [number, number, number]; rotation: [number, number, number, number]; scale: [number, number, number] };

export const transformOf = (o: SceneObjectState): Transform => ({ position: [o.px, o.py, o.pz], rotation: [o.qx, o.qy, o.qz, o.qw], scale: [o.sx, o.sy, o.sz] });

const moveBy = (dx: number, dy: number, dz: number) => (t: Transform): Transform => ({ ...t, position: [t.position[0] + dx, t.position[1] + dy, t.position[2] + dz] });

const scaleBy = (f: number) => (t: Transform): Transform => ({ ...t, scale: [t.scale[0] * f, t.scale[1] * f, t.scale[2] * f] });

/** Turn about the vertical axis: q' = q_y(angle) · q. */
const rotateY = (angle: number) => (t: Transform): Transform => {
  const s = Math.sin(angle / 2);
  const c = Math.cos(angle / 2);
  const [x, y, z, w] = t.rotation;
  return { ...t, rotation: [c * x + s * z, c * y + s * w, c * z - s * x, c * w - s * y] };
};

/** The scene list's keyboard nudges: 5 cm steps, ×1.1 sizes, 15° turns. */
export const KEY_NUDGES: Readonly<Record<string, (t: Transform) => Transform>> = {
  ArrowLeft: moveBy(-0.05, 0, 0),
  ArrowRight: moveBy(0.05, 0, 0),
  ArrowUp: moveBy(0, 0, -0.05),
  ArrowDown: moveBy(0, 0, 0.05),
  PageUp: moveBy(0, 0.05, 0),
  PageDown: moveBy(0, -0.05, 0),
  '+': scaleBy(1.1),
  '-': scaleBy(1 / 1.1),
  ']': rotateY(Math.PI / 12),
  '[': rotateY(-Math.PI / 12),
};
