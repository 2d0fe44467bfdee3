import { DEMO_USERS as DEMO_USERS_FOR_LOGIN } from '../../../shared/src/demo.ts';
import { ConsiliumClient } from '../sdk/client.ts';
import { completeOidcSignIn, currentIdentity, devSignIn, oidcSignIn, signOut, type Identity } from './auth.ts';
import { clear, h, setStatus } from './dom.ts';
import { showRoom } from './room-view.ts';

const root = document.getElementById('app')!;
const who = document.getElementById('who')!;
const signOutBtn = document.getElementById('signout') as HTMLButtonElement;
const client = new ConsiliumClient(location.origin);

function signedIn(id: Identity): void {
  client.api.identityToken = id.token;
  who.textContent = `${id.name}${id.admin ? ' (admin)' : ''}`;
  signOutBtn.hidden = false;
  void showRooms();
}

signOutBtn.onclick = () => {
  signOut();
  location.reload();
};

async function showLogin(error?: string): Promise<void> {
  clear(root);
  setStatus('');
  const cfg = await client.api.authConfig();
  if (cfg.mode === 'oidc') {
    root.append(
      h('section', { class: 'card', style: 'max-width:420px' }, h('h1', {}, 'Sign in'), error ? h('p', { class: 'error', role: 'alert' }, error) : null,
        h('button', { class: 'primary', disabled: !cfg.clientId, onclick: () => void oidcSignIn(cfg.issuer, cfg.clientId!) }, 'Sign in with your hospital account'),
        cfg.clientId ? null : h('p', { class: 'muted' }, 'AUTH_CLIENT_ID is not configured on the server.')),
    );
    return;
  }
  const userId = h('input', { id: 'user-id', 'aria-label': 'User id', placeholder: 'user id', required: true, list: 'demo-users' });
  const name = h('input', { id: 'user-name', 'aria-label': 'Display name', placeholder: 'display name' });
  const admin = h('input', { type: 'checkbox', id: 'user-admin' });
  const form = h(
    'form',
    { class: 'card stack', style: 'max-width:420px', onsubmit: async (e: Event) => {
      e.preventDefault();
      try {
        signedIn(await devSignIn(client.api, userId.value.trim(), name.value.trim() || userId.value.trim(), admin.checked));
      } catch (err) {
        void showLogin(String(err));
      }
    } },
    h('h1', {}, 'Sign in (development)'),
    h('p', { class: 'muted' }, 'Development identity provider: pick a demo user or type any id.'),
    error ? h('p', { class: 'error', role: 'alert' }, error) : null,
    h('datalist', { id: 'demo-users' }, ...DEMO_USERS_FOR_LOGIN.map((u) => h('option', { value: u.userId }, `${u.name} (${u.role})`))),
    h('label', { class: 'stack' }, 'User', userId),
    h('label', { class: 'stack' }, 'Name', name),
    h('label', { class: 'row' }, admin, 'Administrator'),
    h('button', { class: 'primary', type: 'submit' }, 'Sign in'),
  );
  userId.addEventListener('change', () => {
    const demo = DEMO_USERS_FOR_LOGIN.find((u) => u.userId === userId.value);
    if (demo && !name.value) name.value = demo.name;
  });
  root.append(form);
  userId.focus();
}

async function showRooms(message?: string): Promise<void> {
  clear(root);
  setStatus('');
  location.hash = '';
  const list = h('ul', { class: 'list', 'aria-label': 'Your rooms' });
  root.append(h('section', { class: 'card', style: 'max-width:720px' }, h('h1', {}, 'Your rooms'), message ? h('p', { class: 'error', role: 'alert' }, message) : null, list));
  try {
    const rooms = await client.api.listRooms();
    if (rooms.length === 0) list.append(h('li', { class: 'muted' }, 'You are not invited to any open room.'));
    for (const r of rooms) {
      list.append(h('li', { 'data-testid': `room-${r.id}` }, h('strong', {}, r.title), h('span', { class: 'muted' }, ` ${r.kind}${r.live ? ' · live' : ''}`),
        h('button', { class: 'primary', style: 'margin-left:auto', onclick: () => enterRoom(r.id) }, 'Join')));
    }
  } catch (err) {
    list.append(h('li', { class: 'error' }, String(err)));
  }
}

function enterRoom(id: string): void {
  location.hash = `room=${id}`;
  void showRoom(root, client, id, (msg) => void showRooms(msg));
}

async function start(): Promise<void> {
  try {
    const cfg = await client.api.authConfig();
    if (cfg.mode === 'oidc' && cfg.clientId) {
      const id = await completeOidcSignIn(cfg.issuer, cfg.clientId);
      if (id) return signedIn(id);
    }
  } catch (err) {
    return showLogin(String(err));
  }
  const id = currentIdentity();
  if (!id) return showLogin();
  signedIn(id);
  const room = /room=([0-9a-f-]{36})/.exec(location.hash)?.[1];
  if (room) enterRoom(room);
}

void start();
