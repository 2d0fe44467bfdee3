import { DataUtils } from 'three';
import { describe, expect, it } from 'vitest';
import type { ImagingInstanceDto } from '../../shared/src/imaging.ts';
import { boxSpan, brickSize, EMPTY, MAX_BRICK_VOXELS, pickRay, textureToRoom, voxelOpacity, VolumeBrick } from '../../client/src/app/imaging/volume-brick.ts';
import { patientToRoom, placeOnTable, volumeGeometry, voxelToPatient, type Vec3 } from '../../client/src/app/imaging/volume.ts';

function slices(n: number, size = 8, spacing: [number, number] = [0.7, 0.7], step = 1.25): ImagingInstanceDto[] {
  return Array.from({ length: n }, (_, k) => ({
    sopUid: `1.2.${k}`, number: k + 1, frames: 1, rows: size, columns: size, pixelSpacing: spacing, sliceThickness: step,
    position: [-10, -20, -k * step], orientation: [1, 0, 0, 0, 1, 0],
    windowCenter: 40, windowWidth: 400, rescaleSlope: 1, rescaleIntercept: -1024, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 1, photometric: 'MONOCHROME2', samplesPerPixel: 1,
  }));
}
const apply = (m: { U: Vec3; V: Vec3; W: Vec3; T: Vec3 }, u: number, v: number, w: number): Vec3 => [0, 1, 2].map((a) => m.T[a]! + u * m.U[a]! + v * m.V[a]! + w * m.W[a]!) as Vec3;
const close = (a: readonly number[], b: readonly number[], digits = 6) => a.forEach((x, i) => expect(x).toBeCloseTo(b[i]!, digits));

describe('the volume brick: what reaches the GPU', () => {
  it('a 512×512×300 CT is halved in-plane and keeps 128 slices: 16 MiB, within WebGL2’s 256 per axis', () => {
    const s = brickSize({ columns: 512, rows: 512, slices: 300 });
    expect([s.step, s.cols, s.rows, s.sliceIndex.length]).toEqual([2, 256, 256, 128]);
    expect(s.cols * s.rows * s.sliceIndex.length).toBeLessThanOrEqual(MAX_BRICK_VOXELS);
    expect(s.sliceIndex[0]).toBe(0);
    expect(s.sliceIndex.at(-1)).toBe(299); // first to last, evenly spread
    expect(new VolumeBrick(volumeGeometry(slices(300, 512))).bytes).toBe(256 * 256 * 128 * 2);
  });

  it('a small series is kept whole; a GPU with a smaller 3D-texture limit gets a smaller brick; no axis ever exceeds 256', () => {
    expect(brickSize({ columns: 128, rows: 128, slices: 64 })).toMatchObject({ step: 1, cols: 128, rows: 128 });
    expect(brickSize({ columns: 128, rows: 128, slices: 64 }).sliceIndex).toHaveLength(64);
    const small = brickSize({ columns: 512, rows: 512, slices: 300 }, { maxAxis: 128, maxVoxels: MAX_BRICK_VOXELS });
    expect([small.cols, small.rows, small.sliceIndex.length]).toEqual([128, 128, 128]);
    const big = brickSize({ columns: 4096, rows: 4096, slices: 2000 }, { maxAxis: 16384, maxVoxels: MAX_BRICK_VOXELS });
    expect(Math.max(big.cols, big.rows, big.sliceIndex.length)).toBeLessThanOrEqual(256);
    // A slice bigger than the whole budget still fits: coarser in-plane.
    const huge = brickSize({ columns: 65535, rows: 65535, slices: 1 }, { maxAxis: 256, maxVoxels: 1000 });
    expect(huge.cols * huge.rows).toBeLessThanOrEqual(1000);
  });

  it('averages each step × step block (a thin bright line does not vanish or alias), skips slices it does not keep, and leaves unloaded slices empty', () => {
    const g = volumeGeometry(slices(3, 4));
    const brick = new VolumeBrick(g, { maxAxis: 2, maxVoxels: 1000 }); // 2 × 2 in-plane, 2 of 3 slices
    expect(brick.size).toMatchObject({ step: 2, cols: 2, rows: 2, sliceIndex: [0, 2] });
    const full = new Float32Array(16).fill(0);
    full[0] = 400; // one bright pixel in the top-left block
    expect(brick.put(1, full)).toBe(false); // slice 1 is not kept
    expect(brick.put(2, full)).toBe(true);
    expect(brick.at(0, 0, 1)).toBe(100);
    expect(brick.at(1, 1, 1)).toBe(0);
    expect(brick.at(0, 0, 0)).toBe(DataUtils.fromHalfFloat(DataUtils.toHalfFloat(EMPTY)));
    expect(brick.missing()).toEqual([0]);
    expect(brick.complete).toBe(false);
  });

  it('texture coordinates land where the planes and the patient are: voxel centres, half a voxel in from the edges', () => {
    const g = volumeGeometry(slices(5, 8));
    const t = placeOnTable(g);
    const size = brickSize(g); // kept whole
    const m = textureToRoom(g, size, t);
    // The centre of voxel (i, j, k) is at texture ((i + .5)/8, (j + .5)/8, (k + .5)/5).
    for (const [i, j, k] of [[0, 0, 0], [7, 3, 4], [2, 6, 1]] as const) close(apply(m, (i + 0.5) / 8, (j + 0.5) / 8, (k + 0.5) / 5), patientToRoom(t, voxelToPatient(g, i, j, k)));
    // A brick that keeps 2 of 5 slices (and 2 × 2 in-plane) spans the same series: its two layers' centres are slices 0 and 4.
    const coarse = brickSize(g, { maxAxis: 2, maxVoxels: 1e6 });
    expect(coarse.sliceIndex).toEqual([0, 4]);
    const half = textureToRoom(g, coarse, t);
    close(apply(half, 0.5, 0.5, 0.25), patientToRoom(t, voxelToPatient(g, 3.5, 3.5, 0)));
    close(apply(half, 0.5, 0.5, 0.75), patientToRoom(t, voxelToPatient(g, 3.5, 3.5, 4)));
  });
});

