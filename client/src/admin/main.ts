import type { ParticipantInput, RoomDto } from '../../../shared/src/http.ts';
import { ROOM_KINDS, ROOM_ROLES, type RoomKind, type RoomRole } from '../../../shared/src/roles.ts';
import { completeOidcSignIn, currentIdentity, devSignIn, oidcSignIn, signOut } from '../app/auth.ts';
import { clear, h } from '../app/dom.ts';
import { ConsiliumApi } from '../sdk/api.ts';
import { ConsiliumError } from '../sdk/errors.ts';

/**
 * Admin console: provision rooms (title, kind, case, participants with role
 * and scopes), import FHIR case bundles, watch live rooms (who is in, voice)
 * with mute/kick, and browse and verify the audit trail.
 */
const root = document.getElementById('app')!;
const who = document.getElementById('who')!;
const signOutBtn = document.getElementById('signout') as HTMLButtonElement;
const api = new ConsiliumApi(location.origin);
signOutBtn.onclick = () => {
  signOut();
  location.reload();
};

const errorText = (err: unknown) => (err instanceof ConsiliumError ? `${err.code}: ${err.message}${err.details ? ` ${JSON.stringify(err.details)}` : ''}` : String(err));

async function login(error?: string): Promise<void> {
  clear(root);
  const cfg = await api.authConfig();
  if (cfg.mode === 'oidc') {
    root.append(h('section', { class: 'card' }, h('h1', {}, 'Administrator sign-in'), error ? h('p', { class: 'error' }, error) : null,
      h('button', { class: 'primary', disabled: !cfg.clientId, onclick: () => void oidcSignIn(cfg.issuer, cfg.clientId!) }, 'Sign in with your hospital account')));
    return;
  }
  const userId = h('input', { 'aria-label': 'Admin user id', value: 'it.admin', id: 'admin-user' });
  root.append(
    h('form', { class: 'card stack', style: 'max-width:420px', onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        const id = await devSignIn(api, userId.value.trim(), 'IT Admin', true);
        start(id.token, id.name, id.admin);
      } catch (err) {
        void login(errorText(err));
      }
    } }, h('h1', {}, 'Administrator sign-in (development)'), error ? h('p', { class: 'error', role: 'alert' }, error) : null, h('label', { class: 'stack' }, 'User', userId), h('button', { class: 'primary', type: 'submit' }, 'Sign in')),
  );
}

function start(token: string, name: string, admin: boolean): void {
  api.identityToken = token;
  who.textContent = name;
  signOutBtn.hidden = false;
  clear(root);
  if (!admin) {
    root.append(h('p', { class: 'error' }, 'This console is for administrators (scope consilium:admin).'));
    return;
  }
  const tabs = { Rooms: roomsTab, Cases: casesTab, 'Live rooms': liveTab, Audit: auditTab } as const;
  const panel = h('div');
  const nav = h('nav', { class: 'row', role: 'tablist', style: 'margin-bottom:12px' }, ...Object.entries(tabs).map(([label, render]) =>
    h('button', { role: 'tab', onclick: () => { clear(panel); void render(panel); } }, label)));
  root.append(nav, panel);
  void roomsTab(panel);
}

// ---- rooms ------------------------------------------------------------------------------

function participantRow(p?: ParticipantInput): HTMLElement {
  const user = h('input', { 'aria-label': 'Participant user id', placeholder: 'user id', value: p?.userId ?? '', class: 'p-user' });
  const role = h('select', { 'aria-label': 'Role', class: 'p-role' }, ...ROOM_ROLES.map((r) => h('option', { value: r, selected: p?.role === r }, r)));
  const scopes = h('input', { 'aria-label': 'Scopes (blank: role defaults)', placeholder: 'scopes (blank: role defaults)', value: p?.scopes?.join(' ') ?? '', class: 'p-scopes', size: 36 });
  const row = h('div', { class: 'row p-row' }, user, role, scopes, h('button', { type: 'button', onclick: () => row.remove(), 'aria-label': 'Remove participant' }, '✕'));
  return row;
}

function readParticipants(container: HTMLElement): ParticipantInput[] {
  return [...container.querySelectorAll<HTMLElement>('.p-row')].flatMap((row) => {
    const userId = row.querySelector<HTMLInputElement>('.p-user')!.value.trim();
    if (!userId) return [];
    const role = row.querySelector<HTMLSelectElement>('.p-role')!.value as RoomRole;
    const scopes = row.querySelector<HTMLInputElement>('.p-scopes')!.value.trim();
    return [{ userId, role, ...(scopes ? { scopes: scopes.split(/\s+/) } : {}) }];
  });
}

