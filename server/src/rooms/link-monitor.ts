import { randomInt } from 'node:crypto';
import { GUIDING_RECENT_MS, GuidanceServerMessages, LINK_PING_INTERVAL_MS, LINK_RTT_LIMIT_MS, type LinkPing, type RelayedPointer } from '../../../shared/src/guidance.ts';
import type { ClinicState, ParticipantState } from '../../../shared/src/state.ts';
import type { ServerMessageName, ServerMessages } from '../../../shared/src/protocol.ts';

export interface LinkMonitorDeps {
  state: ClinicState;
  now: () => number;
  send: <K extends ServerMessageName>(sessionId: string, type: K, message: ServerMessages[K]) => void;
  limitMs?: number;
  intervalMs?: number;
  /** How long after its last pointer or annotation a specialist's or host's seat still counts as guiding. */
  guidingRecentMs?: number;
  /** Nonce source (tests); crypto-random by default. */
  nonce?: () => number;
}

interface Link {
  rtt: number;
  lastPong: number;
  since: number;
  /** Pings sent and not yet answered: nonce → server time sent. */
  outstanding: Map<number, number>;
  /** Server time this seat last pointed, annotated or moved an annotation (0: never). */
  guidedAt: number;
  /** This seat's latest relayed pointer (re-marked stale when a warning comes up). */
  pointer: RelayedPointer | null;
}

/** The surgeon's seats always carry guidance (they receive it). */
const ALWAYS_GUIDING = new Set(['surgeon']);
/** These seats carry guidance while they are giving it (pointing, annotating). */
const GUIDING_WHEN_ACTIVE = new Set(['specialist', 'host']);

const ORDINALS = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'];

/** A ping nonce nobody can predict: 32 random bits (the `link.pong` schema's range). */
const randomNonce = () => randomInt(0, 2 ** 32);

/**
 * Measures every seat's round-trip time continuously in surgical-guidance
 * rooms (a `link.ping` every interval, answered by `link.pong`) and keeps the
 * state honest about it: each participant's `rttMs` and `linkOk`, and the
 * room's `linkWarning` while a guiding link — any surgeon seat, or a
 * specialist's or host's seat that is pointing or pointed or annotated
 * recently — is over the limit, silent, or dropped. Socket-free: the clinic
 * ticks it.
 *
 * The warning is the one link state pointers derive from: while it is up,
 * every relayed pointer is `stale`, and when it comes up the latest pointer
 * of each seat is sent again, marked stale, so no client is left holding one
 * that claims to be live. When it clears nothing is re-sent: an old pointer is
 * not live again; the author's next update is.
 */
export class LinkMonitor {
  private readonly links = new Map<string, Link>();
  readonly limitMs: number;
  readonly intervalMs: number;
  readonly guidingRecentMs: number;
  private readonly nextNonce: () => number;

  constructor(private readonly deps: LinkMonitorDeps) {
    this.limitMs = deps.limitMs ?? LINK_RTT_LIMIT_MS;
    this.intervalMs = deps.intervalMs ?? LINK_PING_INTERVAL_MS;
    this.guidingRecentMs = deps.guidingRecentMs ?? GUIDING_RECENT_MS;
    this.nextNonce = deps.nonce ?? randomNonce;
  }

  private link(sessionId: string, now: number): Link {
    let link = this.links.get(sessionId);
    if (!link) this.links.set(sessionId, (link = { rtt: 0, lastPong: now, since: now, outstanding: new Map(), guidedAt: 0, pointer: null }));
    return link;
  }

  /** Probe every connected seat and re-evaluate. */
  tick(): void {
    const now = this.deps.now();
    this.deps.state.participants.forEach((p) => {
      const link = this.link(p.sessionId, now);
      if (!p.connected) return;
      // An unanswered ping still counts: a link that stops answering grows its round trip.
      for (const sent of link.outstanding.values()) link.rtt = Math.max(link.rtt, now - sent);
      if (link.outstanding.size >= 8) link.outstanding.delete(link.outstanding.keys().next().value!);
      // Random, never a counter: a client that could predict the next nonces could answer
      // them before the pings arrive and look faster than it is.
      let n = this.nextNonce();
      while (link.outstanding.has(n)) n = this.nextNonce();
      link.outstanding.set(n, now);
      const ping: LinkPing = { n, t: now };
      this.deps.send(p.sessionId, GuidanceServerMessages.ping, ping);
    });
    this.evaluate();
  }