describe('picking inside the rendered volume', () => {
  /** A 4 × 4 × 4 brick, air everywhere but a bone voxel at (1, 2, 3) and soft tissue three voxels deep at (1, 2, 0–2). */
  function brick(): VolumeBrick {
    const b = new VolumeBrick(volumeGeometry(slices(4, 4)));
    for (let k = 0; k < 4; k++) {
      const full = new Float32Array(16).fill(-1000);
      if (k === 3) full[2 * 4 + 1] = 1000;
      if (k <= 2) full[2 * 4 + 1] = 40;
      b.put(k, full);
    }
    return b;
  }
  const along: Vec3 = [0, 0, 1];
  const o: Vec3 = [1.5 / 4, 2.5 / 4, -1];

  it('the composited volume stops where it turns opaque in the window: soft tissue in a soft-tissue window, bone in a bone window', () => {
    const soft = pickRay(brick(), o, along, { center: 40, width: 400 }, 'volume')!;
    expect(o[2] + soft).toBeGreaterThan(0.25);
    expect(o[2] + soft).toBeLessThan(0.75); // in the soft tissue, before the bone
    const bone = pickRay(brick(), o, along, { center: 400, width: 1800 }, 'volume')!;
    expect(o[2] + bone).toBeGreaterThan(0.75); // soft tissue is nearly clear in a bone window: the ray goes on to the bone
    expect(voxelOpacity(0.2)).toBe(0);
    expect(voxelOpacity(1)).toBeGreaterThan(0.3);
  });

  it('a MIP stops at the brightest voxel; a ray through air or missing the box meets nothing', () => {
    const t = pickRay(brick(), o, along, { center: 40, width: 400 }, 'mip')!;
    expect(o[2] + t).toBeGreaterThan(0.75);
    expect(pickRay(brick(), [0.1, 0.1, -1], along, { center: 40, width: 400 }, 'volume')).toBeNull();
    expect(pickRay(brick(), [2, 2, -1], along, { center: 40, width: 400 }, 'mip')).toBeNull();
    expect(boxSpan([0.5, 0.5, 0.5], [1, 0, 0])).toEqual([0, 0.5]); // from inside: from the eye on
    expect(boxSpan([0.5, 2, 0.5], [1, 0, 0])).toEqual([1, 0]); // parallel and outside
  });
});