function roomForm(onSaved: () => void, existing?: RoomDto): HTMLElement {
  const title = h('input', { 'aria-label': 'Title', value: existing?.title ?? '', required: true, id: 'room-title' });
  const kind = h('select', { 'aria-label': 'Kind', id: 'room-kind' }, ...ROOM_KINDS.map((k) => h('option', { value: k, selected: existing?.kind === k }, k)));
  const caseId = h('input', { 'aria-label': 'Case id', placeholder: 'case id (optional)', value: existing?.caseId ?? '', id: 'room-case', size: 38 });
  const parts = h('div', { class: 'stack' }, ...(existing?.participants ?? [undefined]).map((p) => participantRow(p as ParticipantInput | undefined)));
  const error = h('p', { class: 'error', role: 'alert' });
  return h(
    'form',
    { class: 'card stack', onsubmit: async (e: Event) => {
      e.preventDefault();
      const body = { title: title.value, kind: kind.value as RoomKind, participants: readParticipants(parts), ...(caseId.value.trim() ? { caseId: caseId.value.trim() } : {}) };
      try {
        if (existing) await api.updateRoom(existing.id, { ...body, caseId: caseId.value.trim() || null });
        else await api.createRoom(body);
        onSaved();
      } catch (err) {
        error.textContent = errorText(err);
      }
    } },
    h('h2', {}, existing ? `Edit “${existing.title}”` : 'New room'),
    h('div', { class: 'row' }, h('label', {}, 'Title ', title), h('label', {}, 'Kind ', kind), h('label', {}, 'Case ', caseId)),
    h('strong', {}, 'Participants'),
    parts,
    h('button', { type: 'button', onclick: () => parts.append(participantRow()) }, 'Add participant'),
    error,
    h('button', { class: 'primary', type: 'submit' }, existing ? 'Save' : 'Create room'),
  );
}

async function roomsTab(panel: HTMLElement): Promise<void> {
  const reload = () => {
    clear(panel);
    void roomsTab(panel);
  };
  const table = h('table', {}, h('thead', {}, h('tr', {}, h('th', {}, 'Room'), h('th', {}, 'Kind'), h('th', {}, 'Participants'), h('th', {}, ''))));
  const tbody = h('tbody');
  table.append(tbody);
  const editor = h('div');
  panel.append(h('section', { class: 'card' }, h('h2', {}, 'Open rooms'), table), editor, roomForm(reload));
  for (const r of await api.listRooms()) {
    tbody.append(h('tr', { 'data-testid': `admin-room-${r.id}` },
      h('td', {}, r.title, r.live ? h('span', { class: 'badge' }, 'live') : null, h('div', { class: 'muted' }, r.id)),
      h('td', {}, r.kind),
      h('td', {}, r.participants.map((p) => `${p.userId} (${p.role})`).join(', ')),
      h('td', { class: 'row' },
        h('button', { onclick: () => { clear(editor); editor.append(roomForm(reload, r)); } }, 'Edit'),
        h('button', { class: 'danger', onclick: async () => { if (confirm(`Close “${r.title}”? Everyone in it is disconnected.`)) { await api.closeRoom(r.id); reload(); } } }, 'Close'))));
  }
}

// ---- cases ------------------------------------------------------------------------------

async function casesTab(panel: HTMLElement): Promise<void> {
  const text = h('textarea', { rows: 12, style: 'width:100%', 'aria-label': 'FHIR Bundle JSON', placeholder: '{ "resourceType": "Bundle", "type": "collection", "entry": [...] }' });
  const file = h('input', { type: 'file', accept: '.json,application/fhir+json', 'aria-label': 'Bundle file', onchange: async () => {
    const f = file.files?.[0];
    if (f) text.value = await f.text();
  } });
  const result = h('p', { role: 'status' });
  panel.append(h('section', { class: 'card stack' }, h('h2', {}, 'Import a FHIR case bundle'), file, text,
    h('button', { class: 'primary', onclick: async () => {
      try {
        const r = await api.importCase(JSON.parse(text.value));
        result.className = '';
        result.textContent = `Imported: case ${r.caseId} (patient ${r.patientId}, ${r.resources} resources). Use the case id when creating a room.`;
      } catch (err) {
        result.className = 'error';
        result.textContent = errorText(err);
      }
    } }, 'Import'), result));
}

