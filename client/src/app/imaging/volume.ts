import type { ImagingInstanceDto } from '../../../../shared/src/imaging.ts';

/**
 * A series as a volume in patient space, without DOM or WebGL: where each
 * voxel is (ImagePositionPatient, ImageOrientationPatient, PixelSpacing;
 * PS3.3 C.7.6.2.1.1), the three orthogonal planes through it (MPR) and where
 * they sit on the room's table. Patient coordinates are DICOM's LPS in mm
 * (x to the patient's left, y to their back, z to their head).
 */
export type Vec3 = [number, number, number];
export type PlaneName = 'axial' | 'coronal' | 'sagittal';

export interface VolumeGeometry {
  columns: number;
  rows: number;
  slices: number;
  /** Patient position (mm) of the centre of voxel (0, 0, 0): the first slice's top-left pixel. */
  origin: Vec3;
  /** Patient displacement (mm) of one step along a row (next column), down a column (next row), and to the next slice. */
  col: Vec3;
  row: Vec3;
  slice: Vec3;
}

const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const mul = (a: Vec3, k: number): Vec3 => [a[0] * k, a[1] * k, a[2] * k];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const len = (a: Vec3) => Math.hypot(a[0], a[1], a[2]);

type SliceMeta = Pick<ImagingInstanceDto, 'rows' | 'columns' | 'pixelSpacing' | 'sliceThickness' | 'position' | 'orientation'>;

/**
 * The volume's geometry from its slices, in the server's order (along the slice direction).
 * Missing tags fall back to what a viewer must assume: axial, 1 mm pixels, slices SliceThickness (else 1 mm) apart.
 */
export function volumeGeometry(slices: readonly SliceMeta[]): VolumeGeometry {
  const first = slices[0];
  if (!first) throw new Error('a volume needs at least one slice');
  const o = first.orientation?.length === 6 ? first.orientation : [1, 0, 0, 0, 1, 0];
  const rowCos: Vec3 = [o[0]!, o[1]!, o[2]!]; // direction of increasing column index
  const colCos: Vec3 = [o[3]!, o[4]!, o[5]!]; // direction of increasing row index
  const [rowSpacing, colSpacing] = first.pixelSpacing ?? [1, 1];
  const normal = cross(rowCos, colCos);
  const pos = (s: SliceMeta, k: number): Vec3 => (s.position?.length === 3 ? (s.position as Vec3) : mul(normal, k * (first.sliceThickness || 1)));
  const origin = pos(first, 0);
  const last = slices[slices.length - 1]!;
  // The mean step between first and last slice (slices sorted by position); one slice: its thickness along the normal.
  const step = slices.length > 1 ? mul(sub(pos(last, slices.length - 1), origin), 1 / (slices.length - 1)) : mul(normal, first.sliceThickness || 1);
  return { columns: first.columns, rows: first.rows, slices: slices.length, origin, col: mul(rowCos, colSpacing), row: mul(colCos, rowSpacing), slice: len(step) > 0 ? step : mul(normal, 1) };
}

/** Patient position (mm) of a point in voxel coordinates (column, row, slice; may be fractional). */
export function voxelToPatient(g: VolumeGeometry, i: number, j: number, k: number): Vec3 {
  return add(add(add(g.origin, mul(g.col, i)), mul(g.row, j)), mul(g.slice, k));
}

/**
 * The four corners of a plane through the volume, in patient mm, in texture order
 * [uv (0,0), (1,0), (0,1), (1,1)] — covering whole voxels (half a voxel beyond the centres).
 * Axial: slice k, u along columns, v along rows. Coronal: row j, u along columns, v along slices.
 * Sagittal: column i, u along rows, v along slices. (Names as for an axial acquisition.)
 */
export function planeCorners(g: VolumeGeometry, plane: PlaneName, at: number): [Vec3, Vec3, Vec3, Vec3] {
  const [c0, c1] = [-0.5, g.columns - 0.5];
  const [r0, r1] = [-0.5, g.rows - 0.5];
  const [s0, s1] = [-0.5, g.slices - 0.5];
  const p = (i: number, j: number, k: number) => voxelToPatient(g, i, j, k);
  if (plane === 'axial') return [p(c0, r0, at), p(c1, r0, at), p(c0, r1, at), p(c1, r1, at)];
  if (plane === 'coronal') return [p(c0, at, s0), p(c1, at, s0), p(c0, at, s1), p(c1, at, s1)];
  return [p(at, r0, s0), p(at, r1, s0), p(at, r0, s1), p(at, r1, s1)];
}

/** The eight corners of the volume's box, in patient mm. */
export function volumeBox(g: VolumeGeometry): Vec3[] {
  const out: Vec3[] = [];
  for (const k of [-0.5, g.slices - 0.5]) for (const j of [-0.5, g.rows - 0.5]) for (const i of [-0.5, g.columns - 0.5]) out.push(voxelToPatient(g, i, j, k));
  return out;
}

/** The table top in the room (world metres, y up): the volume rests on it. */
export const TABLE_TOP_Y = 0.92;
/** Life size, unless the volume is larger than this on the table (metres)... */
export const MAX_EXTENT_M = 0.7;
/** ...or its slices are smaller than this across (a small field of view would be a speck nobody can point into). */
export const MIN_INPLANE_M = 0.3;

/** Patient (LPS mm) → room (metres, y up), as an affine map: world = scale · R · (p − centre) + at. */
export interface TablePlacement {
  scale: number;
  centre: Vec3;
  at: Vec3;
}

