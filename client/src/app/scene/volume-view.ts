import * as THREE from 'three';
import type { ImagingInstanceDto, VolumeMode } from '../../../../shared/src/imaging.ts';
import { frameValues } from '../imaging/decode.ts';
import { windowToGrey } from '../imaging/pixels.ts';
import type { ViewerController } from '../imaging/viewer-controller.ts';
import { crosshair, patientToRoom, placeOnTable, planeCorners, volumeBox, volumeGeometry, VoxelStore, type PlaneName, type TablePlacement, type Vec3, type VolumeGeometry } from '../imaging/volume.ts';
import { MAX_BRICK_AXIS, MAX_BRICK_VOXELS, textureToRoom, VolumeBrick, type BrickLimits } from '../imaging/volume-brick.ts';
import { VolumeRender } from './volume-render.ts';

/** Frames fetched at once while a volume loads. */
const LOADING = 3;
/** The reformatted planes are redrawn (and the volume sent to the GPU again) at most this often while slices arrive. */
const REDRAW_MS = 250;
const UPLOAD_MS = 600;
/** Plane borders in the colours MPR viewers use: axial red, coronal green, sagittal blue... softened for a dark room. */
const BORDER: Record<PlaneName, number> = { axial: 0xff6b6b, coronal: 0x6bdc8b, sagittal: 0x6bb8ff };

interface Plane {
  mesh: THREE.Mesh<THREE.BufferGeometry, THREE.MeshBasicMaterial>;
  border: THREE.LineLoop;
  texture: THREE.DataTexture | null;
  at: number;
}

/**
 * The open series on the table in 3D, in the shared view's mode (it follows the presenter with the 2D
 * viewer): three planes — the axial plane at the viewer's slice, coronal and sagittal through the last
 * mark on that slice — or the whole volume ray-marched (MIP, or composited with the window as transfer
 * function), with the box's outline and the slice shown in 2D outlined in it. All in the viewer's window.
 * The slices come through the viewer's room-scoped reads (ViewerController.volumeFrame), a few at a time,
 * once per series for each store; the volume's brick is made only when someone looks at it.
 */
export class VolumeView {
  readonly group = new THREE.Group();
  shown = true;
  private key = '';
  private geometry: VolumeGeometry | null = null;
  private placement: TablePlacement | null = null;
  private store: VoxelStore | null = null;
  private readonly planes = new Map<PlaneName, Plane>();
  private axialValues: { sop: string; values: Float32Array } | null = null;
  private drawn = '';
  private redrawTimer: ReturnType<typeof setTimeout> | null = null;
  private uploadTimer: ReturnType<typeof setTimeout> | null = null;
  private generation = 0;
  /** The three planes (shown in 'planes' mode); the box outline and the axial border stay in every mode. */
  private readonly planesGroup = new THREE.Group();
  private brick: VolumeBrick | null = null;
  private render: VolumeRender | null = null;
  private instances: readonly ImagingInstanceDto[] = [];
  /** Decodes in flight, shared by the planes' store and the brick (a slice both need is fetched once). */
  private readonly decoding = new Map<number, Promise<Float32Array | null>>();
  private limits: BrickLimits = { maxAxis: MAX_BRICK_AXIS, maxVoxels: MAX_BRICK_VOXELS };

  constructor(private readonly ctl: ViewerController) {
    this.group.name = 'imaging-volume';
    this.group.visible = false;
  }

  /** The GPU's limit on 3D textures (MAX_3D_TEXTURE_SIZE): the brick never exceeds it. */
  setTextureLimit(max3d: number): void {
    this.limits = { ...this.limits, maxAxis: Math.min(MAX_BRICK_AXIS, Math.max(1, max3d)) };
  }

  get mode(): VolumeMode {
    return this.ctl.view.mode3d;
  }

  setShown(on: boolean): void {
    this.shown = on;
    this.update();
  }

  /** Bring the 3D view in line with the viewer (called on every render of the room). */
  update(): void {
    const series = this.ctl.series;
    const usable = series !== null && series.instances.length > 0 && series.instances.every((i) => i.samplesPerPixel === 1);
    this.group.visible = this.shown && usable && !this.ctl.withheld;
    if (!this.group.visible || !series) return;
    if (series.key !== this.key) this.build(series.key, series.instances);
    const v = this.ctl.view;
    const inst = this.ctl.instance;
    if (!inst || !this.geometry || !this.store) return;
    const invert = inst.photometric === 'MONOCHROME1';
    const rendering = v.mode3d !== 'planes';
    // The planes leave the scene in a rendering mode (out of the scene, they are not picked by the laser either).
    if (rendering === (this.planesGroup.parent === this.group)) {
      if (rendering) this.group.remove(this.planesGroup);
      else this.group.add(this.planesGroup);
    }
    if (rendering) {
      this.ensureRender();
      this.render!.mesh.visible = true;
      this.render!.setView(v.mode3d === 'mip' ? 'mip' : 'volume', v.center, v.width, invert);
    } else if (this.render) this.render.mesh.visible = false;
    // The slice shown in 2D, outlined in every mode (in a rendering: where the presenter is in the body).
    this.place('axial', v.slice);
    if (rendering) return;
    const [ci, cj] = crosshair(this.ctl.measurements(), this.geometry.columns, this.geometry.rows);
    const sig = `${v.slice}|${v.center}|${v.width}|${ci}|${cj}|${this.store.filled.filter(Boolean).length}|${this.axialValues?.sop === inst.sopUid}`;
    if (sig === this.drawn) return;
    this.drawn = sig;
    // The acquired plane at full resolution, from the same (cached) frame the 2D viewer shows.
    if (this.axialValues?.sop === inst.sopUid) this.paint('axial', inst.columns, inst.rows, this.axialValues.values, v.center, v.width, invert);
    else void this.loadAxial(inst);
    for (const [name, at] of [['coronal', cj], ['sagittal', ci]] as const) {
      this.place(name, at);
      const r = this.store.reformat(name, at);
      this.paint(name, r.width, r.height, r.values, v.center, v.width, invert);
    }
  }

