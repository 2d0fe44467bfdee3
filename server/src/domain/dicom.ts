import dicomParser from 'dicom-parser';
import { checkStructure } from './dicom-scan.ts';
import { NotDicom, SUPPORTED_TRANSFER_SYNTAXES, UnsupportedImage, unsupportedSyntax } from './dicom-syntax.ts';

/**
 * The DICOM attributes Consilium reads, under one name each, whether they come
 * from a Part 10 file (uploads, WADO-RS instances) or from DICOM JSON (WADO-RS
 * metadata, QIDO-RS). Everything else in a file is never read, so it can never
 * be passed on: de-identification (domain/dicom-view.ts) starts from this list.
 */
export const TAGS = {
  transferSyntaxUid: '00020010',
  imageType: '00080008',
  sopClassUid: '00080016',
  sopInstanceUid: '00080018',
  studyDate: '00080020',
  seriesDate: '00080021',
  accessionNumber: '00080050',
  modality: '00080060',
  institutionName: '00080080',
  referringPhysicianName: '00080090',
  studyDescription: '00081030',
  seriesDescription: '0008103E',
  operatorsName: '00081070',
  patientName: '00100010',
  patientId: '00100020',
  patientBirthDate: '00100030',
  patientSex: '00100040',
  burnedInAnnotation: '00280301',
  sliceThickness: '00180050',
  studyInstanceUid: '0020000D',
  seriesInstanceUid: '0020000E',
  seriesNumber: '00200011',
  instanceNumber: '00200013',
  imagePositionPatient: '00200032',
  imageOrientationPatient: '00200037',
  samplesPerPixel: '00280002',
  photometricInterpretation: '00280004',
  numberOfFrames: '00280008',
  planarConfiguration: '00280006',
  rows: '00280010',
  columns: '00280011',
  pixelSpacing: '00280030',
  bitsAllocated: '00280100',
  bitsStored: '00280101',
  highBit: '00280102',
  pixelRepresentation: '00280103',
  windowCenter: '00281050',
  windowWidth: '00281051',
  rescaleIntercept: '00281052',
  rescaleSlope: '00281053',
  numberOfSeriesRelatedInstances: '00201209',
} as const;

export type DicomName = keyof typeof TAGS;
const US_TAGS = new Set<DicomName>(['samplesPerPixel', 'rows', 'columns', 'bitsAllocated', 'bitsStored', 'highBit', 'pixelRepresentation', 'planarConfiguration']);
const NUMBER_LISTS = new Set<DicomName>(['imagePositionPatient', 'imageOrientationPatient', 'pixelSpacing', 'windowCenter', 'windowWidth']);
const NUMBERS = new Set<DicomName>(['sliceThickness', 'seriesNumber', 'instanceNumber', 'numberOfFrames', 'rescaleIntercept', 'rescaleSlope', 'numberOfSeriesRelatedInstances']);

/** One instance's (or series', or study's) attributes: strings, numbers or number lists; absent when absent. */
export type DicomHeader = Partial<Record<DicomName, string | number | number[] | string[]>>;

export const str = (h: DicomHeader, n: DicomName): string | undefined => (typeof h[n] === 'string' ? (h[n] as string) : undefined);
export const num = (h: DicomHeader, n: DicomName): number | undefined => (typeof h[n] === 'number' ? (h[n] as number) : Array.isArray(h[n]) && typeof (h[n] as unknown[])[0] === 'number' ? ((h[n] as number[])[0]) : undefined);
export const nums = (h: DicomHeader, n: DicomName): number[] | undefined => (Array.isArray(h[n]) && (h[n] as unknown[]).every((v) => typeof v === 'number') ? (h[n] as number[]) : undefined);

// What a file may be stored as, and the refusals: dicom-syntax.ts (dicom-scan.ts reads them too).
export { NotDicom, SUPPORTED_TRANSFER_SYNTAXES, TRANSFER_SYNTAX_NAMES, UnsupportedImage, unsupportedSyntax } from './dicom-syntax.ts';

/** A parsed Part 10 file: its header (our attributes) and the data set for pixel reads. */
export interface ParsedInstance {
  header: DicomHeader;
  dataSet: dicomParser.DataSet;
}

/** Parse a DICOM Part 10 file (preamble, DICM, file meta). Throws NotDicom for anything else, or past the element budget (checkStructure). */
export function parsePart10(bytes: Uint8Array): ParsedInstance {
  if (bytes.length < 132 || Buffer.from(bytes.buffer, bytes.byteOffset + 128, 4).toString('latin1') !== 'DICM') throw new NotDicom('it has no DICM preamble');
  checkStructure(bytes);
  let dataSet: dicomParser.DataSet;
  try {
    dataSet = dicomParser.parseDicom(bytes);
  } catch (err) {
    throw new NotDicom(typeof err === 'string' ? err : err instanceof Error ? err.message : 'unreadable DICOM');
  }
  const header: DicomHeader = {};
  for (const [name, tag] of Object.entries(TAGS) as [DicomName, string][]) {
    const key = `x${tag.toLowerCase()}`;
    if (!dataSet.elements[key]) continue;
    if (US_TAGS.has(name)) {
      const v = dataSet.uint16(key);
      if (v !== undefined) header[name] = v;
      continue;
    }
    const raw = dataSet.string(key);
    if (raw === undefined || raw === '') continue;
    if (NUMBER_LISTS.has(name)) header[name] = raw.split('\\').map(Number).filter(Number.isFinite);
    else if (NUMBERS.has(name)) {
      const n = Number(raw);
      if (Number.isFinite(n)) header[name] = n;
    } else if (name === 'imageType') header[name] = raw.split('\\');
    else header[name] = raw;
  }
  return { header, dataSet };
}

