import type { TicketResponse } from '../../../shared/src/http.ts';
import type { SceneObjectState } from '../../../shared/src/state.ts';
import type { ConsiliumClient } from '../sdk/client.ts';
import { ConsiliumError } from '../sdk/errors.ts';
import type { ClinicSession } from '../sdk/session.ts';
import { casePanel } from './case-panel.ts';
import { clear, h, setStatus } from './dom.ts';
import { ROLE_COLORS } from './scene/avatars.ts';
import { BUILTIN_ASSETS } from './scene/models.ts';
import { World, type Tool } from './scene/world.ts';
import { Voice } from './voice.ts';

const EDITORS = new Set(['host', 'clinician', 'specialist', 'surgeon']);
const fmt = (n: number) => n.toFixed(2);

/** The room screen: 3D view, tools, participants, scene objects, case panel, voice. */
export async function showRoom(root: HTMLElement, client: ConsiliumClient, roomId: string, onLeave: (message?: string) => void): Promise<void> {
  setStatus('Joining…', 'warn');
  let ticket: TicketResponse;
  let session: ClinicSession;
  try {
    ticket = await client.api.getTicket(roomId);
    session = await client.joinWithTicket(ticket);
    await session.ready();
  } catch (err) {
    setStatus('Not connected', 'bad');
    onLeave(err instanceof ConsiliumError ? `${err.code}: ${err.message}` : String(err));
    return;
  }
  const role = ticket.role;
  const canEdit = EDITORS.has(role);
  const isHost = role === 'host';
  (window as unknown as { __consilium?: unknown }).__consilium = { session };

  clear(root);
  const viewport = h('div', { class: 'viewport' });
  const side = h('aside', { class: 'side', 'aria-label': 'Room panels' });
  root.append(h('div', { class: 'room-layout' }, viewport, side));
  const world = new World(viewport, session, canEdit);

  // ---- toolbar ------------------------------------------------------------------------
  const toolButtons = (['move', 'draw', 'laser'] as Tool[]).map((t) =>
    h('button', { 'aria-pressed': String(t === 'move'), onclick: () => selectTool(t), disabled: t === 'draw' && !canEdit }, t === 'move' ? 'Move' : t === 'draw' ? 'Draw' : 'Laser'),
  );
  const selectTool = (t: Tool) => {
    world.setTool(t);
    toolButtons.forEach((b, i) => b.setAttribute('aria-pressed', String(['move', 'draw', 'laser'][i] === t)));
  };
  const follow = h('input', { type: 'checkbox', onchange: () => (world.followPresenter = follow.checked) });
  const presentBtn = h('button', {
    onclick: () => void session.request('presenter.set', { sessionId: session.state.info.presenter === session.sessionId ? null : session.sessionId }),
    disabled: !canEdit,
  }, 'Present');
  const vrBtn = h('button', { hidden: true, onclick: () => void world.enterXR('immersive-vr').catch((e: unknown) => alert(String(e))) }, 'Enter VR');
  const arBtn = h('button', { hidden: true, onclick: () => void (session.state.info.kind === 'surgical-guidance' ? import('./ar/surgeon-ar.ts').then((m) => m.enterSurgeonAr(session)) : world.enterXR('immersive-ar')).catch((e: unknown) => alert(String(e))) }, 'Enter AR');
  void navigator.xr?.isSessionSupported('immersive-vr').then((ok) => (vrBtn.hidden = !ok));
  void navigator.xr?.isSessionSupported('immersive-ar').then((ok) => (arBtn.hidden = !ok));

  // ---- voice ----------------------------------------------------------------------------
  let voice: Voice | null = null;
  let speaking = new Set<string>();
  const micBtn = h('button', { hidden: true, onclick: () => void voice?.setMic(!voice.micEnabled).then(renderLists) }, 'Mute me');
  const voiceBtn = h('button', {
    disabled: !ticket.voice,
    title: ticket.voice ? '' : 'Voice is not configured on this server',
    onclick: async () => {
      if (!ticket.voice) return;
      voice = new Voice();
      voice.onSpeakers = (ids) => {
        speaking = new Set(ids);
        renderLists();
      };
      voice.onChange = () => (micBtn.textContent = voice?.micEnabled ? 'Mute me' : 'Unmute me');
      try {
        await voice.join(ticket.voice.url, ticket.voice.token, role !== 'observer');
        voiceBtn.hidden = true;
        micBtn.hidden = role === 'observer';
      } catch (err) {
        alert(`Voice failed: ${String(err)}`);
      }
    },
  }, 'Join voice');

  const leaveBtn = h('button', { class: 'danger', onclick: async () => {
    await voice?.leave();
    world.dispose();
    await session.leave();
    onLeave();
  } }, 'Leave');
  viewport.append(
    h('div', { class: 'overlay', role: 'toolbar', 'aria-label': 'Tools' }, ...toolButtons, presentBtn, h('label', { class: 'row' }, follow, 'Follow presenter'), voiceBtn, micBtn, vrBtn, arBtn, leaveBtn),
  );

  // ---- side panels ------------------------------------------------------------------------
  const people = h('ul', { class: 'list', 'aria-label': 'Participants' });
  const objects = h('ul', { class: 'list', role: 'listbox', 'aria-label': 'Scene objects (arrow keys move, PageUp/Down raise, + − scale, [ ] rotate)' });
  const objError = h('p', { class: 'error', role: 'alert' });
  let selected: string | null = null;
  world.onSelect = (id) => {
    selected = id;
    renderLists();
  };
  const pinText = h('input', { placeholder: 'Annotation text', 'aria-label': 'Annotation text', maxlength: 500 });
  const addPin = h('button', { disabled: !canEdit, onclick: async () => {
    const target = selected ? session.state.objects.get(selected) : undefined;
    const at: [number, number, number] = target ? [target.px, target.py + 0.15, target.pz] : [0, 1.3, 0];
    const reply = await session.add({ kind: 'label', asset: 'builtin:pin', label: pinText.value || 'Note', transform: { position: at, rotation: [0, 0, 0, 1] } });
    objError.textContent = reply.ok ? '' : reply.error.message;
    pinText.value = '';
  } }, 'Add pin');
  const modelPick = h('select', { 'aria-label': 'Sample model' }, ...BUILTIN_ASSETS.filter((a) => a !== 'pin').map((a) => h('option', { value: a }, a)));
  const addModel = h('button', { disabled: !canEdit, onclick: async () => {
    const n = session.objects().length;
    const angle = n * 0.9;
    const reply = await session.add({ kind: 'model', asset: `builtin:${modelPick.value}`, label: modelPick.value, transform: { position: [Math.sin(angle) * 0.45, 1.05, Math.cos(angle) * 0.45], rotation: [0, 0, 0, 1] } });
    objError.textContent = reply.ok ? '' : reply.error.message;
  } }, 'Add model');
  const { el: caseEl, refresh: refreshCase } = casePanel(session, canEdit);
  side.append(
    h('section', { class: 'card' }, h('h2', {}, `${session.state.info.title} · you are ${role}`), people),
    h('section', { class: 'card' }, h('h2', {}, 'Scene'), objects, objError, h('div', { class: 'row' }, pinText, addPin), h('div', { class: 'row' }, modelPick, addModel)),
    caseEl,
  );

  // Keyboard nudges run one at a time (a held arrow key repeats faster than a round trip), each
  // starting from the last transform this client sent, since the state patch may not be back yet.
  const sent = new Map<string, { t: Transform; at: number }>();
  let queue: Promise<void> = Promise.resolve();
  const nudge = (id: string, change: (t: Transform) => Transform) => {
    queue = queue.then(async () => {
      const o = session.state.objects.get(id);
      if (!o) return;
      const recent = sent.get(id);
      const next = change(recent && Date.now() - recent.at < 2000 ? recent.t : transformOf(o));
      const grab = await session.grab(id);
      if (!grab.ok) {
        objError.textContent = grab.error.message;
        return;
      }
      const reply = await session.release(id, next);
      objError.textContent = reply.ok ? '' : reply.error.message;
      if (reply.ok) sent.set(id, { t: next, at: Date.now() });
    });
  };
  const keyMove: Record<string, (t: Transform) => Transform> = {
    ArrowLeft: moveBy(-0.05, 0, 0),
    ArrowRight: moveBy(0.05, 0, 0),
    ArrowUp: moveBy(0, 0, -0.05),
    ArrowDown: moveBy(0, 0, 0.05),
    PageUp: moveBy(0, 0.05, 0),
    PageDown: moveBy(0, -0.05, 0),
    '+': scaleBy(1.1),
    '-': scaleBy(1 / 1.1),
    ']': rotateY(Math.PI / 12),
    '[': rotateY(-Math.PI / 12),
  };

  const renderLists = () => {
    clear(people);
    for (const p of session.participants()) {
      const me = p.sessionId === session.sessionId;
      people.append(
        h(
          'li',
          { 'data-testid': `participant-${p.userId}` },
          h('span', { class: `dot${speaking.has(p.userId) ? ' speaking' : ''}`, style: `background:${ROLE_COLORS[p.role] ?? '#ccc'}` }),
          `${p.name}${me ? ' (you)' : ''} · ${p.role}`,
          !p.connected ? h('span', { class: 'badge' }, 'reconnecting') : null,
          p.voiceConnected ? h('span', { class: 'badge' }, p.muted ? '🔇 muted' : '🎙 voice') : null,
          session.state.info.presenter === p.sessionId ? h('span', { class: 'badge' }, 'presenting') : null,
          isHost && !me
            ? h('span', { class: 'row', style: 'margin-left:auto' },
                h('button', { onclick: () => void session.request('voice.mute', { userId: p.userId }), 'aria-label': `Mute ${p.name}` }, 'Mute'),
                h('button', { class: 'danger', onclick: () => void session.request('participant.kick', { userId: p.userId }), 'aria-label': `Remove ${p.name}` }, 'Kick'))
            : null,
        ),
      );
    }
    const focusedId = (document.activeElement as HTMLElement | null)?.dataset?.['objectId'];
    clear(objects);
    for (const o of session.objects()) {
      const holder = o.grabbedBy ? session.state.participants.get(o.grabbedBy)?.name : null;
      const li = h(
        'li',
        { role: 'option', tabindex: 0, 'aria-selected': String(selected === o.id), dataset: { objectId: o.id }, 'data-testid': `object-${o.id}`,
          onclick: () => { selected = o.id; renderLists(); },
          onkeydown: (e: KeyboardEvent) => {
            const f = keyMove[e.key];
            if (!f || !canEdit) return;
            e.preventDefault();
            void nudge(o.id, f);
          } },
        `${o.label || o.asset.replace('builtin:', '')} (${o.kind})`,
        h('span', { class: 'muted', 'data-testid': `object-${o.id}-pos` }, ` ${fmt(o.px)}, ${fmt(o.py)}, ${fmt(o.pz)}`),
        holder ? h('span', { class: 'badge' }, `held by ${holder}`) : null,
      );
      objects.append(li);
      if (focusedId === o.id) li.focus();
    }
    presentBtn.textContent = session.state.info.presenter === session.sessionId ? 'Stop presenting' : 'Present';
    refreshCase();
  };

  let scheduled = false;
  session.room.onStateChange(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      renderLists();
      if (voice) {
        const q = world.listener.quaternion;
        const fwd = { x: -2 * (q.x * q.z + q.w * q.y), y: -2 * (q.y * q.z - q.w * q.x), z: -(1 - 2 * (q.x * q.x + q.y * q.y)) };
        voice.updatePositions({ position: world.listener.position, forward: fwd }, (id) => world.headOf(id));
      }
    });
  });
  renderLists();

  const voiceNote = () => (session.state.info.voice === 'degraded' ? ' · voice degraded' : '');
  const statusText = (s: string) => (s === 'connected' ? ['Connected' + voiceNote(), 'ok'] : s === 'reconnecting' ? ['Reconnecting…', 'warn'] : ['Disconnected', 'bad']) as [string, 'ok' | 'warn' | 'bad'];
  setStatus(...statusText('connected'));
  session.onStatus((s, code) => {
    setStatus(...statusText(s));
    if (s === 'closed') {
      void voice?.leave();
      world.dispose();
      const reason = code === 4403 ? 'You were removed from the room by the host.' : code === 4404 ? 'The room was closed.' : code === 4401 ? 'You are no longer a participant of this room.' : code === 4429 ? 'Disconnected: too many messages.' : code === 4000 ? undefined : `Connection lost (${code ?? '?'}).`;
      onLeave(reason);
    }
  });
}

type Transform = { position: [number, number, number]; rotation: [number, number, number, number]; scale: [number, number, number] };

const transformOf = (o: SceneObjectState): Transform => ({ position: [o.px, o.py, o.pz], rotation: [o.qx, o.qy, o.qz, o.qw], scale: [o.sx, o.sy, o.sz] });

const moveBy = (dx: number, dy: number, dz: number) => (t: Transform): Transform => ({ ...t, position: [t.position[0] + dx, t.position[1] + dy, t.position[2] + dz] });

const scaleBy = (f: number) => (t: Transform): Transform => ({ ...t, scale: [t.scale[0] * f, t.scale[1] * f, t.scale[2] * f] });

/** Turn about the vertical axis: q' = q_y(angle) · q. */
const rotateY = (angle: number) => (t: Transform): Transform => {
  const s = Math.sin(angle / 2);
  const c = Math.cos(angle / 2);
  const [x, y, z, w] = t.rotation;
  return { ...t, rotation: [c * x + s * z, c * y + s * w, c * z - s * x, c * w - s * y] };
};
