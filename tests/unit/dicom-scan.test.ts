import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_DEPTH, MAX_ELEMENTS } from '../../server/src/domain/dicom-scan.ts';
import { frameParts, NotDicom, parsePart10, pixelIndex, readFrame } from '../../server/src/domain/dicom.ts';
import { element, EXPLICIT_LE, part10, type DicomElement } from '../support/dicom-writer.ts';

const DIR = path.resolve(import.meta.dirname, '../fixtures/dicom');
const ident: DicomElement[] = [{ tag: '00100010', vr: 'PN', value: 'Doe^Peter' }, { tag: '00100020', vr: 'LO', value: '98890234' }];
const file = (tail: Buffer) => part10({ sopClassUid: '1.2.840.10008.5.1.4.1.1.4', sopInstanceUid: '1.2.3.4', transferSyntax: EXPLICIT_LE, elements: ident, tail });
const empties = (n: number) => Buffer.concat(Array.from({ length: n }, (_, i) => element({ tag: `0009${(0x1000 + (i % 0xe000)).toString(16).padStart(4, '0')}`, vr: 'SH', value: '' })));
const nested = (depth: number): DicomElement => ({ tag: '00091010', vr: 'SQ', value: depth === 0 ? [[]] : [[nested(depth - 1)]] });

describe('the element budget runs before the parser', () => {
  it('every published fixture passes, and its frames index to the bytes the parser reads', async () => {
    const names = [...(await readdir(DIR)).filter((n) => n.endsWith('.dcm')), ...(await readdir(path.join(DIR, 'ct-series'))).map((n) => `ct-series/${n}`)];
    for (const name of names) {
      const parsed = parsePart10(new Uint8Array(await readFile(path.join(DIR, name))));
      const index = pixelIndex(parsed);
      if (index.kind === 'none') continue; // unsupported syntaxes (JPEG 2000) are indexed as such
      const { parts } = frameParts(index, 1);
      const bytes = Buffer.concat(parts.map(([at, n]) => parsed.dataSet.byteArray.subarray(at, at + n)));
      expect(bytes.equals(Buffer.from(readFrame(parsed, 1).bytes))).toBe(true);
    }
  });

  it(`more than ${MAX_ELEMENTS} elements, or sequences deeper than ${MAX_DEPTH}, are refused before anything is built`, () => {
    expect(() => parsePart10(file(empties(MAX_ELEMENTS - 100)))).not.toThrow();
    const t0 = performance.now();
    expect(() => parsePart10(file(empties(MAX_ELEMENTS + 1)))).toThrow(NotDicom);
    expect(() => parsePart10(file(empties(MAX_ELEMENTS + 1)))).toThrow(/more than 100000 elements/);
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(() => parsePart10(file(element(nested(MAX_DEPTH - 2))))).not.toThrow();
    expect(() => parsePart10(file(element(nested(MAX_DEPTH + 1))))).toThrow(NotDicom);
  });
});