/** DICOM JSON (PS3.18 F.2) to our attributes: WADO-RS metadata and QIDO-RS answers. */
export function fromDicomJson(json: unknown): DicomHeader {
  const header: DicomHeader = {};
  if (typeof json !== 'object' || json === null) return header;
  const obj = json as Record<string, { vr?: string; Value?: unknown[] } | undefined>;
  for (const [name, tag] of Object.entries(TAGS) as [DicomName, string][]) {
    const el = obj[tag] ?? obj[tag.toLowerCase()];
    const values = Array.isArray(el?.Value) ? el.Value : [];
    if (values.length === 0) continue;
    if (el?.vr === 'PN') {
      const pn = values[0] as { Alphabetic?: unknown } | null;
      if (pn && typeof pn.Alphabetic === 'string') header[name] = pn.Alphabetic;
      continue;
    }
    if (NUMBER_LISTS.has(name)) {
      const list = values.map(Number).filter(Number.isFinite);
      if (list.length) header[name] = list;
    } else if (NUMBERS.has(name) || US_TAGS.has(name)) {
      const n = Number(values[0]);
      if (Number.isFinite(n)) header[name] = n;
    } else if (name === 'imageType') header[name] = values.map(String);
    else if (typeof values[0] === 'string') header[name] = values[0];
  }
  return header;
}

/**
 * Where each frame's bytes lie in the file, computed once when a file is stored or cached, so a
 * frame request reads its own bytes instead of parsing the whole file again. Raw frames are
 * contiguous (offset + size × n); JPEG frames are lists of [position, length] fragments.
 */
export type PixelIndex = { kind: 'raw'; offset: number; size: number; count: number } | { kind: 'jpeg'; frames: [number, number][][] } | { kind: 'none'; problem: string };
export interface InstanceIndex {
  header: DicomHeader;
  pixels: PixelIndex;
}

export function pixelIndex(parsed: ParsedInstance): PixelIndex {
  const ts = str(parsed.header, 'transferSyntaxUid');
  const problem = unsupportedSyntax(ts);
  if (problem) return { kind: 'none', problem };
  const el = parsed.dataSet.elements['x7fe00010'];
  if (!el) return { kind: 'none', problem: 'This instance has no pixel data (it is not an image).' };
  const frames = Math.max(1, Math.floor(num(parsed.header, 'numberOfFrames') ?? 1));
  if (SUPPORTED_TRANSFER_SYNTAXES[ts!] === 'jpeg') {
    if (!el.encapsulatedPixelData || !el.fragments?.length) return { kind: 'none', problem: 'JPEG pixel data is not encapsulated.' };
    const fragments = el.fragments;
    let table: number[];
    try {
      table = el.basicOffsetTable && el.basicOffsetTable.length ? el.basicOffsetTable : frames === 1 ? [0] : dicomParser.createJPEGBasicOffsetTable(parsed.dataSet, el);
    } catch {
      return { kind: 'none', problem: 'The JPEG frames cannot be told apart.' };
    }
    if (table.length < frames) return { kind: 'none', problem: 'The pixel data holds fewer JPEG frames than NumberOfFrames says.' };
    const index: [number, number][][] = [];
    for (let i = 0; i < frames; i++) {
      const parts = fragments.filter((f) => f.offset >= table[i]! && (i + 1 >= frames || f.offset < table[i + 1]!)).map((f): [number, number] => [f.position, f.length]);
      if (!parts.length) return { kind: 'none', problem: 'A JPEG frame has no fragment.' };
      index.push(parts);
    }
    return { kind: 'jpeg', frames: index };
  }
  const h = parsed.header;
  const size = (num(h, 'rows') ?? 0) * (num(h, 'columns') ?? 0) * (num(h, 'samplesPerPixel') ?? 1) * Math.ceil((num(h, 'bitsAllocated') ?? 16) / 8);
  if (size <= 0 || el.dataOffset + size * frames > parsed.dataSet.byteArray.length) return { kind: 'none', problem: 'The pixel data is shorter than its rows, columns and bits say.' };
  return { kind: 'raw', offset: el.dataOffset, size, count: frames };
}

/** The [position, length] byte ranges of one frame (1-based); throws UnsupportedImage or FrameOutOfRange. */
export function frameParts(pixels: PixelIndex, frame: number): { kind: 'raw' | 'jpeg'; parts: [number, number][] } {
  if (pixels.kind === 'none') throw new UnsupportedImage(pixels.problem);
  const count = pixels.kind === 'raw' ? pixels.count : pixels.frames.length;
  if (!Number.isInteger(frame) || frame < 1 || frame > count) throw new FrameOutOfRange(count);
  if (pixels.kind === 'raw') return { kind: 'raw', parts: [[pixels.offset + pixels.size * (frame - 1), pixels.size]] };
  return { kind: 'jpeg', parts: pixels.frames[frame - 1]! };
}

/** One frame's pixel data as stored, from a parsed file: raw little-endian samples, or one JPEG bitstream. */
export function readFrame(parsed: ParsedInstance, frame: number): { kind: 'raw' | 'jpeg'; bytes: Uint8Array } {
  const { kind, parts } = frameParts(pixelIndex(parsed), frame);
  const bytes = parsed.dataSet.byteArray;
  const slices = parts.map(([at, n]) => bytes.subarray(at, at + n));
  return { kind, bytes: slices.length === 1 ? slices[0]! : new Uint8Array(Buffer.concat(slices)) };
}


// No parameter properties in this file: the indexing worker runs it with Node's type stripping.
export class FrameOutOfRange extends Error {
  readonly frames: number;
  constructor(frames: number) {
    super(`frame out of range (1..${frames})`);
    this.frames = frames;
    this.name = 'FrameOutOfRange';
  }
}
