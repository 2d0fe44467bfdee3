import { describe, expect, it } from 'vitest';
import { JUMP_S, ReplayAudio, type MediaLike, type ReplayClock } from '../../client/src/app/replay-audio.ts';
import { ConsiliumError } from '../../client/src/sdk/errors.ts';

/** An <audio> element as far as the sync sees it: seeks land at once; play() may be refused like a browser's autoplay rule. */
class FakeMedia implements MediaLike {
  currentTime = 0;
  paused = true;
  duration = 120;
  playbackRate = 1;
  muted = false;
  src = '';
  seeks = 0;
  refusePlay = false;
  play(): Promise<void> {
    if (this.refusePlay) return Promise.reject(Object.assign(new Error('no gesture'), { name: 'NotAllowedError' }));
    this.paused = false;
    return Promise.resolve();
  }
  pause(): void {
    this.paused = true;
  }
}

class Clock implements ReplayClock {
  position = 0;
  playing = false;
  speed = 1;
  positionMs(): number {
    return this.position;
  }
}

const LINK = { url: 'http://127.0.0.1/api/recordings/x/audio?t=abc', expiresAt: new Date(Date.now() + 15 * 60_000).toISOString(), offsetMs: 1500, contentType: 'audio/ogg', bytes: 1000 };

function setUp(recorded = 'egress', link: () => Promise<typeof LINK> = async () => LINK) {
  const media = new FakeMedia();
  const clock = new Clock();
  let changes = 0;
  const audio = new ReplayAudio(media, () => clock, recorded, link, { changed: () => void changes++ });
  // Count seeks: every assignment to currentTime that is not the element playing on.
  let t = 0;
  Object.defineProperty(media, 'currentTime', { get: () => t, set: (v: number) => { t = v; media.seeks++; } });
  return { media, clock, audio, changes: () => changes, advance: (s: number) => (t += s) };
}

describe('the recorded voice follows the replay clock (client/src/app/replay-audio.ts)', () => {
  it('paused: the audio stands where the replay stands, minus where the voice began in the recording; a seek moves it there', async () => {
    const { media, clock, audio } = setUp();
    await audio.start();
    expect(audio.state).toBe('ready');
    expect(media.src).toBe(LINK.url);
    clock.position = 10_000;
    audio.sync();
    expect(media.currentTime).toBeCloseTo(8.5, 3); // 10 s into the recording is 8.5 s into the voice
    expect(media.paused).toBe(true);
    clock.position = 61_500; // the educator seeks
    audio.sync();
    expect(media.currentTime).toBeCloseTo(60, 3);
    clock.position = 500; // before the voice began: at its start, silent
    audio.sync();
    expect(media.currentTime).toBe(0);
    audio.dispose();
  });

  it('playing: plays at the replay speed, catches up small drift gently and jumps past JUMP_S; pauses with the replay', async () => {
    const { media, clock, audio, advance } = setUp();
    await audio.start();
    clock.position = 20_000;
    clock.playing = true;
    clock.speed = 2;
    audio.sync();
    expect(media.paused).toBe(false);
    expect(media.playbackRate).toBe(2);
    expect(media.currentTime).toBeCloseTo(18.5, 3);
    const seeks = media.seeks;
    // A little behind: a little faster, no jump.
    clock.position += 1000;
    advance(0.4); // the element went 0.4 s while the replay went 0.5 s of voice
    audio.sync();
    expect(media.seeks).toBe(seeks);
    expect(media.playbackRate).toBeGreaterThan(2);
    expect(media.playbackRate).toBeLessThanOrEqual(2.1);
    // Far behind (the educator jumped): a jump.
    clock.position += 10_000;
    audio.sync();
    expect(media.seeks).toBe(seeks + 1);
    expect(media.currentTime).toBeCloseTo((clock.position - 1500) / 1000, 3);
    expect(JUMP_S).toBeLessThan(1);
    clock.playing = false;
    audio.sync();
    expect(media.paused).toBe(true);
    audio.dispose();
  });

  it('a browser that wants a click first: "blocked", then the click plays it; no recorded audio or an unreachable file says so', async () => {
    const { media, clock, audio } = setUp();
    media.refusePlay = true;
    await audio.start();
    clock.playing = true;
    clock.position = 5000;
    audio.sync();
    await new Promise((r) => setTimeout(r, 0));
    expect(audio.state).toBe('blocked');
    expect(audio.text).toContain('click');
    media.refusePlay = false;
    audio.enable();
    expect(audio.state).toBe('ready');
    expect(media.paused).toBe(false);

    // The element could not load the file (a lapsed link in a sleeping tab): a fresh link once, then it says so.
    let links = 0;
    const lapsed = setUp('egress', async () => ({ ...LINK, url: `${LINK.url}&n=${++links}` }));
    await lapsed.audio.start();
    lapsed.audio.failed();
    await new Promise((r) => setTimeout(r, 0));
    expect(links).toBe(2);
    expect(lapsed.media.src).toContain('n=2');
    expect(lapsed.audio.state).toBe('ready');
    lapsed.audio.failed();
    expect(lapsed.audio.state).toBe('error');
    lapsed.audio.dispose();

    expect(setUp('none').audio.text).toBe('No audio: this recording has none');
    expect(setUp('failed').audio.text).toContain('LiveKit did not record');
    const unreachable = setUp('egress', async () => { throw new ConsiliumError('RECORDING_AUDIO_UNAVAILABLE', 'not here', 404); });
    await unreachable.audio.start();
    expect(unreachable.audio.state).toBe('unavailable');
    expect(unreachable.audio.text).toContain('cannot reach');
    audio.dispose();
  });
});
