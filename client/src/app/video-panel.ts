import type { SceneObjectState } from '../../../shared/src/state.ts';
import { acknowledgementText, acknowledgerOf, annotationAgeMs, videoStrokeIsOld } from '../../../shared/src/guidance.ts';
import type { ClinicSession } from '../sdk/session.ts';
import { formatAge, parsePoints } from './ar/annotation-view.ts';
import { h } from './dom.ts';

/** At most this many points per stroke (the server accepts 300). */
const MAX_POINTS = 300;
/** A new point only when the pen moved this far (normalised image units): smooth strokes, few points. */
const MIN_STEP = 0.004;
const STROKE_COLOR = '#ffd23f';

/** Read-only view of the panel, for tests and diagnostics (window.__videoPanel). */
export interface VideoPanelView {
  /** Is a video stream attached and playing frames? */
  playing(): boolean;
  /** The strokes drawn over the video now: id, colour, and their points in page pixels. */
  strokes(): { id: string; points: [number, number][]; age: string; seen: string }[];
  /** Where the video image sits on the page (after letterboxing). */
  imageRect(): { x: number; y: number; width: number; height: number } | null;
  status(): string;
}

/**
 * The surgeon's camera video with every `frame: 'video'` annotation drawn
 * over it (points normalised 0–1 on the image), and — for those who may
 * annotate — a "Draw on video" tool that sends strokes stamped with the
 * video's media time (`videoTime`; the server stamps the time). Each stroke
 * is listed with its age (on the server's clock) and who acknowledged it.
 *
 * The stream arrives through `showStream` only: the LiveKit feed
 * (video-feed.ts) calls it with the surgeon's camera track.
 */
export class VideoPanel {
  readonly el: HTMLElement;
  private readonly video = h('video', { muted: true, autoplay: true, playsInline: true, 'aria-label': "The surgeon's camera video", 'data-testid': 'surgeon-video' });
  private readonly canvas = h('canvas', { class: 'video-ink', 'aria-hidden': 'true' });
  private readonly stage = h('div', { class: 'video-stage' });
  private readonly statusEl = h('p', { class: 'muted video-status', role: 'status' });
  private readonly list = h('ul', { class: 'list video-strokes', 'aria-label': 'Strokes on the video' });
  private readonly error = h('p', { class: 'error', role: 'alert' });
  private readonly drawBtn: HTMLButtonElement;
  private drawing = false;
  private current: [number, number][] | null = null;
  private stream: MediaStream | null = null;
  /** The media time (ms) of the frame on screen, from requestVideoFrameCallback where the browser has it. */
  private frameTime: number | null = null;
  private waitingText = 'Waiting for the surgeon’s camera…';
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly resizeObserver: ResizeObserver;

  constructor(
    private readonly session: ClinicSession,
    private readonly opts: { canDraw: boolean; mayClearAll: boolean },
  ) {
    this.drawBtn = h('button', {
      class: 'tool',
      'aria-pressed': 'false',
      disabled: !opts.canDraw,
      title: opts.canDraw ? 'Drag on the video to draw a stroke the surgeon sees' : 'Observers cannot draw',
      onclick: () => this.setDrawing(!this.drawing),
    }, 'Draw on video');
    const undo = h('button', { disabled: !opts.canDraw, onclick: () => void this.reply(session.guidance.undo()) }, 'Undo my last');
    const clearMine = h('button', { disabled: !opts.canDraw, onclick: () => void this.reply(session.guidance.clear('mine')) }, 'Clear mine');
    const clearAll = opts.mayClearAll ? h('button', { class: 'danger', onclick: () => void this.reply(session.guidance.clear('all')) }, 'Clear all') : null;
    this.stage.append(this.video, this.canvas);
    this.el = h('section', { class: 'card video-panel', 'aria-labelledby': 'video-h', 'data-testid': 'video-panel' },
      h('h2', { id: 'video-h' }, 'Surgeon’s video'),
      this.stage,
      this.statusEl,
      opts.canDraw ? h('div', { class: 'row', role: 'toolbar', 'aria-label': 'Video tools' }, this.drawBtn, undo, clearMine, clearAll) : null,
      this.error,
      this.list,
    );
    this.canvas.addEventListener('pointerdown', (e) => this.penDown(e));
    this.canvas.addEventListener('pointermove', (e) => this.penMove(e));
    this.canvas.addEventListener('pointerup', () => void this.penUp());
    this.canvas.addEventListener('pointercancel', () => ((this.current = null), this.render()));
    this.video.addEventListener('loadedmetadata', () => this.render());
    this.video.addEventListener('playing', () => this.refresh());
    this.video.addEventListener('resize', () => this.refresh());
    this.resizeObserver = new ResizeObserver(() => this.render());
    this.resizeObserver.observe(this.stage);
    // Ages and "seen" change with time, not only with the state.
    this.timer = setInterval(() => this.refresh(), 1000);
    this.refresh();
  }

