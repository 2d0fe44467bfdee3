import { randomUUID } from 'node:crypto';
import { ErrorCode, matchMaker, ServerError, type AuthContext, type Presence } from '@colyseus/core';
import { z } from 'zod';
import { CLINIC_ROOM } from '../../../shared/src/protocol.ts';
import { AppError } from '../errors.ts';
import { refuse } from './clinic.room.ts';
import type { LiveRooms } from './live-rooms.ts';

const RoomId = z.string().uuid();
let original: typeof matchMaker.controller.invokeMethod | undefined;

export interface MatchmakingDeps {
  live: LiveRooms;
  /** Check a ticket for the room the client asks for (no database work: cheap under floods); refusals are counted. */
  authenticate: (token: string | undefined, options: unknown, ip: string | null | undefined) => Promise<{ sub: string; jti: string; room: string }>;
  /** Mark the ticket used (cross-process, in PostgreSQL); false when it was used before. */
  consumeTicket: (jti: string, roomId: string, userId: string) => Promise<boolean>;
  /** Seats one user may hold in a room: also the most seat reservations in flight per user. */
  maxSeatsPerUser: number;
}

/** Colyseus holds a reserved seat this long for the client to connect (its default seat reservation time). */
const RESERVATION_MS = 15_000;

/**
 * Close the matchmaker to everything but `joinById` and `reconnect`. Colyseus
 * room ids are Consilium room ids, and only the server creates instances
 * (`LiveRooms.ensure`, behind a database lease), so a client can neither
 * create a second copy of a room nor land in a room its ticket does not name:
 * the room id of the request overrides whatever the client put in its options,
 * and the ticket is verified against it before anything is created.
 */
export function guardMatchmaking(deps: MatchmakingDeps): void {
  const inFlight = new ReservationsInFlight(() => matchMaker.presence);
  const controller = matchMaker.controller;
  // Always wrap Colyseus' own method: an app started again in this process replaces the guard, never stacks it.
  original ??= controller.invokeMethod;
  const invoke = original.bind(controller);
  controller.invokeMethod = async (method: string, roomName: string, clientOptions: Record<string, unknown> = {}, authContext?: AuthContext) => {
    // Clients never create or match clinic rooms; other room types (benchmarks) are left alone.
    if (method !== 'joinById') {
      if (roomName === CLINIC_ROOM) throw refuse(new AppError('JOIN_METHOD_REFUSED'));
      return invoke(method, roomName, clientOptions, authContext);
    }
    // joinById's "room name" is the room id: Consilium room ids are UUIDs, Colyseus-generated ids never are.
    const roomId = RoomId.safeParse(roomName);
    if (!roomId.success) return invoke(method, roomName, clientOptions, authContext);
    const options = { ...(typeof clientOptions === 'object' && clientOptions !== null ? clientOptions : {}), room: roomId.data };
    let userId: string;
    let place: string | null = null;
    try {
      const claims = await deps.authenticate(authContext?.token, options, authContext?.ip);
      userId = claims.sub;
      // A ticket reserves one seat: used here, before any seat is held, so one ticket cannot hold a room's seats.
      if (!(await deps.consumeTicket(claims.jti, roomId.data, claims.sub))) throw new AppError('TICKET_USED');
      place = await inFlight.take(roomId.data, userId, deps.maxSeatsPerUser);
      if (!place) throw new AppError('SEAT_LIMIT', 'too many joins in flight for you in this room; connect or wait a few seconds');
      await deps.live.ensure(roomId.data);
      if (await isFull(roomId.data)) throw new AppError('ROOM_FULL');
    } catch (err) {
      if (place) await inFlight.release(roomId.data, place).catch(() => {});
      throw refuse(err);
    }
    let reservation: { sessionId?: unknown };
    try {
      reservation = (await invoke(method, roomName, options, authContext)) as { sessionId?: unknown };
    } catch (err) {
      await inFlight.release(roomId.data, place).catch(() => {});
      throw (await refusedAsFull(err, roomId.data)) ? refuse(new AppError('ROOM_FULL')) : err;
    }
    // From now on the reservation is known by its session id: the room ends its flight when the seat is taken.
    // (Should presence fail here, the place stays counted until it expires: refusing too much, never too little.)
    if (typeof reservation?.sessionId === 'string') await inFlight.reserved(roomId.data, userId, place, reservation.sessionId).catch(() => {});
    return reservation;
  };
}

