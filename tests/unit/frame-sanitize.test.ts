import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePart10, readFrame } from '../../server/src/domain/dicom.ts';
import { maskRawSamples, stripJpegMetadata } from '../../server/src/domain/frame-sanitize.ts';
import { withJpegComment } from '../support/dicom-writer.ts';

const fixture = async () => readFrame(parsePart10(new Uint8Array(await readFile(path.resolve(import.meta.dirname, '../fixtures/dicom/SC_rgb_jpeg_dcmtk.dcm')))), 1).bytes;

/** A segment (marker + length + body) as a JPEG writer emits it. */
const segment = (marker: number, body: string) => {
  const b = Buffer.from(body, 'latin1');
  return Buffer.concat([Buffer.from([0xff, marker, (b.length + 2) >> 8, (b.length + 2) & 0xff]), b]);
};
const markers = (jpeg: Uint8Array) => {
  const out: string[] = [];
  for (let i = 0; i + 1 < jpeg.length; i++) if (jpeg[i] === 0xff && jpeg[i + 1] !== 0 && jpeg[i + 1] !== 0xff) out.push(jpeg[i + 1]!.toString(16));
  return out;
};
const CANARIES = ['Doe^Peter', '98890234', '19500101'];

describe('JPEG frames for viewers who must not learn identity', () => {
  it('drops COM, every APPn (EXIF, XMP, ICC) and bytes after EOI; the image segments and scan data are unchanged', async () => {
    const clean = await fixture();
    const soi = Buffer.from(clean.subarray(0, 2));
    const hostile = Buffer.concat([
      soi,
      segment(0xe1, 'Exif\0\0Doe^Peter'),
      segment(0xe1, 'http://ns.adobe.com/xap/1.0/\0<x>98890234</x>'),
      segment(0xe2, 'ICC_PROFILE\0\x01\x01 19500101'),
      segment(0xeb, 'vendor Doe^Peter'),
      Buffer.from(withJpegComment(clean, 'Patient Doe^Peter MRN 98890234 DOB 19500101').subarray(2)),
      Buffer.from(' trailing 98890234', 'latin1'),
    ]);
    const out = stripJpegMetadata(hostile);
    const text = Buffer.from(out).toString('latin1');
    expect(CANARIES.filter((c) => text.includes(c))).toEqual([]);
    // The same bytes as the original minus its own APP/COM segments: nothing the decoder needs was lost.
    expect(Buffer.from(out).equals(Buffer.from(stripJpegMetadata(clean)))).toBe(true);
    expect(markers(out).filter((m) => /^e|^fe/.test(m))).toEqual([]);
    expect(markers(out)).toEqual(expect.arrayContaining(['d8', 'db', 'c0', 'c4', 'da', 'd9']));
    const scan = (j: Uint8Array) => Buffer.from(j).subarray(Buffer.from(j).indexOf(Buffer.from([0xff, 0xda])));
    expect(scan(out).equals(scan(clean).subarray(0, scan(clean).indexOf(Buffer.from([0xff, 0xd9])) + 2))).toBe(true);
  });

  it('a comment between scans or a truncated stream: stripped, or refused — never passed on', async () => {
    const clean = Buffer.from(await fixture());
    const eoi = clean.lastIndexOf(Buffer.from([0xff, 0xd9]));
    const between = Buffer.concat([clean.subarray(0, eoi), segment(0xfe, 'Doe^Peter'), clean.subarray(eoi)]);
    expect(Buffer.from(stripJpegMetadata(between)).toString('latin1')).not.toContain('Doe^Peter');
    expect(() => stripJpegMetadata(clean.subarray(0, 40))).toThrow(/cannot be shown/);
    expect(() => stripJpegMetadata(Buffer.from('Doe^Peter'))).toThrow(/cannot be shown/);
  });
});

describe('raw samples: bits outside BitsStored', () => {
  it('an overlay in bit 15 of 12-bit samples is cleared; signed values keep their sign', () => {
    const px = new Uint8Array(8);
    const v = new DataView(px.buffer);
    v.setUint16(0, 0x8000 | 0x0123, true); // overlay bit + value 0x123
    v.setUint16(2, 0x0fff, true); // -1 in 12-bit two's complement
    v.setUint16(4, 0xf800, true); // overlay bits only, value 0x800 = -2048 signed
    v.setUint16(6, 0x07ff, true);
    const unsigned = new DataView(maskRawSamples(px, { bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: false }).buffer);
    expect([0, 2, 4, 6].map((o) => unsigned.getUint16(o, true))).toEqual([0x0123, 0x0fff, 0x0800, 0x07ff]);
    const signed = new DataView(maskRawSamples(px, { bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: true }).buffer);
    expect([0, 2, 4, 6].map((o) => signed.getInt16(o, true))).toEqual([0x123, -1, -2048, 0x7ff]);
    // All 16 bits stored: nothing to clear, the same bytes.
    expect(maskRawSamples(px, { bitsAllocated: 16, bitsStored: 16, highBit: 15, signed: false })).toBe(px);
  });
});
