import { MAX_SLOTS, POSE_BYTES, checkPoseMessage, type PoseMessageCheck } from '../../../shared/src/pose-wire.ts';

/** Where a seat stands when a frame is ready for it: busy = still joining or its socket is backed up; absent = dropped. */
export type SeatReadiness = 'ready' | 'busy' | 'absent';

export interface PoseRelayDeps {
  /** Run `fn` after `ms` (a real timer: the room clock ticks too coarsely for this). */
  schedule: (fn: () => void, ms: number) => void;
  /** How long the first pose after a flush waits for others to join it in one frame, and the seats it is shared over (PoseBudget). */
  budget: { windowMs(): number; seatsChanged(delta: number): void };
  /** The transport's framing, prepended once to each frame all recipients share. */
  header: Uint8Array;
  ready: (sessionId: string) => SeatReadiness;
  send: (sessionId: string, frame: Uint8Array) => void;
}

const RECORD_STRIDE = 3 * POSE_BYTES;

/**
 * Avatar poses, off the patch cycle (see shared/src/pose-wire.ts).
 *
 * Each seat has a one-byte slot. A checked pose message is copied as it came
 * into the slot's preallocated record — only the latest counts; one equal to
 * the record (nothing moved by a quantisation step) changes nothing and sends nothing. The first
 * pose after a flush schedules the next flush `windowMs` later; a flush
 * builds one frame of the changed avatars and hands the same bytes to every
 * seat. A seat that cannot take it now (socket backed up, not joined yet,
 * dropped) is skipped and gets a keyframe — every avatar's latest pose —
 * when it can, so a slow client falls behind on frames, never on poses.
 *
 * Socket-free: the adapter supplies readiness and sending.
 */
export class PoseRelay {
  private readonly slots = new Map<string, number>();
  private readonly owners: (string | undefined)[] = new Array(MAX_SLOTS);
  /** Per slot: up to three poses, as received. */
  private readonly records = new Uint8Array(MAX_SLOTS * RECORD_STRIDE);
  /** Per slot: bytes of its record, 0 before the first pose. */
  private readonly sizes = new Uint8Array(MAX_SLOTS);
  private readonly dirty = new Uint8Array(MAX_SLOTS);
  /** The dirty slots in the order they changed (dirtyCount of them): a flush visits these, not every slot. */
  private readonly dirtyList = new Uint8Array(MAX_SLOTS);
  private dirtyCount = 0;
  private readonly needsKeyframe = new Set<string>();
  /** Receive-only seats. */
  private readonly listeners = new Set<string>();
  private nextSlot = 0;
  private flushScheduled = false;
  private stopped = false;

  constructor(private readonly deps: PoseRelayDeps) {}

  /**
   * A slot for a new seat, or null when every slot is taken. Slots are handed
   * out round-robin, so a slot freed by a leaver is the last to be reused: a
   * frame in flight for the leaver cannot land on a newcomer.
   */
  assign(sessionId: string): number | null {
    const existing = this.slots.get(sessionId);
    if (existing !== undefined) return existing;
    for (let i = 0; i < MAX_SLOTS; i++) {
      const slot = (this.nextSlot + i) % MAX_SLOTS;
      if (this.owners[slot] !== undefined) continue;
      this.owners[slot] = sessionId;
      this.slots.set(sessionId, slot);
      this.sizes[slot] = 0;
      this.nextSlot = (slot + 1) % MAX_SLOTS;
      this.deps.budget.seatsChanged(1);
      this.sendKeyframe(sessionId);
      return slot;
    }
    return null;
  }

  /** A receive-only seat (a grand-rounds audience member): gets every frame, has no slot and sends no pose. */
  listen(sessionId: string): void {
    if (this.slots.has(sessionId) || this.listeners.has(sessionId)) return;
    this.listeners.add(sessionId);
    this.deps.budget.seatsChanged(1);
    this.sendKeyframe(sessionId);
  }

  release(sessionId: string): void {
    if (this.listeners.delete(sessionId)) {
      this.deps.budget.seatsChanged(-1);
      this.needsKeyframe.delete(sessionId);
    }
    const slot = this.slots.get(sessionId);
    if (slot === undefined) return;
    this.slots.delete(sessionId);
    this.deps.budget.seatsChanged(-1);
    this.owners[slot] = undefined;
    this.sizes[slot] = 0;
    if (this.dirty[slot]) {
      this.dirty[slot] = 0;
      const at = this.dirtyList.subarray(0, this.dirtyCount).indexOf(slot);
      this.dirtyList.copyWithin(at, at + 1, this.dirtyCount--);
    }
    this.needsKeyframe.delete(sessionId);
  }

