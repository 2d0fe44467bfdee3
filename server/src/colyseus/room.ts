import { getMessageBytes, Protocol, ResponseStatus, type Client, type Room } from '@colyseus/core';

/**
 * The Room and Client internals the clinic room adapter relies on
 * (@colyseus/core 0.18.17 src/Room.ts, src/Protocol.ts, src/Transport.ts; ws 8.x).
 * tests/unit/colyseus-fence.test.ts checks each against the installed versions.
 */

/** Colyseus' handler of every client frame: `Room.prototype._onMessage(client, buffer)` (Room.ts; a frame with no bytes arrives as undefined). */
export type OnMessage<C> = (client: C, buffer: Uint8Array | undefined) => void;

/**
 * Replaces this room's `_onMessage` (Room.ts), which decodes every frame a
 * client sends (Protocol code in the first byte, then msgpack) and calls the
 * matching `onMessage` handler, answers PING, acts on LEAVE_ROOM — and prints a
 * stack trace and drops the client on bytes it cannot decode. `guard` sees each
 * frame first and calls `colyseus` (the original) to let it through.
 */
export function interceptFrames<C extends Client>(room: Room, guard: (client: C, buffer: Uint8Array | undefined, colyseus: OnMessage<C>) => void): void {
  const self = room as unknown as { _onMessage: OnMessage<C> };
  const original = self._onMessage;
  const colyseus: OnMessage<C> = (client, buffer) => original.call(room, client, buffer);
  self._onMessage = (client, buffer) => guard(client, buffer, colyseus);
}

/**
 * The first bytes of a bytes message of a small numeric type, as Colyseus frames
 * it (Protocol.ROOM_DATA_BYTES, then the type: a number below 128 is one msgpack byte).
 */
export const bytesMessageHeader = (type: number): Uint8Array => Uint8Array.of(Protocol.ROOM_DATA_BYTES, type);

/** Is this frame a bytes message of that small numeric type? (Its payload follows the two header bytes.) */
export const isBytesMessage = (buffer: Uint8Array, type: number): boolean => buffer[0] === Protocol.ROOM_DATA_BYTES && buffer[1] === type;

/**
 * Answer a request frame outside Colyseus' own request path, as Room.ts does
 * for a handler's return value: a ROOM_RESPONSE frame (getMessageBytes, Protocol.ts)
 * with the request id and ResponseStatus.OK, queued with `client.enqueueRaw`.
 */
export function answerRequest(client: Client, requestId: number, body: unknown): void {
  client.enqueueRaw(getMessageBytes[Protocol.ROOM_RESPONSE](requestId, ResponseStatus.OK, body));
}

/** Bytes the client's socket has not sent yet (`ws` WebSocket#bufferedAmount under Colyseus' `client.ref`). */
export function unsentBytes(client: Client): number {
  return (client.ref as { bufferedAmount?: number }).bufferedAmount ?? 0;
}

/**
 * Call `fn` on every WebSocket ping and pong frame of the client's socket:
 * `ws` answers pings itself and they never reach `_onMessage` (Colyseus'
 * `client.ref` is the `ws` WebSocket, an EventEmitter with 'ping'/'pong' events).
 */
export function onSocketPingPong(client: Client, fn: () => void): void {
  const socket = client.ref as { on?: (event: string, listener: () => void) => unknown };
  socket.on?.('ping', fn);
  socket.on?.('pong', fn);
}
