import { SchemaSerializer } from '@colyseus/core';
import { Encoder } from '@colyseus/schema';
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
 */
interface SerializerInternals {
  needFullEncode: boolean;
  encoder: Encoder & { root: { changes: { next?: unknown } } };
  sharedOffsetCache: { offset: number };
  fullEncodeCache: Uint8Array;
  fullEncodeBuffer: Uint8Array;
  hasFilters: boolean;
}

let installed = false;

export function installFullStateFix(): void {
  if (installed) return;
  installed = true;
  Encoder.BUFFER_SIZE = Math.max(Encoder.BUFFER_SIZE, ROOM_STATE_BUFFER_BYTES);
  const proto = SchemaSerializer.prototype as unknown as { getFullState: (this: SerializerInternals, client?: { view?: unknown }, timing?: unknown) => Uint8Array };
  const original = proto.getFullState;
  proto.getFullState = function (this: SerializerInternals, client, timing) {
    if (timing !== undefined) return original.call(this, client, timing);
    if (this.needFullEncode || this.encoder.root.changes.next !== undefined) {
      this.sharedOffsetCache = { offset: 1 };
      this.fullEncodeCache = this.encoder.encodeAll(this.sharedOffsetCache, this.fullEncodeBuffer);
      // The encoder may have grown the buffer: views must be encoded after the shared part, in the same buffer.
      if (this.fullEncodeCache.buffer !== this.fullEncodeBuffer.buffer) this.fullEncodeBuffer = new Uint8Array(this.fullEncodeCache.buffer);
      this.needFullEncode = false;
    }
    if (!this.hasFilters || !client?.view) return this.fullEncodeCache;
    const body = this.encoder.encodeAllView(client.view as never, this.sharedOffsetCache.offset, { ...this.sharedOffsetCache }, this.fullEncodeBuffer);
    return body;
  };
}