  /** The one way video arrives: the LiveKit camera track (or null when it went away). */
  showStream(stream: MediaStream | null): void {
    this.stream = stream;
    this.video.srcObject = stream;
    this.frameTime = null;
    if (stream) {
      void this.video.play().catch(() => {});
      this.watchFrames();
    }
    this.refresh();
  }

  /** What to say while there is no picture (not connected, not allowed, no service). */
  setWaiting(text: string): void {
    this.waitingText = text;
    this.refresh();
  }

  /** State changed: redraw and relist. */
  refresh(): void {
    this.statusEl.textContent = this.stream ? (this.playing() ? '' : 'Connecting to the video…') : this.waitingText;
    this.renderList();
    this.render();
  }

  dispose(): void {
    clearInterval(this.timer);
    this.resizeObserver.disconnect();
    this.video.srcObject = null;
  }

  view(): VideoPanelView {
    return {
      playing: () => this.playing(),
      strokes: () => {
        const r = this.imageRect();
        const box = this.canvas.getBoundingClientRect();
        return this.videoStrokes().map((o) => ({
          id: o.id,
          points: parsePoints(o.points).map((p) => [box.left + r.x + p.x * r.width, box.top + r.y + p.y * r.height] as [number, number]),
          age: this.ageOf(o),
          seen: this.seenOf(o),
        }));
      },
      imageRect: () => {
        if (!this.playing()) return null;
        const r = this.imageRect();
        const box = this.canvas.getBoundingClientRect();
        return { x: box.left + r.x, y: box.top + r.y, width: r.width, height: r.height };
      },
      status: () => this.statusEl.textContent ?? '',
    };
  }

  // ---- drawing -----------------------------------------------------------------------

  private setDrawing(on: boolean): void {
    this.drawing = on && this.opts.canDraw;
    this.drawBtn.setAttribute('aria-pressed', String(this.drawing));
    this.canvas.classList.toggle('drawing', this.drawing);
  }

  private playing(): boolean {
    return this.stream !== null && this.video.videoWidth > 0;
  }

  /** The video image inside the stage (object-fit: contain letterboxes it), in canvas pixels (CSS px). */
  private imageRect(): { x: number; y: number; width: number; height: number } {
    const w = this.canvas.clientWidth;
    const hgt = this.canvas.clientHeight;
    const vw = this.video.videoWidth || 16;
    const vh = this.video.videoHeight || 9;
    const scale = Math.min(w / vw, hgt / vh);
    const width = vw * scale;
    const height = vh * scale;
    return { x: (w - width) / 2, y: (hgt - height) / 2, width, height };
  }

  private toImage(e: PointerEvent): [number, number] | null {
    const box = this.canvas.getBoundingClientRect();
    const r = this.imageRect();
    const x = (e.clientX - box.left - r.x) / r.width;
    const y = (e.clientY - box.top - r.y) / r.height;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return null;
    return [Math.min(1, Math.max(0, x)), Math.min(1, Math.max(0, y))];
  }

  private penDown(e: PointerEvent): void {
    if (!this.drawing || !this.playing()) return;
    const p = this.toImage(e);
    if (!p) return;
    e.preventDefault();
    this.canvas.setPointerCapture?.(e.pointerId);
    this.current = [p];
    this.render();
  }

  private penMove(e: PointerEvent): void {
    if (!this.current) return;
    const p = this.toImage(e);
    const last = this.current[this.current.length - 1]!;
    if (!p || Math.hypot(p[0] - last[0], p[1] - last[1]) < MIN_STEP || this.current.length >= MAX_POINTS) return;
    this.current.push(p);
    this.render();
  }

  private async penUp(): Promise<void> {
    const stroke = this.current;
    this.current = null;
    if (!stroke || stroke.length < 2) return this.render();
    // The frame the stroke was drawn on: the media time of the frame on screen, else the element's clock.
    const videoTime = Math.max(0, Math.round(this.frameTime ?? this.video.currentTime * 1000));
    await this.reply(
      this.session.add({
        kind: 'stroke',
        asset: 'builtin:pen',
        frame: 'video',
        points: stroke.flatMap(([x, y]) => [x, y, 0]),
        color: STROKE_COLOR,
        videoTime,
        transform: { position: [0, 0, 0], rotation: [0, 0, 0, 1] },
      }),
    );
    this.render();
  }

