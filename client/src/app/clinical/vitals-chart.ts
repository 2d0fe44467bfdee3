import { clear, h } from '../dom.ts';
import { formatWhen, vitalValueText, type ObservationRow } from './format.ts';
import { trendRows, type TrendRange } from './summary-model.ts';
import { yearTrend, type YearRange } from './year-trend.ts';

const COLORS: Record<string, string> = { '8867-4': '#ff7b72', '59408-5': '#79c0ff', '2708-6': '#79c0ff', '8480-6': '#f2cc60', '8462-4': '#e3b341', '9279-1': '#a5d6ff', '8310-5': '#ffa657' };

/**
 * What the chart's time axis is: the clock (identified data: instants, local time) or years with
 * the order within each year (a de-identified view: dates keep only their year, year-trend.ts).
 */
export type Trend = { basis: 'clock'; range: TrendRange } | { basis: 'year'; range: YearRange };

interface Series {
  code: string;
  name: string;
  /** The source's name (the full LOINC display), for the label's tooltip. */
  fullName: string;
  unit: string;
  pts: { t: number; v: number }[];
}

/** One basis: where readings sit, the window, the axis ticks, and how the latest and the whole are said. */
interface Axis {
  series: Map<string, Series>;
  t0: number;
  t1: number;
  ticks: (fits: (texts: string[]) => boolean) => { t: number; text: string }[];
  /** Grid lines at these positions (year boundaries); none on the clock. */
  bands: number[];
  /** A line under the ticks saying what the axis can and cannot show, longest first (the first that fits is drawn); none on the clock. */
  note: string[];
  latest: (s: Series, last: { t: number; v: number }) => string;
  whole: (summary: string[]) => string;
}

function add(series: Map<string, Series>, r: ObservationRow, t: number): void {
  const key = r.code || r.name;
  const s = series.get(key) ?? { code: r.code, name: r.name, fullName: r.fullName || r.name, unit: r.unit, pts: [] };
  s.pts.push({ t, v: r.numeric! });
  series.set(key, s);
}

