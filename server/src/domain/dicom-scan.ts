/**
 * A bounded walk over a Part 10 file's elements before the real parser runs.
 *
 * dicom-parser builds an object per element and recurses per sequence, with
 * no limit: 16 MB of empty elements cost it seconds and hundreds of MB. This
 * walk only reads tags and lengths, counting elements (sequence items and
 * pixel fragments included) and nesting, and refuses a file past the budget
 * before anything is built. It does not judge well-formedness beyond that:
 * the parser still does.
 */
import { NotDicom, UnsupportedImage, unsupportedSyntax } from './dicom-syntax.ts';

/** A CT slice has a few hundred elements; an enhanced multi-frame MR with per-frame groups tens of thousands. */
export const MAX_ELEMENTS = 100_000;
/** Standard IODs nest sequences a handful of levels deep. */
export const MAX_DEPTH = 16;

const LONG_VR = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);
const UNDEFINED = 0xffffffff;
const IMPLICIT_LE = '1.2.840.10008.1.2';
/** Syntaxes whose data set this walk cannot read (and Consilium does not show): refused before parsing. */
const UNREADABLE = new Set(['1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.2']);

export function checkStructure(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.length;
  let count = 0;
  let syntax = '';
  const tooMany = () => new NotDicom(`more than ${MAX_ELEMENTS} elements, or sequences nested deeper than ${MAX_DEPTH}: not read`);
  const u16 = (p: number) => view.getUint16(p, true);
  const u32 = (p: number) => view.getUint32(p, true);

  /** Elements from pos up to end, or up to an item delimiter; returns the position after them. */
  function elements(pos: number, end: number, depth: number): number {
    while (pos + 8 <= Math.min(end, len)) {
      const group = u16(pos);
      const el = u16(pos + 2);
      if (group === 0xfffe) return el === 0xe00d ? pos + 8 : end; // item end; anything else is the parser's to judge
      if (++count > MAX_ELEMENTS) throw tooMany();
      const explicit = group === 0x0002 || syntax !== IMPLICIT_LE;
      if (group !== 0x0002 && UNREADABLE.has(syntax)) throw new UnsupportedImage(unsupportedSyntax(syntax)!);
      let vr = '';
      let length: number;
      if (explicit) {
        vr = String.fromCharCode(bytes[pos + 4]!, bytes[pos + 5]!);
        if (LONG_VR.has(vr)) {
          if (pos + 12 > len) return len;
          length = u32(pos + 8);
          pos += 12;
        } else {
          length = u16(pos + 6);
          pos += 8;
        }
      } else {
        length = u32(pos + 4);
        pos += 8;
      }
      if (group === 0x0002 && el === 0x0010 && length < 128 && pos + length <= len) syntax = Buffer.from(bytes.subarray(pos, pos + length)).toString('latin1').replace(/[\0 ]+$/, '');
      const pixels = group === 0x7fe0 && el === 0x0010;
      const sequence = !pixels && (vr === 'SQ' || length === UNDEFINED || (!explicit && length >= 8 && pos + 4 <= len && u16(pos) === 0xfffe && u16(pos + 2) === 0xe000));
      if (sequence || length === UNDEFINED) pos = items(pos, length === UNDEFINED ? len : pos + length, depth + 1, pixels);
      else pos += length;
    }
    return Math.min(end, len);
  }

  /** Sequence items (or encapsulated pixel fragments, whose content is not elements) up to end, or up to the sequence delimiter. */
  function items(pos: number, end: number, depth: number, fragments = false): number {
    if (depth > MAX_DEPTH) throw tooMany();
    while (pos + 8 <= Math.min(end, len)) {
      if (u16(pos) !== 0xfffe) return end;
      const el = u16(pos + 2);
      const length = u32(pos + 4);
      pos += 8;
      if (el === 0xe0dd) return pos;
      if (el !== 0xe000) return end;
      if (++count > MAX_ELEMENTS) throw tooMany();
      if (fragments) pos += length === UNDEFINED ? len : length;
      else if (length === UNDEFINED) pos = elements(pos, len, depth);
      else {
        elements(pos, pos + length, depth);
        pos += length;
      }
    }
    return Math.min(end, len);
  }

  elements(132, len, 0);
}
