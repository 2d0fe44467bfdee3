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
