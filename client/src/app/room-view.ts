import { acknowledgementText, acknowledgerOf } from '../../../shared/src/guidance.ts';
import type { TicketResponse } from '../../../shared/src/http.ts';
import type { SceneObjectState } from '../../../shared/src/state.ts';
import type { ConsiliumClient } from '../sdk/client.ts';
import type { ClinicSession } from '../sdk/session.ts';
import { hostAlerts } from './alerts.ts';
import { announce } from './announcer.ts';
import { casePanel } from './case-panel.ts';
import { clear, h, setStatus } from './dom.ts';
import { backoffMs, isTransient, needsSignIn, plainMessage, plainVideoError, TERMINAL_CLOSE } from './plain-errors.ts';
import { objectName, objectPlace } from './scene-list.ts';
import { ROLE_COLORS } from './scene/avatars.ts';
import { BUILTIN_ASSETS } from './scene/models.ts';
import { World, type Tool } from './scene/world.ts';
import { VideoPanel } from './video-panel.ts';
import type { VideoFeed } from './video-feed.ts';
import type { Voice } from './voice.ts';

const EDITORS = new Set(['host', 'clinician', 'specialist', 'surgeon']);

export interface RoomHooks {
  /** Back to the room list, with a message to show there. */
  leave(message?: string): void;
  /** The identity token was refused: sign in again (then come back to this room). */
  signIn(message: string): void;
}

/**
 * The room screen. Joining and staying joined: a fresh ticket for every join; when the
 * connection drops for good (server restart, long offline spell) it rejoins the same room by
 * itself with backoff, and offers "Retry now"; only removal, a kick or a closed room end it.
 */
export function showRoom(root: HTMLElement, client: ConsiliumClient, roomId: string, hooks: RoomHooks): void {
  let attempt = 0;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let stopped = false;
  const onOnline = () => {
    if (timer) void tryJoin();
  };
  window.addEventListener('online', onOnline);
  const stop = () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    window.removeEventListener('online', onOnline);
  };

  const waitThenRetry = (why: string) => {
    const delay = backoffMs(Math.min(attempt, 5));
    attempt++;
    const until = Date.now() + delay;
    setStatus('Reconnecting…', 'warn');
    clear(root);
    const countdown = h('span', {}, '');
    const tick = () => (countdown.textContent = `Trying again in ${Math.max(0, Math.ceil((until - Date.now()) / 1000))} s.`);
    tick();
    const iv = setInterval(tick, 500);
    root.append(
      h('section', { class: 'card reconnect', style: 'max-width:560px', 'data-testid': 'reconnecting' },
        h('h1', {}, 'Reconnecting to the room…'),
        h('p', { role: 'status' }, why, ' ', countdown),
        h('p', { class: 'muted' }, 'You will be put back into the same room as soon as the server answers. Nothing you added is lost.'),
        h('div', { class: 'row' },
          h('button', { class: 'primary', onclick: () => { clearInterval(iv); void tryJoin(); } }, 'Retry now'),
          h('button', { onclick: () => { clearInterval(iv); stop(); hooks.leave(); } }, 'Back to my rooms'))),
    );
    timer = setTimeout(() => {
      clearInterval(iv);
      void tryJoin();
    }, delay);
  };

  const tryJoin = async () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stopped) return;
    setStatus(attempt === 0 ? 'Joining…' : 'Reconnecting…', 'warn');
    let ticket: TicketResponse;
    let session: ClinicSession;
    try {
      ticket = await client.api.getTicket(roomId); // a ticket is single-use: a new one for every join
      session = await client.joinWithTicket(ticket);
      await session.ready();
    } catch (err) {
      if (stopped) return;
      if (needsSignIn(err)) {
        stop();
        return hooks.signIn(plainMessage(err));
      }
      if (isTransient(err)) return waitThenRetry(plainMessage(err));
      stop();
      setStatus('Not in a room');
      return hooks.leave(plainMessage(err));
    }
    if (stopped) {
      void session.leave();
      return;
    }
    const wasRetry = attempt > 0;
    attempt = 0;
    mountRoom(root, ticket, session, {
      leave: (message) => {
        stop();
        hooks.leave(message);
      },
      lost: () => waitThenRetry('The connection to the server was lost.'),
    });
    if (wasRetry) announce('Reconnected to the room.');
  };
  void tryJoin();
}

