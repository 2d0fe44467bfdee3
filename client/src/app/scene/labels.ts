import * as THREE from 'three';

/** A camera-facing text tag (name tags, annotation pins). */
export function textSprite(text: string, color = '#ffffff', background = 'rgba(10,16,22,0.8)'): THREE.Sprite {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d')!;
  const font = '28px system-ui, sans-serif';
  ctx.font = font;
  const w = Math.min(1024, Math.ceil(ctx.measureText(text).width) + 24);
  canvas.width = w;
  canvas.height = 44;
  ctx.font = font;
  ctx.fillStyle = background;
  ctx.fillRect(0, 0, w, 44);
  ctx.fillStyle = color;
  ctx.textBaseline = 'middle';
  ctx.fillText(text, 12, 22);
  const tex = new THREE.CanvasTexture(canvas);
  tex.colorSpace = THREE.SRGBColorSpace;
  const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: tex, depthTest: false }));
  sprite.scale.set(w / 44 * 0.05, 0.05, 1);
  sprite.renderOrder = 10;
  return sprite;
}
