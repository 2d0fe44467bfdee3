import { Protocol } from '@colyseus/core';
import { decode } from '@colyseus/schema';
import { unpack } from 'msgpackr';

/** Colyseus' protocol code lives in the low 5 bits of a frame's first byte. */
const CODE_MASK = 31;

/**
 * What a client frame is to the room (Colyseus 0.18's `Room._onMessage` and
 * `RoomMessages`, @colyseus/core 0.18.17):
 * - `message`: Colyseus hands it to one of the room's message handlers — a data
 *   or bytes frame of any type (the `'*'` handler takes every type without its
 *   own), or a request of a type with a handler (`handled`). Its message takes
 *   the dispatcher's path, which charges the sender's budget.
 * - `control`: anything else Colyseus would act on or drop by itself — PING,
 *   JOIN_ROOM, LEAVE_ROOM, input codes, codes nobody uses, a request no handler
 *   answers. No handler of ours sees it, so the adapter charges it.
 * - `undecodable`: a data, bytes or request frame Colyseus could not decode
 *   (it would print a stack trace per frame and drop the client).
 */
export type FrameKind = 'message' | 'control' | 'undecodable';

export function frameKind(buffer: Uint8Array | undefined, handled: (type: string) => boolean): FrameKind {
  if (!buffer || buffer.byteLength === 0) return 'undecodable';
  const code = buffer[0]! & CODE_MASK;
  if (code !== Protocol.ROOM_DATA && code !== Protocol.ROOM_REQUEST && code !== Protocol.ROOM_DATA_BYTES) return 'control';
  try {
    const it = { offset: 1 };
    if (code === Protocol.ROOM_REQUEST) decode.number(buffer as Buffer, it);
    const type = decode.stringCheck(buffer as Buffer, it) ? decode.string(buffer as Buffer, it) : decode.number(buffer as Buffer, it);
    if (type === undefined || (typeof type === 'number' && !Number.isFinite(type)) || it.offset > buffer.byteLength) return 'undecodable';
    // A bytes message's payload is its bytes, whatever they are.
    if (code !== Protocol.ROOM_DATA_BYTES && buffer.byteLength > it.offset) unpack(buffer.subarray(it.offset));
    return code === Protocol.ROOM_REQUEST && !handled(String(type)) ? 'control' : 'message';
  } catch {
    return 'undecodable';
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

/** LEAVE_ROOM: the client is going; it is let through even over budget (closing is what the budget wants anyway). */
export function isLeave(buffer: Uint8Array): boolean {
  return (buffer[0]! & CODE_MASK) === Protocol.LEAVE_ROOM;
}
