import { WINDOW_PRESETS, type ImagingInstanceDto, type ImagingSeriesResponse, type WindowPreset } from '../../../../shared/src/imaging.ts';
import { clear, h } from '../dom.ts';
import { decodeJpeg } from '../imaging/decode.ts';
import { ellipseStats, modalityValues, windowDecoded, windowToGrey } from '../imaging/pixels.ts';
import type { Frame, MeasureKind, ViewerController } from '../imaging/viewer-controller.ts';
import { TouchGestures, type OneFingerTool } from '../imaging/touch-gestures.ts';

type Tool = 'scroll' | 'window' | 'zoom' | 'pan' | MeasureKind;
const TOOLS: { tool: Tool; label: string; hint: string }[] = [
  { tool: 'scroll', label: 'Scroll', hint: 'Drag up or down (or the mouse wheel) to move through the slices' },
  { tool: 'window', label: 'Window', hint: 'Drag: right/left widens/narrows the window, down/up raises/lowers the level (also the right mouse button)' },
  { tool: 'zoom', label: 'Zoom', hint: 'Drag up to zoom in' },
  { tool: 'pan', label: 'Pan', hint: 'Drag to move the image' },
  { tool: 'length', label: 'Length', hint: 'Drag across a structure to measure it in mm' },
  { tool: 'arrow', label: 'Arrow', hint: 'Drag from the tail to what it points at' },
  { tool: 'region', label: 'Region', hint: 'Drag an ellipse: its area, and its mean in HU for CT' },
];
const PRESET_LABELS: Record<WindowPreset, string> = { 'soft-tissue': 'Soft tissue', lung: 'Lung', bone: 'Bone', brain: 'Brain' };

/** A decoded slice: modality values (raw frames) or 8-bit RGBA (JPEG), at the image's own size. */
interface Decoded {
  columns: number;
  rows: number;
  values: Float32Array | null;
  rgba: Uint8ClampedArray | null;
}

/**
 * The room's 2D slice viewer: a canvas with the four-corner overlay a PACS
 * shows, the series, presets, tools, follow/rejoin, and the slice's
 * measurements. Mouse: wheel scrolls, drag uses the tool (right button
 * windows, middle pans). Touch (TouchGestures): one finger uses the tool
 * (a vertical swipe scrolls by default), two fingers dragged together
 * window/level, spread or pinched they zoom about the point between them.
 */