/** Identified readings on the clock: one shared local-time axis, ending a little after the newest reading. */
function clockAxis(rows: ObservationRow[], range: TrendRange): Axis | null {
  const series = new Map<string, Series>();
  for (const r of trendRows(rows, range)) add(series, r, r.when!.ms);
  if (!series.size) return null;
  const all = [...series.values()].flatMap((s) => s.pts.map((p) => p.t));
  let t0 = Math.min(...all);
  let t1 = Math.max(...all);
  if (t1 - t0 < 10 * 60_000) t0 = t1 - 10 * 60_000; // at least a 10-minute window
  t1 += (t1 - t0) * 0.04;
  // As many ticks as fit without overlapping; the day is named where it changes.
  const multiDay = new Date(t0).toDateString() !== new Date(t1 - (t1 - t0) * 0.04).toDateString();
  const labels = (n: number) =>
    Array.from({ length: n + 1 }, (_, k) => {
      const t = t0 + ((t1 - t0) * k) / n;
      const d = new Date(t);
      const prev = k === 0 ? null : new Date(t0 + ((t1 - t0) * (k - 1)) / n);
      const time = d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
      // Over days, dates; over years, months and years.
      if (t1 - t0 > 365 * 86_400_000) return { t, text: d.toLocaleDateString(undefined, { month: 'short', year: 'numeric' }) };
      if (t1 - t0 > 3 * 86_400_000) return { t, text: d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' }) };
      return { t, text: multiDay && (!prev || prev.toDateString() !== d.toDateString()) ? `${d.toLocaleDateString(undefined, { day: 'numeric', month: 'short' })} ${time}` : time };
    });
  return {
    series,
    t0,
    t1,
    ticks: (fits) => {
      let n = 5;
      while (n > 1 && !fits(labels(n).map((l) => l.text))) n--;
      return labels(n);
    },
    bands: [],
    note: [],
    latest: (s, last) => `${s.name} ${last.v} ${s.unit}, ${formatWhen({ ms: last.t, precision: 'time', raw: '' })}`,
    whole: (summary) => {
      const hours = Math.round((t1 - t0) / 3_600_000) || 1;
      return `Vital signs over ${hours > 48 ? `${Math.round(hours / 24)} days` : `${hours} h`}. Latest: ${summary.join('; ')}.`;
    },
  };
}

/** De-identified readings: one band per year from the oldest to the newest year shown, readings in order within their band. */
function yearAxis(rows: ObservationRow[], range: YearRange): Axis | null {
  const series = new Map<string, Series>();
  const points = yearTrend(rows, range);
  for (const p of points) add(series, p.row, p.at);
  if (!series.size) return null;
  const first = Math.min(...points.map((p) => p.year));
  const last = Math.max(...points.map((p) => p.year));
  const years = Array.from({ length: last - first + 1 }, (_, k) => first + k);
  const span = first === last ? `in ${first}` : `from ${first} to ${last}`;
  return {
    series,
    t0: first,
    t1: last + 1,
    ticks: (fits) => {
      // Every year if the labels fit, else every second, fifth, tenth… (always the newest).
      for (const step of [1, 2, 5, 10, 20, 50]) {
        const shown = years.filter((y) => (last - y) % step === 0);
        if (fits(shown.map(String)) || step === 50) return shown.map((y) => ({ t: y + 0.5, text: String(y) }));
      }
      return [];
    },
    bands: years.slice(1),
    note: first === last
      ? [`${first}: readings in order, spacing is not time (dates withheld)`, 'In order, spacing is not time', 'Order only']
      : ['By year; within a year in order, spacing is not time', 'Within a year: order, not time', 'Order only'],
    latest: (s, p) => `${s.name} ${p.v} ${s.unit} (${Math.floor(p.t)})`,
    whole: (summary) => `Vital signs ${span}, placed by year and in order within each year: this de-identified view has no finer time. Latest: ${summary.join('; ')}.`,
  };
}

/** Where each strip's name, unit and latest value go: HTML over the canvas, so they wrap, carry a tooltip and are never cut. */
const LABEL_W = 92;
const MIN_STRIP_H = 62;

/**
 * Vitals as small multiples: one strip per measure with its own scale, its name and unit on the
 * left (wrapping, the full name on hover), one shared time axis at the bottom, the latest value at
 * the right, rounded as a flowsheet shows it (the exact reading on hover and in the text
 * alternative). The plot is a canvas; the words are elements laid over it. Points arrive live
 * (the panel redraws on every state patch).
 */
export function vitalsChart(): { el: HTMLElement; draw: (rows: ObservationRow[], trend: Trend) => void } {
  const canvas = h('canvas', { class: 'vitals', role: 'img', 'aria-label': 'Vital signs chart' });
  // The canvas's text alternative already says every name and latest value: the words over it are for the eye.
  const keys = h('div', { class: 'vitals-keys', 'aria-hidden': 'true' });
  return { el: h('div', { class: 'vitals-chart' }, canvas, keys), draw: (rows, trend) => canvas.setAttribute('aria-label', drawVitals(canvas, keys, rows, trend)) };
}

/** Draws the chart and lays its words over it; answers the chart's text alternative. */
function drawVitals(canvas: HTMLCanvasElement, keys: HTMLElement, rows: ObservationRow[], trend: Trend): string {
  const ctx = canvas.getContext('2d');
  const axis = trend.basis === 'year' ? yearAxis(rows, trend.range) : clockAxis(rows, trend.range);
  const strips = axis ? [...axis.series.values()] : [];
  clear(keys);
  const axisH = axis?.note.length ? 38 : 22;
  const dpr = Math.min(2, window.devicePixelRatio || 1);
  const cssW = canvas.clientWidth || 320;
  // The words first: their measured size sets the margins and each strip's height.
  const words = strips.map((s) => {
    s.pts.sort((a, b) => a.t - b.t);
    const last = s.pts[s.pts.length - 1]!;
    const name = h('div', { class: 'vital-name', title: s.fullName, 'data-series': s.code }, s.name);
    const unit = h('div', { class: 'vital-unit' }, s.unit);
    const label = h('div', { class: 'vital-label' }, name, unit);
    label.style.width = `${LABEL_W}px`;
    const value = h('div', { class: 'vital-latest', title: `Latest: ${axis!.latest({ ...s, name: s.fullName }, last)}`, 'data-series': s.code }, vitalValueText(s.code, last.v));
    value.style.color = COLORS[s.code] ?? '#c9d1d9';
    keys.append(label, value);
    return { s, last, label, value };
  });
  ctx?.save();
  if (ctx) ctx.font = 'bold 14px system-ui, sans-serif';
  const right = Math.max(40, ...words.map((w) => Math.max(w.value.offsetWidth, ctx?.measureText(w.value.textContent ?? '').width ?? 0) + 14));
  ctx?.restore();
  const heights = words.map((w) => Math.max(MIN_STRIP_H, (w.label.offsetHeight || 44) + 18));
  const tops = heights.map((_, i) => heights.slice(0, i).reduce((a, b) => a + b, 0));
  const plotsH = heights.reduce((a, b) => a + b, 0);
  const cssH = strips.length ? plotsH + axisH : 40;
  canvas.style.height = `${cssH}px`;
  canvas.width = cssW * dpr;
  canvas.height = cssH * dpr;
  if (!ctx) return 'No chart';
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  ctx.font = '12px system-ui, sans-serif';
  if (!axis || !strips.length) {
    ctx.fillStyle = '#a9b8c6';
    ctx.fillText(trend.range === 'all' ? 'No vital signs in your view yet.' : 'No readings in this range: choose a longer one.', 8, 24);
    return 'No timed vital signs';
  }
  const { t0, t1 } = axis;
  // Each strip's scale (its rounded bounds) sits between the label column and the plot.
  const scales = strips.map((s) => {
    const vs = s.pts.map((p) => p.v);
    const pad = Math.max((Math.max(...vs) - Math.min(...vs)) * 0.15, Math.abs(Math.max(...vs)) * 0.05, 1);
    return { v0: Math.min(...vs) - pad, v1: Math.max(...vs) + pad };
  });
  const scaleW = Math.max(...scales.flatMap(({ v0, v1 }) => [v0, v1].map((v) => ctx.measureText(String(Math.round(v))).width)));
  const left = 4 + LABEL_W + 6 + Math.ceil(scaleW) + 6;
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * (cssW - left - right);
  const summary: string[] = [];
  words.forEach(({ s, last, label, value }, i) => {
    const top = tops[i]! + 6;
    const hgt = heights[i]! - 14;
    const { v0, v1 } = scales[i]!;
    const y = (v: number) => top + hgt - ((v - v0) / (v1 - v0)) * hgt;
    const color = COLORS[s.code] ?? '#c9d1d9';
    label.style.top = `${top}px`;
    value.style.top = `${top + hgt / 2 - value.offsetHeight / 2}px`;
    ctx.strokeStyle = '#2c3e50';
    ctx.lineWidth = 1;
    ctx.strokeRect(left, top, cssW - left - right, hgt);
    for (const b of axis.bands) {
      ctx.beginPath();
      ctx.moveTo(x(b), top);
      ctx.lineTo(x(b), top + hgt);
      ctx.stroke();
    }
    ctx.fillStyle = '#a9b8c6';
    ctx.textAlign = 'right';
    ctx.fillText(String(Math.round(v1)), left - 4, top + 10);
    ctx.fillText(String(Math.round(v0)), left - 4, top + hgt);
    ctx.textAlign = 'left';
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    s.pts.forEach((p, j) => (j === 0 ? ctx.moveTo(x(p.t), y(p.v)) : ctx.lineTo(x(p.t), y(p.v))));
    ctx.stroke();
    for (const p of s.pts) {
      ctx.beginPath();
      ctx.arc(x(p.t), y(p.v), 3, 0, Math.PI * 2);
      ctx.fill();
    }
    summary.push(axis.latest(s, last));
  });
  // Shared time axis.
  const axisY = plotsH + 4;
  ctx.fillStyle = '#a9b8c6';
  ctx.textAlign = 'center';
  const fits = (texts: string[]) => Math.max(...texts.map((t) => ctx.measureText(t).width)) + 14 <= (cssW - left - right) / Math.max(1, texts.length - 1);
  for (const l of axis.ticks(fits)) ctx.fillText(l.text, Math.min(cssW - ctx.measureText(l.text).width / 2 - 2, x(l.t)), axisY + 12);
  ctx.textAlign = 'left';
  if (axis.note.length) {
    ctx.font = 'italic 11px system-ui, sans-serif';
    const note = axis.note.find((n) => ctx.measureText(n).width <= cssW - 8) ?? axis.note.at(-1)!;
    ctx.fillText(note, 4, axisY + 28);
    ctx.font = '12px system-ui, sans-serif';
  }
  return axis.whole(summary);
}
