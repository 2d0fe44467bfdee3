import type { Page } from 'playwright-core';

/**
 * What a clinician would find wrong with the vitals chart's words: a name or value cut (overflowing
 * its box, whatever text-overflow then draws, or shortened with “…”), poking out of the chart, or
 * drawn over (any painted canvas pixel under it: the value lying on the plot, a label on the scale).
 * Answers the problems and how many words it looked at.
 */
export async function chartWordProblems(page: Page): Promise<{ words: number; problems: string[] }> {
  return page.evaluate(() => {
    const chart = document.querySelector('[data-testid="vitals"] .vitals-chart')!;
    const canvas = chart.querySelector('canvas')!;
    const box = canvas.getBoundingClientRect();
    const scale = canvas.width / box.width;
    const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    const painted = (r: DOMRect) => {
      let n = 0;
      for (let y = Math.floor((r.top - box.top) * scale); y < Math.ceil((r.bottom - box.top) * scale); y++)
        for (let x = Math.floor((r.left - box.left) * scale); x < Math.ceil((r.right - box.left) * scale); x++) if (pixels[(y * canvas.width + x) * 4 + 3]! > 0) n++;
      return n;
    };
    const words = [...chart.querySelectorAll<HTMLElement>('.vital-name, .vital-unit, .vital-latest')];
    const problems: string[] = [];
    for (const el of words) {
      const text = el.textContent ?? '';
      const r = el.getBoundingClientRect();
      if (el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight) problems.push(`${text}: cut`);
      if (text.includes('…')) problems.push(`${text}: ellipsized`);
      if (r.left < box.left || r.right > box.right || r.top < box.top || r.bottom > box.bottom) problems.push(`${text}: outside the chart`);
      if (painted(r) > 0) problems.push(`${text}: drawn over`);
    }
    return { words: words.length, problems };
  });
}
