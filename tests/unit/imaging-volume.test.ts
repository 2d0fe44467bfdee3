import { describe, expect, it } from 'vitest';
import type { ImagingInstanceDto } from '../../shared/src/imaging.ts';
import { crosshair, MAX_EXTENT_M, MIN_INPLANE_M, patientToRoom, placeOnTable, planeCorners, sampledSlices, TABLE_TOP_Y, volumeGeometry, voxelToPatient, VoxelStore, type Vec3 } from '../../client/src/app/imaging/volume.ts';

/** Synthetic slices as the server lists them (sorted along the slice direction). */
function slices(n: number, opts: { rows?: number; columns?: number; spacing?: [number, number]; orientation?: number[]; origin?: Vec3; step?: Vec3 } = {}): ImagingInstanceDto[] {
  const origin = opts.origin ?? [-100, -80, 30];
  const step = opts.step ?? [0, 0, 2.5];
  return Array.from({ length: n }, (_, k) => ({
    sopUid: `1.2.${k}`, number: k + 1, frames: 1, rows: opts.rows ?? 4, columns: opts.columns ?? 6, pixelSpacing: opts.spacing ?? [0.5, 0.8], sliceThickness: 2.5,
    position: [origin[0] + k * step[0], origin[1] + k * step[1], origin[2] + k * step[2]], orientation: opts.orientation ?? [1, 0, 0, 0, 1, 0],
    windowCenter: 40, windowWidth: 400, rescaleSlope: 1, rescaleIntercept: 0, bitsAllocated: 16, bitsStored: 16, pixelRepresentation: 1, photometric: 'MONOCHROME2', samplesPerPixel: 1,
  }));
}
const close = (a: readonly number[], b: readonly number[], digits = 6) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, digits));

describe('volume geometry from the DICOM tags', () => {
  it('places every voxel from ImagePositionPatient, ImageOrientationPatient and PixelSpacing (row spacing first)', () => {
    const g = volumeGeometry(slices(5));
    expect(g).toMatchObject({ columns: 6, rows: 4, slices: 5 });
    close(voxelToPatient(g, 0, 0, 0), [-100, -80, 30]);
    // One column right: 0.8 mm along the row direction (PixelSpacing[1]); one row down: 0.5 mm (PixelSpacing[0]).
    close(voxelToPatient(g, 1, 0, 0), [-99.2, -80, 30]);
    close(voxelToPatient(g, 0, 1, 0), [-100, -79.5, 30]);
    close(voxelToPatient(g, 5, 3, 4), [-100 + 4, -80 + 1.5, 40]);
  });

  it('follows an oblique orientation and a slice step that is not along z', () => {
    const c = Math.SQRT1_2;
    // Rows run along (x+y)/√2, columns down z: a tilted sagittal-ish acquisition; slices step along the normal.
    const orientation = [c, c, 0, 0, 0, -1];
    const normal: Vec3 = [-c, c, 0]; // row × column
    const g = volumeGeometry(slices(3, { orientation, spacing: [2, 1], step: [normal[0] * 3, normal[1] * 3, 0], origin: [0, 0, 0] }));
    close(voxelToPatient(g, 2, 0, 0), [2 * c, 2 * c, 0]);
    close(voxelToPatient(g, 0, 1, 0), [0, 0, -2]);
    close(voxelToPatient(g, 0, 0, 2), [-6 * c, 6 * c, 0]);
  });

  it('assumes axial 1 mm pixels and SliceThickness steps when the tags are missing, and a lone slice gets its thickness', () => {
    const bare = slices(3).map((s) => ({ ...s, position: null, orientation: null, pixelSpacing: null }));
    const g = volumeGeometry(bare);
    close(voxelToPatient(g, 1, 1, 2), [1, 1, 5]);
    const one = volumeGeometry(slices(1));
    close(one.slice, [0, 0, 2.5]);
  });

  it('cuts axial, coronal and sagittal planes covering whole voxels, in texture order', () => {
    const g = volumeGeometry(slices(5));
    // Axial at slice 2: z = 35, x from -100.4 to -95.6, y from -80.25 to -78.25.
    const ax = planeCorners(g, 'axial', 2);
    close(ax[0], [-100.4, -80.25, 35]);
    close(ax[1], [-95.6, -80.25, 35]);
    close(ax[2], [-100.4, -78.25, 35]);
    close(ax[3], [-95.6, -78.25, 35]);
    // Coronal through row 1: y fixed, spanning columns (u) and slices (v, from 28.75 to 41.25).
    const co = planeCorners(g, 'coronal', 1);
    for (const p of co) expect(p[1]).toBeCloseTo(-79.5);
    close(co[0], [-100.4, -79.5, 28.75]);
    close(co[3], [-95.6, -79.5, 41.25]);
    // Sagittal through column 3: x fixed, spanning rows (u) and slices (v).
    const sa = planeCorners(g, 'sagittal', 3);
    for (const p of sa) expect(p[0]).toBeCloseTo(-97.6);
    close(sa[1], [-97.6, -78.25, 28.75]);
    close(sa[2], [-97.6, -80.25, 41.25]);
  });
});

