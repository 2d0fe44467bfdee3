import { isVolumeMode, WINDOW_PRESETS, type ImagingInstanceDto, type ImagingListResponse, type ImagingSeriesResponse, type VolumeMode, type WindowPreset } from '../../../../shared/src/imaging.ts';
import type { ClientMessage } from '../../../../shared/src/messages.ts';
import type { ViewerState } from '../../../../shared/src/state.ts';
import type { ClinicSession } from '../../sdk/session.ts';
import { ellipseAreaMm2, lengthMm } from './pixels.ts';

/** What the image viewer uses of the SDK session (a FakeSession drives it in unit tests). */
export type ViewerSession = Pick<ClinicSession, 'sessionId' | 'state' | 'request' | 'add' | 'objects' | 'participants'>;

/** Images over HTTP, read through the room with this user's identity (ConsiliumApi in the app). */
export interface ImagingReader {
  list(): Promise<ImagingListResponse>;
  series(seriesUid: string): Promise<ImagingSeriesResponse>;
  frame(seriesUid: string, sopUid: string, frame: number): Promise<Frame>;
}
export interface Frame {
  type: 'raw' | 'jpeg';
  bytes: Uint8Array;
}

export interface ViewerOutputs {
  /** Something on screen changed (view, listing, series loaded, error). */
  changed(): void;
}

/** One viewer's picture: what the shared state carries, held locally while unfollowed. */
export interface View {
  series: string;
  slice: number;
  center: number;
  width: number;
  zoom: number;
  panX: number;
  panY: number;
  /** How the series lies on the table in 3D: planes, MIP or volume. */
  mode3d: VolumeMode;
}

export type MeasureKind = 'length' | 'arrow' | 'region';
export interface MeasurementRow {
  id: string;
  kind: MeasureKind;
  a: [number, number];
  b: [number, number];
  /** "23.4 mm", "area 1.52 cm²", '' for arrows. */
  text: string;
  by: string;
}

const FRAME_CACHE = 64;
/** Coalescing of the driver's changes (a drag moves the window 60 times a second): at most one message per this many ms. */
export const SEND_EVERY_MS = 30;

/**
 * The room's 2D slice viewer, without DOM or sockets: which series and slice
 * this viewer shows, whether it follows the room's shared view (the
 * presenter's) or scrolls on its own, what it sends, the frames it fetches
 * (cached, neighbours prefetched) and the measurements on the slice shown.
 */
