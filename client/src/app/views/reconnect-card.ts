import { h } from '../dom.ts';

/** "Reconnecting to the room…" with a countdown to the next try, Retry now, and Back to my rooms. */
export function reconnectCard(why: string, until: number, on: { retry(): void; back(): void }): { el: HTMLElement; dispose(): void } {
  const countdown = h('span', {}, '');
  const tick = () => (countdown.textContent = `Trying again in ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s.`);
  tick();
  const iv = setInterval(tick, 500);
  const dispose = () => clearInterval(iv);
  const el = h('section', { class: 'card reconnect', style: 'max-width:560px', 'data-testid': 'reconnecting' },
    h('h1', {}, 'Reconnecting to the room…'),
    h('p', { role: 'status' }, why, ' ', countdown),
    h('p', { class: 'muted' }, 'You will be put back into the same room as soon as the server answers. Nothing you added is lost.'),
    h('div', { class: 'row' },
      h('button', { class: 'primary', onclick: () => { dispose(); on.retry(); } }, 'Retry now'),
      h('button', { onclick: () => { dispose(); on.back(); } }, 'Back to my rooms')));
  return { el, dispose };
}
