import { Protocol } from '@colyseus/core';
import { encode } from '@colyseus/schema';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { frameKind } from '../../server/src/colyseus/frames.ts';

/**
 * Which frames reach a message handler (and so the dispatcher's budget) and
 * which the adapter must charge itself. Frames are built as the SDK builds
 * them; the integration test frame-budget.test.ts floods each kind.
 */
const handled = (type: string) => type === 'object.grab';
function frame(code: number, type: string | number, payload?: unknown, requestId?: number): Uint8Array {
  const head = Buffer.alloc(64);
  const it = { offset: 0 };
  head[it.offset++] = code;
  if (requestId !== undefined) encode.number(head, requestId, it);
  if (typeof type === 'string') encode.string(head, type, it);
  else encode.number(head, type, it);
  return Buffer.concat([head.subarray(0, it.offset), payload === undefined ? Buffer.alloc(0) : code === Protocol.ROOM_DATA_BYTES ? Buffer.from(payload as Uint8Array) : pack(payload)]);
}

describe('frameKind', () => {
  it('data and bytes frames of any type, and requests with a handler, are messages', () => {
    expect(frameKind(frame(Protocol.ROOM_DATA, 'object.grab', { objectId: 'x' }), handled)).toBe('message');
    expect(frameKind(frame(Protocol.ROOM_DATA, 'no.such.type', { a: 1 }), handled)).toBe('message'); // the '*' handler takes it
    expect(frameKind(frame(Protocol.ROOM_DATA, 7), handled)).toBe('message');
    expect(frameKind(frame(Protocol.ROOM_DATA_BYTES, 'blob', Uint8Array.of(0xc1, 0xc1)), handled)).toBe('message');
    expect(frameKind(frame(Protocol.ROOM_REQUEST, 'object.grab', { objectId: 'x' }, 3), handled)).toBe('message');
  });

  it('everything else is control (charged by the adapter) or undecodable', () => {
    for (const code of [Protocol.PING, Protocol.JOIN_ROOM, Protocol.LEAVE_ROOM, Protocol.ROOM_INPUT_RELIABLE, Protocol.ROOM_INPUT_UNRELIABLE, 0, 31]) {
      expect(frameKind(Uint8Array.of(code, 0xc1), handled), `code ${code}`).toBe('control');
    }
    expect(frameKind(frame(Protocol.ROOM_REQUEST, 'no.handler', undefined, 3), handled)).toBe('control');
    expect(frameKind(new Uint8Array(0), handled)).toBe('undecodable');
    expect(frameKind(Uint8Array.of(Protocol.ROOM_REQUEST), handled)).toBe('undecodable');
    expect(frameKind(Uint8Array.of(Protocol.ROOM_DATA_BYTES, 0xcb, 0x01), handled)).toBe('undecodable'); // a float64 type in 1 byte
    expect(frameKind(Buffer.from([Protocol.ROOM_DATA, 0xa3, ...Buffer.from('abc'), 0xc1, 0xc1]), handled)).toBe('undecodable'); // not msgpack (one 0xc1 alone msgpackr reads as a value)
  });
});
