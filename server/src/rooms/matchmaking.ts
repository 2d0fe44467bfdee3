import { matchMaker, ServerError, type AuthContext } from '@colyseus/core';
import { z } from 'zod';
import { CLINIC_ROOM } from '../../../shared/src/protocol.ts';
import { AppError } from '../errors.ts';
import { refusal } from './clinic.ts';
import type { LiveRooms } from './live-rooms.ts';

const RoomId = z.string().uuid();

export interface MatchmakingDeps {
  live: LiveRooms;
  /** Check a ticket for the room the client asks for (no database work: cheap under floods); refusals are counted. */
  authenticate: (token: string | undefined, options: unknown, ip: string | null | undefined) => Promise<unknown>;
}

/**
 * Close the matchmaker to everything but `joinById` and `reconnect`. Colyseus
 * room ids are Consilium room ids, and only the server creates instances
 * (`LiveRooms.ensure`, behind a database lease), so a client can neither
 * create a second copy of a room nor land in a room its ticket does not name:
 * the room id of the request overrides whatever the client put in its options,
 * and the ticket is verified against it before anything is created.
 */
export function guardMatchmaking(deps: MatchmakingDeps): void {
  const controller = matchMaker.controller;
  const invoke = controller.invokeMethod.bind(controller);
  controller.invokeMethod = async (method: string, roomName: string, clientOptions: Record<string, unknown> = {}, authContext?: AuthContext) => {
    // Clients never create or match clinic rooms; other room types (benchmarks) are left alone.
    if (method !== 'joinById') {
      if (roomName === CLINIC_ROOM) throw asServerError(new AppError('JOIN_METHOD_REFUSED'));
      return invoke(method, roomName, clientOptions, authContext);
    }
    // joinById's "room name" is the room id: Consilium room ids are UUIDs, Colyseus-generated ids never are.
    const roomId = RoomId.safeParse(roomName);
    if (!roomId.success) return invoke(method, roomName, clientOptions, authContext);
    const options = { ...(typeof clientOptions === 'object' && clientOptions !== null ? clientOptions : {}), room: roomId.data };
    try {
      await deps.authenticate(authContext?.token, options, authContext?.ip);
      await deps.live.ensure(roomId.data);
    } catch (err) {
      throw asServerError(err);
    }
    const listing = await matchMaker.getRoomById(roomId.data);
    if (listing && listing.name === CLINIC_ROOM && listing.maxClients > 0 && listing.clients >= listing.maxClients) {
      throw asServerError(new AppError('ROOM_FULL'));
    }
    return invoke(method, roomName, options, authContext);
  };
}

function asServerError(err: unknown): ServerError {
  if (err instanceof ServerError) return err;
  const r = refusal(err);
  return new ServerError(r.status, r.message);
}
