import type { TicketResponse } from '../../../../shared/src/http.ts';
import type { ClinicSession } from '../../sdk/session.ts';
import { h } from '../dom.ts';
import { plainMessage } from '../plain-errors.ts';
import type { ViewerController } from '../imaging/viewer-controller.ts';
import type { RoomController, ToolName } from '../room-controller.ts';
import type { World } from '../scene/world.ts';
import type { VideoFeed } from '../video-feed.ts';
import type { Voice } from '../voice.ts';

/**
 * The tools over the 3D view: Move / Draw / Laser, Present and Follow, voice, the surgeon's camera,
 * VR and AR, Leave. It owns the media objects (LiveKit loads only when someone asks for it).
 */
export function roomToolbar(ctl: RoomController, session: ClinicSession, world: World, ticket: Pick<TicketResponse, 'voice' | 'video'>, on: { leave(): void; render(): void }, imaging: ViewerController | null = null) {
  let voice: Voice | null = null;
  let feed: VideoFeed | null = null;

  const toolButtons = ctl.tools().map(({ tool, label, hint, enabled }) =>
    h('button', { class: 'tool', 'aria-pressed': String(tool === 'move'), title: hint, onclick: () => selectTool(tool), disabled: !enabled, 'data-tool': tool }, label),
  );
  const selectTool = (t: ToolName) => {
    world.setTool(t);
    toolButtons.forEach((b) => b.setAttribute('aria-pressed', String(b.dataset['tool'] === t)));
  };
  const follow = h('input', { type: 'checkbox', id: 'follow', onchange: () => {
    ctl.setFollow(follow.checked);
    world.followPresenter = ctl.follow;
  } });
  const presentBtn = h('button', { id: 'present', class: 'tool', 'aria-pressed': 'false', onclick: () => void ctl.togglePresent(), disabled: !ctl.mayTogglePresent, title: ctl.presentHint }, 'Present');
  const vrBtn = h('button', { hidden: true, onclick: () => void world.enterXR('immersive-vr').catch((e: unknown) => alert(plainMessage(e))) }, 'Enter VR');
  // In surgical guidance, "Enter AR" is the surgeon's view: patient frame, guidance, hands-free (ar/surgeon-ar.ts).
  const arBtn = h('button', { hidden: true, onclick: () => void (ctl.guidanceRoom ? import('../ar/surgeon-ar.ts').then((m) => m.enterSurgeonAr(session, imaging)) : world.enterXR('immersive-ar')).catch((e: unknown) => alert(plainMessage(e))) }, 'Enter AR');
  void navigator.xr?.isSessionSupported('immersive-vr').then((ok) => (vrBtn.hidden = !ok)).catch(() => {});
  void navigator.xr?.isSessionSupported('immersive-ar').then((ok) => (arBtn.hidden = !ok)).catch(() => {});

  const micBtn = h('button', { hidden: true, onclick: () => void voice?.setMic(!voice.micEnabled).then(on.render) }, 'Mute me');
  const voiceBtn = h('button', {
    hidden: !ctl.offersJoinVoice,
    onclick: async () => {
      if (!ticket.voice) return;
      const { Voice } = await import('../voice.ts'); // LiveKit loads only when someone joins voice
      voice = new Voice();
      voice.onSpeakers = (ids) => ctl.setSpeakers(ids);
      voice.onChange = () => (micBtn.textContent = voice?.micEnabled ? 'Mute me' : 'Unmute me');
      try {
        await voice.join(ticket.voice.url, ticket.voice.token, ctl.mayPublishVoice);
        ctl.voiceStarted();
      } catch (err) {
        alert(`Voice could not start: ${plainMessage(err)}`);
      }
    },
  }, 'Join voice');
  const cameraBtn = h('button', {
    hidden: !ctl.offersCamera,
    onclick: async () => {
      if (!ticket.video) return;
      try {
        const { VideoFeed } = await import('../video-feed.ts');
        feed = new VideoFeed();
        await feed.publishCamera(ticket.video.url, ticket.video.token);
        ctl.cameraStarted();
      } catch (err) {
        alert(`The camera could not start: ${plainMessage(err)}`);
      }
    },
  }, 'Share my camera');
  const leaveBtn = h('button', { class: 'danger', onclick: on.leave }, 'Leave room');
  // Everyone sees that the room records; the host starts and stops it.
  const recordingBadge = h('span', { class: 'badge rec', id: 'recording-indicator', role: 'status', hidden: true }, '● Recording');
  const recordBtn = h('button', { hidden: true, onclick: () => void ctl.toggleRecording().then(on.render) }, 'Record');
  const recordNote = h('span', { class: 'follow', role: 'status', 'data-testid': 'recording-note' });
  const resetBtn = h('button', { class: 'tool', title: 'Back to your seat, looking at the middle of the table', 'data-testid': 'reset-view', onclick: () => {
    follow.checked = false;
    ctl.setFollow(false);
    world.resetView();
  } }, 'Reset view');

  const el = h('div', { class: 'overlay', role: 'toolbar', 'aria-label': 'Tools' }, ...toolButtons, resetBtn, presentBtn, h('label', { class: 'row follow', for: 'follow' }, follow, 'Follow presenter'), voiceBtn, micBtn, cameraBtn, vrBtn, arBtn, recordingBadge, recordBtn, recordNote, leaveBtn);

  return {
    el,
    render(): void {
      presentBtn.textContent = ctl.presenting ? 'Stop presenting' : 'Present';
      presentBtn.setAttribute('aria-pressed', String(ctl.presenting));
      presentBtn.disabled = !ctl.mayTogglePresent;
      presentBtn.title = ctl.presentHint;
      voiceBtn.hidden = !ctl.offersJoinVoice;
      micBtn.hidden = !ctl.offersMic;
      cameraBtn.hidden = !ctl.offersCamera;
      recordingBadge.hidden = !ctl.recording;
      recordBtn.hidden = !ctl.offersRecording;
      recordBtn.textContent = ctl.recording ? 'Stop recording' : 'Record';
      recordNote.textContent = ctl.offersRecording && !ctl.recording ? ctl.recordingNote : '';
      recordNote.hidden = recordNote.textContent === '';
    },
    /** Spatial voice follows the listener's view and the speakers' heads. */
    placeVoices(): void {
      if (!voice) return;
      const q = world.listener.quaternion;
      const fwd = { x: -2 * (q.x * q.z + q.w * q.y), y: -2 * (q.y * q.z - q.w * q.x), z: -(1 - 2 * (q.x * q.x + q.y * q.y)) };
      voice.updatePositions({ position: world.listener.position, forward: fwd }, (id) => world.headOf(id));
    },
    dispose(): void {
      void voice?.leave();
      void feed?.leave();
    },
  };
}
