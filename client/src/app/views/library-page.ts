import { h } from '../dom.ts';
import type { LearnerRole, LibraryController, PickerPurpose, RecordingRow } from '../library-controller.ts';

/**
 * The recordings library: each recording the user may watch, "Watch alone"; for those who manage it (the
 * buttons follow the shared rule in recording-policy.ts) a group replay with learners, "Who may watch"
 * (grant to a person or a training room, revoke) and "Delete…", which asks before it deletes.
 */
export function libraryPage(ctl: LibraryController, back: () => void) {
  const list = h('ul', { class: 'list recordings', 'aria-label': 'Recordings' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  /** Timelines the reader opened: every change redraws the list, and an open timeline stays open. */
  const openTimelines = new Set<string>();
  /** What the reader chose in the forms' selects, by test id: kept through the redraws (a search answering redraws the list). */
  const chosen = new Map<string, string>();
  const keep = <E extends HTMLSelectElement>(el: E): E => {
    const testid = el.dataset['testid']!;
    if (chosen.has(testid)) el.value = chosen.get(testid)!;
    el.addEventListener('change', () => chosen.set(testid, el.value));
    return el;
  };
  const roleSelect = (label: string, testid: string) => keep(h('select', { 'aria-label': label, 'data-testid': testid },
    h('option', { value: 'observer' }, 'Student (de-identified)'),
    h('option', { value: 'clinician' }, 'Resident (identified)')));

  /**
   * A person, found by name: the field (what was typed lives in the controller's picker, so a redraw keeps it),
   * the people found as buttons to pick, and why nobody was. Picking puts their name in the field.
   */
  const personField = (r: RecordingRow, purpose: PickerPurpose, label: string, testid: string) => {
    const picker = ctl.picker(r.id, purpose);
    const input = h('input', { type: 'search', value: picker.text, placeholder: 'name or user id', autocomplete: 'off', 'aria-label': label, 'data-testid': testid, oninput: () => void picker.type(input.value) });
    return {
      picker,
      el: h('span', { class: 'person-field' }, input,
        picker.found.length ? h('ul', { class: 'found', role: 'listbox', 'aria-label': `People found for ${label}`, 'data-testid': `${testid}-found` }, ...picker.found.map((p) => h('li', { role: 'option' },
          h('button', { type: 'button', class: 'secondary', 'data-testid': `pick-${p.userId}`, onclick: () => picker.pick(p) }, h('strong', {}, p.name), h('span', { class: 'muted' }, ` · ${p.userId}`))))) : null,
        picker.note ? h('span', { class: 'muted small', role: 'status' }, picker.note) : null),
    };
  };
  const el = h('section', { class: 'card library', style: 'max-width:960px' },
    h('div', { class: 'row' }, h('h1', {}, 'Teaching recordings'), h('button', { class: 'secondary', style: 'margin-left:auto', onclick: back }, 'Back to rooms')),
    h('p', { class: 'muted' }, 'Every replay shows the case as your own access allows: students see it de-identified. Each viewing is audited.'),
    error, list);

  const learnerForm = (r: RecordingRow) => {
    const who = personField(r, 'learner', `Learner for ${r.title}`, `learner-${r.id}`);
    const role = roleSelect(`Access for the learner of ${r.title}`, `learner-role-${r.id}`);
    const msg = h('span', { class: 'error' });
    return h('form', { class: 'row', onsubmit: (e: Event) => {
      e.preventDefault();
      msg.textContent = ctl.addLearner(r.id, who.picker.userId, role.value as LearnerRole);
    } }, who.el, role, h('button', { type: 'submit', class: 'secondary' }, 'Add learner'), msg);
  };

  const groupPart = (r: RecordingRow) => h('div', { class: 'stack group' },
    h('h2', { class: 'sub' }, 'Replay it to a group now'),
    learnerForm(r),
    r.learners.length ? h('ul', { class: 'chips', 'aria-label': 'Learners' }, ...r.learners.map((l) => h('li', {}, `${l.name} · ${l.role === 'observer' ? 'student, de-identified' : 'resident'}`,
      h('button', { class: 'secondary', 'aria-label': `Remove ${l.name}`, onclick: () => ctl.removeLearner(r.id, l.userId) }, '×')))) : null,
    h('button', { onclick: () => void ctl.openForGroup(r.id), 'aria-label': `Replay ${r.title} to the group`, disabled: r.learners.length === 0 }, `Replay to ${r.learners.length || 'the'} learner${r.learners.length === 1 ? '' : 's'}`));

  /** Who may watch: the grants with a Revoke each, and the two ways to grant. */
  const accessPart = (r: RecordingRow) => {
    const a = r.access!;
    const show = (p: Promise<string>) => void p; // a refusal comes back through the controller (a.refusal)
    const person = personField(r, 'grant', `Person to let watch ${r.title}`, `grant-user-${r.id}`);
    const personRole = roleSelect(`Access for the person watching ${r.title}`, `grant-user-role-${r.id}`);
    const room = keep(h('select', { 'aria-label': `Training room to let watch ${r.title}`, 'data-testid': `grant-room-${r.id}` },
      h('option', { value: '' }, ctl.trainingRooms.length ? 'Choose a training room' : 'No training room you can see'),
      ...ctl.trainingRooms.map((t) => h('option', { value: t.id }, t.title))));
    const roomRole = roleSelect(`Most access for the training room's members watching ${r.title}`, `grant-room-role-${r.id}`);
    return h('div', { class: 'stack group', 'data-testid': `access-${r.id}` },
      h('h2', { class: 'sub' }, 'Who may watch'),
      h('p', { class: 'muted' }, 'Besides you and administrators. A training room’s members watch under their own access in that room, at most what you grant.'),
      a.grants === null && !a.error ? h('p', { class: 'muted' }, 'Loading…') : null,
      a.grants?.length === 0 ? h('p', { class: 'muted', 'data-testid': `no-grants-${r.id}` }, 'Nobody else yet.') : null,
      a.grants?.length ? h('ul', { class: 'list grants', 'aria-label': `Who may watch ${r.title}` }, ...a.grants.map((g) => h('li', { 'data-testid': `grant-${g.kind}-${g.id}` },
        h('span', {}, h('strong', {}, g.name), ` · ${g.access}`), h('span', { class: 'muted' }, g.detail),
        r.acts.revoke ? h('button', { class: 'secondary', style: 'margin-left:auto', 'aria-label': `Revoke ${g.name}`, onclick: () => show(ctl.revoke(r.id, g)) }, 'Revoke') : null))) : null,
      a.error ? h('p', { class: 'error' }, a.error) : null,
      r.acts.grant ? h('form', { class: 'row', onsubmit: (e: Event) => {
        e.preventDefault();
        show(ctl.grantPerson(r.id, person.picker.userId, personRole.value as LearnerRole));
      } }, h('span', { class: 'muted form-label' }, 'A person'), person.el, personRole, h('button', { type: 'submit', class: 'secondary' }, 'Let them watch')) : null,
      r.acts.grant ? h('form', { class: 'row', onsubmit: (e: Event) => {
        e.preventDefault();
        show(ctl.grantRoom(r.id, room.value, roomRole.value as LearnerRole));
      } }, h('span', { class: 'muted form-label' }, 'A training room'), room, roomRole, h('button', { type: 'submit', class: 'secondary' }, 'Let the room watch')) : null,
      a.refusal ? h('p', { class: 'error', role: 'alert', 'data-testid': `access-refusal-${r.id}` }, a.refusal) : null);
  };

  const deletePart = (r: RecordingRow) => r.confirmingDelete
    ? h('div', { class: 'stack confirm', role: 'alertdialog', 'aria-label': `Delete ${r.title}?`, 'data-testid': `confirm-delete-${r.id}` },
        h('p', {}, `Delete “${r.title}” for everyone? Replays of it close now, and nobody it was granted to can watch it again. This cannot be undone.`),
        h('div', { class: 'row' },
          h('button', { class: 'danger', onclick: () => void ctl.confirmDelete(r.id) }, 'Delete recording'),
          h('button', { class: 'secondary', onclick: () => ctl.cancelDelete() }, 'Keep it')))
    : null;

  const rowView = (r: RecordingRow) => h('li', { class: 'stack', 'data-testid': `recording-${r.id}` },
    h('div', { class: 'row' },
      h('strong', {}, r.title),
      h('span', { class: 'muted' }, `${r.date} · ${r.duration} · ${r.audio} · ${r.markers} marker${r.markers === 1 ? '' : 's'}`),
      r.acts.watchAlone ? h('button', { class: 'primary', style: 'margin-left:auto', onclick: () => void ctl.openAlone(r.id), 'aria-label': `Watch ${r.title} alone` }, 'Watch alone') : null),
    h('p', { class: 'muted small' }, `${r.reason} · ${r.kept}`),
    r.caseNote ? h('p', { class: 'badge warn', 'data-testid': `case-deleted-${r.id}` }, r.caseNote) : null,
    r.timeline.length ? h('details', { class: 'timeline', open: openTimelines.has(r.id), ontoggle: (e: Event) => { if ((e.currentTarget as HTMLDetailsElement).open) openTimelines.add(r.id); else openTimelines.delete(r.id); } }, h('summary', {}, `Timeline (${r.timeline.length})`), h('ol', { class: 'muted', 'data-testid': `timeline-${r.id}` }, ...r.timeline.map((t) => h('li', {}, t)))) : null,
    r.acts.replayToGroup ? groupPart(r) : null,
    r.acts.seeGrants || r.acts.delete ? h('div', { class: 'row' },
      r.acts.seeGrants ? h('button', { class: 'secondary', 'aria-expanded': String(r.access !== null), 'data-testid': `who-${r.id}`, onclick: () => void ctl.toggleAccess(r.id) }, r.access ? 'Hide who may watch' : 'Who may watch…') : null,
      r.acts.delete && !r.confirmingDelete ? h('button', { class: 'danger', 'data-testid': `delete-${r.id}`, onclick: () => ctl.askDelete(r.id) }, 'Delete…') : null) : null,
    deletePart(r),
    r.access ? accessPart(r) : null);

  return {
    el,
    render(): void {
      error.hidden = !ctl.error;
      error.textContent = ctl.error;
      const rows = ctl.rows();
      if (!ctl.loaded) return list.replaceChildren(h('li', { class: 'muted' }, 'Loading…'));
      if (rows.length === 0) return list.replaceChildren(h('li', { class: 'muted' }, 'No recordings you may watch.'));
      // The list is drawn afresh: whoever was typing (a search answering redraws it) keeps the field and the caret.
      const focused = document.activeElement instanceof HTMLInputElement && list.contains(document.activeElement) ? document.activeElement : null;
      const caret = focused ? { testid: focused.dataset['testid'], at: focused.selectionStart, end: focused.selectionEnd } : null;
      list.replaceChildren(...rows.map(rowView));
      const again = caret?.testid ? list.querySelector<HTMLInputElement>(`input[data-testid="${CSS.escape(caret.testid)}"]`) : null;
      if (again && caret) {
        again.focus();
        again.setSelectionRange(caret.at, caret.end);
      }
    },
  };
}
