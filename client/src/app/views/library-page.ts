import { h } from '../dom.ts';
import type { LearnerRole, LibraryController } from '../library-controller.ts';

/** The recordings library: each recording the user may watch, "Watch alone", and for its managers a group with learners. */
export function libraryPage(ctl: LibraryController, back: () => void) {
  const list = h('ul', { class: 'list recordings', 'aria-label': 'Recordings' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const users = h('datalist', { id: 'library-users' });
  const el = h('section', { class: 'card library', style: 'max-width:900px' },
    h('div', { class: 'row' }, h('h1', {}, 'Teaching recordings'), h('button', { class: 'secondary', style: 'margin-left:auto', onclick: back }, 'Back to rooms')),
    h('p', { class: 'muted' }, 'Every replay shows the case as your own access allows: students see it de-identified. Each viewing is audited.'),
    error, users, list);

  const learnerForm = (id: string, title: string) => {
    const who = h('input', { placeholder: ctl.directory ? 'learner (search the directory)' : 'learner user id', list: 'library-users', 'aria-label': `Learner for ${title}`, 'data-testid': `learner-${id}` });
    const role = h('select', { 'aria-label': `Access for the learner of ${title}`, 'data-testid': `learner-role-${id}` },
      h('option', { value: 'observer' }, 'Student (de-identified)'),
      h('option', { value: 'clinician' }, 'Resident (identified)'));
    const msg = h('span', { class: 'error' });
    return h('form', { class: 'row', onsubmit: (e: Event) => {
      e.preventDefault();
      msg.textContent = ctl.addLearner(id, who.value, role.value as LearnerRole);
      if (!msg.textContent) who.value = '';
    } }, who, role, h('button', { type: 'submit', class: 'secondary' }, 'Add learner'), msg);
  };

  return {
    el,
    render(): void {
      error.hidden = !ctl.error;
      error.textContent = ctl.error;
      users.replaceChildren(...(ctl.directory ?? []).map((u) => h('option', { value: u.userId }, u.name)));
      const rows = ctl.rows();
      if (!ctl.loaded) return list.replaceChildren(h('li', { class: 'muted' }, 'Loading…'));
      if (rows.length === 0) return list.replaceChildren(h('li', { class: 'muted' }, 'No recordings you may watch.'));
      list.replaceChildren(...rows.map((r) => h('li', { class: 'stack', 'data-testid': `recording-${r.id}` },
        h('div', { class: 'row' },
          h('strong', {}, r.title),
          h('span', { class: 'muted' }, `${r.date} · ${r.duration} · ${r.audio} · ${r.markers} marker${r.markers === 1 ? '' : 's'}`),
          h('button', { class: 'primary', style: 'margin-left:auto', onclick: () => void ctl.openAlone(r.id), 'aria-label': `Watch ${r.title} alone` }, 'Watch alone')),
        r.mayManage ? h('div', { class: 'stack group' },
          learnerForm(r.id, r.title),
          r.learners.length ? h('ul', { class: 'chips', 'aria-label': 'Learners' }, ...r.learners.map((l) => h('li', {}, `${l.name} · ${l.role === 'observer' ? 'student, de-identified' : 'resident'}`,
            h('button', { class: 'secondary', 'aria-label': `Remove ${l.name}`, onclick: () => ctl.removeLearner(r.id, l.userId) }, '×')))) : null,
          h('button', { onclick: () => void ctl.openForGroup(r.id), 'aria-label': `Replay ${r.title} to the group`, disabled: r.learners.length === 0 }, `Replay to ${r.learners.length || 'the'} learner${r.learners.length === 1 ? '' : 's'}`)) : null)));
    },
  };
}