export class ViewerController {
  /** Follow the room's shared view (the default); false after scrolling on one's own, until rejoin(). */
  follow = true;
  listing: ImagingListResponse | null = null;
  /** Why there are no images (no ImagingStudy in one's access, nothing attached, a refusal): shown in the panel. */
  notice = '';
  /** The server refused images to this viewer (no ImagingStudy in their access). */
  denied = false;
  error = '';
  private local: View = { series: '', slice: 0, center: 40, width: 400, zoom: 1, panX: 0, panY: 0, mode3d: 'planes' };
  private lastSeq = -1;
  private readonly loaded = new Map<string, Promise<ImagingSeriesResponse>>();
  private readonly done = new Map<string, ImagingSeriesResponse>();
  private readonly frames = new Map<string, Promise<Frame>>();
  private pending: Partial<View> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly session: ViewerSession,
    private readonly reader: ImagingReader,
    private readonly canEdit: boolean,
    private readonly out: ViewerOutputs,
    private readonly schedule: (fn: () => void, ms: number) => ReturnType<typeof setTimeout> = (fn, ms) => setTimeout(fn, ms), // unbound setTimeout throws in browsers
  ) {}

  /** List the case's series (a refusal means this viewer has no images: the panel says so and stays empty). */
  async start(): Promise<void> {
    try {
      this.listing = await this.reader.list();
      if (!this.seriesOptions().length) this.notice = this.listing.refused.length ? `No images to show: ${this.listing.refused.map((r) => r.message).join('; ')}` : 'No images are attached to this case.';
    } catch (err) {
      const code = (err as { code?: string }).code;
      this.denied = code === 'SCOPE_DENIED';
      this.notice = code === 'SCOPE_DENIED' ? 'Your access in this room does not include images.' : `Images unavailable: ${(err as Error).message}`;
    }
    this.sync();
    if (!this.local.series && !this.sharedState()?.series) {
      const first = this.seriesOptions().find((s) => !s.withheld);
      if (first) this.local = { ...this.local, series: first.key, ...this.defaultWindow() };
    }
    this.out.changed();
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  get available(): boolean {
    return this.seriesOptions().length > 0;
  }

  // ---- following ----------------------------------------------------------------------------

  private sharedState(): ViewerState | undefined {
    return this.session.state.viewer?.get('shared');
  }

  /** Does this viewer move the room's view: the presenter, or any editor while nobody presents? */
  get drives(): boolean {
    const presenter = this.session.state.info.presenter;
    return this.available && (presenter === this.session.sessionId || (presenter === '' && this.canEdit));
  }

  /** A state patch arrived: while following, take the room's view when someone else changed it. */
  sync(): void {
    const s = this.sharedState();
    if (!s || !this.follow || s.seq === this.lastSeq) return;
    this.lastSeq = s.seq;
    if (s.by === this.session.sessionId || !s.series) return;
    this.local = { series: s.series, slice: s.slice, center: s.center, width: s.width, zoom: s.zoom, panX: s.panX, panY: s.panY, mode3d: isVolumeMode(s.mode3d) ? s.mode3d : 'planes' };
  }

  /** Back to the room's view in one click. */
  rejoin(): void {
    this.follow = true;
    this.lastSeq = -1;
    this.sync();
    this.out.changed();
  }

  /** "Following Dr. Adams", "You lead the room's view", "Your own view". */
  get followText(): string {
    if (!this.follow) return 'Your own view';
    if (this.session.state.info.presenter === this.session.sessionId) return 'You lead the room’s view';
    const s = this.sharedState();
    const by = s?.by ? this.session.state.participants.get(s.by)?.name : undefined;
    if (this.drives) return by && s?.by !== this.session.sessionId ? `Shared view (last moved by ${by})` : 'Shared view';
    const presenter = this.session.state.participants.get(this.session.state.info.presenter)?.name;
    return `Following ${presenter ?? by ?? 'the room'}`;
  }

  get view(): View {
    return this.local;
  }

  // ---- changing the view --------------------------------------------------------------------

  /**
   * A change made here: the driver moves the room's view (coalesced to one message per SEND_EVERY_MS);
   * anyone else who touches the picture leaves the room's view and goes on on their own.
   */
  private change(patch: Partial<View>): void {
    if (this.follow && !this.drives && this.sharedState()?.series) this.follow = false;
    this.local = { ...this.local, ...patch };
    if (this.follow && this.drives) {
      // The room's view shows another series (or none): send the whole picture, not only what changed.
      this.pending = this.sharedState()?.series !== this.local.series ? { ...this.local } : { ...this.pending, ...patch };
      if (!this.timer) this.timer = this.schedule(() => this.flush(), SEND_EVERY_MS);
    }
    this.out.changed();
  }

  /** Send what is pending now (also run by the timer). */
  flush(): void {
    this.timer = null;
    const patch = this.pending;
    this.pending = null;
    if (!patch) return;
    const msg: ClientMessage<'viewer.set'> = { ...patch, ...(patch.series !== undefined ? { series: patch.series || null } : {}) };
    void this.session.request('viewer.set', msg).then((r) => {
      this.error = r.ok ? '' : r.error.message;
      if (!r.ok) this.out.changed();
    }, () => {});
  }

  open(key: string): void {
    if (key === this.local.series) return;
    this.change({ series: key, slice: 0, zoom: 1, panX: 0, panY: 0, ...this.defaultWindow(key) });
  }

  setSlice(index: number): void {
    const n = this.sliceCount;
    if (n === 0) return;
    const slice = Math.max(0, Math.min(n - 1, Math.round(index)));
    if (slice !== this.local.slice) this.change({ slice });
  }

  scroll(delta: number): void {
    this.setSlice(this.local.slice + delta);
  }

  setWindow(center: number, width: number): void {
    this.change({ center: Math.round(center), width: Math.max(1, Math.round(width)) });
  }

  /** Drag to window: right widens, down raises the level (as on a PACS workstation). */
  windowBy(dx: number, dy: number): void {
    this.setWindow(this.local.center + dy, this.local.width + dx);
  }

  preset(name: WindowPreset): void {
    const p = WINDOW_PRESETS[name];
    this.setWindow(p.center, p.width);
  }

  zoomBy(factor: number): void {
    this.change({ zoom: Math.max(0.1, Math.min(40, this.local.zoom * factor)) });
  }

  /**
   * Zoom about a point of the panel (u, v: fractions of its width and height from its centre, −0.5…0.5), as a
   * pinch does: the image point under the fingers stays under them.
   */
  zoomAt(factor: number, u: number, v: number): void {
    const zoom = Math.max(0.1, Math.min(40, this.local.zoom * factor));
    const f = zoom / this.local.zoom;
    const clamp = (p: number) => Math.max(-10, Math.min(10, p));
    this.change({ zoom, panX: clamp(u * (1 - f) + f * this.local.panX), panY: clamp(v * (1 - f) + f * this.local.panY) });
  }

  panBy(dx: number, dy: number): void {
    this.change({ panX: Math.max(-10, Math.min(10, this.local.panX + dx)), panY: Math.max(-10, Math.min(10, this.local.panY + dy)) });
  }

  /** Planes, MIP or volume on the table (shared like the rest of the view). */
  setMode3d(mode3d: VolumeMode): void {
    if (mode3d !== this.local.mode3d) this.change({ mode3d });
  }

  /** Fit, and the series' own window. */
  reset(): void {
    this.change({ zoom: 1, panX: 0, panY: 0, ...this.defaultWindow() });
  }

  // ---- the series and its slices ------------------------------------------------------------

  seriesOptions(): { key: string; seriesUid: string; label: string; withheld: boolean }[] {
    return (this.listing?.studies ?? []).flatMap((st) =>
      st.series.map((s) => ({
        key: s.key,
        seriesUid: s.seriesUid,
        withheld: s.withheld !== null,
        label: [s.modality, s.number !== null ? `#${s.number}` : null, s.description, `${s.instances} images`, st.date ? `(${st.date})` : null, s.withheld ? '— withheld: may show identity in its pixels' : null].filter(Boolean).join(' '),
      })),
    );
  }

  /** The open series' metadata, once loaded (load() starts it). */
  get series(): ImagingSeriesResponse | null {
    return this.done.get(this.local.series) ?? null;
  }

  get withheld(): boolean {
    return this.seriesOptions().find((s) => s.key === this.local.series)?.withheld ?? false;
  }

  get sliceCount(): number {
    return this.series?.instances.length ?? 0;
  }

  get instance(): ImagingInstanceDto | null {
    return this.series?.instances[this.local.slice] ?? null;
  }

  /** Load the open series' metadata (once per series). Resolves null when there is none or it is withheld. */
  load(): Promise<ImagingSeriesResponse | null> {
    return this.loadKey(this.local.series, true);
  }

  /** Any listed series' metadata by its room key (cached like the open one): what the AR panel shows of the room's view. */
  seriesOf(key: string): Promise<ImagingSeriesResponse | null> {
    return this.loadKey(key, false);
  }

  private loadKey(key: string, open: boolean): Promise<ImagingSeriesResponse | null> {
    const opt = this.seriesOptions().find((s) => s.key === key);
    if (!opt) {
      if (open && key && this.listing) this.error = 'The room’s series is not among the images you may see.';
      return Promise.resolve(null);
    }
    if (opt.withheld) return Promise.resolve(null);
    let p = this.loaded.get(key);
    if (!p) {
      p = this.reader.series(opt.seriesUid);
      this.loaded.set(key, p);
      p.then((s) => {
        this.done.set(key, s);
        if (this.local.series === key && this.local.slice >= s.instances.length) this.local.slice = Math.max(0, s.instances.length - 1);
        this.out.changed();
      }, (err: unknown) => {
        this.loaded.delete(key);
        this.error = (err as Error).message;
        this.out.changed();
      });
    }
    return p;
  }

  /** A slice of a loaded series by key (from the frame cache the 2D viewer fills): null until the series is loaded. */
  frameOf(key: string, index: number): { instance: ImagingInstanceDto; frame: Promise<Frame> } | null {
    const s = this.done.get(key);
    const instance = s?.instances[index];
    if (!s || !instance) return null;
    return { instance, frame: this.fetch(s, index) };
  }

  /** The pixel data of the slice shown (cached), with its neighbours fetched ahead for scrolling. */
  frame(index = this.local.slice): Promise<Frame> | null {
    const s = this.series;
    if (!s) return null;
    const near = [index, index + 1, index - 1, index + 2].filter((i) => i >= 0 && i < s.instances.length);
    for (const i of near) this.fetch(s, i);
    return this.fetch(s, index);
  }

  /**
   * A slice's pixel data for the 3D volume: from the cache when the 2D viewer has it, else fetched
   * without caching (loading a whole volume must not evict the slices being read).
   */
  volumeFrame(index: number): Promise<Frame> | null {
    const s = this.series;
    const inst = s?.instances[index];
    if (!s || !inst) return null;
    return this.frames.get(inst.sopUid) ?? this.reader.frame(s.seriesUid, inst.sopUid, 1);
  }

  private fetch(s: ImagingSeriesResponse, i: number): Promise<Frame> {
    const sop = s.instances[i]!.sopUid;
    let p = this.frames.get(sop);
    if (!p) {
      p = this.reader.frame(s.seriesUid, sop, 1);
      p.catch(() => this.frames.delete(sop));
      if (this.frames.size >= FRAME_CACHE) this.frames.delete(this.frames.keys().next().value!);
      this.frames.set(sop, p);
    }
    return p;
  }

  /** The series' own window (from its first image), else soft tissue. */
  private defaultWindow(key = this.local.series): Pick<View, 'center' | 'width'> {
    const first = this.done.get(key)?.instances[0];
    if (first?.windowCenter != null && first.windowWidth != null) return { center: first.windowCenter, width: first.windowWidth };
    return { ...WINDOW_PRESETS['soft-tissue'] };
  }

  // ---- measurements -------------------------------------------------------------------------

  get canMeasure(): boolean {
    return this.canEdit && this.available && this.series !== null;
  }

  /** Marks on the slice shown, with their size in mm from PixelSpacing. */
  measurements(): MeasurementRow[] {
    const at = `${this.local.series}/${this.local.slice}`;
    const spacing = this.instance?.pixelSpacing ?? null;
    const nameOf = (u: string) => this.session.participants().find((p) => p.userId === u)?.name ?? u;
    return this.session.objects().filter((o) => o.frame === 'slice' && o.slice === at && isMeasure(o.kind)).map((o) => {
      const n = o.points.split(',').map(Number);
      const a: [number, number] = [n[0] ?? 0, n[1] ?? 0];
      const b: [number, number] = [n[3] ?? 0, n[4] ?? 0];
      return { id: o.id, kind: o.kind as MeasureKind, a, b, text: measureText(o.kind as MeasureKind, a, b, spacing), by: nameOf(o.createdBy) };
    });
  }

  /** Draw a mark on the slice shown (image pixels: column, row). */
  async measure(kind: MeasureKind, a: [number, number], b: [number, number]): Promise<void> {
    if (!this.canMeasure) return;
    const reply = await this.session.add({
      kind,
      asset: 'builtin:pin',
      frame: 'slice',
      slice: { series: this.local.series, index: this.local.slice },
      points: [a[0], a[1], 0, b[0], b[1], 0],
      color: kind === 'length' ? '#ffd400' : kind === 'arrow' ? '#ff5c5c' : '#5cd6ff',
      transform: { position: [0, 0, 0], rotation: [0, 0, 0, 1] },
    });
    this.error = reply.ok ? '' : reply.error.message;
    this.out.changed();
  }
}

const isMeasure = (k: string): k is MeasureKind => k === 'length' || k === 'arrow' || k === 'region';

export function measureText(kind: MeasureKind, a: readonly [number, number], b: readonly [number, number], spacing: readonly [number, number] | null): string {
  if (kind === 'length') {
    const mm = lengthMm(a, b, spacing);
    return mm === null ? `${Math.hypot(b[0] - a[0], b[1] - a[1]).toFixed(1)} px (no pixel spacing)` : `${mm.toFixed(1)} mm`;
  }
  if (kind === 'region') {
    const mm2 = ellipseAreaMm2(a, b, spacing);
    return mm2 === null ? '' : `area ${(mm2 / 100).toFixed(2)} cm²`;
  }
  return '';
}

