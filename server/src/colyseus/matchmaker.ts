import { ErrorCode, matchMaker, ServerError, type AuthContext } from '@colyseus/core';

/**
 * The matchmaker's internals Consilium relies on (@colyseus/core 0.18.17,
 * src/matchmaker/controller.ts and src/MatchMaker.ts). tests/unit/colyseus-fence.test.ts
 * checks each against the installed Colyseus; assertColyseusFence() (fence.ts) at startup.
 */

/** Colyseus' signature of `matchMaker.controller.invokeMethod(method, roomName, clientOptions, authOptions)`. */
export type InvokeMethod = (method: string, roomName: string, clientOptions: Record<string, unknown>, authContext?: AuthContext) => Promise<unknown>;

/**
 * How long Colyseus holds a reserved seat for its client to connect
 * (Room.ts DEFAULT_SEAT_RESERVATION_TIME: 15 s unless COLYSEUS_SEAT_RESERVATION_TIME is set).
 */
export const SEAT_RESERVATION_MS = Number(process.env.COLYSEUS_SEAT_RESERVATION_TIME || 15) * 1000;

let original: InvokeMethod | undefined;

/** Colyseus' own `invokeMethod`, whether or not the gate is installed. */
export const upstreamInvokeMethod = (): InvokeMethod => original ?? (matchMaker.controller as unknown as { invokeMethod: InvokeMethod }).invokeMethod;

/**
 * Replaces `controller.invokeMethod` (controller.ts), the one function every
 * HTTP matchmaking request (`POST /matchmake/<method>/<roomName>`) goes
 * through before MatchMaker.ts acts on it. Upstream it only checks the method
 * is one of `exposedMethods` and calls `matchMaker[method]`; `gate` decides
 * first and calls `invoke` (Colyseus' own) to go on. An app started again in
 * this process replaces the gate, never stacks it.
 */
export function gateMatchmaking(gate: (invoke: InvokeMethod, ...args: Parameters<InvokeMethod>) => Promise<unknown>): void {
  const controller = matchMaker.controller as unknown as { invokeMethod: InvokeMethod };
  original ??= controller.invokeMethod;
  const invoke = original.bind(controller) as InvokeMethod;
  controller.invokeMethod = (method, roomName, clientOptions = {}, authContext) => gate(invoke, method, roomName, clientOptions, authContext);
}

const handedOver = new WeakMap<object, unknown>();

/**
 * Claims the gate verified, for the room's static `onAuth` to return. Relies on
 * MatchMaker.ts `joinById` → `callOnAuth(roomName, clientOptions, authContext)`
 * passing the very `authContext` object given to `invokeMethod` to the room
 * class's static `onAuth(token, options, context)`, and on Room.ts `_onJoin`
 * using what that returned as `client.auth` (the seat reservation's authData)
 * without calling onAuth again. A WeakMap: nothing a client sends can forge it.
 */
export function handOverClaims(authContext: AuthContext, claims: unknown): void {
  handedOver.set(authContext, claims);
}

/** What the gate handed over for this matchmaking request; undefined when the request did not pass the gate. */
export function claimsHandedOver<T>(authContext: AuthContext | undefined): T | undefined {
  return authContext ? (handedOver.get(authContext) as T | undefined) : undefined;
}

/**
 * Colyseus' own refusals of a full room, in its words (MatchMaker.ts):
 * `reserveSeatFor` → "<roomId> is already full." when Room.ts `_reserveSeat`
 * finds `hasReachedMaxClients()`; `joinById` → `room "<roomId>" is locked`
 * (MATCHMAKE_INVALID_ROOM_ID) when the listing is locked, which Colyseus does
 * when the last seat is reserved — or when the room is shutting down, so a
 * locked room counts as full only when its listing says it is not locked any
 * more or has no seat left.
 */
export async function isFullRoomRefusal(err: unknown, roomId: string): Promise<boolean> {
  const message = err instanceof Error ? err.message : '';
  if (message === `${roomId} is already full.`) return true;
  if (!(err instanceof ServerError && err.code === ErrorCode.MATCHMAKE_INVALID_ROOM_ID && message === `room "${roomId}" is locked`)) return false;
  // getRoomById answers synchronously with the in-memory driver and with a promise with Redis's.
  const listing = await Promise.resolve()
    .then(() => matchMaker.getRoomById(roomId))
    .catch(() => undefined);
  return !!listing && (!listing.locked || listing.clients >= listing.maxClients);
}
