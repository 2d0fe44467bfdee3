import { wrongAddress } from './origin.ts';
import type { RecordingMarkerDto, TicketResponse } from '../../../shared/src/http.ts';
import type { ConsiliumApi } from '../sdk/api.ts';
import type { ConsiliumClient } from '../sdk/client.ts';
import type { ClinicSession } from '../sdk/session.ts';
import { hostAlerts } from './alerts.ts';
import { announce } from './announcer.ts';
import { casePanel } from './case-panel.ts';
import type { ReadTypes } from './clinical/case-more.ts';
import { CdsController } from './cds-controller.ts';
import { cdsPanel } from './views/cds-panel.ts';
import { ViewerController, type ImagingReader } from './imaging/viewer-controller.ts';
import { clear, h, setStatus } from './dom.ts';
import { plainVideoError } from './plain-errors.ts';
import { RoomController, type RoomEnd } from './room-controller.ts';
import { RoomJoiner } from './room-joiner.ts';
import { VolumeView } from './scene/volume-view.ts';
import { World } from './scene/world.ts';
import { VideoPanel } from './video-panel.ts';
import type { VideoFeed } from './video-feed.ts';
import { peopleList } from './views/people-list.ts';
import { reconnectCard } from './views/reconnect-card.ts';
import { askConsent, consentText } from './views/consent-card.ts';
import { ReplayController } from './replay-controller.ts';
import { replayBar } from './views/replay-bar.ts';
import { replayAudioView } from './views/replay-audio.ts';
import { roomToolbar } from './views/room-toolbar.ts';
import { scenePanel } from './views/scene-panel.ts';
import { sliceViewer } from './views/slice-viewer.ts';
import { pinControl, volumeControls } from './views/volume-controls.ts';
import { SlicePanelController } from './ar/slice-panel-controller.ts';

export interface RoomHooks {
  /** Back to the room list, with a message to show there. */
  leave(message?: string): void;
  /** The identity token was refused: sign in again (then come back to this room). */
  signIn(message: string): void;
}

/**
 * The room screen. Joining and staying joined is RoomJoiner's (room-joiner.ts): a fresh ticket for every
 * join, rejoining by itself with backoff when the connection is lost for good, with "Retry now"; only
 * removal, a kick or a closed room end it. This wires it to the page.
 */
export function showRoom(root: HTMLElement, client: ConsiliumClient, roomId: string, hooks: RoomHooks): void {
  let card: ReturnType<typeof reconnectCard> | null = null;
  let consented = false;
  const dropCard = () => {
    card?.dispose(); // its countdown
    card = null;
  };
  const onOnline = () => {
    if (joiner.waitingToRetry) void joiner.tryJoin();
  };
  const stop = () => {
    joiner.stop();
    window.removeEventListener('online', onOnline);
  };
  const joiner: RoomJoiner<{ ticket: TicketResponse; session: ClinicSession }> = new RoomJoiner(
    {
      join: async () => {
        const ticket = await client.api.getTicket(roomId); // a ticket is single-use: a new one for every join
        const wrong = wrongAddress(ticket.endpoint, location);
        if (wrong) throw wrong; // retrying cannot help: say where to go
        // Told before entering: a room that may be recorded asks once (a rejoin does not ask again).
        const notice = consentText(ticket.recording, ticket.voice !== null);
        if (notice && !consented) {
          if (!(await askConsent(root, notice))) {
            stop();
            hooks.leave('You did not join the recorded room.');
            throw new Error('declined');
          }
          consented = true;
        }
        const session = await client.joinWithTicket(ticket);
        await session.ready();
        return { ticket, session };
      },
      abandon: ({ session }) => void session.leave(),
    },
    {
      status: setStatus,
      waiting: (why, until) => {
        dropCard();
        clear(root);
        card = reconnectCard(why, until, { retry: () => void joiner.tryJoin(), back: () => { stop(); hooks.leave(); } });
        root.append(card.el);
      },
      joined: ({ ticket, session }, wasRetry) => {
        dropCard();
        mountRoom(root, ticket, session, client.api, {
          leave: (message) => {
            stop();
            hooks.leave(message);
          },
          lost: () => joiner.lost(),
        });
        if (wasRetry) announce('Reconnected to the room.');
      },
      signIn: (message) => {
        dropCard();
        window.removeEventListener('online', onOnline);
        hooks.signIn(message);
      },
      leave: (message) => {
        dropCard();
        window.removeEventListener('online', onOnline);
        hooks.leave(message);
      },
    },
  );
  window.addEventListener('online', onOnline);
  void joiner.tryJoin();
}

/** Site settings (the image viewer's URL); fetched once, optional. */
let clientConfig: { imagingViewerUrl?: string | null } = {};
void fetch('/api/client-config').then((r) => (r.ok ? r.json() : {})).then((c: { imagingViewerUrl?: string | null }) => (clientConfig = c)).catch(() => {});