describe('the volume on the table', () => {
  it('lies supine, life size: back down, head towards −z, left towards +x, resting on the table top', () => {
    const g = volumeGeometry(slices(5, { columns: 300, rows: 200, spacing: [1, 1] }));
    const t = placeOnTable(g);
    expect(t.scale).toBeCloseTo(0.001); // 1 mm = 1 mm
    const at = (p: Vec3) => patientToRoom(t, p);
    const c = at(voxelToPatient(g, 149.5, 99.5, 2)); // the box's centre
    const left = at(voxelToPatient(g, 299, 99.5, 2)); // higher column: +x in LPS, the patient's left
    const back = at(voxelToPatient(g, 149.5, 199, 2)); // higher row: +y, posterior
    const head = at(voxelToPatient(g, 149.5, 99.5, 4)); // higher slice: +z, superior
    expect(left[0] - c[0]).toBeCloseTo(0.1495, 6);
    expect(back[1] - c[1]).toBeCloseTo(-0.0995, 6);
    expect(head[2] - c[2]).toBeCloseTo(-0.005, 6);
    // The box's lowest corners touch the table top (within 5 mm), centred over the table.
    const ys = [-0.5, 299.5].flatMap((i) => [-0.5, 199.5].flatMap((j) => [-0.5, 4.5].map((k) => at(voxelToPatient(g, i, j, k))[1])));
    expect(Math.min(...ys)).toBeGreaterThan(TABLE_TOP_Y);
    expect(Math.min(...ys)).toBeLessThan(TABLE_TOP_Y + 0.006);
    close([c[0], c[2]], [0, 0], 6);
  });

  it('shrinks a volume larger than the table to MAX_EXTENT_M, keeping its proportions', () => {
    const g = volumeGeometry(slices(300, { rows: 512, columns: 512, spacing: [0.9, 0.9], step: [0, 0, 3] }));
    const t = placeOnTable(g);
    const head = patientToRoom(t, voxelToPatient(g, 256, 256, 299.5));
    const feet = patientToRoom(t, voxelToPatient(g, 256, 256, -0.5));
    expect(feet[2] - head[2]).toBeCloseTo(MAX_EXTENT_M, 6); // 900 mm of slices → 0.7 m
    const right = patientToRoom(t, voxelToPatient(g, -0.5, 256, 0));
    const leftEdge = patientToRoom(t, voxelToPatient(g, 511.5, 256, 0));
    expect((leftEdge[0] - right[0]) / (feet[2] - head[2])).toBeCloseTo(460.8 / 900, 6);
  });

  it('magnifies slices too small to point into up to MIN_INPLANE_M across, but never past MAX_EXTENT_M', () => {
    // 16 × 16 pixels of 0.5 mm (8 mm across), 5 slices 2.5 mm apart.
    const small = placeOnTable(volumeGeometry(slices(5, { rows: 16, columns: 16, spacing: [0.5, 0.5] })));
    expect(small.scale * 8).toBeCloseTo(MIN_INPLANE_M, 6);
    // The same slices, 100 of them (250 mm long): magnifying them to 0.3 m across would make it 9 m long.
    const long = placeOnTable(volumeGeometry(slices(100, { rows: 16, columns: 16, spacing: [0.5, 0.5] })));
    expect(long.scale * 250).toBeCloseTo(MAX_EXTENT_M, 6);
  });

  it('the reformats cross at the last mark on the slice (an arrow’s tip, a length’s middle), else the centre', () => {
    expect(crosshair([], 6, 4)).toEqual([3, 2]);
    expect(crosshair([{ kind: 'length', a: [0, 0], b: [4, 2] }, { kind: 'arrow', a: [0, 0], b: [5.5, 1.2] }], 6, 4)).toEqual([5, 1]);
    expect(crosshair([{ kind: 'region', a: [1, 1], b: [3, 3] }], 6, 4)).toEqual([2, 2]);
    expect(crosshair([{ kind: 'arrow', a: [0, 0], b: [99, -5] }], 6, 4)).toEqual([5, 0]);
  });
});

