import { DataUtils } from 'three';
import { sampledSlices, type TablePlacement, type Vec3, type VolumeGeometry } from './volume.ts';

/**
 * The series as one 3D texture for volume rendering, without WebGL: how far a
 * series is downsampled to fit the GPU and a memory budget, the voxels as
 * half floats (modality values, HU for CT, filterable in WebGL2 without
 * extensions), the map from texture coordinates to the room, and the first
 * voxel a ray meets (so the laser and strokes land on the anatomy, not on the
 * volume's box).
 */

/** Voxels per axis: WebGL2 promises 3D textures of at least 256 (MAX_3D_TEXTURE_SIZE). */
export const MAX_BRICK_AXIS = 256;
/** Voxels in all: 8 Mi half floats = 16 MiB in the page and as much on the GPU, whatever the series. */
export const MAX_BRICK_VOXELS = 1 << 23;
/** Slices not loaded yet: far below any window, so they render transparent (and interpolate to transparent). */
export const EMPTY = -30000;

export interface BrickLimits {
  maxAxis: number;
  maxVoxels: number;
}

export interface BrickSize {
  /** In-plane: every `step`-th pixel's block is averaged into one voxel. */
  step: number;
  cols: number;
  rows: number;
  /** The series' slices kept, evenly spread from first to last. */
  sliceIndex: number[];
}

/** How big the brick for this series is: in-plane downsampled to fit an axis, then as many slices as the budget leaves. */
export function brickSize(g: Pick<VolumeGeometry, 'columns' | 'rows' | 'slices'>, limits: BrickLimits = { maxAxis: MAX_BRICK_AXIS, maxVoxels: MAX_BRICK_VOXELS }): BrickSize {
  const axis = Math.max(1, Math.min(limits.maxAxis, MAX_BRICK_AXIS));
  let step = Math.max(1, Math.ceil(Math.max(g.columns, g.rows) / axis));
  // A slice larger than the whole budget (not a CT, but a file could say so): coarser until one slice fits.
  while (Math.ceil(g.columns / step) * Math.ceil(g.rows / step) > limits.maxVoxels) step++;
  const cols = Math.ceil(g.columns / step);
  const rows = Math.ceil(g.rows / step);
  const n = Math.max(1, Math.min(g.slices, axis, Math.floor(limits.maxVoxels / (cols * rows))));
  return { step, cols, rows, sliceIndex: sampledSlices(g.slices, n) };
}

/** The brick: filled slice by slice as frames arrive; `data` is what the GPU gets (R16F, x fastest). */
export class VolumeBrick {
  readonly size: BrickSize;
  readonly data: Uint16Array;
  readonly filled: boolean[];
  /** Brick layer of each series slice that is kept. */
  private readonly layerOf = new Map<number, number>();

  constructor(readonly geometry: VolumeGeometry, limits?: BrickLimits) {
    this.size = brickSize(geometry, limits);
    const { cols, rows, sliceIndex } = this.size;
    this.data = new Uint16Array(cols * rows * sliceIndex.length).fill(DataUtils.toHalfFloat(EMPTY));
    this.filled = sliceIndex.map(() => false);
    sliceIndex.forEach((k, layer) => this.layerOf.set(k, layer));
  }

  get layers(): number {
    return this.size.sliceIndex.length;
  }

  get bytes(): number {
    return this.data.byteLength;
  }

  get loaded(): number {
    return this.filled.filter(Boolean).length;
  }

  get complete(): boolean {
    return this.filled.every(Boolean);
  }

  /** Slices still to load, in the order they should come (first to last). */
  missing(): number[] {
    return this.size.sliceIndex.filter((_, layer) => !this.filled[layer]);
  }

  /** Put series slice k's modality values in (full resolution, row by row), averaged over step × step blocks. Slices not kept are ignored. */
  put(k: number, full: Float32Array): boolean {
    const layer = this.layerOf.get(k);
    if (layer === undefined) return false;
    const { step, cols, rows } = this.size;
    const { columns, rows: R } = this.geometry;
    const base = layer * cols * rows;
    for (let y = 0; y < rows; y++) {
      for (let x = 0; x < cols; x++) {
        let sum = 0;
        let n = 0;
        for (let dy = 0; dy < step; dy++) {
          const yy = y * step + dy;
          if (yy >= R) break;
          for (let dx = 0; dx < step; dx++) {
            const xx = x * step + dx;
            if (xx >= columns) break;
            const v = full[yy * columns + xx];
            if (v !== undefined && Number.isFinite(v)) {
              sum += v;
              n++;
            }
          }
        }
        this.data[base + y * cols + x] = DataUtils.toHalfFloat(n ? Math.max(-65000, Math.min(65000, sum / n)) : EMPTY);
      }
    }
    this.filled[layer] = true;
    return true;
  }

  /** The value at a brick voxel (nearest), for picking. */
  at(x: number, y: number, layer: number): number {
    const { cols, rows } = this.size;
    return DataUtils.fromHalfFloat(this.data[(layer * rows + y) * cols + x]!);
  }
}

