import type { ImagingInstanceDto } from '../../../../shared/src/imaging.ts';
import { modalityValues } from './pixels.ts';
import type { Frame } from './viewer-controller.ts';

/** A JPEG frame decoded by the browser to 8-bit RGBA (what the 2D viewer and the 3D planes both draw from). */
export async function decodeJpeg(bytes: Uint8Array): Promise<{ width: number; height: number; rgba: Uint8ClampedArray }> {
  const bmp = await createImageBitmap(new Blob([bytes as BlobPart], { type: 'image/jpeg' }));
  const c = document.createElement('canvas');
  [c.width, c.height] = [bmp.width, bmp.height];
  const g = c.getContext('2d')!;
  g.drawImage(bmp, 0, 0);
  bmp.close();
  return { width: bmp.width, height: bmp.height, rgba: g.getImageData(0, 0, c.width, c.height).data };
}

/** Modality values of one monochrome frame, decoded as the 2D viewer decodes it (JPEG: the browser; raw: pixels.ts). */
export async function frameValues(inst: ImagingInstanceDto, frame: Frame): Promise<Float32Array> {
  if (frame.type === 'raw') return modalityValues(frame.bytes, inst);
  const d = await decodeJpeg(frame.bytes);
  const out = new Float32Array(d.width * d.height);
  for (let i = 0; i < out.length; i++) out[i] = d.rgba[i * 4]! * inst.rescaleSlope + inst.rescaleIntercept;
  return out;
}
