import { Protocol } from '@colyseus/core';
import { decode } from '@colyseus/schema';
import { unpack } from 'msgpackr';

/** Colyseus' protocol code lives in the low 5 bits of a frame's first byte. */
const CODE_MASK = 31;

/**
 * Can Colyseus decode this room frame (message type and msgpack payload)?
 * Only data and request frames carry client payloads; anything else is
 * Colyseus' own business. A frame that cannot be decoded would otherwise make
 * Colyseus print a stack trace per frame and drop the client.
 */
export function isDecodable(buffer: Uint8Array | undefined): boolean {
  if (!buffer || buffer.byteLength === 0) return false;
  const code = buffer[0]! & CODE_MASK;
  if (code !== Protocol.ROOM_DATA && code !== Protocol.ROOM_REQUEST) return true;
  try {
    const it = { offset: 1 };
    if (code === Protocol.ROOM_REQUEST) decode.number(buffer as Buffer, it);
    const type = decode.stringCheck(buffer as Buffer, it) ? decode.string(buffer as Buffer, it) : decode.number(buffer as Buffer, it);
    if (type === undefined || (typeof type === 'number' && !Number.isFinite(type)) || it.offset > buffer.byteLength) return false;
    if (buffer.byteLength > it.offset) unpack(buffer.subarray(it.offset));
    return true;
  } catch {
    return false;
  }
}

/** The request id of a request frame (its first field), or undefined for any other frame. */
export function requestIdOf(buffer: Uint8Array): number | undefined {
  if ((buffer[0]! & CODE_MASK) !== Protocol.ROOM_REQUEST) return undefined;
  try {
    const id = decode.number(buffer as Buffer, { offset: 1 });
    return typeof id === 'number' && Number.isFinite(id) ? id : undefined;
  } catch {
    return undefined;
  }
}
