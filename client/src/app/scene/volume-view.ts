import * as THREE from 'three';
import type { ImagingInstanceDto } from '../../../../shared/src/imaging.ts';
import { decodeJpeg } from '../imaging/decode.ts';
import { modalityValues, windowToGrey } from '../imaging/pixels.ts';
import type { Frame, ViewerController } from '../imaging/viewer-controller.ts';
import { crosshair, patientToRoom, placeOnTable, planeCorners, volumeBox, volumeGeometry, VoxelStore, type PlaneName, type TablePlacement, type Vec3, type VolumeGeometry } from '../imaging/volume.ts';

/** Frames fetched at once while a volume loads. */
const LOADING = 3;
/** The reformatted planes are redrawn at most this often while slices arrive. */
const REDRAW_MS = 250;
/** Plane borders in the colours MPR viewers use: axial red, coronal green, sagittal blue... softened for a dark room. */
const BORDER: Record<PlaneName, number> = { axial: 0xff6b6b, coronal: 0x6bdc8b, sagittal: 0x6bb8ff };

interface Plane {
  mesh: THREE.Mesh<THREE.BufferGeometry, THREE.MeshBasicMaterial>;
  border: THREE.LineLoop;
  texture: THREE.DataTexture | null;
  at: number;
}

/** Modality values of one monochrome frame, decoded as the 2D viewer decodes it (JPEG: the browser; raw: pixels.ts). */
async function frameValues(inst: ImagingInstanceDto, frame: Frame): Promise<Float32Array> {
  if (frame.type === 'raw') return modalityValues(frame.bytes, inst);
  const d = await decodeJpeg(frame.bytes);
  const out = new Float32Array(d.width * d.height);
  for (let i = 0; i < out.length; i++) out[i] = d.rgba[i * 4]! * inst.rescaleSlope + inst.rescaleIntercept;
  return out;
}

/**
 * The open series on the table in 3D: the axial plane at the viewer's slice (so it follows the
 * presenter with the 2D viewer), coronal and sagittal planes through the last mark on that slice,
 * all in the viewer's window. Loads the slices the reformats need once per series, a few at a time.
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
  private generation = 0;

  constructor(private readonly ctl: ViewerController) {
    this.group.name = 'imaging-volume';
    this.group.visible = false;
  }

  setShown(on: boolean): void {
    this.shown = on;
    this.update();
  }

  /** Bring the planes in line with the viewer (called on every render of the room). */
  update(): void {
    const series = this.ctl.series;
    const usable = series !== null && series.instances.length > 0 && series.instances.every((i) => i.samplesPerPixel === 1);
    this.group.visible = this.shown && usable && !this.ctl.withheld;
    if (!this.group.visible || !series) return;
    if (series.key !== this.key) this.build(series.key, series.instances);
    const v = this.ctl.view;
    const inst = this.ctl.instance;
    if (!inst || !this.geometry || !this.store) return;
    const [ci, cj] = crosshair(this.ctl.measurements(), this.geometry.columns, this.geometry.rows);
    const sig = `${v.slice}|${v.center}|${v.width}|${ci}|${cj}|${this.store.filled.filter(Boolean).length}|${this.axialValues?.sop === inst.sopUid}`;
    if (sig === this.drawn) return;
    this.drawn = sig;
    const invert = inst.photometric === 'MONOCHROME1';
    // The acquired plane at full resolution, from the same (cached) frame the 2D viewer shows.
    this.place('axial', v.slice);
    if (this.axialValues?.sop === inst.sopUid) this.paint('axial', inst.columns, inst.rows, this.axialValues.values, v.center, v.width, invert);
    else void this.loadAxial(inst);
    for (const [name, at] of [['coronal', cj], ['sagittal', ci]] as const) {
      this.place(name, at);
      const r = this.store.reformat(name, at);
      this.paint(name, r.width, r.height, r.values, v.center, v.width, invert);
    }
  }

  private build(key: string, instances: readonly ImagingInstanceDto[]): void {
    this.clear();
    this.key = key;
    const g = volumeGeometry(instances);
    this.geometry = g;
    this.placement = placeOnTable(g);
    this.store = new VoxelStore(g);
    this.group.add(this.outline(g));
    for (const name of ['axial', 'coronal', 'sagittal'] as const) {
      const mesh = new THREE.Mesh(new THREE.BufferGeometry(), new THREE.MeshBasicMaterial({ side: THREE.DoubleSide }) /* opaque: the greys are the window's, not tinted by the room */);
      mesh.geometry.setAttribute('uv', new THREE.Float32BufferAttribute([0, 0, 1, 0, 0, 1, 1, 1], 2));
      mesh.geometry.setIndex([0, 2, 1, 2, 3, 1]);
      mesh.name = `volume-${name}`;
      const border = new THREE.LineLoop(new THREE.BufferGeometry(), new THREE.LineBasicMaterial({ color: BORDER[name] }));
      this.planes.set(name, { mesh, border, texture: null, at: -1 });
      this.group.add(mesh, border);
    }
    void this.load(++this.generation, instances);
  }

  /** Fetch and decode the slices the reformats are cut from, LOADING at a time; stops when the series changes. */
  private async load(gen: number, instances: readonly ImagingInstanceDto[]): Promise<void> {
    const store = this.store!;
    let next = 0;
    const worker = async () => {
      while (gen === this.generation && next < store.sliceIndex.length) {
        const s = next++;
        const k = store.sliceIndex[s]!;
        try {
          const frame = await this.ctl.volumeFrame(k);
          if (!frame || gen !== this.generation) return;
          store.put(s, await frameValues(instances[k]!, frame));
          this.scheduleRedraw();
        } catch {
          // A slice that cannot be read stays dark in the reformats; the 2D viewer reports the error.
        }
      }
    };
    await Promise.all(Array.from({ length: LOADING }, worker));
  }

  private async loadAxial(inst: ImagingInstanceDto): Promise<void> {
    const frame = await this.ctl.frame()?.catch(() => null);
    if (!frame || this.ctl.instance?.sopUid !== inst.sopUid) return;
    this.axialValues = { sop: inst.sopUid, values: await frameValues(inst, frame) };
    this.update();
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
    this.group.clear();
    [this.geometry, this.placement, this.store, this.axialValues, this.drawn, this.key] = [null, null, null, null, '', ''];
  }

  dispose(): void {
    if (this.redrawTimer) clearTimeout(this.redrawTimer);
    this.clear();
  }

  /** Test hook: the planes in the room (corners in metres), their texture sizes, how much of the volume has loaded. */
  describe(): { visible: boolean; slice: number; loaded: number; of: number; planes: Record<string, { at: number; corners: number[][]; texture: [number, number] | null; centre: number[] }> } {
    const planes: Record<string, { at: number; corners: number[][]; texture: [number, number] | null; centre: number[] }> = {};
    for (const [name, p] of this.planes) {
      const pos = p.mesh.geometry.getAttribute('position');
      const corners = pos ? Array.from({ length: 4 }, (_, i) => [pos.getX(i), pos.getY(i), pos.getZ(i)]) : [];
      const centre = corners.length ? [0, 1, 2].map((a) => corners.reduce((s, c) => s + c[a]!, 0) / 4) : [];
      planes[name] = { at: p.at, corners, texture: p.texture ? [p.texture.image.width, p.texture.image.height] : null, centre };
    }
    return { visible: this.group.visible, slice: this.ctl.view.slice, loaded: this.store?.filled.filter(Boolean).length ?? 0, of: this.store?.sliceIndex.length ?? 0, planes };
  }
}
