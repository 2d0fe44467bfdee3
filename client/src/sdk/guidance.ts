import { GuidanceServerMessages, pointerIsCurrent, type RelayedPointer } from '../../../shared/src/guidance.ts';
import type { ClientMessage, ClientMessageName } from '../../../shared/src/messages.ts';
import type { SceneObjectState } from '../../../shared/src/state.ts';
import { requestOn, type ClinicRoom } from './session.ts';
import type { FramePose } from '../../../shared/src/patient-frame.ts';

export interface PointerView extends RelayedPointer {
  /** Shown as current only when true (shared/src/guidance.ts `pointerIsCurrent`); otherwise grey it out. */
  current: boolean;
  /** How long ago the server relayed it (ms, on the server's clock as estimated here). */
  ageMs: number;
}

/**
 * The surgical-guidance side of a session: answers the server's link probes
 * (so the room knows every link's round trip), estimates the server's clock,
 * keeps the latest relayed pointer of each participant and says whether it
 * may be shown as current, and sends the hands-free commands.
 */
export class GuidanceChannel {
  private readonly pointerMap = new Map<string, RelayedPointer>();
  private readonly pointerListeners = new Set<(p: RelayedPointer) => void>();
  private readonly highlightListeners = new Set<(objectId: string) => void>();
  /** server clock − local clock (ms), from the freshest ping. */
  private offsetMs = 0;

  constructor(private readonly room: ClinicRoom) {
    room.onMessage(GuidanceServerMessages.ping, (ping) => {
      this.offsetMs = ping.t - Date.now();
      room.send('link.pong', { n: ping.n });
    });
    room.onMessage(GuidanceServerMessages.pointer, (p) => {
      this.pointerMap.set(p.sessionId, p);
      this.pointerListeners.forEach((l) => l(p));
    });
    room.onMessage(GuidanceServerMessages.highlight, (m) => this.highlightListeners.forEach((l) => l(m.objectId)));
  }

  /** The server's clock now, as this client estimates it (within a one-way delay). */
  serverNow(): number {
    return Date.now() + this.offsetMs;
  }

  /** Every participant's latest pointer, each marked current or stale. */
  pointers(): PointerView[] {
    const now = this.serverNow();
    const warning = this.room.state?.info?.linkWarning ?? '';
    return [...this.pointerMap.values()].map((p) => ({ ...p, ageMs: Math.max(0, now - p.serverAt), current: pointerIsCurrent(p, now, warning) && this.authorConnected(p.sessionId) }));
  }

  onPointer(listener: (p: RelayedPointer) => void): () => void {
    this.pointerListeners.add(listener);
    return () => this.pointerListeners.delete(listener);
  }

  onHighlight(listener: (objectId: string) => void): () => void {
    this.highlightListeners.add(listener);
    return () => this.highlightListeners.delete(listener);
  }

  /** The registered patient frame (identity until the surgeon registers one). */
  anchor(): FramePose & { version: number } {
    const a = this.room.state.anchor;
    return { version: a.version, p: [a.px, a.py, a.pz], q: [a.qx, a.qy, a.qz, a.qw] };
  }

  /** The annotation in focus (guidance.next), if this participant may see it. */
  focus(): SceneObjectState | null {
    for (const o of this.room.state.objects.values()) if (o.focused) return o;
    return null;
  }

  /** Annotations not yet acknowledged, oldest first (`sentAt`: the server's time of the add or last move). */
  pending(): SceneObjectState[] {
    return [...this.room.state.objects.values()].filter((o) => o.frame !== 'world' && o.ackedAt === 0 && !o.dismissed);
  }

  // ---- senders ---------------------------------------------------------------

  point(target: [number, number, number] | null): void {
    // No `sentAt`: the server stamps pointers with its own clock (and ignores a client's).
    const msg: ClientMessage<'pointer.update'> = { target };
    this.room.send('pointer.update', msg);
  }

  setAnchor(pose: { p: [number, number, number]; q: [number, number, number, number] }) {
    return this.request('anchor.set', { pose });
  }

  ack(objectId: string) {
    return this.request('guidance.ack', { objectId });
  }

  dismiss(objectId: string) {
    return this.request('guidance.dismiss', { objectId });
  }

  next() {
    return this.request('guidance.next', {});
  }

  repeat() {
    return this.request('guidance.repeat', {});
  }

  undo() {
    return this.request('guidance.undo', {});
  }

  clear(scope: 'mine' | 'all') {
    return this.request('guidance.clear', { scope });
  }

  private request<N extends ClientMessageName>(type: N, payload: ClientMessage<N>) {
    return requestOn(this.room, type, payload);
  }

  private authorConnected(sessionId: string): boolean {
    return this.room.state?.participants?.get(sessionId)?.connected === true;
  }
}