/** The seat reservation of `sessionId` was used (its client reached onJoin): it is no longer in flight. */
export async function seatTaken(roomId: string, userId: string, sessionId: string): Promise<void> {
  await new ReservationsInFlight(() => matchMaker.presence).taken(roomId, userId, sessionId);
}

async function isFull(roomId: string): Promise<boolean> {
  const listing = await matchMaker.getRoomById(roomId);
  return !!listing && listing.name === CLINIC_ROOM && listing.maxClients > 0 && listing.clients >= listing.maxClients;
}

/**
 * Joins racing past `isFull` are refused by Colyseus itself, in its own words:
 * `joinById` finds the listing locked (Colyseus locks a room when its last
 * seat is reserved) or `reserveSeatFor` finds no seat left ("… is already
 * full."), both of which the SDK could only call UNAVAILABLE. They are full-room
 * refusals: ROOM_FULL. A room locked while not full is shutting down, and keeps
 * Colyseus' answer. (Messages as in @colyseus/core 0.18.17 MatchMaker.ts;
 * tests/integration/admission.test.ts races joins for a last seat.)
 */
async function refusedAsFull(err: unknown, roomId: string): Promise<boolean> {
  const message = err instanceof Error ? err.message : '';
  if (message === `${roomId} is already full.`) return true;
  if (!(err instanceof ServerError && err.code === ErrorCode.MATCHMAKE_INVALID_ROOM_ID && message === `room "${roomId}" is locked`)) return false;
  const listing = await matchMaker.getRoomById(roomId).catch(() => undefined);
  return !!listing && (!listing.locked || listing.clients >= listing.maxClients);
}

/** A field of the room's hash: the user (encoded, so it holds no space), a space, the session. */
const placeOf = (userId: string, sessionId: string) => `${encodeURIComponent(userId)} ${sessionId}`;

/**
 * Seat reservations in flight per room and user: from the matchmaking request
 * until the client's seat is taken (`seatTaken`, from the room's onJoin), the
 * request fails, or Colyseus' reservation expires. Kept in Colyseus presence,
 * so a join reserved through one process and taken in another ends its flight
 * everywhere. One hash per room: field "<user> <session>", value the expiry
 * (expired fields are pruned on every take, so a crashed process leaves nothing
 * counted for long).
 */
export class ReservationsInFlight {
  constructor(
    private readonly presence: () => Presence,
    private readonly ttlMs = RESERVATION_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Hold a place for a reservation about to be made; null (nothing held) when
   * the user already has `limit` in flight. Counted after adding, so requests
   * racing each other can only be refused too often, never let through past `limit`.
   */
  async take(roomId: string, userId: string, limit: number): Promise<string | null> {
    const presence = this.presence();
    const key = keyOf(roomId);
    const place = placeOf(userId, `pending-${randomUUID()}`);
    const now = this.now();
    await presence.hset(key, place, String(now + this.ttlMs));
    let mine = 0;
    for (const [field, until] of Object.entries((await presence.hgetall(key)) ?? {})) {
      if (Number(until) <= now) await presence.hdel(key, field);
      else if (field.startsWith(placeOf(userId, ''))) mine++;
    }
    if (mine <= limit) return place;
    await presence.hdel(key, place);
    return null;
  }

  /** The reservation was made for `sessionId`: its place is now named by it (the same expiry). */
  async reserved(roomId: string, userId: string, place: string, sessionId: string): Promise<void> {
    const presence = this.presence();
    const key = keyOf(roomId);
    await presence.hset(key, placeOf(userId, sessionId), (await presence.hget(key, place)) ?? String(this.now() + this.ttlMs));
    await presence.hdel(key, place);
  }

  /** The seat of this reservation was taken. */
  async taken(roomId: string, userId: string, sessionId: string): Promise<void> {
    await this.release(roomId, placeOf(userId, sessionId));
  }

  /** A place from `take` whose request failed. */
  async release(roomId: string, place: string): Promise<void> {
    await this.presence().hdel(keyOf(roomId), place);
  }
}

const keyOf = (roomId: string) => `consilium:reservations-in-flight:${roomId}`;
