/**
 * A minimal DICOM Part 10 writer (explicit VR little endian, or JPEG baseline
 * with encapsulated pixel data) for attack tests that need hostile files the
 * published fixtures do not contain: a JPEG carrying a comment segment, a
 * study UID shared by two patients, a deep sequence. Only what the tests need.
 */
export type DicomValue = string | Uint8Array | number | DicomElement[][];
export interface DicomElement { tag: string; vr: string; value: DicomValue }

const LONG_VR = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN']);
export const EXPLICIT_LE = '1.2.840.10008.1.2.1';
export const JPEG_BASELINE = '1.2.840.10008.1.2.4.50';

function tagBytes(tag: string): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(parseInt(tag.slice(0, 4), 16), 0);
  b.writeUInt16LE(parseInt(tag.slice(4, 8), 16), 2);
  return b;
}

function valueBytes(vr: string, value: DicomValue): Buffer {
  if (typeof value === 'number') {
    const b = Buffer.alloc(vr === 'UL' ? 4 : 2);
    if (vr === 'UL') b.writeUInt32LE(value);
    else b.writeUInt16LE(value);
    return b;
  }
  if (typeof value === 'string') {
    const pad = vr === 'UI' ? '\0' : ' ';
    return Buffer.from(value.length % 2 ? value + pad : value, 'latin1');
  }
  if (value instanceof Uint8Array) return Buffer.from(value.length % 2 ? Buffer.concat([value, Buffer.from([0])]) : value);
  throw new Error('sequence values are encoded by element()');
}

export function element(e: DicomElement): Buffer {
  if (e.vr === 'SQ') {
    // Undefined-length sequence of undefined-length items.
    const items = (e.value as DicomElement[][]).map((item) => Buffer.concat([tagBytes('FFFEE000'), u32(0xffffffff), ...item.map(element), tagBytes('FFFEE00D'), u32(0)]));
    return Buffer.concat([tagBytes(e.tag), Buffer.from('SQ'), Buffer.alloc(2), u32(0xffffffff), ...items, tagBytes('FFFEE0DD'), u32(0)]);
  }
  const v = valueBytes(e.vr, e.value);
  if (LONG_VR.has(e.vr)) return Buffer.concat([tagBytes(e.tag), Buffer.from(e.vr), Buffer.alloc(2), u32(v.length), v]);
  const len = Buffer.alloc(2);
  len.writeUInt16LE(v.length);
  return Buffer.concat([tagBytes(e.tag), Buffer.from(e.vr), len, v]);
}

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** JPEG baseline frames as encapsulated pixel data (empty basic offset table, one fragment per frame). */
export function encapsulated(frames: Uint8Array[]): Buffer {
  const parts = frames.map((f) => {
    const v = f.length % 2 ? Buffer.concat([f, Buffer.from([0])]) : Buffer.from(f);
    return Buffer.concat([tagBytes('FFFEE000'), u32(v.length), v]);
  });
  return Buffer.concat([tagBytes('7FE00010'), Buffer.from('OB'), Buffer.alloc(2), u32(0xffffffff), tagBytes('FFFEE000'), u32(0), ...parts, tagBytes('FFFEE0DD'), u32(0)]);
}

/** A Part 10 file: preamble, DICM, file meta, then the data set (elements sorted by tag), then optional raw tail (e.g. encapsulated pixels). */
export function part10(opts: { sopClassUid: string; sopInstanceUid: string; transferSyntax: string; elements: DicomElement[]; tail?: Buffer }): Uint8Array {
  const meta = [
    element({ tag: '00020001', vr: 'OB', value: new Uint8Array([0, 1]) }),
    element({ tag: '00020002', vr: 'UI', value: opts.sopClassUid }),
    element({ tag: '00020003', vr: 'UI', value: opts.sopInstanceUid }),
    element({ tag: '00020010', vr: 'UI', value: opts.transferSyntax }),
    element({ tag: '00020012', vr: 'UI', value: '1.2.826.0.1.3680043.9.7433.1' }),
  ];
  const metaBody = Buffer.concat(meta);
  const groupLength = element({ tag: '00020000', vr: 'UL', value: metaBody.length });
  const all = [{ tag: '00080016', vr: 'UI', value: opts.sopClassUid }, { tag: '00080018', vr: 'UI', value: opts.sopInstanceUid }, ...opts.elements].sort((a, b) => a.tag.localeCompare(b.tag));
  return new Uint8Array(Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), groupLength, metaBody, ...all.map(element), opts.tail ?? Buffer.alloc(0)]));
}

/** Insert a JPEG COM (comment) segment right after SOI, as cameras, ultrasound carts and PACS exporters do. */
export function withJpegComment(jpeg: Uint8Array, text: string): Uint8Array {
  const body = Buffer.from(text, 'latin1');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length + 2);
  return new Uint8Array(Buffer.concat([Buffer.from(jpeg.subarray(0, 2)), Buffer.from([0xff, 0xfe]), len, body, Buffer.from(jpeg.subarray(2))]));
}

/**
 * An 8-bit RGB JPEG baseline instance (YBR_FULL_422, 100 × 100) of this patient with `frame` as its one frame;
 * `burnedIn` sets BurnedInAnnotation, `imageType` ImageType (both left out when absent).
 */
export function jpegInstance(o: { sopClass: string; modality: string; study: string; series: string; sop: string; frame: Uint8Array; patient: { name: string; id: string }; burnedIn?: 'YES' | 'NO'; imageType?: string }): Uint8Array {
  return part10({
    sopClassUid: o.sopClass,
    sopInstanceUid: o.sop,
    transferSyntax: JPEG_BASELINE,
    elements: [
      ...(o.imageType ? [{ tag: '00080008', vr: 'CS', value: o.imageType }] : []),
      { tag: '00080020', vr: 'DA', value: '20010101' },
      { tag: '00080060', vr: 'CS', value: o.modality },
      { tag: '00100010', vr: 'PN', value: o.patient.name },
      { tag: '00100020', vr: 'LO', value: o.patient.id },
      { tag: '0020000D', vr: 'UI', value: o.study },
      { tag: '0020000E', vr: 'UI', value: o.series },
      { tag: '00280002', vr: 'US', value: 3 },
      { tag: '00280004', vr: 'CS', value: 'YBR_FULL_422' },
      { tag: '00280006', vr: 'US', value: 0 },
      { tag: '00280010', vr: 'US', value: 100 },
      { tag: '00280011', vr: 'US', value: 100 },
      { tag: '00280100', vr: 'US', value: 8 },
      { tag: '00280101', vr: 'US', value: 8 },
      { tag: '00280102', vr: 'US', value: 7 },
      { tag: '00280103', vr: 'US', value: 0 },
      ...(o.burnedIn ? [{ tag: '00280301', vr: 'CS', value: o.burnedIn }] : []),
    ],
    tail: encapsulated([o.frame]),
  });
}
