import type { Transform, Vec3 } from '../../../shared/src/messages.ts';
import { Limits } from '../../../shared/src/protocol.ts';
import { clamp, clampPosition, normalizeQuat } from '../../../shared/src/quantize.ts';

/** The server's authoritative form of a client-proposed transform: clamped, normalized, float32. */
export interface SafeTransform {
  position: Vec3;
  rotation: [number, number, number, number];
  scale: Vec3;
}

const clampScale = (s: number) => clamp(Math.abs(s), Limits.minScale, Limits.maxScale);

export function sanitizeTransform(t: Transform, previousScale: Vec3 = [1, 1, 1]): SafeTransform {
  const scale = t.scale ?? previousScale;
  const p = clampPosition(t.position);
  const q = normalizeQuat(t.rotation);
  // Rounded to float32 here, as the wire and the database store them, so the
  // server, every client and a re-opened room all hold the same numbers.
  const f = Math.fround;
  return {
    position: [f(p[0]), f(p[1]), f(p[2])],
    rotation: [f(q[0]), f(q[1]), f(q[2]), f(q[3])],
    scale: [f(clampScale(scale[0])), f(clampScale(scale[1])), f(clampScale(scale[2]))],
  };
}
