/**
 * Touch on the slice viewer, without the DOM: what a finger or two did, as the
 * changes to make to the view. One finger uses the chosen tool (scrolling by
 * default: a vertical swipe moves through the slices). Two fingers are one of
 * two gestures, decided by what they do first and kept until they lift:
 * moving together (a two-finger drag) windows — right widens, down raises the
 * level, as a mouse drag does on a PACS — and spreading or pinching zooms
 * about the point between them (and pans with it). A second finger ends the
 * one-finger gesture; the finger left after a two-finger gesture does nothing
 * until it lifts, so lifting one finger first never scrolls by accident.
 */
export type OneFingerTool = 'scroll' | 'window' | 'zoom' | 'pan' | 'mark';

/** A two-finger gesture is decided once the fingers have spread (pinch) or moved together (window) this far (CSS px). */
export const DECIDE_PX = 12;
/** One slice per this many CSS px of vertical swipe. */
export const SCROLL_PX = 8;

/** What to do to the view after a move. Deltas in CSS px; zoom a factor about `at` (CSS px in the element). */
export interface TouchStep {
  slices?: number;
  window?: [number, number];
  zoom?: { factor: number; at: [number, number] };
  pan?: [number, number];
  /** The one finger moved with a marking tool: where it is now. */
  mark?: [number, number];
}

type Point = { x: number; y: number };

export class TouchGestures {
  private readonly fingers = new Map<number, Point>();
  private two: { decided: 'pinch' | 'window' | null; spread0: number; centre0: Point; spread: number; centre: Point } | null = null;
  /** A finger left over from a two-finger gesture: ignored until it lifts. */
  private spent = false;
  private scrollRest = 0;

  constructor(public tool: OneFingerTool = 'scroll') {}

  get count(): number {
    return this.fingers.size;
  }

  /** The gesture two fingers are making (null until decided, or with fewer fingers). */
  get twoFinger(): 'pinch' | 'window' | null {
    return this.two?.decided ?? null;
  }

  /** A finger touched down. Returns true when it starts a one-finger gesture (a marking tool starts its mark here). */
  down(id: number, x: number, y: number): boolean {
    this.fingers.set(id, { x, y });
    if (this.fingers.size === 2) {
      const [a, b] = [...this.fingers.values()] as [Point, Point];
      const spread = Math.hypot(b.x - a.x, b.y - a.y);
      const centre = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
      this.two = { decided: null, spread0: spread, centre0: centre, spread, centre };
      return false;
    }
    if (this.fingers.size === 1 && !this.spent) {
      this.scrollRest = 0;
      return true;
    }
    return false;
  }

  move(id: number, x: number, y: number): TouchStep {
    const prev = this.fingers.get(id);
    if (!prev) return {};
    this.fingers.set(id, { x, y });
    if (this.fingers.size === 1) {
      if (this.spent) return {};
      const [dx, dy] = [x - prev.x, y - prev.y];
      switch (this.tool) {
        case 'scroll': {
          this.scrollRest += dy;
          const slices = Math.trunc(this.scrollRest / SCROLL_PX);
          this.scrollRest -= slices * SCROLL_PX;
          return slices ? { slices } : {};
        }
        case 'window':
          return { window: [dx, dy] };
        case 'zoom':
          return { zoom: { factor: Math.exp(-dy / 150), at: [x, y] } };
        case 'pan':
          return { pan: [dx, dy] };
        case 'mark':
          return { mark: [x, y] };
      }
    }
    if (this.fingers.size !== 2 || !this.two) return {};
    const [a, b] = [...this.fingers.values()] as [Point, Point];
    const spread = Math.hypot(b.x - a.x, b.y - a.y);
    const centre = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    const t = this.two;
    const [lastSpread, lastCentre] = [t.spread, t.centre];
    [t.spread, t.centre] = [spread, centre];
    if (!t.decided) {
      const spreadBy = Math.abs(spread - t.spread0);
      const movedBy = Math.hypot(centre.x - t.centre0.x, centre.y - t.centre0.y);
      if (spreadBy < DECIDE_PX && movedBy < DECIDE_PX) return {};
      t.decided = spreadBy >= movedBy ? 'pinch' : 'window';
      // The movement until now decided the gesture; it counts from its start, so nothing is lost.
      return this.step(t.decided, t.spread0, t.centre0, spread, centre);
    }
    return this.step(t.decided, lastSpread, lastCentre, spread, centre);
  }

  private step(kind: 'pinch' | 'window', spread0: number, c0: Point, spread: number, c: Point): TouchStep {
    if (kind === 'window') return { window: [c.x - c0.x, c.y - c0.y] };
    return { zoom: { factor: spread0 > 1 ? spread / spread0 : 1, at: [c.x, c.y] }, pan: [c.x - c0.x, c.y - c0.y] };
  }

  /** A finger lifted (or the touch was cancelled). Returns true when it ends a one-finger gesture (a mark is finished). */
  up(id: number): boolean {
    if (!this.fingers.delete(id)) return false;
    const wasOne = this.fingers.size === 0 && !this.spent && this.two === null;
    if (this.fingers.size < 2 && this.two) {
      this.two = null;
      this.spent = this.fingers.size > 0;
    }
    if (this.fingers.size === 0) {
      this.spent = false;
      return wasOne;
    }
    return false;
  }
}
