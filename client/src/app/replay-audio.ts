import type { RecordingAudioLinkDto } from '../../../shared/src/http.ts';
import { ConsiliumError } from '../sdk/errors.ts';

/** What the audio sync uses of an <audio> element (a fake one drives it in unit tests). */
export interface MediaLike {
  currentTime: number;
  readonly paused: boolean;
  readonly duration: number;
  playbackRate: number;
  muted: boolean;
  src: string;
  play(): Promise<void>;
  pause(): void;
}

/** Where the replay stands (ReplayController): the educator drives it, everyone's audio follows. */
export interface ReplayClock {
  positionMs(): number;
  readonly playing: boolean;
  readonly speed: number;
}

export type AudioState = 'none' | 'failed' | 'loading' | 'ready' | 'blocked' | 'unavailable' | 'error';

/** Off by more than this (s), the audio jumps to where the replay is; less, it catches up by playing a little faster or slower. */
export const JUMP_S = 0.35;
/** Closer than this (s) counts as in step. */
const IN_STEP_S = 0.05;
/** At most this much faster or slower (of the replay's speed) while catching up: not heard as a change of pitch. */
const NUDGE = 0.05;
/** Ask for a new link this long before the old one ends. */
const REFRESH_BEFORE_MS = 2 * 60_000;

const TEXT: Record<AudioState, string> = {
  none: 'No audio: this recording has none',
  failed: 'No audio: LiveKit did not record the voice of this session',
  loading: 'Audio: loading…',
  ready: 'Audio: the recorded voice, in step with the replay',
  blocked: 'Audio: your browser needs a click before it plays sound',
  unavailable: 'Audio was recorded, but this server cannot reach it (ask your administrator)',
  error: 'Audio was recorded, but could not be played here',
};

/**
 * The recorded voice of a replay, kept in step with the replay clock: it plays
 * while the replay plays, at its speed, from (position − the voice's offset in
 * the recording), pauses with it and jumps where it jumps, for the educator and
 * every learner alike (each page follows the synced replay state). Small drift
 * is caught up gently (±5 % speed); more than JUMP_S is a jump. The file comes
 * through a short-lived link (the <audio> element cannot send our token),
 * renewed before it ends. A browser that will not play before a click says so
 * and offers the click. Without DOM: `sync()` runs on a timer and on state changes.
 */
export class ReplayAudio {
  state: AudioState;
  private offsetMs = 0;
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private disposed = false;
  private retried = false;

  constructor(
    private readonly media: MediaLike,
    private readonly clock: () => ReplayClock | null,
    /** 'none' | 'egress' | 'failed', as the replay state says. */
    recorded: string,
    private readonly link: () => Promise<RecordingAudioLinkDto>,
    private readonly out: { changed(): void },
  ) {
    this.state = recorded === 'egress' ? 'loading' : recorded === 'failed' ? 'failed' : 'none';
  }

  get text(): string {
    return TEXT[this.state];
  }

  /** Sound on and off for this listener only. */
  get muted(): boolean {
    return this.media.muted;
  }

  setMuted(muted: boolean): void {
    this.media.muted = muted;
    this.out.changed();
  }

  /** Fetch the link and load the file (nothing without recorded audio). */
  async start(): Promise<void> {
    if (this.state !== 'loading') return;
    await this.load();
  }

  private async load(): Promise<void> {
    let link: RecordingAudioLinkDto;
    try {
      link = await this.link();
    } catch (err) {
      if (this.disposed) return;
      this.state = err instanceof ConsiliumError && (err.code === 'RECORDING_AUDIO_UNAVAILABLE' || err.code === 'RECORDING_NO_AUDIO') ? 'unavailable' : 'error';
      this.out.changed();
      return;
    }
    if (this.disposed) return;
    this.offsetMs = link.offsetMs;
    const at = this.media.currentTime;
    this.media.src = link.url;
    if (at > 0) this.media.currentTime = at; // a renewed link: carry on where it was
    if (this.state === 'loading') this.state = 'ready';
    const renewIn = Math.max(10_000, Date.parse(link.expiresAt) - Date.now() - REFRESH_BEFORE_MS);
    this.refreshTimer = setTimeout(() => void this.load(), renewIn);
    this.sync();
    this.out.changed();
  }

  /** The element failed to load the file: once, with a fresh link (the old one may have lapsed in a sleeping tab); then it says so. */
  failed(): void {
    if (this.state !== 'ready' && this.state !== 'blocked') return;
    if (!this.retried) {
      this.retried = true;
      if (this.refreshTimer) clearTimeout(this.refreshTimer);
      void this.load();
      return;
    }
    this.state = 'error';
    this.out.changed();
  }

  /** A click on "Turn sound on": play now, inside the click. */
  enable(): void {
    if (this.state !== 'blocked') return;
    this.state = 'ready';
    this.sync();
    this.out.changed();
  }

  /** Follow the replay clock: position, speed, playing or not. */
  sync(): void {
    const clock = this.clock();
    if (!clock || (this.state !== 'ready' && this.state !== 'blocked')) return;
    const m = this.media;
    const target = (clock.positionMs() - this.offsetMs) / 1000;
    const end = Number.isFinite(m.duration) ? m.duration : Infinity;
    const speed = Math.min(4, Math.max(0.25, clock.speed || 1));
    const play = clock.playing && target >= 0 && target < end;
    const at = Math.min(Math.max(0, target), end);
    const drift = m.currentTime - at;
    if (!play) {
      if (!m.paused) m.pause();
      if (Math.abs(drift) > IN_STEP_S) m.currentTime = at; // paused or seeking: where the replay stands
      m.playbackRate = speed;
      return;
    }
    if (Math.abs(drift) > JUMP_S * Math.max(1, speed)) {
      m.currentTime = at;
      m.playbackRate = speed;
    } else if (Math.abs(drift) > IN_STEP_S) {
      // Ahead: a little slower; behind: a little faster.
      m.playbackRate = speed * (1 - Math.sign(drift) * NUDGE);
    } else {
      m.playbackRate = speed;
    }
    if (m.paused && this.state === 'ready') {
      m.play().catch((err: unknown) => {
        if (this.disposed) return;
        if ((err as { name?: string }).name === 'NotAllowedError') {
          this.state = 'blocked';
          this.out.changed();
        }
      });
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    if (!this.media.paused) this.media.pause();
  }
}
