import { describe, expect, it } from 'vitest';
import { ClinicState, ParticipantState } from '../../shared/src/state.ts';
import { LinkMonitor } from '../../server/src/rooms/link-monitor.ts';

/** The link probe cannot be gamed: only answers to pings this seat was sent count, timed on the server's clock. */
function setup() {
  const state = new ClinicState();
  const p = new ParticipantState();
  p.sessionId = 's1';
  p.userId = 'dr.guide';
  p.name = 'Dr. Guide';
  p.role = 'specialist';
  state.participants.set('s1', p);
  let now = 1_000_000;
  const sent: { sessionId: string; n: number }[] = [];
  const links = new LinkMonitor({ state, now: () => now, send: (sessionId, _type, m) => sent.push({ sessionId, n: (m as { n: number }).n }) });
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
});
