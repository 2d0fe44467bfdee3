import type { ParticipantInput, RoomDto } from '../../../shared/src/http.ts';
import { ROOM_KINDS, ROOM_ROLES } from '../../../shared/src/roles.ts';
import { completeOidcSignIn, currentIdentity, devSignIn, oidcSignIn, scheduleRefresh, signOut } from '../app/auth.ts';
import { clear, h } from '../app/dom.ts';
import { plainMessage } from '../app/plain-errors.ts';
import { ConsiliumApi, type DirectoryCase, type DirectoryUser } from '../sdk/api.ts';
import { accessHelp, AUDIT_ACTIONS, auditCsv, caseLabel, ConsoleController, detailsText, nameHint, participantInput, type LiveRoomCard } from './console-controller.ts';
import { presetFor, SCOPE_PRESETS } from './presets.ts';

/**
 * Admin console for hospital IT: provision rooms for a patient (case picker with patient
 * names, user picker from the people who have signed in, data-access presets per role),
 * import FHIR case bundles and upload their images (DICOM files or a zip), watch live rooms (refreshing), and read the audit trail newest
 * first with filters and export. An expired sign-in goes back to sign-in.
 * The decisions and texts are ConsoleController's (console-controller.ts); this renders them.
 */
const root = document.getElementById('app')!;
const who = document.getElementById('who')!;
const signOutBtn = document.getElementById('signout') as HTMLButtonElement;
const api = new ConsiliumApi(location.origin);
signOutBtn.onclick = () => {
  signOut();
  location.reload();
};
let liveTimer: ReturnType<typeof setInterval> | null = null;
// A refused identity sends the admin back to sign-in.
const ctl = new ConsoleController(api, (message) => {
  signOut();
  void login(message);
});
const errorText = (err: unknown) => ctl.errorText(err);

/** Room links name the server's address (PUBLIC_URL), whatever host name this console was opened at. */
let publicBase: string | null = null;
void api.call('GET /api/client-config', { auth: false }).then((c) => (publicBase = c.publicUrl.replace(/\/+$/, '') || null), () => {});
const roomLink = (id: string) => `${publicBase ?? location.origin}/#room=${id}`;

async function login(error?: string): Promise<void> {
  if (liveTimer) clearInterval(liveTimer);
  clear(root);
  who.textContent = '';
  signOutBtn.hidden = true;
  let cfg: Awaited<ReturnType<typeof api.authConfig>>;
  try {
    cfg = await api.authConfig();
  } catch (err) {
    root.append(h('section', { class: 'card' }, h('h1', {}, 'Cannot reach the server'), h('p', { role: 'alert' }, plainMessage(err)), h('button', { onclick: () => void login(error) }, 'Retry')));
    return;
  }
  if (cfg.mode === 'oidc') {
    root.append(h('section', { class: 'card' }, h('h1', {}, 'Administrator sign-in'), error ? h('p', { class: 'error', role: 'alert' }, error) : null,
      h('button', { class: 'primary', disabled: !cfg.clientId, onclick: () => void oidcSignIn(cfg.issuer, cfg.clientId!, cfg.scopes) }, 'Sign in with your hospital account')));
    return;
  }
  const userId = h('input', { value: 'it.admin', id: 'admin-user', autocomplete: 'username' });
  root.append(
    h('form', { class: 'card stack', style: 'max-width:420px', onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        const id = await devSignIn(api, userId.value.trim(), 'IT Admin', true);
        start(id);
      } catch (err) {
        void login(errorText(err));
      }
    } }, h('h1', {}, 'Administrator sign-in (development)'), error ? h('p', { class: 'error', role: 'alert' }, error) : null, h('label', { for: 'admin-user' }, 'User'), userId, h('button', { class: 'primary', type: 'submit' }, 'Sign in')),
  );
}