  private async reply(p: Promise<{ ok: boolean; error?: { message: string } }>): Promise<void> {
    const r = await p.catch((err: unknown) => ({ ok: false, error: { message: String(err) } }));
    this.error.textContent = r.ok ? '' : (r.error?.message ?? 'Not sent');
  }

  private watchFrames(): void {
    const v = this.video as HTMLVideoElement & { requestVideoFrameCallback?: (cb: (now: number, meta: { mediaTime: number }) => void) => number };
    if (!v.requestVideoFrameCallback) return;
    const stream = this.stream;
    const onFrame = (_now: number, meta: { mediaTime: number }) => {
      if (this.stream !== stream) return;
      this.frameTime = meta.mediaTime * 1000;
      v.requestVideoFrameCallback!(onFrame);
    };
    v.requestVideoFrameCallback(onFrame);
  }

  // ---- drawing the strokes -----------------------------------------------------------------

  private videoStrokes(): SceneObjectState[] {
    return this.session.objects().filter((o) => o.frame === 'video' && o.kind === 'stroke');
  }

  /** Its age on the server's clock, and whether the surgeon's headset greys it as an old frame (the same rule the headset applies). */
  private ageOf(o: SceneObjectState): string {
    const ageMs = annotationAgeMs(o.sentAt, this.session.guidance.serverNow());
    const age = o.sentAt > 0 ? formatAge(ageMs) : 'age unknown';
    return videoStrokeIsOld(ageMs, this.session.state.info.linkWarning !== '') ? `${age} · shown as old in the headset` : age;
  }

  /** Who acknowledged it and when ("Seen by Dr. Cut (surgeon) 10:42", "Acknowledged by Dr. Adams (host) 10:43"). */
  private seenOf(o: SceneObjectState): string {
    const acked = acknowledgementText(o, acknowledgerOf(this.session.participants(), o.ackedBy), (ms) => new Date(ms).toLocaleTimeString());
    if (acked) return acked;
    return o.focused ? 'in the surgeon’s focus' : 'not yet seen';
  }

  private render(): void {
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const w = this.canvas.clientWidth;
    const hgt = this.canvas.clientHeight;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(hgt * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(hgt * dpr);
    }
    const g = this.canvas.getContext('2d');
    if (!g) return;
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, hgt);
    const r = this.imageRect();
    const line = (pts: [number, number][], color: string, width: number, dash: number[] = []) => {
      if (pts.length < 2) return;
      g.beginPath();
      g.setLineDash(dash);
      g.lineWidth = width;
      g.lineJoin = 'round';
      g.lineCap = 'round';
      g.strokeStyle = color;
      pts.forEach(([x, y], i) => (i === 0 ? g.moveTo(r.x + x * r.width, r.y + y * r.height) : g.lineTo(r.x + x * r.width, r.y + y * r.height)));
      g.stroke();
    };
    for (const o of this.videoStrokes()) {
      const pts = parsePoints(o.points).map((p) => [p.x, p.y] as [number, number]);
      const color = /^#[0-9a-f]{6}$/i.test(o.color) ? o.color : STROKE_COLOR;
      // Seen strokes stay, drawn thinner; a dismissed one is dashed (the surgeon took it out of view).
      // The one in the surgeon's focus gets a white halo; its colour stays, so it reads on pale tissue too.
      const dash = o.dismissed ? [6, 6] : [];
      if (o.focused) line(pts, 'rgba(255,255,255,0.9)', 9, dash);
      line(pts, 'rgba(0,0,0,0.65)', o.focused ? 6 : 5, dash);
      line(pts, color, o.ackedAt > 0 && !o.focused ? 2.5 : 3.5, dash);
    }
    if (this.current) line(this.current, '#9cc7ff', 3);
  }

  private renderList(): void {
    const strokes = this.videoStrokes();
    const nameOf = (userId: string) => this.session.participants().find((p) => p.userId === userId)?.name ?? userId;
    this.list.replaceChildren(
      ...strokes.map((o) =>
        h('li', { 'data-testid': `video-stroke-${o.id}` },
          h('span', { class: 'dot', style: `background:${/^#[0-9a-f]{6}$/i.test(o.color) ? o.color : STROKE_COLOR}`, 'aria-hidden': 'true' }),
          h('span', {}, `Stroke by ${nameOf(o.createdBy)}`),
          h('span', { class: 'muted' }, this.ageOf(o)),
          h('span', { class: `badge${o.ackedAt > 0 ? ' seen' : ''}`, 'data-testid': `video-stroke-${o.id}-seen` }, this.seenOf(o)),
        ),
      ),
    );
    if (strokes.length === 0) this.list.append(h('li', { class: 'muted' }, this.opts.canDraw ? 'No strokes on the video. Choose “Draw on video” and drag over the picture.' : 'No strokes on the video.'));
  }
}