  /** The volume's brick and its renderer, made the first time a rendering mode is shown for this series. */
  private ensureRender(): void {
    if (this.render || !this.geometry || !this.placement) return;
    this.brick = new VolumeBrick(this.geometry, this.limits);
    this.render = new VolumeRender(this.brick, textureToRoom(this.geometry, this.brick.size, this.placement));
    this.group.add(this.render.mesh);
    void this.fill(this.generation, this.brick.missing(), (k, values) => {
      if (this.brick?.put(k, values)) this.scheduleUpload();
    });
  }

  private build(key: string, instances: readonly ImagingInstanceDto[]): void {
    this.clear();
    this.key = key;
    this.instances = instances;
    const g = volumeGeometry(instances);
    this.geometry = g;
    this.placement = placeOnTable(g);
    this.store = new VoxelStore(g);
    this.group.add(this.outline(g), this.planesGroup);
    for (const name of ['axial', 'coronal', 'sagittal'] as const) {
      const mesh = new THREE.Mesh(new THREE.BufferGeometry(), new THREE.MeshBasicMaterial({ side: THREE.DoubleSide }) /* opaque: the greys are the window's, not tinted by the room */);
      mesh.geometry.setAttribute('uv', new THREE.Float32BufferAttribute([0, 0, 1, 0, 0, 1, 1, 1], 2));
      mesh.geometry.setIndex([0, 2, 1, 2, 3, 1]);
      mesh.name = `volume-${name}`;
      const border = new THREE.LineLoop(new THREE.BufferGeometry(), new THREE.LineBasicMaterial({ color: BORDER[name] }));
      this.planes.set(name, { mesh, border, texture: null, at: -1 });
      this.planesGroup.add(mesh);
      // The axial border marks the slice shown in every mode; the others belong to their planes.
      (name === 'axial' ? this.group : this.planesGroup).add(border);
    }
    const store = this.store;
    void this.fill(++this.generation, store.sliceIndex.filter((_, s) => !store.filled[s]), (k, values) => {
      const s = store.sliceIndex.indexOf(k);
      if (s >= 0 && this.store === store) {
        store.put(s, values);
        this.scheduleRedraw();
      }
    });
  }

