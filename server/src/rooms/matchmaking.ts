import { matchMaker, type AuthContext } from '@colyseus/core';
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

/** Colyseus holds a reserved seat this long for the client to connect. */
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
  const reservations = new RecentCount(RESERVATION_MS);
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
    try {
      const claims = await deps.authenticate(authContext?.token, options, authContext?.ip);
      // A ticket reserves one seat: used here, before any seat is held, so one ticket cannot hold a room's seats.
      if (!(await deps.consumeTicket(claims.jti, roomId.data, claims.sub))) throw new AppError('TICKET_USED');
      if (!reservations.take(`${roomId.data} ${claims.sub}`, deps.maxSeatsPerUser)) throw new AppError('SEAT_LIMIT', 'too many joins in flight for you in this room; wait a few seconds');
      await deps.live.ensure(roomId.data);
    } catch (err) {
      throw refuse(err);
    }
    const listing = await matchMaker.getRoomById(roomId.data);
    if (listing && listing.name === CLINIC_ROOM && listing.maxClients > 0 && listing.clients >= listing.maxClients) {
      throw refuse(new AppError('ROOM_FULL'));
    }
    return invoke(method, roomName, options, authContext);
  };
}

/** How many times a key was taken within the last `windowMs`; refuses beyond a limit. */
class RecentCount {
  private readonly times = new Map<string, number[]>();
  constructor(private readonly windowMs: number) {}
  take(key: string, limit: number): boolean {
    const now = Date.now();
    const recent = (this.times.get(key) ?? []).filter((t) => now - t < this.windowMs);
    if (recent.length >= limit) {
      this.times.set(key, recent);
      return false;
    }
    recent.push(now);
    this.times.set(key, recent);
    if (this.times.size > 10_000) for (const [k, v] of this.times) if (v.every((t) => now - t >= this.windowMs)) this.times.delete(k);
    return true;
  }
}

