import { Protocol, SchemaSerializer } from '@colyseus/core';
import { Encoder } from '@colyseus/schema';
import { WebSocketClient } from '@colyseus/ws-transport';
import { ROOM_STATE_BUFFER_BYTES } from '../domain/case-summary.ts';

/**
 * Room state encoding, sized and fixed for real cases.
 *
 * Sizing: encoders start at BUFFER_SIZE and grow (with a console warning)
 * when a state outgrows it, and a single synced string longer than the buffer
 * reached clients corrupted (a 46 KB ExplanationOfBenefit did). The budget of
 * a room's case summary (domain/case-summary.ts) sets the size.
 *
 * Fix: replaces @colyseus/core 0.18.17 src/serializer/SchemaSerializer.ts
 * `getFullState(client, timing)` for untimed frames (tests/unit/colyseus-fence.test.ts
 * pins the upstream source it was copied from). Upstream it encodes the shared
 * part of the state into `fullEncodeBuffer`; when that outgrows the buffer the
 * encoder returns a grown copy, but the serializer keeps the old buffer and
 * encodes each client's filtered view into it — so every client with a view
 * (all of ours) received an undecodable full state once the state passed the
 * buffer size (issue 13: decode errors near 95 participants with a case). We
 * keep the grown buffer. Consilium sends no timed (input-controller) frames,
 * so that path stays Colyseus' own.
 *
 * Memory (issue 20): upstream every room owns two encode buffers of
 * BUFFER_SIZE (the encoder's `sharedBuffer` for patches, the serializer's
 * `fullEncodeBuffer` for joins), and `encodeView` grows the first to keep
 * BUFFER_SIZE free past the shared part — 6 MB a room at our 2 MB size, 60 MB
 * of the 1,000-seat benchmark. Rooms encode one at a time on one thread, so
 * every room of the process uses one scratch buffer instead, and nothing that
 * outlives an encode stays in it: the full state's shared part is kept as an
 * exact-size copy (restored into the scratch before each view is encoded),
 * and a frame written to a socket during a patch is copied first (below).
 */
interface SerializerInternals {
  needFullEncode: boolean;
  encoder: Encoder & { root: { changes: { next?: unknown } }; sharedBuffer: Uint8Array };
  sharedOffsetCache: { offset: number };
  fullEncodeCache: Uint8Array;
  fullEncodeBuffer: Uint8Array;
  hasFilters: boolean;
}

/** The process's encode buffer; it grows (the encoder grows it) and never shrinks. */
let scratch: Uint8Array = new Uint8Array(0);
/** True while a room encodes a patch: what it sends lives in the scratch buffer. */
let patching = false;

/** Bytes of the shared encode buffer (tests and the memory bench). */
export const scratchBytes = (): number => scratch.byteLength;

let installed = false;

export function installFullStateFix(): void {
  if (installed) return;
  installed = true;
  Encoder.BUFFER_SIZE = Math.max(Encoder.BUFFER_SIZE, ROOM_STATE_BUFFER_BYTES);
  scratch = new Uint8Array(Encoder.BUFFER_SIZE);
  const proto = SchemaSerializer.prototype as unknown as {
    getFullState: (this: SerializerInternals, client?: { view?: unknown }, timing?: unknown) => Uint8Array;
    applyPatches: (this: SerializerInternals, ...args: unknown[]) => boolean;
    reset: (this: SerializerInternals, state: unknown) => void;
  };

  // The room's own buffers (allocated by the constructor and reset) are dropped for the shared one.
  const reset = proto.reset;
  proto.reset = function (this: SerializerInternals, state) {
    reset.call(this, state);
    this.encoder.sharedBuffer = scratch;
    this.fullEncodeBuffer = scratch;
  };

  const applyPatches = proto.applyPatches;
  // Wrappers keep the wrapped method's arity (the fence checks it, also when an app starts again in this process).
  proto.applyPatches = function (this: SerializerInternals, _clients: unknown, _messages: unknown, _options: unknown) {
    this.encoder.sharedBuffer = scratch;
    patching = true;
    try {
      return applyPatches.apply(this, [...arguments]);
    } finally {
      patching = false;
      // The encoder may have grown the buffer: the grown one is everyone's from now on.
      if (this.encoder.sharedBuffer.byteLength > scratch.byteLength) scratch = this.encoder.sharedBuffer;
    }
  };

  const getFullState = proto.getFullState;
  proto.getFullState = function (this: SerializerInternals, client, timing) {
    this.fullEncodeBuffer = scratch;
    scratch[0] = Protocol.ROOM_STATE;
    if (timing !== undefined) {
      // Colyseus' own path (timed frames: unused here); it may cache a view of the scratch, so encode afresh next time.
      const out = getFullState.call(this, client, timing);
      this.needFullEncode = true;
      return out;
    }
    if (this.needFullEncode || this.encoder.root.changes.next !== undefined) {
      this.sharedOffsetCache = { offset: 1 };
      const shared = this.encoder.encodeAll(this.sharedOffsetCache, scratch);
      // The encoder may have grown the buffer: views must be encoded after the shared part, in the same buffer.
      if (shared.buffer !== scratch.buffer) scratch = new Uint8Array(shared.buffer);
      this.fullEncodeCache = shared.slice();
      this.needFullEncode = false;
    }
    if (!this.hasFilters || !client?.view) return this.fullEncodeCache;
    // Another room may have used the scratch since: put this room's shared part back.
    if (scratch.byteLength < this.fullEncodeCache.byteLength) scratch = new Uint8Array(Math.max(this.fullEncodeCache.byteLength * 2, Encoder.BUFFER_SIZE));
    scratch.set(this.fullEncodeCache, 0);
    this.fullEncodeBuffer = scratch;
    // encodeAllView returns a fresh concatenation (shared part + this view), never a view of the scratch.
    const body = this.encoder.encodeAllView(client.view as never, this.sharedOffsetCache.offset, { ...this.sharedOffsetCache }, scratch);
    return body;
  };

  // A patch frame is a view of the scratch buffer; a socket that cannot take it at once keeps a reference
  // (Node queues written buffers uncopied) while the next room's encode overwrites it. Copy it first.
  const raw = WebSocketClient.prototype.raw;
  WebSocketClient.prototype.raw = function (this: WebSocketClient, data: Uint8Array, _options?: unknown, _cb?: unknown) {
    const [, ...rest] = [...arguments];
    return (raw as (...a: unknown[]) => void).call(this, patching ? data.slice() : data, ...rest);
  } as typeof raw;
}
