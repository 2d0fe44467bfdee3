import { h } from '../dom.ts';
import { SPEEDS, type ReplayController } from '../replay-controller.ts';

/**
 * The replay's player bar under the 3D view: the educator's play/pause, seek slider and speed; for
 * learners the same timeline (read-only) with a line saying they follow. Markers sit on the timeline;
 * the educator jumps to one by clicking it. The position ticks on from the synced state.
 */
export function replayBar(ctl: ReplayController, sound?: { el: HTMLElement; render(): void }) {
  const drives = ctl.drives;
  const playBtn = h('button', { id: 'replay-play', class: 'primary', onclick: () => void ctl.playPause() }, 'Play');
  const slider = h('input', { id: 'replay-seek', type: 'range', min: '0', step: '100', 'aria-label': 'Position in the recording', disabled: !drives });
  let dragging = false;
  slider.addEventListener('input', () => (dragging = true));
  slider.addEventListener('change', () => {
    dragging = false;
    void ctl.seek(Number(slider.value));
  });
  const speed = h('select', { id: 'replay-speed', 'aria-label': 'Replay speed', disabled: !drives, onchange: () => void ctl.setSpeed(Number(speed.value)) },
    ...SPEEDS.map((s) => h('option', { value: String(s) }, `${s}×`)));
  const time = h('span', { id: 'replay-time', class: 'mono', 'aria-live': 'off' });
  const track = h('div', { class: 'replay-track', id: 'replay-markers', 'aria-label': 'Timeline markers', role: 'list' });
  const played = h('div', { class: 'replay-played' });
  const timeline = h('div', { class: 'replay-timeline' }, played, track);
  // The recorded voice, in step (views/replay-audio.ts); without one, what the recording says of its audio.
  const audio = sound?.el ?? h('span', { class: 'muted', id: 'replay-audio' }, ctl.audioText);
  const legend = h('p', { class: 'muted replay-legend', 'aria-hidden': 'true' },
    ...(['annotation', 'presenter', 'join', 'pointing'] as const).map((k) => h('span', {}, h('i', { class: `marker-${k}` }), { annotation: 'annotation', presenter: 'presenter', join: 'joined', pointing: 'pointing' }[k])),
    drives ? ' · click a marker to go there' : '');
  const follow = h('p', { class: 'muted', id: 'replay-follow', hidden: drives });
  const people = h('p', { class: 'muted', id: 'replay-people' });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const controls = drives ? [playBtn, speed] : [];
  const el = h('section', { class: 'replay-bar card', 'aria-label': 'Replay' },
    h('div', { class: 'row' }, h('span', { class: 'badge replay-badge' }, '▶ Replay'), ...controls, time, audio),
    slider, timeline, legend, follow, people, error);

  let markerKey = '';
  return {
    el,
    render(): void {
      const d = ctl.durationMs;
      const pos = ctl.positionMs();
      slider.max = String(d);
      if (!dragging) slider.value = String(pos);
      played.style.width = `${d ? (pos / d) * 100 : 0}%`;
      playBtn.textContent = ctl.playing ? 'Pause' : 'Play';
      playBtn.setAttribute('aria-label', ctl.playing ? 'Pause the replay' : 'Play the replay');
      if (document.activeElement !== speed) speed.value = String(ctl.speed);
      time.textContent = ctl.timeText();
      sound?.render();
      follow.textContent = ctl.followText;
      people.textContent = ctl.recordedPeople().length ? `In the recorded room now: ${ctl.recordedPeople().join(', ')}` : '';
      error.hidden = !ctl.error;
      error.textContent = ctl.error;
      const markers = ctl.markers();
      const key = markers.map((m) => `${m.t}:${m.passed}`).join(',') + d;
      if (key === markerKey) return;
      markerKey = key;
      track.replaceChildren(...markers.map((m) => h('button', {
        class: `marker marker-${m.kind}${m.passed ? ' passed' : ''}`,
        role: 'listitem',
        style: `left:${m.atPct}%`,
        title: m.label,
        'aria-label': m.label,
        'data-t': String(m.t),
        disabled: !drives,
        onclick: () => void ctl.seek(m.t),
      })));
    },
  };
}