/** One joined room on the page: the controller decides, the views render from it. */
function mountRoom(root: HTMLElement, ticket: TicketResponse, session: ClinicSession, api: ConsiliumApi, on: { leave(message?: string): void; lost(): void }): void {
  // Reconnect on any drop, however young the connection (the SDK refuses under 5 s by default), and
  // give up on the old seat quickly: a fresh ticket and join follow (the server may have restarted).
  session.room.reconnection.minUptime = 0;
  session.room.reconnection.maxRetries = 4; // ≈3 s of retries on the old seat, then a fresh ticket
  const ended = (how: RoomEnd) => {
    teardown();
    if (how.then === 'leave') on.leave(how.message);
    else on.lost();
  };
  const ctl = new RoomController(session, ticket, { status: setStatus, announce: (text) => announce(text), changed: () => render(), ended });

  clear(root);
  const viewport = h('div', { class: 'viewport' });
  const side = h('aside', { class: 'side', 'aria-label': 'Room panels' });
  const title = h('h1', { class: 'room-title' }, ctl.title, h('span', { class: 'muted' }, ` · you are ${ctl.role}`));
  // ---- the surgeon's video (surgical guidance) --------------------------------------------
  const videoPanel = ctl.showsVideoPanel ? new VideoPanel(session, { canDraw: ctl.canEdit, mayClearAll: ctl.mayClearAll }) : null;
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
  } else if (videoPanel && ctl.videoUnavailableText) videoPanel.setWaiting(ctl.videoUnavailableText);

  const linkBar = h('div', { class: 'link-status', role: 'status', 'data-testid': 'link-status', hidden: !ctl.guidanceRoom });
  const renderLinks = () => {
    const s = ctl.linkStatus();
    if (!s) return;
    clear(linkBar);
    linkBar.classList.toggle('warn', s.warning !== '');
    linkBar.append(
      s.warning ? h('span', { class: 'link-warning' }, `⚠ ${s.warning}`) : h('span', {}, 'Links live'),
      ...s.links.map((l) => h('span', { class: l.ok ? 'muted' : 'slow', 'data-testid': 'link-rtt' }, `${l.name} (${l.role}) ${l.rttMs} ms${l.ok ? '' : ' — slow'}`)),
    );
  };
  // ---- the case's images (shown once the series list arrives; nothing without ImagingStudy) ------
  const images = session.state.info.caseId ? imagingPanel(session, api, ctl.canEdit, () => render()) : null;
  // ---- a replay room: the player bar under the 3D view (markers arrive with the recording) --------
  let replay = null as ReturnType<typeof replayBar> | null;
  let player: ReplayController | null = null;
  let sound: ReturnType<typeof replayAudioView> | null = null;
  if (session.state.info.kind === 'replay') {
    const recordingId = session.state.replay.recordingId;
    // The recorded voice follows the replay clock, whichever player bar is mounted.
    sound = replayAudioView(session.state.replay.audio, () => player, () => api.recordingAudioLink(recordingId));
    void sound.audio.start();
    const mount = (markers: RecordingMarkerDto[]) => {
      player = new ReplayController(session, ctl.role, markers, { changed: () => replay?.render() }, () => session.serverNow());
      const bar = replayBar(player, sound ?? undefined);
      replay?.el.replaceWith(bar.el);
      replay = bar;
      bar.render();
    };
    mount([]);
    void api.getRecording(recordingId).then((r) => mount(r.markers)).catch(() => {}); // no markers: the player still works
  }
  // A replay reads its case at replay time: once the case is deleted, the replay says so (and goes on without it).
  const replayCase = { text: 'This room has no patient case.', checkedFor: null as string | null };
  const checkReplayCase = () => {
    const caseId = session.state.info.caseId;
    if (session.state.info.kind !== 'replay' || caseId || replayCase.checkedFor === caseId) return;
    replayCase.checkedFor = caseId;
    void api.getRecording(session.state.replay.recordingId).then((r) => {
      replayCase.text = r.caseDeleted
        ? 'The case this recording showed has been deleted. The replay goes on — people, pointers and marks as recorded — without patient data.'
        : 'This recording has no patient case.';
      refreshCase();
    }).catch(() => {});
  };
  const mainParts = [videoPanel?.el, viewport, replay?.el, images?.view.el].filter((e): e is HTMLElement => Boolean(e));
  // One column of parts (link state, surgeon's video, the table, the replay player, the images) beside the panels; hidden parts take no room.
  root.append(title, h('div', { class: 'room-layout' }, h('div', { class: 'main-col' }, linkBar, ...mainParts), side));
  const world = new World(viewport, session, ctl.canEdit);
  // The recorded participants, as ghosts, where the recording had them at the replay's position.
  if (player) world.showReplay(() => player?.positionMs() ?? 0);
  if (images && world.available) {
    images.volume.setTextureLimit(world.max3dTexture);
    world.addToTable(images.volume.group);
  } else images?.volumeToggle.remove();
  (window as unknown as { __consilium?: unknown }).__consilium = {
    session,
    world,
    video: videoPanel?.view() ?? null,
    viewer: images?.view.hook ?? null,
    volume: images?.volume ?? null,
    audio: sound?.media ?? null,
    // The stream entry point the LiveKit feed uses (feed.onStream → showStream): browser tests hand it a stand-in stream.
    showVideo: videoPanel ? (stream: MediaStream | null) => videoPanel.showStream(stream) : null,
  };

  const toolbar = roomToolbar(ctl, session, world, ticket, {
    render: () => render(),
    leave: async () => {
      teardown();
      await ctl.leave();
      on.leave();
    },
  }, images?.ctl ?? null);
  viewport.append(toolbar.el);

  // ---- side panels ------------------------------------------------------------------------
  const alerts = hostAlerts(session, (userId) => ctl.mayDecide(userId));
  const people = peopleList(ctl, (sessionId) => world.lookAt(sessionId));
  const scene = scenePanel(ctl);
  world.onSelect = (id) => ctl.select(id);
  // What the room state leaves out of a big case is read on demand, through this room, under the reader's own access:
  // the types a render needs in one read (one audit row), not one request per type.
  const readTypes: ReadTypes = (q) => api.readCaseTypes(session.state.info.caseId, { room: ticket.roomId, ...q });
  const { el: caseEl, refresh: refreshCase } = casePanel(session, ctl.mayAskEmergencyAccess, { ...clientConfig, readTypes, noCaseText: () => replayCase.text });
  // Decision support sits in the case panel, under the patient banner (cards for this participant only).
  const cds = new CdsController(session.cds, { announce: (text, urgent) => announce(text, urgent), changed: () => cdsView.render() }, ctl.canEdit);
  const cdsView = cdsPanel(cds, (key) => {
    const e = session.state.caseEntries.get(key);
    return e ? { resource: JSON.parse(e.json) } : null;
  });
  caseEl.querySelector('h2')?.after(cdsView.el);
  // The patient banner leaves the case card for the side panel itself, where `position: sticky` keeps it on
  // screen however far the panel (or, on a phone, the page) scrolls; the case panel still fills it.
  const bannerSlot = caseEl.querySelector('.banner-slot');
  if (ctl.decidesRequests) people.el.append(alerts.soundToggle);
  side.append(alerts.el, ...(bannerSlot ? [bannerSlot] : []), caseEl, people.el, scene.el);

  const render = () => {
    replay?.render();
    images?.view.render();
    images?.controls.render();
    images?.volume.update();
    people.render();
    scene.render();
    toolbar.render();
    checkReplayCase();
    refreshCase();
    alerts.refresh();
    renderLinks();
  };

  // Closing or reloading the tab leaves the room there and then (a reload joins afresh), so the others do not
  // see this seat linger as "reconnecting" for the length of the server's hold.
  const onPageHide = () => void session.leave().catch(() => {});
  window.addEventListener('pagehide', onPageHide);
  let scheduled = false;
  session.room.onStateChange(() => {
    sound?.audio.sync(); // at once: a seek, play or pause is heard without waiting for the next tick
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      render();
      videoPanel?.refresh();
      toolbar.placeVoices();
    });
  });
  const clock = setInterval(() => alerts.tick(), 1000);
  // The position runs on while playing; the recorded voice follows it.
  const replayClock = replay
    ? setInterval(() => {
        replay?.render();
        sound?.audio.sync();
      }, 250)
    : undefined;
  const teardown = () => {
    ctl.dispose();
    cds.dispose();
    window.removeEventListener('pagehide', onPageHide);
    clearInterval(clock);
    clearInterval(replayClock);
    sound?.audio.dispose();
    toolbar.dispose();
    void feed?.leave();
    videoPanel?.dispose();
    images?.view.dispose();
    images?.volume.dispose();
    world.dispose();
  };
  ctl.start();
  cds.start();
  void images?.ctl.start();
  render();
}

