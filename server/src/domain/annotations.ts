/**
 * Annotation rules, independent of storage: which kinds are annotations
 * (they may quote the patient, so they carry their author's access, and
 * authors undo and clear them), how their points are stored per frame.
 */
import { isAnnotation } from '../../../shared/src/room-policy.ts';
export { ANNOTATION_KINDS, isAnnotation } from '../../../shared/src/room-policy.ts';
/** Kinds whose geometry is a point list. */
const POINT_KINDS: ReadonlySet<string> = new Set(['stroke', 'arrow', 'length', 'region']);
/** Measurements exist only on a slice: a length in mm or an area needs the image's pixel spacing. */
export const SLICE_ONLY_KINDS: ReadonlySet<string> = new Set(['length', 'region']);
/** What may be drawn on a slice. */
export const SLICE_KINDS: ReadonlySet<string> = new Set(['arrow', 'length', 'region']);

/** Strokes carry 2–300 points; arrows exactly two (tail, head); other kinds none. */
export function pointsProblem(kind: string, points: readonly number[] | undefined): string | null {
  if (POINT_KINDS.has(kind) !== (points !== undefined)) return 'strokes, arrows, lengths and regions, and only they, carry points';
  if (kind === 'arrow' && points!.length !== 6) return 'an arrow has two points: tail and head';
  if (kind === 'length' && points!.length !== 6) return 'a length has two points: its ends';
  if (kind === 'region' && points!.length !== 6) return 'a region has two points: opposite corners of its ellipse';
  return null;
}

/** A slice annotation names its slice, is an arrow, length or region, and nothing else names a slice. */
export function sliceAnnotationProblem(kind: string, frame: string, slice: { series: string; index: number } | undefined): string | null {
  if ((frame === 'slice') !== (slice !== undefined)) return 'slice annotations, and only they, name their slice';
  if (frame === 'slice' && !SLICE_KINDS.has(kind)) return 'on a slice one draws arrows, lengths and regions';
  if (frame !== 'slice' && SLICE_ONLY_KINDS.has(kind)) return 'lengths and regions are measured on a slice';
  return null;
}

/** Metres, clamped to ±50 m of the origin, mm precision. */
const LIMIT = 50;

/**
 * Stored point string. World and patient frames: "x,y,z,…" in metres (mm
 * precision, ±50 m). Video frame: normalised to the image (0–1, 1/10000
 * precision), z dropped to 0. Slice frame: image pixels, z dropped to 0.
 */
export function encodePoints(points: readonly number[], frame: 'world' | 'patient' | 'video' | 'slice'): string {
  // Slice: image pixels (column, row), 1/10 px, within the largest image DICOM rows/columns allow.
  if (frame === 'slice') return points.map((v, i) => (i % 3 === 2 ? '0' : Math.max(0, Math.min(65535, v)).toFixed(1))).join(',');
  if (frame === 'video') return points.map((v, i) => (i % 3 === 2 ? '0' : Math.max(0, Math.min(1, v)).toFixed(4))).join(',');
  return points.map((v) => Math.max(-LIMIT, Math.min(LIMIT, v)).toFixed(3)).join(',');
}

interface Focusable {
  id: string;
  kind: string;
  ackedAt: number;
  dismissed: boolean;
}

/**
 * guidance.next: the first annotation after the current focus (in creation
 * order, wrapping around) that the surgeon has neither acknowledged nor
 * dismissed; '' when there is none.
 */
export function nextFocus(ordered: readonly Focusable[], current: string): string {
  const open = ordered.filter((o) => isAnnotation(o.kind) && o.ackedAt === 0 && !o.dismissed);
  if (open.length === 0) return '';
  const at = ordered.findIndex((o) => o.id === current);
  const after = open.find((o) => ordered.indexOf(o as never) > at);
  return (after ?? open[0]!).id;
}