  /**
   * A seat answered ping `n`. The round trip is timed on the server's clock
   * from when that ping left; an answer to a ping we did not send to this seat
   * (or one answered before) counts for nothing, so a client cannot make its
   * link look better than it is.
   */
  pong(sessionId: string, n: number): void {
    const now = this.deps.now();
    const link = this.links.get(sessionId);
    const sent = link?.outstanding.get(n);
    if (!link || sent === undefined) return;
    link.outstanding.delete(n);
    // Older pings still unanswered were lost or are late: this answer does not excuse them.
    for (const [k, t] of link.outstanding) if (t < sent) link.outstanding.delete(k);
    link.rtt = now - sent;
    link.lastPong = now;
    const p = this.deps.state.participants.get(sessionId);
    if (p) p.rttMs = Math.min(65_535, Math.round(link.rtt));
    this.evaluate();
  }

  /** This seat is giving guidance now (pointed, annotated, moved an annotation): its link counts for a while. */
  guiding(sessionId: string): void {
    const now = this.deps.now();
    this.link(sessionId, now).guidedAt = now;
    this.evaluate();
  }

  /** Pointers are live only while no guiding link is in warning (the room's `linkWarning` is the one record). */
  pointersLive(): boolean {
    return this.deps.state.info.linkWarning === '';
  }

  /**
   * This seat pointed (or stopped: `target` null): it is guiding now, and the
   * pointer to relay is stamped with the server's clock and marked stale
   * unless pointers are live. Remembered, so a warning can re-mark it.
   */
  pointer(sessionId: string, target: [number, number, number] | null): RelayedPointer {
    this.guiding(sessionId);
    const now = this.deps.now();
    // `sentAt` stays in the message for older clients; it is the server's time too, never the author's clock.
    const p: RelayedPointer = { sessionId, target, sentAt: now, serverAt: now, stale: !this.pointersLive() };
    this.link(sessionId, now).pointer = p;
    return p;
  }

  /** Is this seat's link fine for guidance right now? */
  isOk(sessionId: string): boolean {
    const p = this.deps.state.participants.get(sessionId);
    if (!p || !p.connected) return false;
    const link = this.links.get(sessionId);
    if (!link) return true;
    const now = this.deps.now();
    // Silent for longer than two probes plus the limit: the link is as good as lost.
    const silent = now - link.lastPong > 2 * this.intervalMs + this.limitMs && now - link.since > 2 * this.intervalMs + this.limitMs;
    return link.rtt <= this.limitMs && !silent;
  }

  forget(sessionId: string): void {
    this.links.delete(sessionId);
  }

  /** Does this seat's link carry guidance now? */
  private counts(p: ParticipantState | undefined, now: number): boolean {
    if (!p) return false;
    if (ALWAYS_GUIDING.has(p.role)) return true;
    if (!GUIDING_WHEN_ACTIVE.has(p.role)) return false;
    const link = this.links.get(p.sessionId);
    return p.pointing || (link !== undefined && link.guidedAt > 0 && now - link.guidedAt <= this.guidingRecentMs);
  }

  /** Update every participant's `linkOk` and the room's warning. */
  evaluate(): void {
    const now = this.deps.now();
    const seatsOf = new Map<string, ParticipantState[]>();
    this.deps.state.participants.forEach((p) => {
      const ok = this.isOk(p.sessionId);
      if (p.linkOk !== ok) p.linkOk = ok;
      seatsOf.set(p.userId, [...(seatsOf.get(p.userId) ?? []), p]);
    });
    // One entry per person, however many seats they have; their seats told apart by join order.
    const warnings: string[] = [];
    for (const seats of seatsOf.values()) {
      const bad = seats.filter((p) => !p.linkOk && this.counts(p, now));
      if (bad.length === 0) continue;
      const who = `${bad[0]!.name} (${bad[0]!.role})`;
      if (seats.length === 1) warnings.push(`${who} ${this.how(bad[0]!)}`);
      else warnings.push(`${who}: ${bad.map((p) => `${ORDINALS[seats.indexOf(p)] ?? 'another'} device ${this.how(p)}`).join(', ')}`);
    }
    const warning = warnings.length ? `Guidance link: ${warnings.sort().join('; ')} — pointers are not live` : '';
    const was = this.deps.state.info.linkWarning;
    if (was === warning) return;
    this.deps.state.info.linkWarning = warning;
    if (was === '') this.markPointersStale();
  }

  /** The warning came up: every seat's latest pointer that went out as live goes out again, stale, to the other seats. */
  private markPointersStale(): void {
    for (const [author, link] of this.links) {
      if (!link.pointer || link.pointer.target === null || link.pointer.stale) continue;
      const stale = { ...link.pointer, stale: true };
      link.pointer = stale;
      this.deps.state.participants.forEach((p) => {
        if (p.connected && p.sessionId !== author) this.deps.send(p.sessionId, GuidanceServerMessages.pointer, stale);
      });
    }
  }

  private how(p: ParticipantState): string {
    const link = this.links.get(p.sessionId);
    return !p.connected ? 'has dropped' : link && link.rtt > this.limitMs ? `is slow (${Math.round(link.rtt)} ms)` : 'is not answering';
  }
}