function start(id: { token: string; name: string; admin: boolean; userId: string; expiresAt: number; dev?: boolean }): void {
  api.identityToken = id.token;
  who.textContent = id.name;
  signOutBtn.hidden = false;
  scheduleRefresh(id, api, { refreshed: (fresh) => (api.identityToken = fresh.token), expired: () => void login('Your sign-in has expired. Please sign in again.') });
  clear(root);
  if (!id.admin) {
    root.append(h('p', { class: 'error', role: 'alert' }, 'This console is for administrators (scope consilium:admin).'));
    return;
  }
  const tabs = { Rooms: roomsTab, Cases: casesTab, 'Live rooms': liveTab, Audit: auditTab } as const;
  const panel = h('div', { role: 'tabpanel', id: 'admin-panel', tabindex: '-1' });
  const buttons = Object.entries(tabs).map(([label, render], i) =>
    h('button', { role: 'tab', 'aria-selected': String(i === 0), 'aria-controls': 'admin-panel', onclick: () => {
      buttons.forEach((b) => b.setAttribute('aria-selected', String(b === buttons[i])));
      if (liveTimer) clearInterval(liveTimer);
      clear(panel);
      void render(panel).catch((err: unknown) => panel.append(h('p', { class: 'error', role: 'alert' }, errorText(err))));
    } }, label));
  root.append(h('nav', { class: 'row tabs', role: 'tablist', 'aria-label': 'Console sections', style: 'margin-bottom:12px' }, ...buttons), panel);
  void roomsTab(panel).catch((err: unknown) => panel.append(h('p', { class: 'error', role: 'alert' }, errorText(err))));
}

// ---- directory (cached per view) ------------------------------------------------------------

const users = () => ctl.users();
const cases = () => ctl.cases();

function userDatalist(list: DirectoryUser[]): HTMLDataListElement {
  return h('datalist', { id: 'directory-users' }, ...list.map((u) => h('option', { value: u.userId }, `${u.name}${u.admin ? ' (admin)' : ''}`)));
}

// ---- rooms ------------------------------------------------------------------------------

let rowSeq = 0;
function participantRow(p?: ParticipantInput, directory: DirectoryUser[] = []): HTMLElement {
  const n = ++rowSeq;
  const user = h('input', { id: `p-user-${n}`, placeholder: 'name or user id', value: p?.userId ?? '', class: 'p-user', list: 'directory-users', autocomplete: 'off' });
  const nameHintEl = h('span', { class: 'muted p-name' });
  const showName = () => (nameHintEl.textContent = nameHint(directory, user.value));
  user.addEventListener('input', showName);
  showName();
  const role = h('select', { id: `p-role-${n}`, class: 'p-role' }, ...ROOM_ROLES.map((r) => h('option', { value: r, selected: p?.role === r }, r)));
  const preset = presetFor(p?.scopes);
  const access = h('select', { id: `p-access-${n}`, class: 'p-access' }, ...SCOPE_PRESETS.map((s) => h('option', { value: s.id, selected: s.id === preset.id }, s.label)));
  const scopes = h('input', { id: `p-scopes-${n}`, placeholder: 'e.g. patient/Observation.rs', value: preset.id === 'custom' ? p?.scopes?.join(' ') ?? '' : '', class: 'p-scopes', size: 30, hidden: preset.id !== 'custom' });
  const help = h('span', { class: 'muted p-help' });
  const sync = () => {
    scopes.hidden = access.value !== 'custom';
    help.textContent = accessHelp(access.value, role.value);
  };
  access.addEventListener('change', sync);
  role.addEventListener('change', sync);
  sync();
  const row = h('div', { class: 'row p-row' },
    h('label', { for: `p-user-${n}` }, 'Person'), user, nameHintEl,
    h('label', { for: `p-role-${n}` }, 'Role'), role,
    h('label', { for: `p-access-${n}` }, 'Data access'), access, help,
    h('label', { for: `p-scopes-${n}`, class: 'sr-only' }, 'Custom scopes'), scopes,
    h('button', { type: 'button', onclick: () => row.remove(), 'aria-label': 'Remove this person' }, 'Remove'));
  return row;
}

function readParticipants(container: HTMLElement): ParticipantInput[] {
  return [...container.querySelectorAll<HTMLElement>('.p-row')].flatMap((row) => {
    const p = participantInput({
      userId: row.querySelector<HTMLInputElement>('.p-user')!.value,
      role: row.querySelector<HTMLSelectElement>('.p-role')!.value,
      access: row.querySelector<HTMLSelectElement>('.p-access')!.value,
      custom: row.querySelector<HTMLInputElement>('.p-scopes')!.value,
    });
    return p ? [p] : [];
  });
}

