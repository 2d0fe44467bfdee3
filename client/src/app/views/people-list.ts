import { clear, h } from '../dom.ts';
import type { RoomController } from '../room-controller.ts';
import { ROLE_COLORS } from '../scene/avatars.ts';

/** "People in the room": one row per person, with the host's Mute and Kick. */
export function peopleList(ctl: RoomController, lookAt: (sessionId: string) => void): { el: HTMLElement; render(): void } {
  const list = h('ul', { class: 'list', 'aria-label': 'Participants' });
  const error = h('p', { class: 'error', role: 'alert' });
  const render = () => {
    clear(list);
    for (const p of ctl.people()) {
      list.append(
        h('li', { 'data-testid': `participant-${p.userId}` },
          h('span', { class: `dot${p.speaking ? ' speaking' : ''}`, style: `background:${ROLE_COLORS[p.role] ?? '#ccc'}`, 'aria-hidden': 'true' }),
          h('button', { class: 'link person', onclick: () => lookAt(p.sessionId), title: 'Look at them' }, `${p.name}${p.isMe ? ' (you)' : ''}`),
          h('span', { class: 'muted' }, p.role),
          p.devices > 1 ? h('span', { class: 'badge' }, `${p.devices} devices`) : null,
          p.reconnecting ? h('span', { class: 'badge warn' }, 'reconnecting') : null,
          p.voiceBadge ? h('span', { class: 'badge' }, p.voiceBadge) : null,
          p.presenting ? h('span', { class: 'badge present' }, 'presenting') : null,
          p.canKick
            ? h('span', { class: 'row', style: 'margin-left:auto' },
                p.canMute ? h('button', { onclick: () => void ctl.mute(p.userId), 'aria-label': `Mute ${p.name}` }, 'Mute') : null,
                h('button', { class: 'danger', onclick: () => { if (confirm(`Remove ${p.name} from the room? They cannot come back until you re-admit them.`)) void ctl.kick(p.userId); }, 'aria-label': `Remove ${p.name} from the room` }, 'Kick'))
            : null,
        ),
      );
    }
    error.textContent = ctl.peopleError;
  };
  const el = h('section', { class: 'card', 'aria-labelledby': 'people-h' }, h('h2', { id: 'people-h' }, 'People in the room'), list, error);
  return { el, render };
}
