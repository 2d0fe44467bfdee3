import { GuidanceServerMessages, LINK_PING_INTERVAL_MS, LINK_RTT_LIMIT_MS, type LinkPing } from '../../../shared/src/guidance.ts';
import type { ClinicState } from '../../../shared/src/state.ts';

export interface LinkMonitorDeps {
  state: ClinicState;
  now: () => number;
  send: (sessionId: string, type: string, message: unknown) => void;
  limitMs?: number;
  intervalMs?: number;
}

interface Link {
  rtt: number;
  lastPong: number;
  since: number;
  /** Pings sent and not yet answered: nonce → server time sent. */
  outstanding: Map<number, number>;
}

/** Roles whose link carries guidance: a slow or lost link here makes every pointer stale. */
const GUIDING_ROLES = new Set(['surgeon', 'specialist']);

/**
 * Measures every seat's round-trip time continuously in surgical-guidance
 * rooms (a `link.ping` every interval, answered by `link.pong`) and keeps the
 * state honest about it: each participant's `rttMs` and `linkOk`, and the
 * room's `linkWarning` while the surgeon's or a guiding specialist's link is
 * over the limit, silent, or dropped. Socket-free: the clinic ticks it.
 */
export class LinkMonitor {
  private readonly links = new Map<string, Link>();
  private nonce = Math.floor(Math.random() * 2 ** 31);
  readonly limitMs: number;
  readonly intervalMs: number;

  constructor(private readonly deps: LinkMonitorDeps) {
    this.limitMs = deps.limitMs ?? LINK_RTT_LIMIT_MS;
    this.intervalMs = deps.intervalMs ?? LINK_PING_INTERVAL_MS;
  }

  /** Probe every connected seat and re-evaluate. */
  tick(): void {
    const now = this.deps.now();
    this.deps.state.participants.forEach((p) => {
      let link = this.links.get(p.sessionId);
      if (!link) this.links.set(p.sessionId, (link = { rtt: 0, lastPong: now, since: now, outstanding: new Map() }));
      if (!p.connected) return;
      // An unanswered ping still counts: a link that stops answering grows its round trip.
      for (const sent of link.outstanding.values()) link.rtt = Math.max(link.rtt, now - sent);
      if (link.outstanding.size >= 8) link.outstanding.delete(link.outstanding.keys().next().value!);
      this.nonce = (this.nonce + 1) % 2 ** 32;
      link.outstanding.set(this.nonce, now);
      const ping: LinkPing = { n: this.nonce, t: now };
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

  /** Update every participant's `linkOk` and the room's warning. */
  evaluate(): void {
    const warnings: string[] = [];
    this.deps.state.participants.forEach((p) => {
      const ok = this.isOk(p.sessionId);
      if (p.linkOk !== ok) p.linkOk = ok;
      if (ok || !GUIDING_ROLES.has(p.role)) return;
      const link = this.links.get(p.sessionId);
      const how = !p.connected ? 'has dropped' : link && link.rtt > this.limitMs ? `is slow (${Math.round(link.rtt)} ms)` : 'is not answering';
      warnings.push(`${p.name} (${p.role}) ${how}`);
    });
    const warning = warnings.length ? `Guidance link: ${warnings.sort().join('; ')} — pointers are not live` : '';
    if (this.deps.state.info.linkWarning !== warning) this.deps.state.info.linkWarning = warning;
  }
}
