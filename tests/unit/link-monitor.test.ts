import { describe, expect, it } from 'vitest';
import { ClinicState, ParticipantState } from '../../shared/src/state.ts';
import { LinkMonitor } from '../../server/src/rooms/link-monitor.ts';
import { GuidanceServerMessages, type RelayedPointer } from '../../shared/src/guidance.ts';

/** The link probe cannot be gamed: only answers to pings this seat was sent count, timed on the server's clock. */
function seat(state: ClinicState, sessionId: string, userId: string, name: string, role: string) {
  const p = new ParticipantState();
  p.sessionId = sessionId;
  p.userId = userId;
  p.name = name;
  p.role = role;
  state.participants.set(sessionId, p);
  return p;
}

/** One specialist seat that is guiding (it pointed just now). */
function setup() {
  const state = new ClinicState();
  seat(state, 's1', 'dr.guide', 'Dr. Guide', 'specialist');
  let now = 1_000_000;
  const sent: { sessionId: string; n: number }[] = [];
  const links = new LinkMonitor({ state, now: () => now, send: (sessionId, _type, m) => sent.push({ sessionId, n: (m as { n: number }).n }) });
  links.guiding('s1');
  return { state, links, sent, advance: (ms: number) => (now += ms) };
}

describe('LinkMonitor', () => {
  it('times the round trip from when the ping left, on the server clock', () => {
    const { state, links, sent, advance } = setup();
    links.tick();
    advance(40);
    links.pong('s1', sent[0]!.n);
    expect(state.participants.get('s1')!.rttMs).toBe(40);
    expect(state.info.linkWarning).toBe('');
    links.tick();
    advance(400);
    links.pong('s1', sent[1]!.n);
    expect(state.participants.get('s1')!.rttMs).toBe(400);
    expect(state.participants.get('s1')!.linkOk).toBe(false);
    expect(state.info.linkWarning).toMatch(/Dr\. Guide \(specialist\) is slow \(400 ms\)/);
  });

  it('forged, replayed or unsolicited answers count for nothing; silence becomes a warning', () => {
    const { state, links, sent, advance } = setup();
    links.tick();
    advance(5);
    links.pong('s1', sent[0]!.n);
    expect(state.info.linkWarning).toBe('');
    // From now on the client answers nothing real, but sends forged and replayed answers quickly.
    for (let i = 0; i < 6; i++) {
      links.tick();
      advance(100);
      links.pong('s1', sent.at(-1)!.n + 1000); // a nonce never sent
      links.pong('s1', sent[0]!.n); // replay of an answered ping
      advance(400);
    }
    links.tick();
    expect(state.participants.get('s1')!.linkOk).toBe(false);
    expect(state.info.linkWarning).toMatch(/Dr\. Guide \(specialist\) is (slow|not answering)/);
  });

  it('nonces are unpredictable: answering the next numbers in advance gets nothing', () => {
    const { state, links, sent, advance } = setup();
    const seen = new Set<number>();
    for (let i = 0; i < 200; i++) {
      links.tick();
      seen.add(sent.at(-1)!.n);
      links.pong('s1', sent.at(-1)!.n);
    }
    expect(seen.size).toBe(200);
    const ns = sent.map((x) => x.n);
    // Not a counter, not a fixed stride.
    expect(new Set(ns.slice(1).map((n, i) => n - ns[i]!)).size).toBeGreaterThan(190);
    expect(ns.every((n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32)).toBe(true);

    // The attack: a slow client (600 ms) pre-answers the next nonces as a counter would issue them.
    for (let i = 0; i < 6; i++) {
      const last = sent.at(-1)!.n;
      for (let k = 1; k <= 20; k++) {
        links.pong('s1', (last + k) % 2 ** 32);
        links.pong('s1', last - k);
      }
      links.tick();
      advance(30);
      for (let k = 1; k <= 20; k++) links.pong('s1', (last + k) % 2 ** 32);
      advance(570);
      links.pong('s1', sent.at(-1)!.n); // the real answer arrives 600 ms late
    }
    expect(state.participants.get('s1')!.rttMs).toBeGreaterThanOrEqual(600);
    expect(state.participants.get('s1')!.linkOk).toBe(false);
    expect(state.info.linkWarning).toMatch(/Dr\. Guide \(specialist\) is slow/);
  });
});

describe('LinkMonitor: which links make pointers stale', () => {
  function room() {
    const state = new ClinicState();
    let now = 1_000_000;
    const sent: { sessionId: string; n: number }[] = [];
    const links = new LinkMonitor({ state, now: () => now, send: (sessionId, _type, m) => sent.push({ sessionId, n: (m as { n: number }).n }) });
    /** Every seat but `silent` answers at once; then time passes. */
    const round = (silent: string[], ms = 500) => {
      const from = sent.length;
      links.tick();
      for (const x of sent.slice(from)) if (!silent.includes(x.sessionId)) links.pong(x.sessionId, x.n);
      now += ms;
    };
    return { state, links, round, advance: (ms: number) => (now += ms) };
  }

  it('a silent second seat of a specialist who is not guiding from it raises nothing; once it guides, the person is named once, the seat told apart', () => {
    const { state, links, round } = room();
    seat(state, 'sur', 'dr.surgeon', 'Dr Surgeon', 'surgeon');
    seat(state, 'a', 'dr.spec', 'Dr Spec', 'specialist');
    seat(state, 'b', 'dr.spec', 'Dr Spec', 'specialist');
    links.guiding('a');
    for (let i = 0; i < 6; i++) round(['b']);
    expect(state.participants.get('b')!.linkOk).toBe(false);
    expect(state.participants.get('a')!.linkOk).toBe(true);
    expect(state.info.linkWarning).toBe('');

    // The silent device starts pointing: now it carries guidance, and the warning says which device.
    state.participants.get('b')!.pointing = true;
    links.guiding('b');
    expect(state.info.linkWarning).toMatch(/^Guidance link: Dr Spec \(specialist\): second device is (slow \(\d+ ms\)|not answering) — pointers are not live$/);
    // Both devices bad: still one entry for the person.
    links.guiding('a');
    for (let i = 0; i < 6; i++) round(['a', 'b']);
    expect(state.info.linkWarning.match(/Dr Spec/g)).toHaveLength(1);
    expect(state.info.linkWarning).toMatch(/Dr Spec \(specialist\): first device is (slow \(\d+ ms\)|not answering), second device is (slow \(\d+ ms\)|not answering)/);
  });

  it('a specialist seat stops counting some time after it last guided; surgeon seats always count', () => {
    const { state, links, round } = room();
    seat(state, 'sur', 'dr.surgeon', 'Dr Surgeon', 'surgeon');
    seat(state, 'a', 'dr.spec', 'Dr Spec', 'specialist');
    links.guiding('a');
    for (let i = 0; i < 6; i++) round(['a']);
    expect(state.info.linkWarning).toMatch(/^Guidance link: Dr Spec \(specialist\) is (slow|not answering)/);
    const rounds = Math.ceil(links.guidingRecentMs / 500) + 1;
    for (let i = 0; i < rounds; i++) round(['a']);
    expect(state.info.linkWarning).toBe('');
    // The surgeon's idle headset is never excused.
    for (let i = 0; i < 6; i++) round(['a', 'sur']);
    expect(state.info.linkWarning).toMatch(/^Guidance link: Dr Surgeon \(surgeon\) is (slow|not answering)/);
    // A clinician or observer link never counts.
    seat(state, 'c', 'dr.cli', 'Dr Cli', 'clinician');
    links.guiding('c');
    for (let i = 0; i < 6; i++) round(['c']);
    expect(state.info.linkWarning).toBe('');
  });
});

describe('LinkMonitor: relayed pointers follow the room warning', () => {
  it("a pointer is stale while any guiding link warns, whoever's it is; the one each seat holds is re-marked when the warning comes up, never re-declared live", () => {
    const state = new ClinicState();
    let now = 1_000_000;
    const pings: { sessionId: string; n: number }[] = [];
    const pointers: { to: string; p: RelayedPointer }[] = [];
    const links = new LinkMonitor({
      state,
      now: () => now,
      send: (to, type, m) => (type === GuidanceServerMessages.pointer ? pointers.push({ to, p: m as RelayedPointer }) : pings.push({ sessionId: to, n: (m as { n: number }).n })),
    });
    seat(state, 'sur', 'dr.cut', 'Dr. Cut', 'surgeon');
    seat(state, 'spe', 'dr.spec', 'Dr. Spec', 'specialist');
    seat(state, 'obs', 'stud', 'Student', 'observer');
    const round = (silent: string[]) => {
      const from = pings.length;
      links.tick();
      for (const x of pings.slice(from)) if (!silent.includes(x.sessionId)) links.pong(x.sessionId, x.n);
      now += 500;
    };
    round([]);
    const live = links.pointer('spe', [0.1, 0.2, 0.3]);
    expect(live).toEqual({ sessionId: 'spe', target: [0.1, 0.2, 0.3], sentAt: now, serverAt: now, stale: false });
    // The surgeon's link goes quiet: the warning names the surgeon, and the specialist's held pointer goes out again, stale, to the others.
    for (let i = 0; i < 4; i++) round(['sur']);
    expect(state.info.linkWarning).toMatch(/Dr\. Cut \(surgeon\)/);
    expect(pointers.map((x) => x.to).sort()).toEqual(['obs', 'sur']);
    expect(pointers.every((x) => x.p.stale && x.p.serverAt === live.serverAt && x.p.target?.[0] === 0.1)).toBe(true);
    expect(links.pointer('spe', [0.2, 0.2, 0.2]).stale).toBe(true);
    // Recovery: nothing is re-sent as live; the next pointer is.
    for (let i = 0; i < 3; i++) round([]);
    expect(state.info.linkWarning).toBe('');
    expect(pointers).toHaveLength(2);
    expect(links.pointer('spe', [0.3, 0.2, 0.2]).stale).toBe(false);
  });
});
