import { clear, h } from '../dom.ts';
import type { RoomController } from '../room-controller.ts';
import { BUILTIN_ASSETS } from '../scene/models.ts';

/** The "Scene" card: the objects as a keyboard-operable listbox, and adding notes and sample models. */
export function scenePanel(ctl: RoomController): { el: HTMLElement; render(): void } {
  const objects = h('ul', { class: 'list', role: 'listbox', 'aria-label': 'Scene objects: arrow keys move, Page Up and Page Down raise and lower, plus and minus resize, brackets rotate, Delete removes' });
  const error = h('p', { class: 'error', role: 'alert' });
  const hidden = h('p', { class: 'muted hidden-count', 'data-testid': 'scene-hidden', hidden: true });
  const pinText = h('input', { placeholder: 'Note text', 'aria-label': 'Note text', maxlength: 500 });
  const addPin = h('button', { disabled: !ctl.canEdit, onclick: async () => {
    await ctl.addNote(pinText.value);
    pinText.value = '';
  } }, 'Add note');
  const modelPick = h('select', { 'aria-label': 'Sample model' }, ...BUILTIN_ASSETS.filter((a) => a !== 'pin').map((a) => h('option', { value: a }, a.charAt(0).toUpperCase() + a.slice(1))));
  const addModel = h('button', { disabled: !ctl.canEdit, onclick: () => void ctl.addModel(modelPick.value) }, 'Add model');

  const render = () => {
    // The list is rebuilt on every patch: keep the keyboard on the row it was on.
    const focusedId = (document.activeElement as HTMLElement | null)?.dataset?.['objectId'];
    clear(objects);
    const rows = ctl.objects();
    for (const o of rows) {
      const li = h('li',
        { role: 'option', tabindex: 0, 'aria-selected': String(o.selected), dataset: { objectId: o.id, x: o.x.toFixed(3) }, 'data-testid': `object-${o.id}`,
          onclick: () => ctl.select(o.id),
          onkeydown: (e: KeyboardEvent) => {
            if (ctl.key(o.id, e.key)) e.preventDefault();
          } },
        h('span', { class: o.hidden ? 'obj-name obj-hidden' : 'obj-name' }, o.name),
        h('span', { class: 'muted obj-place', 'data-testid': `object-${o.id}-pos` }, o.place),
        o.heldBy ? h('span', { class: 'badge' }, `held by ${o.heldBy}`) : null,
        o.acknowledged ? h('span', { class: 'badge seen', 'data-testid': `object-${o.id}-ack` }, o.acknowledged) : null,
      );
      objects.append(li);
      if (focusedId === o.id) li.focus();
    }
    // A listbox must hold options: an empty scene is a plain list with a note.
    objects.setAttribute('role', rows.length === 0 ? 'list' : 'listbox');
    if (rows.length === 0) objects.append(h('li', { class: 'muted' }, 'Nothing on the table yet.'));
    error.textContent = ctl.objectError;
    const summary = ctl.hiddenText;
    hidden.textContent = summary ?? '';
    hidden.hidden = summary === null;
  };
  const el = h('section', { class: 'card', 'aria-labelledby': 'scene-h' }, h('h2', { id: 'scene-h' }, 'Scene'), hidden, objects, error,
    ctl.canEdit ? h('div', { class: 'row' }, pinText, addPin) : null, ctl.canEdit ? h('div', { class: 'row' }, modelPick, addModel) : null);
  return { el, render };
}