async function roomForm(onSaved: () => void, existing?: RoomDto): Promise<HTMLElement> {
  const [directory, caseList] = await Promise.all([users().catch(() => []), cases().catch(() => [])]);
  const title = h('input', { value: existing?.title ?? '', required: true, id: 'room-title', maxlength: 200 });
  const kind = h('select', { id: 'room-kind' }, ...ROOM_KINDS.map((k) => h('option', { value: k, selected: existing?.kind === k }, k.replace(/-/g, ' '))));
  const caseSel = h('select', { id: 'room-case' },
    h('option', { value: '' }, 'No patient case'),
    ...caseList.map((c) => h('option', { value: c.caseId, selected: existing?.caseId === c.caseId }, caseLabel(c))));
  // Surgical guidance: may observers (students, guests) watch the surgeon's camera video? Off by default.
  const observerVideo = h('input', { type: 'checkbox', id: 'room-observer-video', checked: existing?.observerVideo === true });
  const observerVideoRow = h('div', { class: 'row', hidden: kind.value !== 'surgical-guidance' },
    h('label', { for: 'room-observer-video', class: 'row' }, observerVideo, 'Observers may watch the surgeon’s video'));
  kind.addEventListener('change', () => (observerVideoRow.hidden = kind.value !== 'surgical-guidance'));
  const recordingAllowed = h('input', { type: 'checkbox', id: 'room-recording-allowed', checked: existing?.recordingAllowed === true });
  const recordingRow = h('div', { class: 'row' }, h('label', { for: 'room-recording-allowed', class: 'row' }, recordingAllowed, 'The host may record this room (everyone is told before joining)'));
  const parts = h('div', { class: 'stack' }, ...(existing?.participants ?? [undefined]).map((p) => participantRow(p as ParticipantInput | undefined, directory)));
  const error = h('div', { class: 'error', role: 'alert' });
  return h(
    'form',
    { class: 'card stack', onsubmit: async (e: Event) => {
      e.preventDefault();
      const problem = await ctl.saveRoom({ title: title.value, kind: kind.value, caseId: caseSel.value, observerVideo: observerVideo.checked, recordingAllowed: recordingAllowed.checked, participants: readParticipants(parts) }, existing);
      if (problem === null) onSaved();
      else error.textContent = problem;
    } },
    h('h2', {}, existing ? `Edit “${existing.title}”` : 'New room'),
    userDatalist(directory),
    h('div', { class: 'row' }, h('label', { for: 'room-title' }, 'Title'), title, h('label', { for: 'room-kind' }, 'Kind'), kind),
    h('div', { class: 'row' }, h('label', { for: 'room-case' }, 'Patient case'), caseSel),
    observerVideoRow,
    recordingRow,
    h('strong', {}, 'People'),
    parts,
    h('button', { type: 'button', onclick: () => parts.append(participantRow(undefined, directory)) }, 'Add person'),
    error,
    h('button', { class: 'primary', type: 'submit' }, existing ? 'Save' : 'Create room'),
  );
}

