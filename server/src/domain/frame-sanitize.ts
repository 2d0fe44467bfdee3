/**
 * Frames for viewers who must not learn identity: only what draws the image.
 *
 * A JPEG bitstream may carry text beside its pixels — COM comments, APPn
 * segments (EXIF with names and dates, XMP, ICC profiles, vendor blocks) and
 * bytes after EOI — which exporters fill with the patient's name and MRN. The
 * DICOM header's allowlist (dicom-view.ts) does not reach into the frame, so
 * the frame gets its own allowlist: the markers a decoder needs are copied
 * and every other segment is dropped simply by not being copied. Anything
 * unrecognised refuses the frame rather than passing it on.
 *
 * Raw samples carry no text, but bits outside BitsStored (overlays stored in
 * the high bits, PS3.5 8.1.2) can draw one: they are cleared.
 */
import { UnsupportedImage } from './dicom.ts';

/** Marker segments copied as they are: DQT, DHT, DAC, DRI, DNL, SOF0–SOF15 (not C4/C8/CC, which are DHT/JPG/DAC). */
const KEEP = new Set([0xdb, 0xc4, 0xcc, 0xdd, 0xdc, 0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP14 = 0xee;

export function stripJpegMetadata(jpeg: Uint8Array): Uint8Array {
  const bad = (why: string) => new UnsupportedImage(`The JPEG frame cannot be shown de-identified: ${why}.`);
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== SOI) throw bad('no start-of-image marker');
  const out: Uint8Array[] = [Uint8Array.of(0xff, SOI)];
  let pos = 2;
  for (;;) {
    // Fill bytes (0xFF runs) may precede a marker.
    while (pos < jpeg.length && jpeg[pos] === 0xff && jpeg[pos + 1] === 0xff) pos++;
    if (pos + 1 >= jpeg.length || jpeg[pos] !== 0xff) throw bad('a segment does not start with a marker');
    const marker = jpeg[pos + 1]!;
    if (marker === EOI) {
      out.push(Uint8Array.of(0xff, EOI)); // anything after EOI is dropped
      break;
    }
    if (pos + 4 > jpeg.length) throw bad('truncated');
    const len = (jpeg[pos + 2]! << 8) | jpeg[pos + 3]!;
    const end = pos + 2 + len;
    if (len < 2 || end > jpeg.length) throw bad('a segment runs past the end');
    if (KEEP.has(marker)) out.push(jpeg.subarray(pos, end));
    else if (marker === APP14 && len >= 14 && Buffer.from(jpeg.subarray(pos + 4, pos + 9)).toString('latin1') === 'Adobe') {
      // The Adobe segment's transform flag decides RGB vs YCbCr decoding: regenerated with only that byte.
      out.push(Uint8Array.of(0xff, APP14, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, jpeg[pos + 15]! <= 2 ? jpeg[pos + 15]! : 1));
    } else if (marker === SOS) {
      // The scan header, then entropy-coded data up to the next marker that is not a stuffed byte (FF00) or a restart (FFD0–FFD7).
      let scan = end;
      while (scan + 1 < jpeg.length && !(jpeg[scan] === 0xff && jpeg[scan + 1] !== 0 && !(jpeg[scan + 1]! >= 0xd0 && jpeg[scan + 1]! <= 0xd7))) scan++;
      if (scan + 1 >= jpeg.length) throw bad('the scan has no end marker');
      out.push(jpeg.subarray(pos, scan));
      pos = scan;
      continue;
    } else if (marker < 0xc0 || marker === 0xc8 || marker === SOI) throw bad(`unexpected marker FF${marker.toString(16).toUpperCase()}`);
    // APP0–APP15 (JFIF, EXIF, XMP, ICC, vendor) and COM (0xFE) and anything else: dropped.
    pos = end;
  }
  return Buffer.concat(out);
}

/**
 * Raw samples with every bit outside BitsStored cleared: the stored value is
 * moved to the low bits (where the viewer reads it, ImagingInstanceDto has no
 * HighBit) and sign-extended when signed, so a proper value loses nothing.
 */
export function maskRawSamples(bytes: Uint8Array, meta: { bitsAllocated: number; bitsStored: number; highBit: number; signed: boolean }): Uint8Array {
  const { bitsAllocated: alloc, bitsStored: stored } = meta;
  if (alloc !== 8 && alloc !== 16 && alloc !== 32) return bytes;
  if (stored >= alloc && meta.highBit === alloc - 1) return bytes;
  const low = Math.max(0, Math.min(alloc - stored, meta.highBit - stored + 1));
  const bits = Math.max(1, Math.min(stored, alloc));
  const out = new Uint8Array(bytes.length);
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dst = new DataView(out.buffer);
  const step = alloc / 8;
  const mask = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
  const top = 2 ** (bits - 1);
  for (let i = 0; i + step <= bytes.length; i += step) {
    const raw = step === 1 ? src.getUint8(i) : step === 2 ? src.getUint16(i, true) : src.getUint32(i, true);
    let v = Math.floor(raw / 2 ** low) % (mask + 1);
    if (meta.signed && v >= top) v -= 2 ** bits; // two's complement within BitsStored, sign-extended to the sample
    if (step === 1) dst.setUint8(i, v & 0xff);
    else if (step === 2) dst.setUint16(i, v & 0xffff, true);
    else dst.setUint32(i, v >>> 0, true);
  }
  return out;
}

/** The frame a viewer gets: as stored for identified viewers, stripped to image data for everyone else. */
export function frameFor(identified: boolean, px: { kind: 'raw' | 'jpeg'; bytes: Uint8Array }, h: { bitsAllocated?: number; bitsStored?: number; highBit?: number; pixelRepresentation?: number }): { kind: 'raw' | 'jpeg'; bytes: Uint8Array } {
  if (identified) return px;
  if (px.kind === 'jpeg') return { kind: 'jpeg', bytes: stripJpegMetadata(px.bytes) };
  const bitsAllocated = h.bitsAllocated ?? 16;
  const bitsStored = h.bitsStored ?? bitsAllocated;
  return { kind: 'raw', bytes: maskRawSamples(px.bytes, { bitsAllocated, bitsStored, highBit: h.highBit ?? bitsStored - 1, signed: h.pixelRepresentation === 1 }) };
}
