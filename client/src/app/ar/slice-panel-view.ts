import * as THREE from 'three';
import type { ImagingInstanceDto } from '../../../../shared/src/imaging.ts';
import { frameValues } from '../imaging/decode.ts';
import { windowToGrey } from '../imaging/pixels.ts';
import type { ViewerController } from '../imaging/viewer-controller.ts';
import { PANEL_WIDTH, SlicePanelController, type PanelShown } from './slice-panel-controller.ts';
import { TextSprite } from './text-sprite.ts';

interface Loaded {
  key: string;
  instance: ImagingInstanceDto;
  values: Float32Array;
  count: number;
  description: string;
}

/**
 * The pinned slice in the surgeon's headset: a panel in the patient frame (a child of the anchor's group,
 * so it stays at the patient however the head moves) showing the room's slice in the room's window, with
 * a caption under it. Frames come through the same room-scoped reads as the 2D viewer (its cache first).
 */
export class SlicePanelView {
  readonly group = new THREE.Group();
  private readonly mesh: THREE.Mesh<THREE.PlaneGeometry, THREE.MeshBasicMaterial>;
  private readonly border: THREE.LineLoop;
  private readonly caption = new TextSprite({ color: '#e8f4ff', background: 'rgba(10,16,22,0.85)', height: 0.024, maxLines: 2, widthPx: 1536 });
  private texture: THREE.DataTexture | null = null;
  private wanted = '';
  private loaded: Loaded | null = null;
  private painted = '';
  private aspect = 0;

  constructor(private readonly imaging: ViewerController) {
    this.group.name = 'slice-panel';
    this.group.visible = false;
    const plane = new THREE.PlaneGeometry(1, 1);
    // Image rows run top to bottom; the plane's v runs bottom to top.
    const uv = plane.getAttribute('uv');
    for (let i = 0; i < uv.count; i++) uv.setY(i, 1 - uv.getY(i));
    this.mesh = new THREE.Mesh(plane, new THREE.MeshBasicMaterial({ color: 0x000000, side: THREE.DoubleSide }));
    this.border = new THREE.LineLoop(new THREE.BufferGeometry().setFromPoints([new THREE.Vector3(-0.5, -0.5, 0.001), new THREE.Vector3(0.5, -0.5, 0.001), new THREE.Vector3(0.5, 0.5, 0.001), new THREE.Vector3(-0.5, 0.5, 0.001)]), new THREE.LineBasicMaterial({ color: 0x6bb8ff }));
    this.group.add(this.mesh, this.border, this.caption.sprite);
    this.resize(1);
  }

  /** Follow what the controller says is pinned (called every headset frame; work only when something changed). */
  sync(p: PanelShown | null): void {
    this.group.visible = p !== null;
    if (!p) return;
    this.group.position.set(...p.pose.p);
    this.group.quaternion.set(...p.pose.q).normalize();
    const key = `${p.series}/${p.slice}`;
    if (key !== this.wanted) {
      this.wanted = key;
      void this.load(p.series, p.slice, key);
    }
    const l = this.loaded;
    if (!l) return;
    this.caption.setText(SlicePanelController.caption(p, l.count, l.description) + (l.key === key ? '' : ' · loading…'));
    const sig = `${l.key}|${p.center}|${p.width}`;
    if (sig === this.painted) return;
    this.painted = sig;
    this.paint(l, p.center, p.width);
  }

  private async load(series: string, slice: number, key: string): Promise<void> {
    try {
      const s = await this.imaging.seriesOf(series);
      const f = s ? this.imaging.frameOf(series, slice) : null;
      if (!s || !f) return;
      const values = await frameValues(f.instance, await f.frame);
      if (this.wanted !== key) return; // the room moved on meanwhile: the newer slice paints
      this.loaded = { key, instance: f.instance, values, count: s.instances.length, description: [s.modality, s.description].filter(Boolean).join(' ') };
      this.painted = '';
    } catch {
      // Not readable now (refused, network): the panel keeps the last slice it had; the 2D viewer says why.
    }
  }

  private paint(l: Loaded, center: number, width: number): void {
    const { columns, rows } = l.instance;
    if (!this.texture || this.texture.image.width !== columns || this.texture.image.height !== rows) {
      this.texture?.dispose();
      this.texture = new THREE.DataTexture(new Uint8Array(columns * rows * 4), columns, rows, THREE.RGBAFormat);
      this.texture.colorSpace = THREE.SRGBColorSpace;
      this.texture.magFilter = THREE.LinearFilter;
      this.mesh.material.map = this.texture;
      this.mesh.material.color.set(0xffffff);
      this.mesh.material.needsUpdate = true;
    }
    (this.texture.image.data as Uint8Array).set(windowToGrey(l.values, center, width, l.instance.photometric === 'MONOCHROME1'));
    this.texture.needsUpdate = true;
    const [rowMm, colMm] = l.instance.pixelSpacing ?? [1, 1];
    this.resize((rows * rowMm) / (columns * colMm));
  }

  /** The panel is PANEL_WIDTH wide and as tall as the image is in proportion; the caption just below it. */
  private resize(aspect: number): void {
    if (!(aspect > 0) || aspect === this.aspect) return;
    this.aspect = aspect;
    const h = PANEL_WIDTH * Math.min(2, aspect);
    this.mesh.scale.set(PANEL_WIDTH, h, 1);
    this.border.scale.set(PANEL_WIDTH, h, 1);
    this.caption.sprite.position.set(0, -h / 2 - 0.04, 0.01); // clear of the panel when it is seen at an angle
  }

  /** Test hook: shown or not, which slice is painted, where the panel's centre is in the world, the caption. */
  describe(): { visible: boolean; painted: string; world: [number, number, number]; normal: [number, number, number]; texture: [number, number] | null; caption: string; size: [number, number] } {
    this.group.updateWorldMatrix(true, false);
    const w = this.group.getWorldPosition(new THREE.Vector3());
    const n = new THREE.Vector3(0, 0, 1).applyQuaternion(this.group.getWorldQuaternion(new THREE.Quaternion()));
    return {
      visible: this.group.visible,
      painted: this.painted.split('|')[0] ?? '',
      world: [w.x, w.y, w.z],
      normal: [n.x, n.y, n.z],
      texture: this.texture ? [this.texture.image.width, this.texture.image.height] : null,
      caption: this.caption.current,
      size: [this.mesh.scale.x, this.mesh.scale.y],
    };
  }

  dispose(): void {
    this.texture?.dispose();
    this.mesh.geometry.dispose();
    this.mesh.material.dispose();
    this.border.geometry.dispose();
    (this.border.material as THREE.Material).dispose();
    this.caption.dispose();
  }
}