  /**
   * Fetch and decode these series slices, LOADING at a time, handing each to `put`; stops when the series
   * changes. A slice another loader is decoding at the moment is awaited, not fetched again.
   */
  private async fill(gen: number, slices: readonly number[], put: (k: number, values: Float32Array) => void): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (gen === this.generation && next < slices.length) {
        const k = slices[next++]!;
        const values = await this.decoded(k);
        if (values && gen === this.generation) put(k, values);
      }
    };
    await Promise.all(Array.from({ length: LOADING }, worker));
  }

  private decoded(k: number): Promise<Float32Array | null> {
    let p = this.decoding.get(k);
    if (!p) {
      const inst = this.instances[k];
      const frame = inst ? this.ctl.volumeFrame(k) : null;
      // A slice that cannot be read stays empty in 3D; the 2D viewer reports the error.
      p = frame && inst ? frame.then((f) => frameValues(inst, f)).catch(() => null) : Promise.resolve(null);
      this.decoding.set(k, p);
      void p.finally(() => this.decoding.delete(k));
    }
    return p;
  }

  private async loadAxial(inst: ImagingInstanceDto): Promise<void> {
    const frame = await this.ctl.frame()?.catch(() => null);
    if (!frame || this.ctl.instance?.sopUid !== inst.sopUid) return;
    this.axialValues = { sop: inst.sopUid, values: await frameValues(inst, frame) };
    this.update();
  }

  private scheduleUpload(): void {
    if (this.uploadTimer) return;
    this.uploadTimer = setTimeout(() => {
      this.uploadTimer = null;
      this.render?.upload();
    }, this.brick?.complete ? 0 : UPLOAD_MS);
  }

  private scheduleRedraw(): void {
    if (this.redrawTimer) return;
    this.redrawTimer = setTimeout(() => {
      this.redrawTimer = null;
      this.update();
    }, REDRAW_MS);
  }

  private place(name: PlaneName, at: number): void {
    const p = this.planes.get(name)!;
    if (p.at === at) return;
    p.at = at;
    const corners = planeCorners(this.geometry!, name, at).map((c) => patientToRoom(this.placement!, c));
    p.mesh.geometry.setAttribute('position', new THREE.Float32BufferAttribute(corners.flat(), 3));
    p.mesh.geometry.computeBoundingSphere();
    const [a, b, c, d] = corners as [Vec3, Vec3, Vec3, Vec3];
    p.border.geometry.setAttribute('position', new THREE.Float32BufferAttribute([...a, ...b, ...d, ...c], 3));
    p.border.geometry.computeBoundingSphere();
  }

  private paint(name: PlaneName, width: number, height: number, values: Float32Array, center: number, w: number, invert: boolean): void {
    const p = this.planes.get(name)!;
    if (!p.texture || p.texture.image.width !== width || p.texture.image.height !== height) {
      p.texture?.dispose();
      p.texture = new THREE.DataTexture(new Uint8Array(width * height * 4), width, height, THREE.RGBAFormat);
      p.texture.colorSpace = THREE.SRGBColorSpace;
      p.texture.magFilter = THREE.LinearFilter;
      p.mesh.material.map = p.texture;
      p.mesh.material.needsUpdate = true;
    }
    const rgba = windowToGrey(values, center, w, invert);
    (p.texture.image.data as Uint8Array).set(rgba);
    p.texture.needsUpdate = true;
  }

  /** The volume's box, so the planes are read against the body's extent. */
  private outline(g: VolumeGeometry): THREE.LineSegments {
    const c = volumeBox(g).map((p) => patientToRoom(this.placement!, p));
    const edges = [[0, 1], [2, 3], [4, 5], [6, 7], [0, 2], [1, 3], [4, 6], [5, 7], [0, 4], [1, 5], [2, 6], [3, 7]];
    const pts = edges.flatMap(([a, b]) => [...c[a!]!, ...c[b!]!]);
    const line = new THREE.LineSegments(new THREE.BufferGeometry(), new THREE.LineBasicMaterial({ color: 0x8aa4bc, transparent: true, opacity: 0.5 }));
    line.geometry.setAttribute('position', new THREE.Float32BufferAttribute(pts, 3));
    return line;
  }

  private clear(): void {
    this.generation++;
    for (const p of this.planes.values()) {
      p.texture?.dispose();
      p.mesh.geometry.dispose();
      p.mesh.material.dispose();
      p.border.geometry.dispose();
    }
    this.planes.clear();
    this.planesGroup.clear();
    this.render?.dispose();
    this.group.clear();
    this.decoding.clear();
    [this.geometry, this.placement, this.store, this.axialValues, this.drawn, this.key, this.brick, this.render, this.instances] = [null, null, null, null, '', '', null, null, []];
  }

  dispose(): void {
    if (this.redrawTimer) clearTimeout(this.redrawTimer);
    if (this.uploadTimer) clearTimeout(this.uploadTimer);
    this.clear();
  }

  /**
   * Test hook: the planes in the room (corners in metres), their texture sizes, how much of the volume has loaded;
   * in a rendering mode, the brick (voxels per axis, bytes, slices loaded) and where the box lies.
   */
  describe(): Described {
    const planes: Described['planes'] = {};
    for (const [name, p] of this.planes) {
      const pos = p.mesh.geometry.getAttribute('position');
      const corners = pos ? Array.from({ length: 4 }, (_, i) => [pos.getX(i), pos.getY(i), pos.getZ(i)]) : [];
      const centre = corners.length ? [0, 1, 2].map((a) => corners.reduce((s, c) => s + c[a]!, 0) / 4) : [];
      planes[name] = { at: p.at, corners, texture: p.texture ? [p.texture.image.width, p.texture.image.height] : null, centre };
    }
    const b = this.brick;
    const render = b && this.render ? { shown: this.render.mesh.visible && this.group.visible, size: [b.size.cols, b.size.rows, b.layers] as [number, number, number], bytes: b.bytes, loaded: b.loaded, of: b.layers, centre: this.render.centre(), marches: this.render.marches } : null;
    return { visible: this.group.visible, mode: this.mode, planesShown: this.planesGroup.parent === this.group, slice: this.ctl.view.slice, loaded: this.store?.filled.filter(Boolean).length ?? 0, of: this.store?.sliceIndex.length ?? 0, planes, render };
  }
}

type Described = {
  visible: boolean;
  mode: VolumeMode;
  planesShown: boolean;
  slice: number;
  loaded: number;
  of: number;
  planes: Record<string, { at: number; corners: number[][]; texture: [number, number] | null; centre: number[] }>;
  render: { shown: boolean; size: [number, number, number]; bytes: number; loaded: number; of: number; centre: number[]; marches: number } | null;
};
