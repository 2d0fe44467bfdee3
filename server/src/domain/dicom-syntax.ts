/**
 * What a DICOM file may be stored as for Consilium to show it, and the two
 * refusals every reader of a file uses (the parser, dicom.ts, and the bounded
 * structure scan before it, dicom-scan.ts). Erasable TypeScript only: the
 * indexing worker runs it with Node's type stripping.
 */
/** Transfer syntaxes Consilium shows: native little endian (pixels as stored) and JPEG baseline (browsers decode it). */
export const SUPPORTED_TRANSFER_SYNTAXES: Readonly<Record<string, 'raw' | 'jpeg'>> = {
  '1.2.840.10008.1.2': 'raw', // implicit VR little endian
  '1.2.840.10008.1.2.1': 'raw', // explicit VR little endian
  '1.2.840.10008.1.2.4.50': 'jpeg', // JPEG baseline (process 1)
};

export const TRANSFER_SYNTAX_NAMES: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2': 'implicit VR little endian',
  '1.2.840.10008.1.2.1': 'explicit VR little endian',
  '1.2.840.10008.1.2.2': 'explicit VR big endian',
  '1.2.840.10008.1.2.1.99': 'deflated explicit VR little endian',
  '1.2.840.10008.1.2.4.50': 'JPEG baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG extended',
  '1.2.840.10008.1.2.4.57': 'JPEG lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG lossless (first-order prediction)',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.5': 'RLE lossless',
};

/** Why this transfer syntax is not shown, in plain words; null when it is supported. */
export function unsupportedSyntax(uid: string | undefined): string | null {
  if (uid && Object.hasOwn(SUPPORTED_TRANSFER_SYNTAXES, uid)) return null;
  const name = uid ? (TRANSFER_SYNTAX_NAMES[uid] ?? `transfer syntax ${uid}`) : 'an unknown transfer syntax';
  return `This image is stored as ${name}, which Consilium does not show (supported: explicit or implicit VR little endian, JPEG baseline). Ask the archive to send it uncompressed.`;
}

export class NotDicom extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'NotDicom';
  }
}

export class UnsupportedImage extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedImage';
  }
}
