import { ErrorCode, getMessageBytes, matchMaker, Protocol, ResponseStatus, Room, SchemaSerializer } from '@colyseus/core';
import { Encoder } from '@colyseus/schema';
import { WebSocketClient } from '@colyseus/ws-transport';
import { WebSocket } from 'ws';
import { installFullStateFix } from './full-state.ts';
import { upstreamInvokeMethod } from './matchmaker.ts';

/**
 * This folder is the only place that reaches into Colyseus' and `ws`'s
 * internals (private methods, private fields, wire codes, error texts, presence
 * keys). Each file names the upstream code it replaces or relies on, written
 * against these exact versions (pinned in package.json);
 * tests/unit/colyseus-fence.test.ts fails when the installed ones differ or
 * when what they relied on changed.
 */
export const FENCED_VERSIONS = {
  '@colyseus/core': '0.18.17',
  '@colyseus/schema': '5.0.34',
  '@colyseus/ws-transport': '0.18.4',
  '@colyseus/redis-presence': '0.18.5',
  '@colyseus/redis-driver': '0.18.3',
  ws: '8.23.0',
} as const;

/** Colyseus' protocol codes the frame guard reads (Protocol.ts in @colyseus/shared-types); all fit the low 5 bits (frames.ts). */
export const EXPECTED_PROTOCOL = { JOIN_ROOM: 10, LEAVE_ROOM: 12, ROOM_DATA: 13, ROOM_DATA_BYTES: 17, ROOM_REQUEST: 21, ROOM_RESPONSE: 22 } as const;

/** What is missing or changed among the internals this folder patches or relies on (empty when all is as written for). */
export function fenceProblems(): string[] {
  const problems: string[] = [];
  const method = (owner: unknown, name: string, arity: number, where: string) => {
    const fn = (owner as Record<string, unknown> | undefined)?.[name];
    if (typeof fn !== 'function') problems.push(`${where}.${name} is missing`);
    else if (fn.length !== arity) problems.push(`${where}.${name} takes ${fn.length} parameters, not ${arity}`);
  };
  // matchmaker.ts
  method({ invokeMethod: upstreamInvokeMethod() }, 'invokeMethod', 2, 'matchMaker.controller');
  const exposed = (matchMaker.controller as { exposedMethods?: unknown }).exposedMethods;
  if (!Array.isArray(exposed) || !exposed.includes('joinById') || !exposed.includes('reconnect')) problems.push('matchMaker.controller.exposedMethods no longer lists joinById and reconnect');
  method(matchMaker, 'joinById', 1, 'matchMaker');
  method(matchMaker, 'getRoomById', 1, 'matchMaker');
  method(Room, 'onAuth', 3, 'Room (static)');
  if (typeof ErrorCode.MATCHMAKE_INVALID_ROOM_ID !== 'number') problems.push('ErrorCode.MATCHMAKE_INVALID_ROOM_ID is missing');
  // room.ts, frames.ts
  method(Room.prototype, '_onMessage', 2, 'Room.prototype');
  for (const [name, code] of Object.entries(EXPECTED_PROTOCOL)) {
    const actual = (Protocol as Record<string, unknown>)[name];
    if (actual !== code) problems.push(`Protocol.${name} is ${String(actual)}, not ${code}`);
  }
  if (typeof getMessageBytes[Protocol.ROOM_RESPONSE] !== 'function') problems.push('getMessageBytes[Protocol.ROOM_RESPONSE] is missing');
  if (ResponseStatus?.OK === undefined) problems.push('ResponseStatus.OK is missing');
  // full-state.ts
  method(SchemaSerializer.prototype, 'getFullState', 2, 'SchemaSerializer.prototype');
  const serializer = new SchemaSerializer() as unknown as Record<string, unknown>;
  for (const field of ['needFullEncode', 'fullEncodeBuffer', 'sharedOffsetCache', 'hasFilters']) {
    if (!(field in serializer)) problems.push(`SchemaSerializer has no field ${field}`);
  }
  method(SchemaSerializer.prototype, 'applyPatches', 3, 'SchemaSerializer.prototype');
  method(SchemaSerializer.prototype, 'reset', 1, 'SchemaSerializer.prototype');
  method(WebSocketClient.prototype, 'raw', 3, 'WebSocketClient.prototype');
  method(Encoder.prototype, 'encodeView', 3, 'Encoder.prototype');
  method(Encoder.prototype, 'encodeAll', 0, 'Encoder.prototype');
  method(Encoder.prototype, 'encodeAllView', 3, 'Encoder.prototype');
  if (typeof Encoder.BUFFER_SIZE !== 'number') problems.push('Encoder.BUFFER_SIZE is missing');
  // ws-frames.ts: `_socket` is set by WebSocket#setSocket(socket, head, options).
  method(WebSocket.prototype, 'setSocket', 3, 'ws WebSocket.prototype');
  if (WebSocket.OPEN !== 1) problems.push(`ws WebSocket.OPEN is ${WebSocket.OPEN}, not 1`);
  return problems;
}

/**
 * Check the fenced internals, then install the patches that must precede any
 * room (the full-state fix). Called once at startup, before the matchmaking
 * gate and any room: a Colyseus or `ws` upgrade that moved what we patch stops
 * the server with the list, instead of letting it misbehave.
 */
export function installColyseusFence(): void {
  const problems = fenceProblems();
  if (problems.length > 0) {
    throw new Error(
      `Colyseus/ws internals that server/src/colyseus/ patches or relies on have changed (written for ${Object.entries(FENCED_VERSIONS)
        .map(([p, v]) => `${p} ${v}`)
        .join(', ')}): ${problems.join('; ')}`,
    );
  }
  installFullStateFix();
}