/** The slice viewer, reading the case's images through this room with the user's identity. */
function imagingPanel(session: ClinicSession, api: ConsiliumApi, canEdit: boolean, changed: () => void) {
  const [caseId, roomId] = [session.state.info.caseId, session.state.info.roomId];
  const reader: ImagingReader = {
    list: () => api.call('GET /api/cases/:id/imaging', { params: { id: caseId }, query: { room: roomId } }),
    series: (seriesUid) => api.call('GET /api/cases/:id/imaging/series/:seriesUid', { params: { id: caseId, seriesUid }, query: { room: roomId } }),
    frame: (seriesUid, sopUid, frame) => api.imagingFrame(caseId, seriesUid, sopUid, frame, roomId),
  };
  const ctl = new ViewerController(session, reader, canEdit, { changed });
  // The open series also lies on the table in 3D — three planes, a MIP or the volume, as the shared view says
  // (it follows the presenter); each viewer may hide it.
  const volume = new VolumeView(ctl);
  const volumeUi = volumeControls(ctl, volume);
  // Surgical guidance: the room's slice pinned for the surgeon's headset (in the patient frame).
  const pin = pinControl(new SlicePanelController(session, ctl));
  const controls = { render: () => (volumeUi.render(), pin.render()) };
  return { ctl, view: sliceViewer(ctl, [volumeUi.el, pin.el]), volume, volumeToggle: volumeUi.el, controls };
}

