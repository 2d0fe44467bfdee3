import { describe, expect, it } from 'vitest';
import { MAX_SLOTS, encodePoseMessage, readPoseFrame, type AvatarPose } from '../../shared/src/pose-wire.ts';
import { PoseRelay, type SeatReadiness } from '../../server/src/rooms/pose-relay.ts';

/** The relay alone, with a hand-cranked timer and sockets that record what they were sent. */
function relay() {
  const timers: (() => void)[] = [];
  const sent = new Map<string, Uint8Array[]>();
  const readiness = new Map<string, SeatReadiness>();
  const r = new PoseRelay({
    schedule: (fn) => void timers.push(fn),
    budget: { windowMs: () => 10, seatsChanged: () => {} },
    header: new Uint8Array(0),
    ready: (id) => readiness.get(id) ?? 'ready',
    send: (id, frame) => void (sent.get(id) ?? sent.set(id, []).get(id)!).push(frame),
  });
  const tick = () => timers.splice(0).forEach((fn) => fn());
  /** What each frame `id` received since the last call held: slot → head z. */
  const received = (id: string) => (sent.get(id)?.splice(0) ?? []).map((f) => {
    const got = new Map<number, number>();
    readPoseFrame(f, (slot, pose: AvatarPose) => {
      expect(got.has(slot), `slot ${slot} twice in one frame`).toBe(false);
      got.set(slot, pose.head.p[2]);
    });
    return got;
  });
  return { r, tick, received, readiness };
}

const at = (z: number) => encodePoseMessage({ head: { p: [0, 1.6, z], q: [0, 0, 0, 1] } });

describe('PoseRelay flush', () => {
  it('a delta holds each changed avatar once, with its latest pose, and nothing unchanged', () => {
    const { r, tick, received } = relay();
    for (const id of ['a', 'b', 'c']) r.assign(id);
    tick();
    received('c');
    expect(r.accept('a', at(1))).toBe('ok');
    expect(r.accept('a', at(2))).toBe('ok');
    expect(r.accept('b', at(3))).toBe('ok');
    tick();
    const [frame] = received('c');
    expect(frame && [...frame.entries()].map(([s, z]) => [s, Math.round(z * 10) / 10])).toEqual([[r.slotOf('a'), 2], [r.slotOf('b'), 3]]);
    // The same pose again (nothing moved by a quantisation step): no frame at all.
    r.accept('a', at(2));
    tick();
    expect(received('c')).toEqual([]);
  });

  it('a slot freed while dirty and taken by a newcomer before the flush is sent once, with the newcomer’s pose', () => {
    const { r, tick, received } = relay();
    for (let i = 0; i < MAX_SLOTS; i++) expect(r.assign(`s${i}`)).not.toBeNull();
    tick();
    received('s0');
    r.accept('s7', at(1));
    r.accept('s9', at(4));
    r.release('s7');
    expect(r.assign('late')).toBe(7);
    r.accept('late', at(5));
    tick();
    const frames = received('s0');
    expect(frames).toHaveLength(1);
    expect([...frames[0]!.keys()].sort((x, y) => x - y)).toEqual([7, 9]);
    expect(Math.round(frames[0]!.get(7)! * 10) / 10).toBe(5);
  });

  it('a seat that was busy gets a keyframe with every avatar’s latest pose', () => {
    const { r, tick, received, readiness } = relay();
    for (const id of ['a', 'b', 'c']) r.assign(id);
    tick();
    received('c');
    readiness.set('c', 'busy');
    r.accept('a', at(1));
    tick();
    r.accept('b', at(2));
    readiness.set('c', 'ready');
    tick();
    tick();
    const frames = received('c');
    expect(frames).toHaveLength(1);
    expect([...frames[0]!.keys()].sort()).toEqual([r.slotOf('a'), r.slotOf('b')].sort());
  });
});