export function sliceViewer(ctl: ViewerController, extras: HTMLElement[] = []): { el: HTMLElement; render(): void; dispose(): void; hook: Record<string, unknown> } {
  let tool: Tool = 'scroll';
  const canvas = h('canvas', { class: 'slice-canvas', 'aria-label': 'Image slice', tabindex: 0 });
  const image = document.createElement('canvas');
  const corners = { tl: h('div', { class: 'corner tl', 'data-testid': 'overlay-patient' }), tr: h('div', { class: 'corner tr', 'data-testid': 'overlay-study' }), bl: h('div', { class: 'corner bl', 'data-testid': 'overlay-slice' }), br: h('div', { class: 'corner br', 'data-testid': 'overlay-window' }) };
  const stage = h('div', { class: 'slice-stage' }, canvas, corners.tl, corners.tr, corners.bl, corners.br);
  const pick = h('select', { 'aria-label': 'Series', onchange: () => ctl.open(pick.value) });
  const followText = h('span', { class: 'follow-text', 'data-testid': 'viewer-follow' });
  const rejoin = h('button', { class: 'primary', 'data-testid': 'viewer-rejoin', onclick: () => ctl.rejoin() }, 'Rejoin room view');
  const presets = (Object.keys(WINDOW_PRESETS) as WindowPreset[]).map((p) => h('button', { 'data-preset': p, onclick: () => ctl.preset(p) }, PRESET_LABELS[p]));
  const toolButtons = TOOLS.map((t) => h('button', { class: 'tool', title: t.hint, 'aria-pressed': String(t.tool === tool), 'data-tool': t.tool, onclick: () => setTool(t.tool) }, t.label));
  const prev = h('button', { 'aria-label': 'Previous slice', onclick: () => ctl.scroll(-1) }, '◀');
  const next = h('button', { 'aria-label': 'Next slice', onclick: () => ctl.scroll(1) }, '▶');
  const reset = h('button', { onclick: () => ctl.reset() }, 'Reset');
  const list = h('ul', { class: 'list measure-list', 'aria-label': 'Measurements on this slice' });
  const notice = h('p', { class: 'muted', 'data-testid': 'viewer-notice' });
  const error = h('p', { class: 'error', role: 'alert' });
  const el = h('section', { class: 'card slice-viewer', 'aria-labelledby': 'images-h' },
    h('div', { class: 'row viewer-head' }, h('h2', { id: 'images-h' }, 'Images'), pick, followText, rejoin),
    notice,
    stage,
    h('div', { class: 'row viewer-tools' }, prev, next, ...presets, reset, ...extras),
    h('div', { class: 'row viewer-tools', role: 'group', 'aria-label': 'Viewer tool' }, ...toolButtons),
    error, list);

  const touch = new TouchGestures();
  const setTool = (t: Tool) => {
    tool = t;
    touch.tool = t === 'length' || t === 'arrow' || t === 'region' ? 'mark' : (t as OneFingerTool);
    toolButtons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset['tool'] === t)));
  };

  // ---- drawing --------------------------------------------------------------------------------
  const decoded = new Map<string, Promise<Decoded>>();
  let shown: Decoded | null = null;
  let shownSop = '';
  let draft: { kind: MeasureKind; a: [number, number]; b: [number, number] } | null = null;
  let drawn = '';

  const decode = (inst: ImagingInstanceDto, frame: Frame): Promise<Decoded> => {
    let p = decoded.get(inst.sopUid);
    if (!p) {
      p = frame.type === 'raw'
        ? Promise.resolve({ columns: inst.columns, rows: inst.rows, values: modalityValues(frame.bytes, inst), rgba: null })
        : decodeJpeg(frame.bytes).then((d) => ({ columns: d.width, rows: d.height, values: null, rgba: d.rgba }));
      if (decoded.size > 64) decoded.delete(decoded.keys().next().value!);
      decoded.set(inst.sopUid, p);
    }
    return p;
  };

  /** Image pixel (column, row) ↔ canvas pixel, for the view's zoom and pan. */
  const geometry = () => {
    const d = shown ?? { columns: 1, rows: 1 };
    const [W, H] = [canvas.width, canvas.height];
    const v = ctl.view;
    const scale = Math.min(W / d.columns, H / d.rows) * v.zoom;
    return { scale, x0: W / 2 + v.panX * W - (d.columns * scale) / 2, y0: H / 2 + v.panY * H - (d.rows * scale) / 2 };
  };
  const toImage = (e: { clientX: number; clientY: number }): [number, number] => {
    const r = canvas.getBoundingClientRect();
    const g = geometry();
    const [cx, cy] = [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
    return [Math.max(0, (cx - g.x0) / g.scale), Math.max(0, (cy - g.y0) / g.scale)];
  };
  const toCanvas = (p: readonly [number, number]): [number, number] => {
    const g = geometry();
    return [g.x0 + p[0] * g.scale, g.y0 + p[1] * g.scale];
  };

  const paint = () => {
    const dpr = window.devicePixelRatio || 1;
    const r = canvas.getBoundingClientRect();
    const [W, H] = [Math.max(1, Math.round(r.width * dpr)), Math.max(1, Math.round(r.height * dpr))];
    if (canvas.width !== W || canvas.height !== H) [canvas.width, canvas.height] = [W, H];
    const g2 = canvas.getContext('2d')!;
    g2.fillStyle = '#000';
    g2.fillRect(0, 0, W, H);
    const inst = ctl.instance;
    if (!shown || !inst) return;
    const v = ctl.view;
    const rgba = shown.values ? windowToGrey(shown.values, v.center, v.width, inst.photometric === 'MONOCHROME1') : Uint8ClampedArray.from(shown.rgba!);
    if (!shown.values) windowDecoded(rgba, inst, v.center, v.width);
    [image.width, image.height] = [shown.columns, shown.rows];
    image.getContext('2d')!.putImageData(new ImageData(rgba as Uint8ClampedArray<ArrayBuffer>, shown.columns, shown.rows), 0, 0);
    const g = geometry();
    // Magnified pixels stay pixels: what was acquired, not an interpolation of it.
    g2.imageSmoothingEnabled = g.scale < 3;
    g2.drawImage(image, g.x0, g.y0, shown.columns * g.scale, shown.rows * g.scale);
    const marks = ctl.measurements().map((m) => ({ ...m, draft: false }));
    if (draft) marks.push({ id: 'draft', kind: draft.kind, a: draft.a, b: draft.b, text: '', by: '', draft: true });
    g2.lineWidth = 2 * dpr;
    g2.font = `${13 * dpr}px system-ui, sans-serif`;
    for (const m of marks) {
      const [a, b] = [toCanvas(m.a), toCanvas(m.b)];
      g2.strokeStyle = g2.fillStyle = m.kind === 'length' ? '#ffd400' : m.kind === 'arrow' ? '#ff5c5c' : '#5cd6ff';
      g2.beginPath();
      if (m.kind === 'region') g2.ellipse((a[0] + b[0]) / 2, (a[1] + b[1]) / 2, Math.abs(b[0] - a[0]) / 2, Math.abs(b[1] - a[1]) / 2, 0, 0, Math.PI * 2);
      else {
        g2.moveTo(a[0], a[1]);
        g2.lineTo(b[0], b[1]);
      }
      g2.stroke();
      if (m.kind === 'arrow') {
        const ang = Math.atan2(b[1] - a[1], b[0] - a[0]);
        g2.beginPath();
        g2.moveTo(b[0], b[1]);
        g2.lineTo(b[0] - 12 * dpr * Math.cos(ang - 0.4), b[1] - 12 * dpr * Math.sin(ang - 0.4));
        g2.lineTo(b[0] - 12 * dpr * Math.cos(ang + 0.4), b[1] - 12 * dpr * Math.sin(ang + 0.4));
        g2.closePath();
        g2.fill();
      }
      const text = m.draft ? '' : labelOf(m.kind, m.text, m.a, m.b);
      if (text) {
        // Beside the mark's end, kept inside the canvas (a label cut off at the edge is no label).
        // A dark outline keeps it legible on bright pixels (a lung or bone window), as the corner text is.
        const tw = g2.measureText(text).width;
        const [tx, ty] = [Math.min(W - tw - 4 * dpr, Math.max(4 * dpr, b[0] + 8 * dpr)), Math.min(H - 6 * dpr, Math.max(16 * dpr, b[1] + 4 * dpr))];
        g2.save();
        g2.strokeStyle = '#000';
        g2.lineWidth = 3 * dpr;
        g2.lineJoin = 'round';
        g2.strokeText(text, tx, ty);
        g2.restore();
        g2.fillText(text, tx, ty);
      }
    }
  };

  const labelOf = (kind: MeasureKind, text: string, a: [number, number], b: [number, number]): string => {
    if (kind !== 'region' || !shown?.values || ctl.series?.modality !== 'CT') return text;
    const st = ellipseStats(shown.values, shown.columns, shown.rows, a, b);
    return st ? `${text} · mean ${st.mean.toFixed(0)} HU (SD ${st.sd.toFixed(0)})` : text;
  };

  /** The slice's marks in words, as labelled on the image (a region's mean HU needs the decoded slice). */
  const renderList = () => {
    clear(list);
    for (const m of ctl.measurements()) {
      const text = labelOf(m.kind, m.text, m.a, m.b);
      list.append(h('li', { 'data-testid': `measure-${m.id}` }, `${m.kind === 'length' ? 'Length' : m.kind === 'arrow' ? 'Arrow' : 'Region'}${text ? ` ${text}` : ''} · by ${m.by}`));
    }
  };

  /** Fetch and decode the slice shown; only the latest request paints. */
  let wanted = '';
  const show = async () => {
    const series = await ctl.load();
    const inst = ctl.instance;
    if (!series || !inst) {
      shown = null;
      shownSop = '';
      paint();
      return;
    }
    if (inst.sopUid === shownSop && shown) return paint();
    wanted = inst.sopUid;
    try {
      const frame = await ctl.frame();
      if (!frame) return;
      const d = await decode(inst, frame);
      if (wanted !== inst.sopUid) return;
      [shown, shownSop] = [d, inst.sopUid];
      paint();
      renderList();
      el.dataset['shownSlice'] = String(ctl.view.slice);
    } catch (err) {
      error.textContent = (err as Error).message;
    }
  };

  // ---- input ----------------------------------------------------------------------------------
  let wheel = 0;
  canvas.addEventListener('wheel', (e) => {
    e.preventDefault();
    wheel += e.deltaY;
    while (Math.abs(wheel) >= 40) {
      ctl.scroll(Math.sign(wheel));
      wheel -= Math.sign(wheel) * 40;
    }
  }, { passive: false });
  canvas.addEventListener('contextmenu', (e) => e.preventDefault());
  canvas.addEventListener('keydown', (e) => {
    const step: Record<string, () => void> = { ArrowUp: () => ctl.scroll(-1), ArrowDown: () => ctl.scroll(1), PageUp: () => ctl.scroll(-5), PageDown: () => ctl.scroll(5), Home: () => ctl.setSlice(0), End: () => ctl.setSlice(ctl.sliceCount - 1) };
    const f = step[e.key];
    if (f) {
      e.preventDefault();
      f();
    }
  });

  // ---- touch: gestures decided by TouchGestures ----------------------------------------------
  const local = (e: { clientX: number; clientY: number }): [number, number] => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const touchDown = (e: PointerEvent) => {
    const [x, y] = local(e);
    const starts = touch.down(e.pointerId, x, y);
    draft = null;
    if (starts && touch.tool === 'mark' && ctl.canMeasure) {
      const p = toImage(e);
      draft = { kind: tool as MeasureKind, a: p, b: p };
    }
    paint();
  };
  const touchMove = (e: PointerEvent) => {
    const [x, y] = local(e);
    const step = touch.move(e.pointerId, x, y);
    const r = canvas.getBoundingClientRect();
    if (step.slices) ctl.scroll(step.slices);
    if (step.window) {
      const k = Math.max(1, ctl.view.width / 256);
      ctl.windowBy(step.window[0] * k, step.window[1] * k);
    }
    if (step.zoom) ctl.zoomAt(step.zoom.factor, step.zoom.at[0] / r.width - 0.5, step.zoom.at[1] / r.height - 0.5);
    if (step.pan) ctl.panBy(step.pan[0] / r.width, step.pan[1] / r.height);
    if (step.mark && draft) {
      draft.b = toImage(e);
      paint();
    }
  };
  const touchUp = (e: PointerEvent) => {
    const ends = touch.up(e.pointerId);
    if (ends && draft && Math.hypot(draft.b[0] - draft.a[0], draft.b[1] - draft.a[1]) > 0.5) void ctl.measure(draft.kind, draft.a, draft.b);
    if (touch.count === 0) draft = null;
    paint();
  };

  // ---- mouse and pen ------------------------------------------------------------------------
  const pointers = new Map<number, { x: number; y: number }>();
  let drag: { tool: Tool; x: number; y: number; acc: number } | null = null;
  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    e.preventDefault();
    if (e.pointerType === 'touch') return touchDown(e);
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    const t: Tool = e.button === 2 ? 'window' : e.button === 1 ? 'pan' : tool;
    drag = { tool: t, x: e.clientX, y: e.clientY, acc: 0 };
    if ((t === 'length' || t === 'arrow' || t === 'region') && ctl.canMeasure) {
      const p = toImage(e);
      draft = { kind: t, a: p, b: p };
    } else draft = null;
  });
  canvas.addEventListener('pointermove', (e) => {
    if (e.pointerType === 'touch') return touchMove(e);
    if (!drag || !pointers.has(e.pointerId)) return;
    const prevPt = pointers.get(e.pointerId)!;
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    const [dx, dy] = [e.clientX - prevPt.x, e.clientY - prevPt.y];
    const r = canvas.getBoundingClientRect();
    switch (drag.tool) {
      case 'scroll':
        drag.acc += dy;
        while (Math.abs(drag.acc) >= 8) {
          ctl.scroll(Math.sign(drag.acc));
          drag.acc -= Math.sign(drag.acc) * 8;
        }
        break;
      case 'window': {
        const k = Math.max(1, ctl.view.width / 256);
        ctl.windowBy(dx * k, dy * k);
        break;
      }
      case 'zoom':
        ctl.zoomBy(Math.exp(-dy / 150));
        break;
      case 'pan':
        ctl.panBy(dx / r.width, dy / r.height);
        break;
      default:
        if (draft) {
          draft.b = toImage(e);
          paint();
        }
    }
  });
  const end = (e: PointerEvent) => {
    if (e.pointerType === 'touch') return touchUp(e);
    pointers.delete(e.pointerId);
    if (pointers.size > 0) return;
    if (draft && Math.hypot(draft.b[0] - draft.a[0], draft.b[1] - draft.a[1]) > 0.5) void ctl.measure(draft.kind, draft.a, draft.b);
    draft = null;
    drag = null;
    paint();
  };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);
  const resize = new ResizeObserver(() => paint());
  resize.observe(canvas);

  // ---- the rest of the panel ----------------------------------------------------------------
  const overlay = (s: ImagingSeriesResponse | null) => {
    const inst = ctl.instance;
    const v = ctl.view;
    if (!s) {
      Object.values(corners).forEach((c) => (c.textContent = ''));
      if (ctl.withheld) corners.tl.textContent = 'Withheld: this series may show the patient’s identity in its pixels (not yet checked by an administrator).';
      return;
    }
    corners.tl.textContent = s.patient
      ? [personName(s.patient.name), s.patient.id ? `ID ${s.patient.id}` : null, s.patient.birthDate ? `Born ${fmtDate(s.patient.birthDate)}` : null].filter(Boolean).join('\n')
      : s.variant === 'deidentified' ? 'De-identified' : 'Identity withheld';
    corners.tr.textContent = [s.institution, [s.modality, s.date ? fmtDate(s.date) : null].filter(Boolean).join(' · '), s.description].filter(Boolean).join('\n');
    corners.bl.textContent = inst
      ? [`Slice ${v.slice + 1} / ${s.instances.length}`, inst.position ? `z ${inst.position[2]!.toFixed(1)} mm` : null, inst.sliceThickness ? `Thickness ${inst.sliceThickness} mm` : null, `${inst.columns} × ${inst.rows}`].filter(Boolean).join('\n')
      : '';
    corners.br.textContent = `W ${Math.round(v.width)} / L ${Math.round(v.center)}\nZoom ${v.zoom.toFixed(2)}×`;
  };

  const render = () => {
    ctl.sync();
    const opts = ctl.seriesOptions();
    const sig = opts.map((o) => o.key).join('|');
    if (pick.dataset['sig'] !== sig) {
      clear(pick);
      for (const o of opts) pick.append(h('option', { value: o.key }, o.label));
      pick.dataset['sig'] = sig;
    }
    pick.value = ctl.view.series;
    pick.disabled = opts.length === 0;
    el.hidden = !ctl.available && !ctl.denied; // a case without images shows no panel
    stage.hidden = !ctl.available;
    notice.textContent = ctl.notice;
    followText.textContent = ctl.available ? ctl.followText : '';
    rejoin.hidden = ctl.follow || !ctl.available;
    error.textContent = ctl.error;
    toolButtons.forEach((b) => {
      const measuring = ['length', 'arrow', 'region'].includes(b.dataset['tool']!);
      b.disabled = measuring && !ctl.canMeasure;
    });
    renderList();
    overlay(ctl.series);
    const v = ctl.view;
    // The series list counts too: someone joining a room whose view has moved gets that view before the list,
    // and its series can only be loaded once the list names it.
    const sigView = `${v.series}|${v.slice}|${v.center}|${v.width}|${v.zoom}|${v.panX}|${v.panY}|${list.childElementCount}|${ctl.series ? 1 : 0}|${ctl.available ? 1 : 0}`;
    if (sigView !== drawn) {
      drawn = sigView;
      void show();
    }
    el.dataset['slice'] = String(v.slice);
  };

  const hook = {
    /** Client coordinates of an image pixel (column, row), for tests. */
    clientPointOf: (col: number, row: number) => {
      const r = canvas.getBoundingClientRect();
      const [x, y] = toCanvas([col, row]);
      return { x: r.left + (x * r.width) / canvas.width, y: r.top + (y * r.height) / canvas.height };
    },
    view: () => ({ ...ctl.view, follow: ctl.follow, shownSop, sliceCount: ctl.sliceCount, error: ctl.error, drives: ctl.drives }),
  };
  return { el, render, dispose: () => { resize.disconnect(); ctl.dispose(); }, hook };
}

/** DICOM PN "Family^Given^Middle" as a worklist writes it: "DOE, Peter". */
const personName = (pn: string | null) => {
  if (!pn) return null;
  const [family = '', given = '', middle = ''] = pn.split('=')[0]!.split('^');
  return [family.toUpperCase(), [given, middle].filter(Boolean).join(' ')].filter(Boolean).join(', ');
};
const fmtDate = (d: string) => (d.length === 8 ? `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}` : d);