// ---- live rooms ------------------------------------------------------------------------

async function liveTab(panel: HTMLElement): Promise<void> {
  const rooms = (await api.listRooms()).filter((r) => r.live);
  if (rooms.length === 0) panel.append(h('p', { class: 'muted' }, 'No room is live right now.'));
  for (const r of rooms) {
    const live = await api.liveRoom(r.id);
    panel.append(h('section', { class: 'card' }, h('h2', {}, `${r.title} · voice ${live.voice}`),
      h('table', {}, h('tbody', {}, ...live.participants.map((p) => h('tr', {},
        h('td', {}, `${p.name} (${p.userId})`), h('td', {}, p.role), h('td', {}, p.connected ? 'connected' : 'reconnecting'),
        h('td', {}, p.voiceConnected ? (p.muted ? 'voice, muted' : 'voice') : 'no voice'),
        h('td', { class: 'row' },
          h('button', { onclick: async () => { await api.moderate(r.id, 'mute', p.userId).catch((e: unknown) => alert(errorText(e))); clear(panel); void liveTab(panel); } }, 'Mute'),
          h('button', { class: 'danger', onclick: async () => { await api.moderate(r.id, 'kick', p.userId).catch((e: unknown) => alert(errorText(e))); clear(panel); void liveTab(panel); } }, 'Kick'))))))));
  }
}

// ---- audit ------------------------------------------------------------------------------

async function auditTab(panel: HTMLElement): Promise<void> {
  const room = h('input', { placeholder: 'room id', 'aria-label': 'Filter by room id', size: 38 });
  const user = h('input', { placeholder: 'user id', 'aria-label': 'Filter by user id' });
  const verify = h('p', { role: 'status' });
  const tbody = h('tbody');
  let after: number | undefined;
  const load = async (reset: boolean) => {
    if (reset) {
      clear(tbody);
      after = undefined;
    }
    const q: Record<string, string | number> = { limit: 50 };
    if (room.value.trim()) q['room'] = room.value.trim();
    if (user.value.trim()) q['user'] = user.value.trim();
    if (after !== undefined) q['after'] = after;
    const page = await api.audit(q);
    for (const e of page.events) {
      tbody.append(h('tr', {}, h('td', {}, String(e.seq)), h('td', {}, String(e['at'])), h('td', {}, e.actor), h('td', {}, e.action), h('td', {}, String(e['outcome'])), h('td', { class: 'muted' }, JSON.stringify(e.details).slice(0, 160))));
    }
    after = page.next ?? undefined;
    more.hidden = page.next === null;
  };
  const more = h('button', { onclick: () => void load(false) }, 'More');
  panel.append(h('section', { class: 'card stack' }, h('h2', {}, 'Audit trail'),
    h('div', { class: 'row' }, room, user, h('button', { onclick: () => void load(true) }, 'Search'),
      h('button', { onclick: async () => {
        const r = await api.verifyAudit();
        verify.className = r.ok ? '' : 'error';
        verify.textContent = r.ok ? `Chain intact: ${r.rows} rows verified.` : `Chain BROKEN at row ${r.firstBroken?.seq}: ${r.firstBroken?.reason}`;
      } }, 'Verify chain'),
      h('a', { href: '/api/audit?format=fhir', onclick: async (e: Event) => {
        e.preventDefault();
        const res = await fetch('/api/audit?format=fhir&limit=1000', { headers: { authorization: `Bearer ${api.identityToken}` } });
        const url = URL.createObjectURL(await res.blob());
        Object.assign(document.createElement('a'), { href: url, download: 'audit-events.json' }).click();
      } }, 'Export FHIR AuditEvents')),
    verify,
    h('table', {}, h('thead', {}, h('tr', {}, ...['#', 'At', 'Actor', 'Action', 'Outcome', 'Details'].map((t) => h('th', {}, t)))), tbody), more));
  await load(true);
}

async function boot(): Promise<void> {
  const cfg = await api.authConfig();
  if (cfg.mode === 'oidc' && cfg.clientId) {
    const id = await completeOidcSignIn(cfg.issuer, cfg.clientId).catch(() => null);
    if (id) return start(id.token, id.name, id.admin);
  }
  const id = currentIdentity();
  if (id) start(id.token, id.name, id.admin);
  else void login();
}
void boot();