async function roomsTab(panel: HTMLElement): Promise<void> {
  const reload = () => {
    clear(panel);
    void roomsTab(panel);
  };
  const [rooms, caseList, directory] = await Promise.all([api.listRooms(), cases().catch(() => []), users().catch(() => [])]);
  const nameOf = (userId: string) => directory.find((u) => u.userId === userId)?.name;
  const table = h('table', {}, h('caption', { class: 'sr-only' }, 'Open rooms'), h('thead', {}, h('tr', {}, ...['Room', 'Patient', 'People', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))));
  const tbody = h('tbody');
  table.append(tbody);
  const editor = h('div');
  panel.append(h('section', { class: 'card' }, h('h2', {}, 'Open rooms'), table), editor, await roomForm(reload));
  for (const r of rooms) {
    const c = caseList.find((x) => x.caseId === r.caseId);
    tbody.append(h('tr', { 'data-testid': `admin-room-${r.id}` },
      h('td', {}, h('strong', {}, r.title), r.live ? h('span', { class: 'badge' }, 'live') : null, h('div', { class: 'muted' }, r.kind.replace(/-/g, ' '))),
      h('td', {}, c ? caseLabel(c) : r.caseId ? 'case (not in your list)' : h('span', { class: 'muted' }, '—')),
      h('td', {}, r.participants.map((p) => `${nameOf(p.userId) ?? p.userId} (${p.role})`).join(', ')),
      // The buttons' row inside the cell: a flex cell is no table cell (its border no longer lines up with the row's).
      h('td', {}, h('div', { class: 'row actions' },
        h('button', { onclick: async () => { clear(editor); editor.append(await roomForm(reload, r)); editor.querySelector('input')?.focus(); }, 'aria-label': `Edit ${r.title}` }, 'Edit'),
        // The link to send to the people invited: it opens the room (after they sign in).
        h('button', { 'aria-label': `Copy link to ${r.title}`, 'data-testid': `room-link-${r.id}`, title: roomLink(r.id), onclick: async (ev: Event) => {
          const link = roomLink(r.id);
          const btn = ev.currentTarget as HTMLButtonElement;
          try {
            await navigator.clipboard.writeText(link);
            btn.textContent = 'Link copied';
          } catch {
            prompt('Send this link to the people invited:', link);
          }
        } }, 'Copy link'),
        h('button', { class: 'danger', 'aria-label': `Close ${r.title}`, onclick: async () => { if (confirm(`Close “${r.title}”? Everyone in it is disconnected.`)) { const problem = await ctl.closeRoom(r.id); if (problem !== null) alert(problem); reload(); } } }, 'Close')))));
  }
  if (rooms.length === 0) tbody.append(h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No open rooms.')));
}

// ---- cases ------------------------------------------------------------------------------

async function casesTab(panel: HTMLElement): Promise<void> {
  const text = h('textarea', { rows: 10, style: 'width:100%', id: 'bundle-json', placeholder: '{ "resourceType": "Bundle", "type": "collection", "entry": [...] }' });
  const file = h('input', { type: 'file', id: 'bundle-file', accept: '.json,application/fhir+json', onchange: async () => {
    const f = file.files?.[0];
    if (f) text.value = await f.text();
  } });
  const result = h('p', { role: 'status' });
  const list = h('tbody');
  const images = imagesCard();
  const renderList = async () => {
    clear(list);
    const all = await cases();
    for (const c of all) list.append(h('tr', {}, h('td', {}, c.patientName), h('td', {}, c.gender ?? '—'), h('td', {}, c.birthYear ?? '—'), h('td', {}, c.mrn ?? '—'), h('td', {}, String(c.resources)), h('td', {}, new Date(c.createdAt).toLocaleString())));
    images.showCases(all);
  };
  panel.append(
    h('section', { class: 'card stack' }, h('h2', {}, 'Import a FHIR case bundle'), h('label', { for: 'bundle-file' }, 'Bundle file'), file, h('label', { for: 'bundle-json' }, 'or paste the Bundle JSON'), text,
      h('button', { class: 'primary', onclick: async () => {
        const r = await ctl.importBundle(text.value);
        result.className = r.error ? 'error' : '';
        result.textContent = r.text;
        if (!r.error) await renderList();
      } }, 'Import'), result),
    h('section', { class: 'card' }, h('h2', {}, 'Cases'), h('table', {}, h('thead', {}, h('tr', {}, ...['Patient', 'Sex', 'Born', 'MRN', 'Records', 'Imported'].map((t) => h('th', { scope: 'col' }, t)))), list)),
    images.card,
  );
  const config = (await fetch('/api/client-config').then((r) => (r.ok ? r.json() : {})).catch(() => ({}))) as { fhirServer?: boolean };
  if (config.fhirServer) panel.prepend(pullCard(renderList));
  await renderList();
}

/**
 * Upload a study's images to a case (no PACS, or a study from outside it): DICOM Part 10 files, or a zip
 * of a study as a PACS export or a CD holds it. No file-type filter: DICOM files often have no extension.
 */
function imagesCard(): { card: HTMLElement; showCases(list: DirectoryCase[]): void } {
  const caseSel = h('select', { id: 'images-case' });
  const files = h('input', { type: 'file', id: 'images-files', multiple: true });
  const result = h('div', { role: 'status', id: 'images-result' });
  const upload = h('button', { class: 'primary', id: 'images-upload', onclick: async () => {
    upload.disabled = true;
    const picked = [...(files.files ?? [])].map((f) => ({ name: f.name, data: f }));
    const lines = await ctl.uploadImages(caseSel.value, picked, (text) => result.replaceChildren(h('p', {}, text))).finally(() => (upload.disabled = false));
    result.replaceChildren(...lines.map((l) => h('p', { class: l.error ? 'error' : '' }, l.text)));
    if (!lines.some((l) => l.error)) files.value = '';
  } }, 'Upload');
  const card = h('section', { class: 'card stack', 'data-testid': 'images-card' },
    h('h2', {}, 'Upload images (DICOM)'),
    h('p', { class: 'muted' }, 'DICOM Part 10 files, or a zip of a whole study (a PACS export or a CD). Every image must name the case’s patient: a file of another patient is refused, saying what differs, and a zip holding one is refused whole. Files that are not DICOM images are skipped and listed.'),
    h('div', { class: 'row' }, h('label', { for: 'images-case' }, 'Patient case'), caseSel),
    h('div', { class: 'row' }, h('label', { for: 'images-files' }, 'Files or zip'), files),
    upload, result);
  const showCases = (list: DirectoryCase[]) => {
    const chosen = caseSel.value;
    clear(caseSel);
    caseSel.append(h('option', { value: '' }, 'Choose the patient case'), ...list.map((c) => h('option', { value: c.caseId, selected: c.caseId === chosen }, caseLabel(c))));
  };
  return { card, showCases };
}

/** Pull a patient from the hospital's FHIR server (FHIR_BASE_URL): by the server's patient id or an identifier (e.g. the MRN). */
function pullCard(onPulled: () => Promise<void>): HTMLElement {
  const input = h('input', { id: 'pull-patient', placeholder: 'MRN as system|value, or the FHIR server\'s patient id', style: 'width:100%' });
  const result = h('p', { role: 'status', id: 'pull-result' });
  const pull = async () => {
    if (input.value.trim()) {
      result.className = '';
      result.textContent = 'Pulling the record…';
    }
    const r = await ctl.pull(input.value);
    if (r.error) result.className = 'error';
    result.textContent = r.text;
    if (!r.error && input.value.trim()) await onPulled();
  };
  return h('section', { class: 'card stack' }, h('h2', {}, "Pull a patient from the hospital's FHIR server"), h('label', { for: 'pull-patient' }, 'Patient'), input, h('button', { class: 'primary', onclick: () => void pull() }, 'Pull'), result);
}

// ---- live rooms ------------------------------------------------------------------------

async function liveTab(panel: HTMLElement): Promise<void> {
  const body = h('div', { 'data-testid': 'live-rooms' });
  const updated = h('span', { class: 'muted', 'data-testid': 'live-updated' });
  panel.append(h('div', { class: 'row' }, h('h2', {}, 'Live rooms'), updated, h('span', { class: 'muted' }, '· refreshes every 5 s')), body);
  const card = ({ room: r, heading, voiceOn, people }: LiveRoomCard) =>
    h('section', { class: 'card' }, h('h3', {}, heading),
      h('table', {}, h('thead', {}, h('tr', {}, ...['Person', 'Role', 'Connection', voiceOn ? 'Voice' : null, 'Actions'].filter(Boolean).map((t) => h('th', { scope: 'col' }, t!)))),
        h('tbody', {}, ...people.map((p) => {
          const act = (action: 'mute' | 'kick') => async () => {
            if (action === 'kick' && !confirm(`Remove ${p.name} from “${r.title}”?`)) return;
            const problem = await ctl.moderate(r.id, action, p.userId);
            if (problem !== null) alert(problem);
            void tick();
          };
          return h('tr', {},
            h('td', {}, `${p.name} `, h('span', { class: 'muted' }, p.userId), p.devices > 1 ? h('span', { class: 'badge' }, `${p.devices} devices`) : null),
            h('td', {}, p.role),
            h('td', {}, p.connection),
            p.voice ? h('td', {}, p.voice) : null,
            h('td', { class: 'row' }, voiceOn ? h('button', { onclick: act('mute'), 'aria-label': `Mute ${p.name}` }, 'Mute') : null, h('button', { class: 'danger', onclick: act('kick'), 'aria-label': `Remove ${p.name}` }, 'Kick')));
        }))));
  const render = async () => {
    const cards = (await ctl.liveRooms()).map(card);
    clear(body);
    if (cards.length === 0) body.append(h('p', { class: 'muted' }, 'No room is live right now.'));
    body.append(...cards);
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
  };
  const tick = () => render().catch((err: unknown) => (updated.textContent = errorText(err)));
  await tick();
  liveTimer = setInterval(() => {
    if (!panel.isConnected) return void (liveTimer && clearInterval(liveTimer));
    void tick();
  }, 5000);
}

// ---- audit ------------------------------------------------------------------------------

async function auditTab(panel: HTMLElement): Promise<void> {
  const [directory, caseList] = await Promise.all([users().catch(() => []), cases().catch(() => [])]);
  const user = h('input', { id: 'audit-user', list: 'directory-users', placeholder: 'anyone', autocomplete: 'off' });
  const action = h('select', { id: 'audit-action' }, h('option', { value: '' }, 'any action'), ...AUDIT_ACTIONS.map((a) => h('option', { value: a }, a)));
  const patient = h('select', { id: 'audit-patient' }, h('option', { value: '' }, 'any patient'), ...caseList.map((c) => h('option', { value: c.patientId }, caseLabel(c))));
  const from = h('input', { type: 'date', id: 'audit-from' });
  const to = h('input', { type: 'date', id: 'audit-to' });
  const status = h('p', { role: 'status' });
  const tbody = h('tbody');
  const nameOf = (id: string | null) => (id ? directory.find((u) => u.userId === id)?.name ?? id : '');
  const patientOf = (id: string | null) => (id ? caseList.find((c) => c.patientId === id)?.patientName ?? 'patient' : '');
  const load = async (reset: boolean) => {
    if (reset) clear(tbody);
    table.setAttribute('aria-busy', 'true');
    const page = await ctl.auditPage({ user: user.value, action: action.value, patient: patient.value, from: from.value, to: to.value }, reset);
    for (const e of page.rows) {
      tbody.append(h('tr', { 'data-testid': 'audit-row' },
        h('td', { class: 'when' }, new Date(e.at).toLocaleString()),
        h('td', {}, nameOf(e.actor)),
        h('td', {}, e.action, e.outcome !== 'success' ? h('span', { class: 'badge warn' }, e.outcome) : null),
        h('td', {}, patientOf(e.patientId)),
        h('td', {}, nameOf(e.subject)),
        h('td', { class: 'muted details' }, detailsText(e))));
    }
    if (page.ok) more.hidden = ctl.auditNext === null;
    status.textContent = page.status;
    table.setAttribute('aria-busy', 'false');
  };
  const table = h('table', { class: 'audit', 'aria-busy': 'false' }, h('caption', { class: 'sr-only' }, 'Audit events, newest first'), h('thead', {}, h('tr', {}, ...['When', 'Who', 'Action', 'Patient', 'About', 'Details'].map((t) => h('th', { scope: 'col' }, t)))), tbody);
  const more = h('button', { onclick: () => void load(false) }, 'Show older');
  const verify = h('p', { role: 'status' });
  const exportCsv = () => {
    const url = URL.createObjectURL(new Blob([auditCsv(ctl.auditShown)], { type: 'text/csv' }));
    Object.assign(document.createElement('a'), { href: url, download: 'audit.csv' }).click();
  };
  panel.append(h('section', { class: 'card stack' }, h('h2', {}, 'Audit trail'),
    userDatalist(directory),
    h('form', { class: 'row filters', onsubmit: (e: Event) => { e.preventDefault(); void load(true); } },
      h('label', { for: 'audit-user' }, 'Who'), user, h('label', { for: 'audit-action' }, 'Action'), action, h('label', { for: 'audit-patient' }, 'Patient'), patient,
      h('label', { for: 'audit-from' }, 'From'), from, h('label', { for: 'audit-to' }, 'To'), to, h('button', { class: 'primary', type: 'submit' }, 'Search')),
    h('div', { class: 'row' },
      h('button', { onclick: exportCsv }, 'Export shown rows (CSV)'),
      h('button', { onclick: async () => {
        const res = await fetch('/api/audit?format=fhir&limit=1000', { headers: { authorization: `Bearer ${api.identityToken}` } });
        const url = URL.createObjectURL(await res.blob());
        Object.assign(document.createElement('a'), { href: url, download: 'audit-events.json' }).click();
      } }, 'Export FHIR AuditEvents'),
      h('button', { onclick: async () => {
        const r = await ctl.verifyAudit();
        verify.className = r.error ? 'error' : '';
        verify.textContent = r.text;
      } }, 'Verify chain')),
    verify, status,
    h('div', { class: 'table-scroll' }, table), more));
  await load(true);
}

async function boot(): Promise<void> {
  try {
    const cfg = await api.authConfig();
    if (cfg.mode === 'oidc' && cfg.clientId) {
      const id = await completeOidcSignIn(cfg.issuer, cfg.clientId).catch(() => null);
      if (id) return start(id);
    }
  } catch {
    return login();
  }
  const id = currentIdentity();
  if (id) start(id);
  else void login();
}
void boot();