describe('assembling the voxels', () => {
  /** Slice k's value at column i, row j: distinct everywhere, so a misplaced sample shows. */
  const value = (i: number, j: number, k: number) => 1000 * k + 10 * j + i;
  const frame = (cols: number, rows: number, k: number) => Float32Array.from({ length: cols * rows }, (_, n) => value(n % cols, Math.floor(n / cols), k));

  it('a coronal plane is the row across the slices; a sagittal plane the column across them', () => {
    const g = volumeGeometry(slices(5));
    const store = new VoxelStore(g);
    expect(store.step).toBe(1);
    for (let k = 0; k < 5; k++) store.put(k, frame(6, 4, k));
    expect(store.complete).toBe(true);
    const co = store.reformat('coronal', 2);
    expect([co.width, co.height]).toEqual([6, 5]);
    for (let k = 0; k < 5; k++) for (let i = 0; i < 6; i++) expect(co.values[k * 6 + i]).toBe(value(i, 2, k));
    const sa = store.reformat('sagittal', 4);
    expect([sa.width, sa.height]).toEqual([4, 5]);
    for (let k = 0; k < 5; k++) for (let j = 0; j < 4; j++) expect(sa.values[k * 4 + j]).toBe(value(4, j, k));
  });

  it('slices not loaded yet are empty (NaN), not another slice’s pixels', () => {
    const store = new VoxelStore(volumeGeometry(slices(3)));
    store.put(1, frame(6, 4, 1));
    const co = store.reformat('coronal', 0);
    expect(Number.isNaN(co.values[0])).toBe(true);
    expect(co.values[6 + 3]).toBe(value(3, 0, 1));
    expect(Number.isNaN(co.values[12])).toBe(true);
  });

  it('a 512×512×300 CT is kept coarse: every 4th pixel, 128 slices evenly spread from first to last', () => {
    const g = volumeGeometry(slices(300, { rows: 512, columns: 512 }));
    const store = new VoxelStore(g);
    expect([store.step, store.cols, store.rows]).toEqual([4, 128, 128]);
    expect(store.sliceIndex).toHaveLength(128);
    expect(store.sliceIndex[0]).toBe(0);
    expect(store.sliceIndex.at(-1)).toBe(299);
    expect(store.values.length).toBe(128 * 128 * 128);
    store.put(5, frame(512, 512, store.sliceIndex[5]!));
    // Full-resolution row 100 → coarse row 25 (= full row 100); column u → full column 4u.
    const co = store.reformat('coronal', 100);
    expect(co.values[5 * 128 + 7]).toBe(value(28, 100, store.sliceIndex[5]!));
    expect(sampledSlices(5)).toEqual([0, 1, 2, 3, 4]);
  });
});
