import { DEMO_USERS as DEMO_USERS_FOR_LOGIN } from '../../../shared/src/demo.ts';
import { ConsiliumClient } from '../sdk/client.ts';
import { completeOidcSignIn, currentIdentity, devSignIn, oidcSignIn, scheduleRefresh, signOut, type Identity } from './auth.ts';
import { clear, h, setStatus } from './dom.ts';
import { LibraryController } from './library-controller.ts';
import { libraryPage } from './views/library-page.ts';
import { needsSignIn, plainMessage } from './plain-errors.ts';

const root = document.getElementById('app')!;
const who = document.getElementById('who')!;
const signOutBtn = document.getElementById('signout') as HTMLButtonElement;
const client = new ConsiliumClient(location.origin);
const ROOM_RE = /room=([0-9a-f-]{36})/;

/** The room the URL points at (`#room=<id>`): reload and shared links land there, after sign-in if needed. */
const roomInUrl = () => ROOM_RE.exec(location.hash)?.[1] ?? null;

function signedIn(id: Identity): void {
  client.api.identityToken = id.token;
  who.textContent = `${id.name}${id.admin ? ' · admin' : ''}`;
  signOutBtn.hidden = false;
  scheduleRefresh(id, client.api, {
    refreshed: (fresh) => (client.api.identityToken = fresh.token),
    expired: () => {
      // In a room the session goes on (it holds its seat); only a new join needs a fresh sign-in.
      if (document.querySelector('.room-layout')) setStatus('Sign-in expiring: sign in again soon', 'warn');
      else void showLogin('Your sign-in has expired. Please sign in again; you will return to where you were.');
    },
  });
  const room = roomInUrl();
  if (room) enterRoom(room);
  else void showRooms();
}

signOutBtn.onclick = () => {
  signOut();
  location.hash = '';
  location.reload();
};

async function showLogin(error?: string): Promise<void> {
  clear(root);
  setStatus('Signed out');
  who.textContent = '';
  signOutBtn.hidden = true;
  let cfg: Awaited<ReturnType<typeof client.api.authConfig>>;
  try {
    cfg = await client.api.authConfig();
  } catch (err) {
    root.append(h('section', { class: 'card', style: 'max-width:460px' }, h('h1', {}, 'Cannot reach the server'), h('p', { role: 'alert' }, plainMessage(err)),
      h('button', { class: 'primary', onclick: () => void showLogin(error) }, 'Retry')));
    return;
  }
  const pending = roomInUrl() ? h('p', { class: 'muted' }, 'After signing in you will go straight to the room from your link.') : null;
  if (cfg.mode === 'oidc') {
    root.append(
      h('section', { class: 'card', style: 'max-width:420px' }, h('h1', {}, 'Sign in'), error ? h('p', { class: 'error', role: 'alert' }, error) : null, pending,
        h('button', { class: 'primary', disabled: !cfg.clientId, onclick: () => void oidcSignIn(cfg.issuer, cfg.clientId!, cfg.scopes) }, 'Sign in with your hospital account'),
        cfg.clientId ? null : h('p', { class: 'muted' }, 'AUTH_CLIENT_ID is not configured on the server.')),
    );
    return;
  }
  const userId = h('input', { id: 'user-id', placeholder: 'user id', required: true, list: 'demo-users', autocomplete: 'username' });
  const name = h('input', { id: 'user-name', placeholder: 'display name', autocomplete: 'name' });
  const admin = h('input', { type: 'checkbox', id: 'user-admin' });
  const form = h(
    'form',
    { class: 'card stack', style: 'max-width:420px', onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        signedIn(await devSignIn(client.api, userId.value.trim(), name.value.trim() || userId.value.trim(), admin.checked));
      } catch (err) {
        void showLogin(plainMessage(err));
      }
    } },
    h('h1', {}, 'Sign in (development)'),
    h('p', { class: 'muted' }, 'Development identity provider: pick a demo user or type any id.'),
    error ? h('p', { class: 'error', role: 'alert' }, error) : null,
    pending,
    h('datalist', { id: 'demo-users' }, ...DEMO_USERS_FOR_LOGIN.map((u) => h('option', { value: u.userId }, `${u.name} (${u.role})`))),
    h('label', { class: 'field', for: 'user-id' }, 'User'),
    userId,
    h('label', { class: 'field', for: 'user-name' }, 'Name'),
    name,
    h('label', { class: 'row' }, admin, 'Administrator'),
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'),
  );
  userId.addEventListener('change', () => {
    const demo = DEMO_USERS_FOR_LOGIN.find((u) => u.userId === userId.value);
    if (demo && !name.value) name.value = demo.name;
  });
  // A suggested name is selected on focus, so typing one's own name replaces it rather than appending to it.
  name.addEventListener('focus', () => name.select());
  root.append(form);
  userId.focus();
}