/** Site settings (the image viewer's URL); fetched once, optional. */
let clientConfig: { imagingViewerUrl?: string | null } = {};
void fetch('/api/client-config').then((r) => (r.ok ? r.json() : {})).then((c: { imagingViewerUrl?: string | null }) => (clientConfig = c)).catch(() => {});

function mountRoom(root: HTMLElement, ticket: TicketResponse, session: ClinicSession, on: { leave(message?: string): void; lost(): void }): void {
  // Reconnect on any drop, however young the connection (the SDK refuses under 5 s by default), and
  // give up on the old seat quickly: a fresh ticket and join follow (the server may have restarted).
  session.room.reconnection.minUptime = 0;
  session.room.reconnection.maxRetries = 4; // ≈3 s of retries on the old seat, then a fresh ticket
  const role = ticket.role;
  const canEdit = EDITORS.has(role);
  const isHost = role === 'host';
  const me = () => session.state.participants.get(session.sessionId);

  clear(root);
  const viewport = h('div', { class: 'viewport' });
  const side = h('aside', { class: 'side', 'aria-label': 'Room panels' });
  const title = h('h1', { class: 'room-title' }, session.state.info.title, h('span', { class: 'muted' }, ` · you are ${role}`));
  // ---- the surgeon's video (surgical guidance) --------------------------------------------
  // Shown to those the server gave a video token (videoGrant in policy.ts: host, specialists, clinicians, and
  // observers only where the room allows), and — so annotations stay visible — where the server
  // has no media service at all. The surgeon publishes instead of watching.
  const guidanceRoom = session.state.info.kind === 'surgical-guidance';
  const videoPanel = guidanceRoom && role !== 'surgeon' && (ticket.video !== null || ticket.voice === null) ? new VideoPanel(session, { canDraw: canEdit, isHost }) : null;
  let feed: VideoFeed | null = null;
  const video = ticket.video;
  if (videoPanel && video) {
    void import('./video-feed.ts').then(async ({ VideoFeed }) => {
      feed = new VideoFeed();
      feed.onStream = (stream) => videoPanel.showStream(stream);
      await feed.watch(video.url, video.token);
    }).catch((err: unknown) => {
      console.warn('video connection failed', err);
      videoPanel.setWaiting(plainVideoError(err));
    });
  } else if (videoPanel) videoPanel.setWaiting('This server has no video service (LiveKit is not configured).');
  const cameraBtn = h('button', {
    hidden: !(guidanceRoom && role === 'surgeon' && video),
    onclick: async () => {
      if (!video) return;
      try {
        const { VideoFeed } = await import('./video-feed.ts');
        feed = new VideoFeed();
        await feed.publishCamera(video.url, video.token);
        cameraBtn.hidden = true;
      } catch (err) {
        alert(`The camera could not start: ${plainMessage(err)}`);
      }
    },
  }, 'Share my camera');

  root.append(title, h('div', { class: 'room-layout' }, videoPanel ? h('div', { class: 'main-col' }, videoPanel.el, viewport) : viewport, side));
  const world = new World(viewport, session, canEdit);
  (window as unknown as { __consilium?: unknown }).__consilium = {
    session,
    world,
    video: videoPanel?.view() ?? null,
    // The stream entry point the LiveKit feed uses (feed.onStream → showStream): browser tests hand it a stand-in stream.
    showVideo: videoPanel ? (stream: MediaStream | null) => videoPanel.showStream(stream) : null,
  };

  // ---- toolbar ------------------------------------------------------------------------
  const TOOLS: { tool: Tool; label: string; hint: string }[] = [
    { tool: 'move', label: 'Move', hint: 'Drag a model to move it; drag elsewhere to look around' },
    { tool: 'draw', label: 'Draw', hint: canEdit ? 'Drag to draw a stroke on the models or table' : 'Observers cannot draw' },
    { tool: 'laser', label: 'Laser', hint: 'Point at something for everyone to see' },
  ];
  const toolButtons = TOOLS.map(({ tool, label, hint }) =>
    h('button', { class: 'tool', 'aria-pressed': String(tool === 'move'), title: hint, onclick: () => selectTool(tool), disabled: tool === 'draw' && !canEdit, 'data-tool': tool }, label),
  );
  const selectTool = (t: Tool) => {
    world.setTool(t);
    toolButtons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset['tool'] === t)));
  };
  const follow = h('input', { type: 'checkbox', id: 'follow', onchange: () => (world.followPresenter = follow.checked) });
  const presentBtn = h('button', {
    id: 'present',
    class: 'tool',
    'aria-pressed': 'false',
    onclick: () => void session.request('presenter.set', { sessionId: session.state.info.presenter === session.sessionId ? null : session.sessionId }),
    disabled: !canEdit,
    title: canEdit ? 'Others can follow your view' : 'Observers cannot present',
  }, 'Present');
  const vrBtn = h('button', { hidden: true, onclick: () => void world.enterXR('immersive-vr').catch((e: unknown) => alert(plainMessage(e))) }, 'Enter VR');
  // In surgical guidance, "Enter AR" is the surgeon's view: patient frame, guidance, hands-free (ar/surgeon-ar.ts).
  const arBtn = h('button', { hidden: true, onclick: () => void (session.state.info.kind === 'surgical-guidance' ? import('./ar/surgeon-ar.ts').then((m) => m.enterSurgeonAr(session)) : world.enterXR('immersive-ar')).catch((e: unknown) => alert(plainMessage(e))) }, 'Enter AR');
  void navigator.xr?.isSessionSupported('immersive-vr').then((ok) => (vrBtn.hidden = !ok)).catch(() => {});
  void navigator.xr?.isSessionSupported('immersive-ar').then((ok) => (arBtn.hidden = !ok)).catch(() => {});

  // ---- voice (only offered when the server has it) ---------------------------------------
  let voice: Voice | null = null;
  let speaking = new Set<string>();
  const voiceOn = () => !!ticket.voice && session.state.info.voice !== 'off';
  const micBtn = h('button', { hidden: true, onclick: () => void voice?.setMic(!voice.micEnabled).then(renderLists) }, 'Mute me');
  const voiceBtn = h('button', {
    hidden: !voiceOn(),
    onclick: async () => {
      if (!ticket.voice) return;
      const { Voice } = await import('./voice.ts'); // LiveKit loads only when someone joins voice
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
        alert(`Voice could not start: ${plainMessage(err)}`);
      }
    },
  }, 'Join voice');

  let leaving = false;
  const teardown = () => {
    unsubscribe.forEach((u) => u());
    clearInterval(clock);
    void voice?.leave();
    void feed?.leave();
    videoPanel?.dispose();
    world.dispose();
  };
  const leaveBtn = h('button', { class: 'danger', onclick: async () => {
    leaving = true;
    teardown();
    await session.leave().catch(() => {});
    on.leave();
  } }, 'Leave room');
  viewport.append(
    h('div', { class: 'overlay', role: 'toolbar', 'aria-label': 'Tools' }, ...toolButtons, presentBtn, h('label', { class: 'row follow', for: 'follow' }, follow, 'Follow presenter'), voiceBtn, micBtn, cameraBtn, vrBtn, arBtn, leaveBtn),
  );

  // ---- side panels ------------------------------------------------------------------------
  const alerts = hostAlerts(session, isHost);
  const people = h('ul', { class: 'list', 'aria-label': 'Participants' });
  const objects = h('ul', { class: 'list', role: 'listbox', 'aria-label': 'Scene objects: arrow keys move, Page Up and Page Down raise and lower, plus and minus resize, brackets rotate, Delete removes' });
  const objError = h('p', { class: 'error', role: 'alert' });
  const peopleError = h('p', { class: 'error', role: 'alert' });
  let selected: string | null = null;
  world.onSelect = (id) => {
    selected = id;
    renderLists();
  };
  const pinText = h('input', { placeholder: 'Note text', 'aria-label': 'Note text', maxlength: 500 });
  const addPin = h('button', { disabled: !canEdit, onclick: async () => {
    const target = selected ? session.state.objects.get(selected) : undefined;
    const at: [number, number, number] = target ? [target.px, target.py + 0.15, target.pz] : [0, 1.3, 0];
    const reply = await session.add({ kind: 'label', asset: 'builtin:pin', label: pinText.value.trim() || 'Note', transform: { position: at, rotation: [0, 0, 0, 1] } });
    objError.textContent = reply.ok ? '' : reply.error.message;
    pinText.value = '';
  } }, 'Add note');
  const modelPick = h('select', { 'aria-label': 'Sample model' }, ...BUILTIN_ASSETS.filter((a) => a !== 'pin').map((a) => h('option', { value: a }, a.charAt(0).toUpperCase() + a.slice(1))));
  const addModel = h('button', { disabled: !canEdit, onclick: async () => {
    const n = session.objects().length;
    const angle = n * 0.9;
    const reply = await session.add({ kind: 'model', asset: `builtin:${modelPick.value}`, label: modelPick.value, transform: { position: [Math.sin(angle) * 0.45, 1.05, Math.cos(angle) * 0.45], rotation: [0, 0, 0, 1] } });
    objError.textContent = reply.ok ? '' : reply.error.message;
  } }, 'Add model');
  const { el: caseEl, refresh: refreshCase } = casePanel(session, canEdit, clientConfig);
  side.append(
    alerts.el,
    caseEl,
    h('section', { class: 'card', 'aria-labelledby': 'people-h' }, h('h2', { id: 'people-h' }, 'People in the room'), people, peopleError),
    h('section', { class: 'card', 'aria-labelledby': 'scene-h' }, h('h2', { id: 'scene-h' }, 'Scene'), objects, objError,
      canEdit ? h('div', { class: 'row' }, pinText, addPin) : null, canEdit ? h('div', { class: 'row' }, modelPick, addModel) : null),
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
  const nameOf = (userId: string) => session.participants().find((p) => p.userId === userId)?.name;

  const renderLists = () => {
    const mine = me();
    clear(people);
    // One row per person (a person may be in on a desktop and a headset); Kick acts on all their seats.
    const byUser = new Map<string, ReturnType<typeof session.participants>>();
    for (const p of session.participants()) byUser.set(p.userId, [...(byUser.get(p.userId) ?? []), p]);
    for (const [userId, seats] of byUser) {
      const p = seats.find((s) => s.connected) ?? seats[0]!;
      const isMe = userId === mine?.userId;
      const anyConnected = seats.some((s) => s.connected);
      const presenting = seats.some((s) => s.sessionId === session.state.info.presenter);
      const canModerate = isHost && !isMe && p.role !== 'host';
      people.append(
        h('li', { 'data-testid': `participant-${userId}` },
          h('span', { class: `dot${speaking.has(userId) ? ' speaking' : ''}`, style: `background:${ROLE_COLORS[p.role] ?? '#ccc'}`, 'aria-hidden': 'true' }),
          h('button', { class: 'link person', onclick: () => world.lookAt(p.sessionId), title: 'Look at them' }, `${p.name}${isMe ? ' (you)' : ''}`),
          h('span', { class: 'muted' }, p.role),
          seats.length > 1 ? h('span', { class: 'badge' }, `${seats.length} devices`) : null,
          !anyConnected ? h('span', { class: 'badge warn' }, 'reconnecting') : null,
          voiceOn() && seats.some((s) => s.voiceConnected) ? h('span', { class: 'badge' }, seats.some((s) => s.muted) ? 'muted' : 'voice') : null,
          presenting ? h('span', { class: 'badge present' }, 'presenting') : null,
          canModerate
            ? h('span', { class: 'row', style: 'margin-left:auto' },
                voiceOn() ? h('button', { onclick: () => void act('voice.mute', { userId }), 'aria-label': `Mute ${p.name}` }, 'Mute') : null,
                h('button', { class: 'danger', onclick: () => { if (confirm(`Remove ${p.name} from the room? They cannot come back until you re-admit them.`)) void act('participant.kick', { userId }); }, 'aria-label': `Remove ${p.name} from the room` }, 'Kick'))
            : null,
        ),
      );
    }
    const focusedId = (document.activeElement as HTMLElement | null)?.dataset?.['objectId'];
    clear(objects);
    for (const o of session.objects()) {
      const holder = o.grabbedBy ? session.state.participants.get(o.grabbedBy)?.name : null;
      const name = objectName(o, nameOf);
      const li = h(
        'li',
        { role: 'option', tabindex: 0, 'aria-selected': String(selected === o.id), dataset: { objectId: o.id, x: o.px.toFixed(3) }, 'data-testid': `object-${o.id}`,
          onclick: () => { selected = o.id; renderLists(); },
          onkeydown: (e: KeyboardEvent) => {
            if ((e.key === 'Delete' || e.key === 'Backspace') && canEdit) {
              e.preventDefault();
              void session.remove(o.id).then((r) => (objError.textContent = r.ok ? '' : r.error.message));
              return;
            }
            const f = keyMove[e.key];
            if (!f || !canEdit) return;
            e.preventDefault();
            void nudge(o.id, f);
          } },
        h('span', { class: 'obj-name' }, name),
        h('span', { class: 'muted obj-place', 'data-testid': `object-${o.id}-pos` }, objectPlace(o)),
        holder ? h('span', { class: 'badge' }, `held by ${holder}`) : null,
        // Guidance: who acknowledged it, named ("Acknowledged by Dr. Adams (host)" is not the surgeon having seen it).
        o.ackedAt > 0 ? h('span', { class: 'badge seen', 'data-testid': `object-${o.id}-ack` }, acknowledgementText(o, acknowledgerOf(session.participants(), o.ackedBy), (ms) => new Date(ms).toLocaleTimeString())) : null,
      );
      objects.append(li);
      if (focusedId === o.id) li.focus();
    }
    // A listbox must hold options: an empty scene is a plain list with a note.
    const empty = session.objects().length === 0;
    objects.setAttribute('role', empty ? 'list' : 'listbox');
    if (empty) objects.append(h('li', { class: 'muted' }, 'Nothing on the table yet.'));
    const presenting = session.state.info.presenter === session.sessionId;
    presentBtn.textContent = presenting ? 'Stop presenting' : 'Present';
    presentBtn.setAttribute('aria-pressed', String(presenting));
    voiceBtn.hidden = !voiceOn() || voice !== null;
    refreshCase();
    alerts.refresh();
  };
  const act = async (type: 'voice.mute' | 'participant.kick', payload: { userId: string }) => {
    const reply = await session.request(type, payload);
    peopleError.textContent = reply.ok ? '' : reply.error.message;
  };

  // Joins and leaves are announced (after the first render, which lists who was already here).
  let initial = true;
  const unsubscribe: (() => void)[] = [
    session.onParticipantJoin((p, sid) => {
      if (!initial && sid !== session.sessionId) announce(`${p.name} joined the room.`);
    }),
    session.onParticipantLeave((p, sid) => {
      if (sid !== session.sessionId) announce(`${p.name} left the room.`);
    }),
  ];
  // Closing or reloading the tab leaves the room there and then (a reload joins afresh), so the others do not
  // see this seat linger as "reconnecting" for the length of the server's hold.
  const onPageHide = () => void session.leave().catch(() => {});
  window.addEventListener('pagehide', onPageHide);
  unsubscribe.push(() => window.removeEventListener('pagehide', onPageHide));
  initial = false;

  let scheduled = false;
  session.room.onStateChange(() => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      renderLists();
      videoPanel?.refresh();
      if (voice) {
        const q = world.listener.quaternion;
        const fwd = { x: -2 * (q.x * q.z + q.w * q.y), y: -2 * (q.y * q.z - q.w * q.x), z: -(1 - 2 * (q.x * q.x + q.y * q.y)) };
        voice.updatePositions({ position: world.listener.position, forward: fwd }, (id) => world.headOf(id));
      }
    });
  });
  const clock = setInterval(() => alerts.tick(), 1000);
  renderLists();

  const voiceNote = () => (session.state.info.voice === 'degraded' ? ' · voice degraded' : '');
  setStatus('Connected' + voiceNote(), 'ok');
  session.onStatus((s, code) => {
    if (s === 'connected') {
      setStatus('Connected' + voiceNote(), 'ok');
      announce('Connection restored.');
    } else if (s === 'reconnecting') setStatus('Reconnecting…', 'warn');
    if (s !== 'closed' || leaving) return;
    teardown();
    const terminal = code !== undefined ? TERMINAL_CLOSE[code] : undefined;
    if (terminal) {
      setStatus('Not in a room');
      on.leave(terminal);
    } else if (code === 4000) {
      on.leave();
    } else {
      on.lost();
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