/**
 * Texture coordinates (u, v, w in 0–1 across the brick) → room metres, as an affine map
 * room = t + u·U + v·V + w·W. u runs along the columns and v down the rows (covering whole
 * voxels: from half a pixel before the first to half after the last), w across the kept slices
 * (half a kept-slice spacing beyond the first and last).
 */
export function textureToRoom(g: VolumeGeometry, size: BrickSize, t: TablePlacement): { U: Vec3; V: Vec3; W: Vec3; T: Vec3 } {
  const n = size.sliceIndex.length;
  const ks = n > 1 ? (g.slices - 1) / (n - 1) : 1; // series slices per kept slice
  const toRoom = (d: Vec3): Vec3 => [d[0] * t.scale, -d[1] * t.scale, -d[2] * t.scale]; // LPS → room: the rotation placeOnTable uses
  const U = toRoom(g.col.map((c) => c * g.columns) as Vec3);
  const V = toRoom(g.row.map((c) => c * g.rows) as Vec3);
  const W = toRoom(g.slice.map((c) => c * n * ks) as Vec3);
  const corner = [0, 1, 2].map((a) => g.origin[a]! - 0.5 * g.col[a]! - 0.5 * g.row[a]! - 0.5 * ks * g.slice[a]! - t.centre[a]!) as Vec3;
  const c = toRoom(corner);
  return { U, V, W, T: [t.at[0] + c[0], t.at[1] + c[1], t.at[2] + c[2]] };
}

/** What a ray stops at in each rendering: where the composited volume turns opaque, or the brightest voxel (MIP). */
export type PickMode = 'mip' | 'volume';

/**
 * The transfer function of the composited rendering (the shader uses the same numbers): grey through the
 * window, g in 0–1; per voxel crossed, opacity OPACITY · smoothstep(RAMP[0], RAMP[1], g). Below the window's
 * lower quarter nothing shows; the upper part of the window is close to solid — so the preset chooses what
 * one sees: the skeleton with "bone", organs and vessels with "soft tissue".
 */
export const OPACITY = 0.35;
export const RAMP: readonly [number, number] = [0.25, 0.85];

/** Accumulated opacity at which a ray is taken to have met what the rendering shows (a bone cortex, an organ's surface). */
export const PICK_OPACITY = 0.25;

export function voxelOpacity(grey: number): number {
  const t = Math.min(1, Math.max(0, (grey - RAMP[0]) / (RAMP[1] - RAMP[0])));
  return OPACITY * t * t * (3 - 2 * t);
}

/**
 * Along a ray in texture coordinates (origin o, direction d): the ray parameter where the composited
 * volume has become PICK_OPACITY opaque, or for a MIP the brightest voxel inside the window; null when the ray
 * misses the box or meets nothing. The caller maps it back to the room.
 */
export function pickRay(brick: VolumeBrick, o: Vec3, d: Vec3, view: { center: number; width: number }, mode: PickMode): number | null {
  const [t0, t1] = boxSpan(o, d);
  if (!(t1 > t0)) return null;
  const { cols, rows } = brick.size;
  const len = Math.hypot(d[0], d[1], d[2]);
  const voxelsPerStep = 0.5;
  const dt = voxelsPerStep / (Math.max(cols, rows, brick.layers) * len);
  const lo = view.center - view.width / 2;
  let opaque = 0;
  let best: { t: number; v: number } | null = null;
  for (let t = t0 + dt / 2; t < t1; t += dt) {
    const x = Math.min(cols - 1, Math.max(0, Math.floor((o[0] + t * d[0]) * cols)));
    const y = Math.min(rows - 1, Math.max(0, Math.floor((o[1] + t * d[1]) * rows)));
    const z = Math.min(brick.layers - 1, Math.max(0, Math.floor((o[2] + t * d[2]) * brick.layers)));
    const v = brick.at(x, y, z);
    const grey = (v - lo) / Math.max(1, view.width);
    if (mode === 'volume') {
      opaque += (1 - opaque) * (1 - Math.pow(1 - voxelOpacity(grey), voxelsPerStep));
      if (opaque >= PICK_OPACITY) return t;
    } else if (grey > 0 && (!best || v > best.v)) best = { t, v };
  }
  return best?.t ?? null;
}

/** Where a ray is inside the unit box [0,1]³: [enter, leave] (enter clamped at the origin: a camera inside starts there). */
export function boxSpan(o: Vec3, d: Vec3): [number, number] {
  let t0 = 0;
  let t1 = Infinity;
  for (let a = 0; a < 3; a++) {
    if (Math.abs(d[a]!) < 1e-12) {
      if (o[a]! < 0 || o[a]! > 1) return [1, 0];
      continue;
    }
    const ta = (0 - o[a]!) / d[a]!;
    const tb = (1 - o[a]!) / d[a]!;
    t0 = Math.max(t0, Math.min(ta, tb));
    t1 = Math.min(t1, Math.max(ta, tb));
  }
  return [t0, t1];
}