/**
 * The patient lying supine on the table: their back (posterior, +y in LPS) down, head (+z) towards the
 * room's −z, left (+x) towards +x — a rotation, so the planes keep their handedness. Life size
 * (1 mm = 1 mm) unless its slices are narrower than MIN_INPLANE_M (magnified to that) or it is
 * longer than MAX_EXTENT_M (shrunk to that); the volume's centre over the table's centre, resting on its top.
 */
export function placeOnTable(g: VolumeGeometry): TablePlacement {
  const box = volumeBox(g);
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const p of box) for (let a = 0; a < 3; a++) [lo[a], hi[a]] = [Math.min(lo[a]!, p[a]!), Math.max(hi[a]!, p[a]!)];
  const centre = mul(add(lo, hi), 0.5);
  const extent = Math.max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]) / 1000;
  const inplane = Math.max(g.columns * len(g.col), g.rows * len(g.row)) / 1000;
  const grow = inplane > 0 && inplane < MIN_INPLANE_M ? MIN_INPLANE_M / inplane : 1;
  const scale = Math.min(grow, extent > 0 ? MAX_EXTENT_M / extent : 1) / 1000;
  const halfHeight = ((hi[1] - lo[1]) / 2) * scale; // LPS y is the room's vertical
  return { scale, centre, at: [0, TABLE_TOP_Y + halfHeight + 0.005, 0] };
}

/** A patient point (mm) in the room (metres). */
export function patientToRoom(t: TablePlacement, p: Vec3): Vec3 {
  const [x, y, z] = sub(p, t.centre);
  return [t.at[0] + x * t.scale, t.at[1] - y * t.scale, t.at[2] - z * t.scale];
}

// ---- the voxels ----------------------------------------------------------------------------------

/** The most voxels a reformatted plane is built from, per axis: enough for the table, light enough for a browser. */
export const MAX_INPLANE = 128;
export const MAX_SLICES = 128;

/** Which slices the reformats are built from: all of them, or MAX_SLICES evenly spread (first and last included). */
export function sampledSlices(n: number, max = MAX_SLICES): number[] {
  if (n <= max) return Array.from({ length: n }, (_, k) => k);
  return Array.from({ length: max }, (_, s) => Math.round((s * (n - 1)) / (max - 1)));
}

/**
 * A coarse copy of the series' modality values (HU for CT), filled slice by slice as frames
 * arrive: in-plane every `step`-th pixel, and the slices `sampledSlices` chose. The reformatted
 * planes are cut from it; the acquired (axial) plane is shown from the full frame.
 */
export class VoxelStore {
  readonly step: number;
  readonly cols: number;
  readonly rows: number;
  readonly sliceIndex: number[];
  readonly values: Float32Array;
  readonly filled: boolean[];

  constructor(readonly geometry: VolumeGeometry, maxInplane = MAX_INPLANE, maxSlices = MAX_SLICES) {
    this.step = Math.max(1, Math.ceil(Math.max(geometry.columns, geometry.rows) / maxInplane));
    this.cols = Math.ceil(geometry.columns / this.step);
    this.rows = Math.ceil(geometry.rows / this.step);
    this.sliceIndex = sampledSlices(geometry.slices, maxSlices);
    this.values = new Float32Array(this.cols * this.rows * this.sliceIndex.length).fill(NaN);
    this.filled = this.sliceIndex.map(() => false);
  }

  get complete(): boolean {
    return this.filled.every(Boolean);
  }

  /** Put one slice's modality values (full resolution, row by row) in, at sample position s. */
  put(s: number, full: Float32Array): void {
    const g = this.geometry;
    const base = s * this.cols * this.rows;
    for (let y = 0; y < this.rows; y++) for (let x = 0; x < this.cols; x++) this.values[base + y * this.cols + x] = full[y * this.step * g.columns + x * this.step] ?? NaN;
    this.filled[s] = true;
  }

  /**
   * A reformatted plane's values (u fastest, v = sampled slices), for full-resolution row j (coronal)
   * or column i (sagittal). Slices not yet loaded are NaN (drawn transparent-dark).
   */
  reformat(plane: 'coronal' | 'sagittal', at: number): { width: number; height: number; values: Float32Array } {
    const n = this.sliceIndex.length;
    const width = plane === 'coronal' ? this.cols : this.rows;
    const out = new Float32Array(width * n);
    const fixed = Math.max(0, Math.min((plane === 'coronal' ? this.rows : this.cols) - 1, Math.floor(at / this.step)));
    for (let s = 0; s < n; s++) {
      const base = s * this.cols * this.rows;
      for (let u = 0; u < width; u++) out[s * width + u] = this.values[base + (plane === 'coronal' ? fixed * this.cols + u : u * this.cols + fixed)]!;
    }
    return { width, height: n, values: out };
  }
}

/**
 * Where the reformatted planes cross on the slice shown (image column, row): at the last mark on it —
 * an arrow's tip, the middle of a length or region — so the three planes meet at what the room is
 * discussing; else the image's centre.
 */
export function crosshair(marks: readonly { kind: string; a: readonly [number, number]; b: readonly [number, number] }[], columns: number, rows: number): [number, number] {
  const m = marks[marks.length - 1];
  const p: [number, number] = !m ? [columns / 2, rows / 2] : m.kind === 'arrow' ? [m.b[0], m.b[1]] : [(m.a[0] + m.b[0]) / 2, (m.a[1] + m.b[1]) / 2];
  return [Math.max(0, Math.min(columns - 1, Math.floor(p[0]))), Math.max(0, Math.min(rows - 1, Math.floor(p[1])))];
}
