import { describe, expect, it } from 'vitest';
import { wrongAddress } from '../../client/src/app/origin.ts';
import { RoomJoiner } from '../../client/src/app/room-joiner.ts';
import { ConsiliumError } from '../../client/src/sdk/errors.ts';

/** A joiner whose join() answers from a script, on a hand-driven clock. */
function setup(script: (() => Promise<string>)[]) {
  const log: string[] = [];
  const timers: { fn: () => void; ms: number }[] = [];
  const abandoned: string[] = [];
  let calls = 0;
  const joiner = new RoomJoiner<string>(
    {
      join: () => script[calls++]!(),
      abandon: (j) => abandoned.push(j),
      now: () => 0,
      schedule: (fn, ms) => {
        const t = { fn, ms };
        timers.push(t);
        return () => timers.splice(timers.indexOf(t), 1);
      },
    },
    {
      status: (text) => log.push(`status ${text}`),
      joined: (j, wasRetry) => log.push(`joined ${j}${wasRetry ? ' (retry)' : ''}`),
      waiting: (why, until) => log.push(`waiting ${why} ${until > 0 ? 'later' : 'now'}`),
      signIn: (m) => log.push(`sign in: ${m}`),
      leave: (m) => log.push(`leave: ${m}`),
    },
  );
  return { joiner, log, timers, abandoned, calls: () => calls };
}
const ok = (v: string) => () => Promise.resolve(v);
const fail = (e: unknown) => () => Promise.reject(e);

describe('RoomJoiner', () => {
  it('retries a server that is away with growing backoff (capped), then rejoins and says it was a retry', async () => {
    const away = new ConsiliumError('UNAVAILABLE', 'down', 503);
    const { joiner, log, timers } = setup([fail(away), fail(new TypeError('fetch failed')), ok('room')]);
    await joiner.tryJoin();
    expect(log).toEqual(['status Joining…', 'status Reconnecting…', 'waiting The server cannot be reached right now. later']);
    expect(joiner.waitingToRetry).toBe(true);
    const first = timers[0]!.ms;
    expect(first).toBeGreaterThanOrEqual(800);
    expect(first).toBeLessThanOrEqual(1200);
    timers.shift()!.fn();
    await new Promise((r) => setTimeout(r, 0));
    expect(timers[0]!.ms).toBeGreaterThanOrEqual(1600); // 2 s ± 20 %
    timers.shift()!.fn();
    await new Promise((r) => setTimeout(r, 0));
    expect(log.at(-1)).toBe('joined room (retry)');
    expect(joiner.waitingToRetry).toBe(false);
  });

  it('a lost connection after joining waits, and "Retry now" tries at once (cancelling the timer)', async () => {
    const { joiner, log, timers } = setup([ok('a'), ok('b')]);
    await joiner.tryJoin();
    joiner.lost();
    expect(log.slice(-2)).toEqual(['status Reconnecting…', 'waiting The connection to the server was lost. later']);
    await joiner.tryJoin();
    expect(timers).toEqual([]);
    expect(log.at(-1)).toBe('joined b (retry)');
  });

  it('a refused sign-in goes to sign-in; a refusal retrying cannot cure goes back to the list; neither retries', async () => {
    const a = setup([fail(new ConsiliumError('AUTH_EXPIRED', 'expired', 401))]);
    await a.joiner.tryJoin();
    expect(a.log.at(-1)).toBe('sign in: Your sign-in has expired. Please sign in again.');
    const b = setup([fail(new ConsiliumError('NOT_INVITED', 'no', 403))]);
    await b.joiner.tryJoin();
    expect(b.log.slice(-2)).toEqual(['status Not in a room', 'leave: You are not invited to this room. Ask its host or IT to add you.']);
    for (const { joiner, timers, calls } of [a, b]) {
      await joiner.tryJoin();
      expect([timers.length, calls()]).toEqual([0, 1]);
    }
  });

  it('a join that lands after the user gave up is left at once', async () => {
    let land!: (v: string) => void;
    const { joiner, log, abandoned } = setup([() => new Promise((r) => (land = r))]);
    const pending = joiner.tryJoin();
    joiner.stop();
    land('late');
    await pending;
    expect(abandoned).toEqual(['late']);
    expect(log.some((l) => l.startsWith('joined'))).toBe(false);
  });
});

describe('a page opened at another address than the server’s (PUBLIC_URL)', () => {
  it('names the address to use instead of retrying forever', async () => {
    const page = { origin: 'http://consilium-alias.hospital.example', pathname: '/', hash: '#room=7f0c2c52-1111-4a1b-9c55-aaaaaaaaaaaa' };
    const wrong = wrongAddress('https://consilium.hospital.example', page)!;
    const { joiner, log, timers } = setup([fail(wrong)]);
    await joiner.tryJoin();
    expect(timers).toEqual([]);
    expect(joiner.waitingToRetry).toBe(false);
    expect(log.at(-1)).toBe(
      'leave: This page was opened at http://consilium-alias.hospital.example, but Consilium is served at https://consilium.hospital.example/#room=7f0c2c52-1111-4a1b-9c55-aaaaaaaaaaaa. Open https://consilium.hospital.example/#room=7f0c2c52-1111-4a1b-9c55-aaaaaaaaaaaa instead (the room link with that address works; ask IT to fix links that use http://consilium-alias.hospital.example).',
    );
  });

  it('is quiet at the right address (a trailing slash or a path in PUBLIC_URL is the same origin)', () => {
    const page = { origin: 'https://c.example', pathname: '/', hash: '' };
    expect(wrongAddress('https://c.example', page)).toBeNull();
    expect(wrongAddress('https://c.example/', page)).toBeNull();
    expect(wrongAddress('not a url', page)).toBeNull();
    expect(wrongAddress('http://c.example', page)?.there).toBe('http://c.example/');
    expect(wrongAddress('https://c.example:8443', page)?.there).toBe('https://c.example:8443/');
  });
});
