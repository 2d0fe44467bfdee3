import { h } from '../dom.ts';
import { ReplayAudio, type ReplayClock } from '../replay-audio.ts';
import type { RecordingAudioLinkDto } from '../../../../shared/src/http.ts';

/**
 * The replay's sound, in the player bar: what there is to hear (or why there is nothing), a
 * "Turn sound on" button when the browser waits for a click, and Mute for this listener. The
 * <audio> element is hidden: the replay clock drives it (ReplayAudio).
 */
export function replayAudioView(recorded: string, clock: () => ReplayClock | null, link: () => Promise<RecordingAudioLinkDto>) {
  const media = h('audio', { id: 'replay-audio-media', preload: 'auto', hidden: true });
  const status = h('span', { class: 'muted', id: 'replay-audio' });
  const enable = h('button', { id: 'replay-audio-enable', hidden: true, onclick: () => audio.enable() }, 'Turn sound on');
  const mute = h('button', { id: 'replay-audio-mute', hidden: true, onclick: () => audio.setMuted(!audio.muted) }, 'Mute');
  const render = () => {
    status.textContent = audio.text;
    enable.hidden = audio.state !== 'blocked';
    mute.hidden = audio.state !== 'ready';
    mute.textContent = audio.muted ? 'Unmute' : 'Mute';
    mute.setAttribute('aria-pressed', String(audio.muted));
  };
  const audio = new ReplayAudio(media, clock, recorded, link, { changed: render });
  media.addEventListener('error', () => audio.failed());
  const el = h('span', { class: 'replay-audio row' }, status, enable, mute, media);
  render();
  return { el, audio, render, media };
}
