import { randomUUID } from 'node:crypto';
import { matchMaker, type Presence } from '@colyseus/core';
import { z } from 'zod';
import { CLINIC_ROOM, JoinOptions, PROTOCOL_VERSION } from '../../../shared/src/protocol.ts';
import type { RefusedJoins } from '../audit/refused-joins.ts';
import type { TicketClaims, TicketService } from '../auth/tickets.ts';
import { gateMatchmaking, handOverClaims, isFullRoomRefusal, SEAT_RESERVATION_MS } from '../colyseus/matchmaker.ts';
import { AppError } from '../errors.ts';
import { refuse } from './clinic.room.ts';
import type { LiveRooms } from './live-rooms.ts';

const RoomId = z.string().uuid();

export interface MatchmakingDeps {
  live: LiveRooms;
  tickets: TicketService;
  /** Refused joins become one audit row per address and interval, not one each. */
  refusedJoins: RefusedJoins;
  /** Mark the ticket used (cross-process, in PostgreSQL); false when it was used before. */
  consumeTicket: (jti: string, roomId: string, userId: string) => Promise<boolean>;
  /** Seats one user may hold in a room: also the most seat reservations in flight per user. */
  maxSeatsPerUser: number;
}

/**
 * The way from a ticket to a seat, and which check happens where (each once):
 *
 * 1. Here, before any room instance exists or any seat is held: the ticket's
 *    signature, type, expiry and room (`authenticate`, no database work, so a
 *    flood of forged tickets costs little and creates nothing); then its single
 *    use (`consumeTicket`, one row in PostgreSQL, before a seat is held so one
 *    ticket cannot hold a room's seats); then the user's reservations in flight
 *    (so one user cannot hold a room's seats by reserving without connecting).
 *    The verified claims are handed to the room's `onAuth` as they are: it
 *    verifies nothing again.
 * 2. Colyseus, reserving the seat: the room's capacity (`maxClients`, which the
 *    engine sets from the room's kind). One atomic check in the room's process,
 *    so joins racing for the last seat cannot both get it; its refusal is
 *    translated to ROOM_FULL here.
 * 3. The engine's `admit` (clinic.ts), when the client connects: what only the
 *    live room knows at that moment — the participant list, kicks, the user's
 *    seats held, a revocation since the ticket was issued, and the capacity
 *    again only because the room's kind (and so its capacity) may have shrunk
 *    since the seat was reserved.
 *
 * Everything but `joinById` and `reconnect` is closed. Colyseus room ids are
 * Consilium room ids, and only the server creates instances (`LiveRooms.ensure`,
 * behind a database lease), so a client can neither create a second copy of a
 * room nor land in a room its ticket does not name: the room id of the request
 * overrides whatever the client put in its options.
 */
export function guardMatchmaking(deps: MatchmakingDeps): void {
  const inFlight = new ReservationsInFlight(() => matchMaker.presence);
  gateMatchmaking(async (invoke, method, roomName, clientOptions, authContext) => {
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
      if (!authContext) throw new AppError('TICKET_REQUIRED');
      const claims = await verifyJoin(deps, authContext.token, options, authContext.ip);
      userId = claims.sub;
      if (!(await deps.consumeTicket(claims.jti, roomId.data, claims.sub))) throw new AppError('TICKET_USED');
      place = await inFlight.take(roomId.data, userId, deps.maxSeatsPerUser);
      if (!place) throw new AppError('SEAT_LIMIT', 'too many joins in flight for you in this room; connect or wait a few seconds');
      await deps.live.ensure(roomId.data);
      handOverClaims(authContext, claims);
    } catch (err) {
      if (place) await inFlight.release(roomId.data, place).catch(() => {});
      throw refuse(err);
    }
    let reservation: { sessionId?: unknown };
    try {
      reservation = (await invoke(method, roomName, options, authContext)) as { sessionId?: unknown };
    } catch (err) {
      await inFlight.release(roomId.data, place).catch(() => {});
      // Joins racing for the last seat are refused by Colyseus in its own words, which the SDK could only call UNAVAILABLE.
      throw (await isFullRoomRefusal(err, roomId.data)) ? refuse(new AppError('ROOM_FULL')) : err;
    }
    // From now on the reservation is known by its session id: the room ends its flight when the seat is taken.
    // (Should presence fail here, the place stays counted until it expires: refusing too much, never too little.)
    if (typeof reservation?.sessionId === 'string') await inFlight.reserved(roomId.data, userId, place, reservation.sessionId).catch(() => {});
    return reservation;
  });
}

/**
 * The one verification of a join's ticket, against the room it asks for:
 * protocol version, signature, type, expiry and room; no database work, so a
 * flood costs little. Every refusal is counted for the audit trail (aggregated per address).
 */
async function verifyJoin(deps: Pick<MatchmakingDeps, 'tickets' | 'refusedJoins'>, token: string | undefined, options: { room: string }, ip: string | null | undefined): Promise<TicketClaims> {
  try {
    const join = JoinOptions.safeParse(options);
    if (!join.success) throw new AppError('BODY_INVALID', 'join options must be { room, protocolVersion }');
    if (join.data.protocolVersion !== PROTOCOL_VERSION) throw new AppError('PROTOCOL_MISMATCH', `server speaks protocol ${PROTOCOL_VERSION}`);
    return await deps.tickets.verify(token, join.data.room);
  } catch (err) {
    deps.refusedJoins.note(ip, err instanceof AppError ? err.code : 'INTERNAL', options.room);
    throw err;
  }
}

/** The seat reservation of `sessionId` was used (its client reached onJoin): it is no longer in flight. */
export async function seatTaken(roomId: string, userId: string, sessionId: string): Promise<void> {
  await new ReservationsInFlight(() => matchMaker.presence).taken(roomId, userId, sessionId);
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
    private readonly ttlMs = SEAT_RESERVATION_MS,
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
