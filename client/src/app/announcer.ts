/**
 * Screen-reader announcements: one polite region (joins, leaves, moves) and
 * one assertive region (break-glass requests). Both are in index.html so they
 * exist before anything is announced.
 */
function region(id: string, live: 'polite' | 'assertive'): HTMLElement {
  let el = document.getElementById(id);
  if (!el) {
    el = document.createElement('div');
    el.id = id;
    el.className = 'sr-only';
    el.setAttribute('aria-live', live);
    el.setAttribute('aria-atomic', 'true');
    document.body.append(el);
  }
  return el;
}

export function announce(text: string, urgent = false): void {
  const el = region(urgent ? 'announce-urgent' : 'announce', urgent ? 'assertive' : 'polite');
  // Clear, then set on the next frame: the same text twice is still announced twice.
  el.textContent = '';
  requestAnimationFrame(() => (el.textContent = text));
}