  /** The seat's latest pose message as received (a view: copy to keep), or null before its first. */
  latest(sessionId: string): Uint8Array | null {
    const slot = this.slots.get(sessionId);
    if (slot === undefined || this.sizes[slot] === 0) return null;
    return this.records.subarray(slot * RECORD_STRIDE, slot * RECORD_STRIDE + this.sizes[slot]!);
  }

  slotOf(sessionId: string): number | undefined {
    return this.slots.get(sessionId);
  }

  /** A seat (re)joined: it gets every avatar's latest pose at the next flush. */
  sendKeyframe(sessionId: string): void {
    if (!this.slots.has(sessionId) && !this.listeners.has(sessionId)) return;
    this.needsKeyframe.add(sessionId);
    this.scheduleFlush();
  }

  /** Check a seat's pose message and keep it as the seat's latest. */
  accept(sessionId: string, bytes: Uint8Array): PoseMessageCheck | 'no-seat' {
    const slot = this.slots.get(sessionId);
    if (slot === undefined) return 'no-seat';
    const check = checkPoseMessage(bytes);
    if (check !== 'ok') return check;
    // Unchanged after quantisation (a still head, a hand at rest): nothing to send, and no flush for it.
    if (this.sameAsRecord(slot, bytes)) return 'ok';
    this.records.set(bytes, slot * RECORD_STRIDE);
    this.sizes[slot] = bytes.byteLength;
    if (!this.dirty[slot]) {
      this.dirty[slot] = 1;
      this.dirtyList[this.dirtyCount++] = slot;
    }
    this.scheduleFlush();
    return 'ok';
  }

  private sameAsRecord(slot: number, bytes: Uint8Array): boolean {
    if (this.sizes[slot] !== bytes.byteLength) return false;
    const at = slot * RECORD_STRIDE;
    for (let i = 0; i < bytes.byteLength; i++) if (this.records[at + i] !== bytes[i]) return false;
    return true;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.deps.budget.seatsChanged(-this.slots.size - this.listeners.size);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.stopped) return;
    this.flushScheduled = true;
    this.deps.schedule(() => {
      this.flushScheduled = false;
      if (!this.stopped) this.flush();
    }, this.deps.budget.windowMs());
  }

  /** Send the changed avatars to every seat (keyframes to those that need one). */
  flush(): void {
    const changed = this.dirtyList.subarray(0, this.dirtyCount);
    const delta = this.frame(changed);
    for (const slot of changed) this.dirty[slot] = 0;
    this.dirtyCount = 0;
    let keyframe: Uint8Array | null | undefined;
    let retry = false;
    for (const sessionId of this.recipients()) {
      const wantsKey = this.needsKeyframe.has(sessionId);
      if (!wantsKey && !delta) continue;
      const readiness = this.deps.ready(sessionId);
      if (readiness !== 'ready') {
        // Skipped: it misses this delta, so it needs everything later.
        if (delta || wantsKey) this.needsKeyframe.add(sessionId);
        // Joining or backed up: try again soon; dropped seats wait for their reconnection.
        if (readiness === 'busy') retry = true;
        continue;
      }
      if (wantsKey) {
        keyframe ??= this.frame(this.posedSlots());
        this.needsKeyframe.delete(sessionId);
        if (keyframe) this.deps.send(sessionId, keyframe);
      } else if (delta) {
        this.deps.send(sessionId, delta);
      }
    }
    if (retry) this.scheduleFlush();
  }

  private *recipients(): Iterable<string> {
    yield* this.slots.keys();
    yield* this.listeners;
  }

  /** Every slot with a pose, in slot order (for keyframes). */
  private posedSlots(): Uint8Array {
    const out = new Uint8Array(MAX_SLOTS);
    let n = 0;
    for (let slot = 0; slot < MAX_SLOTS; slot++) if (this.sizes[slot]! > 0) out[n++] = slot;
    return out.subarray(0, n);
  }

  /** One frame — header, then slot + record for each of these slots that has a pose — or null if none. */
  private frame(slots: Uint8Array): Uint8Array | null {
    const header = this.deps.header;
    let bytes = header.byteLength;
    for (const slot of slots) if (this.sizes[slot]! > 0) bytes += 1 + this.sizes[slot]!;
    if (bytes === header.byteLength) return null;
    const out = new Uint8Array(bytes);
    out.set(header, 0);
    let at = header.byteLength;
    for (const slot of slots) {
      const size = this.sizes[slot]!;
      if (size === 0) continue;
      out[at++] = slot;
      // A byte loop: records are tens of bytes, where a subarray and set cost more than the copy.
      for (let i = slot * RECORD_STRIDE, end = i + size; i < end; i++) out[at++] = this.records[i]!;
    }
    return out;
  }
}
