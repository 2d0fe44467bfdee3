import { EXPLICIT_LE, part10 } from './dicom-writer.ts';

/**
 * Synthetic CT series for tests and the bench, written as any scanner's axial
 * series would be (explicit VR little endian, 16-bit signed, HU + 1024 stored
 * with RescaleIntercept −1024): what pydicom's 16×16×5 test CT cannot show —
 * a volume large enough to render, scroll and pinch on.
 */
const CT_IMAGE = '1.2.840.10008.5.1.4.1.1.2';

export interface CtSeriesOptions {
  /** Columns and rows. */
  size: number;
  slices: number;
  /** mm between pixels (rows and columns alike) and between slice centres. */
  pixelMm: number;
  sliceMm: number;
  /** UID root: study `${uid}.1`, series `${uid}.2`, instances `${uid}.3.n`. */
  uid: string;
  patient: { name: string; id: string; birthDate: string };
  description: string;
}

/** One slice of the series as a Part 10 file, with `hu` (size × size, row by row) as its pixels. */
export function ctSliceFile(k: number, hu: Int16Array, o: CtSeriesOptions): Uint8Array {
  const ds = (n: number) => n.toFixed(2);
  const stored = new Int16Array(hu.length);
  for (let i = 0; i < hu.length; i++) stored[i] = hu[i]! + 1024;
  const half = (o.size * o.pixelMm) / 2;
  return part10({
    sopClassUid: CT_IMAGE,
    sopInstanceUid: `${o.uid}.3.${k + 1}`,
    transferSyntax: EXPLICIT_LE,
    elements: [
      { tag: '00080008', vr: 'CS', value: 'ORIGINAL\\PRIMARY\\AXIAL' },
      { tag: '00080020', vr: 'DA', value: '20240101' },
      { tag: '00080060', vr: 'CS', value: 'CT' },
      { tag: '0008103E', vr: 'LO', value: o.description },
      { tag: '00100010', vr: 'PN', value: o.patient.name },
      { tag: '00100020', vr: 'LO', value: o.patient.id },
      { tag: '00100030', vr: 'DA', value: o.patient.birthDate },
      { tag: '00180050', vr: 'DS', value: ds(o.sliceMm) },
      { tag: '0020000D', vr: 'UI', value: `${o.uid}.1` },
      { tag: '0020000E', vr: 'UI', value: `${o.uid}.2` },
      { tag: '00200011', vr: 'IS', value: '2' },
      { tag: '00200013', vr: 'IS', value: String(k + 1) },
      // Head first: the first slice is the highest (z falls as k grows), as a chest CT is acquired.
      { tag: '00200032', vr: 'DS', value: `${ds(-half)}\\${ds(-half)}\\${ds(-k * o.sliceMm)}` },
      { tag: '00200037', vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
      { tag: '00280002', vr: 'US', value: 1 },
      { tag: '00280004', vr: 'CS', value: 'MONOCHROME2' },
      { tag: '00280010', vr: 'US', value: o.size },
      { tag: '00280011', vr: 'US', value: o.size },
      { tag: '00280030', vr: 'DS', value: `${o.pixelMm}\\${o.pixelMm}` },
      { tag: '00280100', vr: 'US', value: 16 },
      { tag: '00280101', vr: 'US', value: 16 },
      { tag: '00280102', vr: 'US', value: 15 },
      { tag: '00280103', vr: 'US', value: 1 },
      { tag: '00281050', vr: 'DS', value: '40' },
      { tag: '00281051', vr: 'DS', value: '400' },
      { tag: '00281052', vr: 'DS', value: '-1024' },
      { tag: '00281053', vr: 'DS', value: '1' },
      { tag: '7FE00010', vr: 'OW', value: new Uint8Array(stored.buffer) },
    ],
  });
}

/**
 * A chest, slice k of `slices` from the neck down (HU): air, a body outline with skin and fat, two lungs,
 * a vertebral column with discs, ribs every 25 mm, a sternum, the heart in the lower half with its contrast-
 * filled ventricle, the aorta, and a 2.4 cm nodule in the right lung around 40 % of the way down.
 */
export function chestSlice(k: number, o: Pick<CtSeriesOptions, 'size' | 'slices' | 'pixelMm' | 'sliceMm'>): Int16Array {
  const { size: n, pixelMm: px } = o;
  const hu = new Int16Array(n * n);
  const z = k * o.sliceMm; // mm below the first slice
  const length = o.slices * o.sliceMm;
  const f = z / length; // 0 at the neck, 1 at the diaphragm
  // Body: an ellipse that widens from the shoulders, ribs every 25 mm (8 mm thick), discs every 28 mm.
  const [ax, ay] = [150 + 20 * Math.min(1, f * 3), 105 + 10 * Math.min(1, f * 2)];
  const rib = z % 25 < 8 && f > 0.05;
  const disc = z % 28 < 5;
  const nodule = { x: -55, y: -5, z: 0.4 * length, r: 12 };
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < n; c++) {
      const x = (c + 0.5 - n / 2) * px; // patient left is +x (image right)
      const y = (r + 0.5 - n / 2) * px; // posterior is +y (image down)
      const e = (x / ax) ** 2 + (y / ay) ** 2;
      let v = -1000;
      if (e < 1) {
        v = e > 0.86 ? -90 : 35 + ((c * 7 + r * 13 + k * 3) % 15) - 7; // fat under the skin, then muscle
        const lung = (cx: number) => ((x - cx) / (0.36 * ax)) ** 2 + ((y + 5) / (0.68 * ay)) ** 2 < 1;
        if (f > 0.08 && (lung(-0.48 * ax) || lung(0.48 * ax))) v = -840;
        // The heart: lower half, left of the midline, in front; its ventricle filled with contrast.
        const heart = ((x - 25) / 62) ** 2 + ((y + 25) / 52) ** 2 + ((z - 0.78 * length) / (0.3 * length)) ** 2;
        if (heart < 1) v = heart < 0.35 ? 260 : 45;
        // The aorta: left of the spine, down the whole chest, contrast-filled.
        if ((x - 28) ** 2 + (y - 40) ** 2 < 13 ** 2 && f > 0.12) v = 280;
        // Vertebral body (a disc between two), posterior elements behind it.
        if (x ** 2 + (y - 62) ** 2 < 19 ** 2) v = disc ? 90 : 650;
        if (!disc && Math.abs(x) < 7 && y > 80 && y < 100) v = 900;
        // Sternum, in front.
        if (Math.abs(x) < 14 && y < -ay + 14 && y > -ay + 3 && f > 0.1 && f < 0.8) v = 700;
        // Ribs: a band just inside the outline, from the spine round to the front (not across the sternum).
        if (rib && e > 0.72 && e < 0.82 && !(Math.abs(x) < 25 && y < 0)) v = 1000;
        if ((x - nodule.x) ** 2 + (y - nodule.y) ** 2 + (z - nodule.z) ** 2 < nodule.r ** 2) v = 55;
      }
      hu[r * n + c] = v;
    }
  }
  return hu;
}

/** The whole chest series as Part 10 files, first slice first. */
export function chestSeries(o: CtSeriesOptions): Uint8Array[] {
  return Array.from({ length: o.slices }, (_, k) => ctSliceFile(k, chestSlice(k, o), o));
}
