import { describe, expect, it } from 'vitest';
import { DECIDE_PX, SCROLL_PX, TouchGestures, type TouchStep } from '../../client/src/app/imaging/touch-gestures.ts';

/** Sum what a gesture asked for over its moves. */
function total(steps: TouchStep[]) {
  return {
    slices: steps.reduce((s, t) => s + (t.slices ?? 0), 0),
    window: steps.reduce<[number, number]>((s, t) => [s[0] + (t.window?.[0] ?? 0), s[1] + (t.window?.[1] ?? 0)], [0, 0]),
    zoom: steps.reduce((z, t) => z * (t.zoom?.factor ?? 1), 1),
    pan: steps.reduce<[number, number]>((s, t) => [s[0] + (t.pan?.[0] ?? 0), s[1] + (t.pan?.[1] ?? 0)], [0, 0]),
  };
}

describe('touch on the slice viewer', () => {
  it('one finger swiping up or down scrolls a slice per SCROLL_PX, carrying the remainder; sideways does nothing', () => {
    const g = new TouchGestures();
    expect(g.down(1, 100, 100)).toBe(true);
    const steps = [105, 112, 120, 140, 141].map((y) => g.move(1, 100, y));
    expect(total(steps).slices).toBe(Math.trunc(41 / SCROLL_PX)); // 41 px → 5 slices
    expect(total([g.move(1, 160, 141)]).slices).toBe(0);
    expect(total([10, -20].map((y) => g.move(1, 160, 141 + y))).slices).toBe(-2); // back up: 20 px (with the 1 px left) → −2
    expect(g.up(1)).toBe(true);
  });

  it('two fingers moving together window (decided after DECIDE_PX, counted from the start); lifting one does not scroll', () => {
    const g = new TouchGestures();
    g.down(1, 100, 100);
    expect(g.down(2, 200, 100)).toBe(false);
    const steps: TouchStep[] = [];
    for (let i = 1; i <= 10; i++) {
      steps.push(g.move(1, 100 + 3 * i, 100 + 2 * i));
      steps.push(g.move(2, 200 + 3 * i, 100 + 2 * i));
    }
    expect(g.twoFinger).toBe('window');
    const t = total(steps);
    expect(t.window).toEqual([30, 20]); // the centroid's whole movement, nothing lost to the decision
    expect(t.zoom).toBe(1);
    expect(t.slices).toBe(0);
    expect(g.up(2)).toBe(false);
    // The finger left behind moves on: spent, it neither scrolls nor ends a one-finger gesture.
    expect(total([150, 200].map((y) => g.move(1, 130, y))).slices).toBe(0);
    expect(g.up(1)).toBe(false);
    // A fresh touch scrolls again.
    g.down(3, 100, 100);
    expect(total([g.move(3, 100, 100 + 2 * SCROLL_PX)]).slices).toBe(2);
  });

  it('two fingers spreading zoom about the point between them, by the ratio of their spread; pinching in zooms out', () => {
    const g = new TouchGestures();
    g.down(1, 150, 200);
    g.down(2, 250, 200); // 100 px apart, centred at (200, 200)
    const steps = [g.move(1, 140, 200), g.move(2, 260, 200), g.move(1, 100, 200), g.move(2, 300, 200)]; // 200 px apart
    expect(g.twoFinger).toBe('pinch');
    const t = total(steps);
    expect(t.zoom).toBeCloseTo(2, 6);
    expect(t.window).toEqual([0, 0]);
    expect(steps.filter((s) => s.zoom).every((s) => s.zoom!.at[1] === 200 && s.zoom!.at[0] >= 100 && s.zoom!.at[0] <= 300)).toBe(true); // between the fingers
    expect(t.pan).toEqual([0, 0]); // they spread about the same middle: no pan in all
    g.up(1);
    g.up(2);
    g.down(1, 100, 200);
    g.down(2, 300, 200);
    expect(total([g.move(1, 150, 200), g.move(2, 250, 200)]).zoom).toBeCloseTo(0.5, 6);
  });

  it('small jitter decides nothing; a second finger cancels a one-finger gesture; the marking tool reports its finger', () => {
    const g = new TouchGestures('mark');
    expect(g.down(1, 10, 10)).toBe(true);
    expect(g.move(1, 30, 40)).toEqual({ mark: [30, 40] });
    g.down(2, 60, 10);
    expect(g.move(2, 60 + DECIDE_PX / 2, 10)).toEqual({});
    expect(g.twoFinger).toBeNull();
    g.up(2);
    expect(g.up(1)).toBe(false); // a mark interrupted by a second finger is not finished
    expect(g.move(9, 0, 0)).toEqual({}); // a finger it never saw
  });
});
