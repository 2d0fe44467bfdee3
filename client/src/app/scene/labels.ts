import * as THREE from 'three';

/**
 * A camera-facing text tag (name tags, annotation pins), drawn at twice the
 * pixel size it is shown at so it stays crisp. `sizeTag` keeps it readable.
 */
export function textSprite(text: string, color = '#ffffff', background = 'rgba(10,16,22,0.85)'): THREE.Sprite {
  const canvas = document.createElement('canvas');
  const ctx = canvas.getContext('2d')!;
  const font = '600 56px system-ui, sans-serif';
  ctx.font = font;
  const w = Math.min(2048, Math.ceil(ctx.measureText(text).width) + 48);
  canvas.width = w;
  canvas.height = 88;
  ctx.font = font;
  ctx.fillStyle = background;
  ctx.beginPath();
  ctx.roundRect(0, 0, w, 88, 20);
  ctx.fill();
  ctx.fillStyle = color;
  ctx.textBaseline = 'middle';
  ctx.fillText(text, 24, 46);
  const tex = new THREE.CanvasTexture(canvas);
  tex.colorSpace = THREE.SRGBColorSpace;
  const sprite = new THREE.Sprite(new THREE.SpriteMaterial({ map: tex, depthTest: false }));
  sprite.userData['aspect'] = w / 88;
  sprite.scale.set((w / 88) * 0.05, 0.05, 1);
  sprite.renderOrder = 10;
  return sprite;
}

/**
 * Size a tag so it is `px` pixels tall on screen whatever its distance (far
 * tags grow in the world, near ones shrink), never below a readable minimum.
 */
export function sizeTag(sprite: THREE.Sprite, camera: THREE.PerspectiveCamera, viewportHeightPx: number, px = 22): void {
  const d = camera.position.distanceTo(sprite.getWorldPosition(new THREE.Vector3()));
  const worldPerPx = (2 * d * Math.tan(THREE.MathUtils.degToRad(camera.fov) / 2)) / Math.max(1, viewportHeightPx);
  const hgt = Math.max(0.03, px * worldPerPx);
  const parentScale = sprite.parent ? sprite.parent.getWorldScale(new THREE.Vector3()).y || 1 : 1;
  sprite.scale.set((hgt * Number(sprite.userData['aspect'] ?? 4)) / parentScale, hgt / parentScale, 1);
}
