import type { ImagingInstanceDto } from '../../../../shared/src/imaging.ts';

/**
 * Pixels as a radiologist reads them, without the DOM: stored samples →
 * modality values (RescaleSlope/Intercept: Hounsfield units for CT) → grey
 * through the window (PS3.3 C.11.2.1.2, the linear VOI function), MONOCHROME1
 * inverted. Raw frames are little-endian samples as stored (8 or 16 bits,
 * signed or not); JPEG frames arrive already decoded by the browser as 8-bit.
 */
export type PixelMeta = Pick<ImagingInstanceDto, 'rows' | 'columns' | 'bitsAllocated' | 'bitsStored' | 'pixelRepresentation' | 'rescaleSlope' | 'rescaleIntercept' | 'photometric' | 'samplesPerPixel'>;

/** Modality values (e.g. HU) of one monochrome frame. */
export function modalityValues(bytes: Uint8Array, meta: PixelMeta): Float32Array {
  const n = meta.rows * meta.columns;
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const signed = meta.pixelRepresentation === 1;
  const stored = meta.bitsStored > 0 && meta.bitsStored <= meta.bitsAllocated ? meta.bitsStored : meta.bitsAllocated;
  const mask = stored >= 32 ? 0xffffffff : (1 << stored) - 1;
  const sign = 1 << (stored - 1);
  const step = meta.bitsAllocated <= 8 ? 1 : 2;
  const count = Math.min(n, Math.floor(bytes.byteLength / step));
  for (let i = 0; i < count; i++) {
    let v = step === 1 ? view.getUint8(i) : view.getUint16(i * 2, true);
    v &= mask;
    if (signed && v & sign) v -= 1 << stored; // two's complement within BitsStored
    out[i] = v * meta.rescaleSlope + meta.rescaleIntercept;
  }
  return out;
}

/** The linear VOI function: values in modality units to 0–255 grey. */
export function windowToGrey(values: Float32Array, center: number, width: number, invert = false, into?: Uint8ClampedArray): Uint8ClampedArray {
  const rgba = into ?? new Uint8ClampedArray(values.length * 4);
  const w = Math.max(1, width);
  const lo = center - 0.5 - (w - 1) / 2;
  const scale = 255 / (w - 1 || 1);
  for (let i = 0; i < values.length; i++) {
    let g = values[i]! <= lo ? 0 : values[i]! > lo + w - 1 ? 255 : (values[i]! - lo) * scale;
    if (invert) g = 255 - g;
    const o = i * 4;
    rgba[o] = rgba[o + 1] = rgba[o + 2] = g;
    rgba[o + 3] = 255;
  }
  return rgba;
}

/** Window an 8-bit decoded image (a JPEG) in place, when it is monochrome; colour images are left as they are. */
export function windowDecoded(rgba: Uint8ClampedArray, meta: PixelMeta, center: number, width: number): void {
  if (meta.samplesPerPixel !== 1) return;
  const values = new Float32Array(rgba.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = rgba[i * 4]! * meta.rescaleSlope + meta.rescaleIntercept;
  windowToGrey(values, center, width, meta.photometric === 'MONOCHROME1', rgba);
}

/** Distance in mm between two image points (column, row), from PixelSpacing [row spacing, column spacing]; null without spacing. */
export function lengthMm(a: readonly [number, number], b: readonly [number, number], spacing: readonly [number, number] | null): number | null {
  if (!spacing) return null;
  return Math.hypot((b[0] - a[0]) * spacing[1], (b[1] - a[1]) * spacing[0]);
}

/** Area in mm² of the ellipse inscribed in the box with corners a and b. */
export function ellipseAreaMm2(a: readonly [number, number], b: readonly [number, number], spacing: readonly [number, number] | null): number | null {
  if (!spacing) return null;
  return (Math.PI * Math.abs(b[0] - a[0]) * spacing[1] * Math.abs(b[1] - a[1]) * spacing[0]) / 4;
}

/** Mean and SD of the modality values inside that ellipse (HU for CT): what one reads off a region. */
export function ellipseStats(values: Float32Array, columns: number, rows: number, a: readonly [number, number], b: readonly [number, number]): { mean: number; sd: number; n: number } | null {
  const [cx, cy] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const [rx, ry] = [Math.abs(b[0] - a[0]) / 2, Math.abs(b[1] - a[1]) / 2];
  if (rx <= 0 || ry <= 0) return null;
  let sum = 0;
  let sq = 0;
  let n = 0;
  for (let y = Math.max(0, Math.floor(cy - ry)); y < Math.min(rows, Math.ceil(cy + ry)); y++) {
    for (let x = Math.max(0, Math.floor(cx - rx)); x < Math.min(columns, Math.ceil(cx + rx)); x++) {
      const [dx, dy] = [(x + 0.5 - cx) / rx, (y + 0.5 - cy) / ry];
      if (dx * dx + dy * dy > 1) continue;
      const v = values[y * columns + x]!;
      sum += v;
      sq += v * v;
      n++;
    }
  }
  if (n === 0) return null;
  const mean = sum / n;
  return { mean, sd: Math.sqrt(Math.max(0, sq / n - mean * mean)), n };
}