async function showRooms(message?: string): Promise<void> {
  currentRoom = null;
  clear(root);
  setStatus('Not in a room');
  if (roomInUrl()) history.replaceState(null, '', location.pathname + location.search);
  const list = h('ul', { class: 'list rooms', 'aria-label': 'Your rooms' });
  root.append(h('section', { class: 'card', style: 'max-width:720px' },
    h('div', { class: 'row' }, h('h1', {}, 'Your rooms'), h('button', { id: 'open-library', class: 'secondary', style: 'margin-left:auto', onclick: () => void showLibrary() }, 'Teaching recordings'),
      currentIdentity()?.admin ? h('a', { class: 'button-link', href: '/admin', 'data-testid': 'open-console' }, 'Admin console') : null),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null, list));
  try {
    const rooms = await client.api.listRooms();
    if (rooms.length === 0) list.append(h('li', { class: 'muted' }, 'You are not invited to any open room.'));
    for (const r of rooms) {
      list.append(h('li', { 'data-testid': `room-${r.id}` }, h('strong', {}, r.title), h('span', { class: 'muted' }, ` ${r.kind.replace(/-/g, ' ')}${r.live ? ' · in session' : ''}`),
        r.removed
          ? h('span', { class: 'badge warn', style: 'margin-left:auto', 'data-testid': 'removed' }, r.removed.until ? `Removed by the host until ${new Date(r.removed.until).toLocaleTimeString()}` : 'Removed by the host — ask them to re-admit you')
          : h('button', { class: 'primary', style: 'margin-left:auto', onclick: () => enterRoom(r.id), 'aria-label': `Join ${r.title}` }, 'Join')));
    }
  } catch (err) {
    if (needsSignIn(err)) return showLogin(plainMessage(err));
    list.append(h('li', { class: 'error' }, plainMessage(err), h('button', { style: 'margin-left:auto', onclick: () => void showRooms() }, 'Retry')));
  }
}

/** The recordings this user may watch: watch one alone, or (its host, an administrator) replay it to learners. */
async function showLibrary(): Promise<void> {
  clear(root);
  setStatus('Not in a room');
  const ctl = new LibraryController(client.api, { changed: () => view.render(), open: (roomId) => enterRoom(roomId) });
  const view = libraryPage(ctl, () => void showRooms());
  root.append(view.el);
  view.render();
  await ctl.load();
}

let currentRoom: string | null = null;

function enterRoom(id: string): void {
  currentRoom = id;
  if (roomInUrl() !== id) location.hash = `room=${id}`;
  clear(root);
  root.append(h('p', { class: 'muted', role: 'status' }, 'Opening the room…'));
  // The 3D room (three.js, LiveKit) loads only now: the sign-in and room list stay small.
  void import('./room-view.ts')
    .then(({ showRoom }) => showRoom(root, client, id, { leave: (msg) => void showRooms(msg), signIn: (msg) => void showLogin(msg) }))
    .catch((err: unknown) => showRooms(`The room could not be opened: ${plainMessage(err)}`));
}

async function start(): Promise<void> {
  setStatus('Signing in…');
  try {
    const cfg = await client.api.authConfig();
    if (cfg.mode === 'oidc' && cfg.clientId) {
      const id = await completeOidcSignIn(cfg.issuer, cfg.clientId);
      if (id) return signedIn(id);
    }
  } catch (err) {
    return showLogin(plainMessage(err));
  }
  const id = currentIdentity();
  if (!id) return showLogin();
  signedIn(id);
}

window.addEventListener('hashchange', () => {
  const room = roomInUrl();
  // A room link pasted into this tab while on the room list (not our own hash update).
  if (room && room !== currentRoom && currentRoom === null && client.api.identityToken) enterRoom(room);
});

void start();
