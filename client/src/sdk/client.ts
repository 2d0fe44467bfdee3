import { Client } from '@colyseus/sdk';
import { PROTOCOL_VERSION } from '../../../shared/src/protocol.ts';
import type { TicketResponse } from '../../../shared/src/http.ts';
import { ClinicState } from '../../../shared/src/state.ts';
import { ConsiliumApi } from './api.ts';
import { fromJoinError } from './errors.ts';
import { ClinicSession } from './session.ts';

/**
 * Entry point of the SDK.
 *
 *   const consilium = new ConsiliumClient('https://consilium.example.org');
 *   await consilium.api.devLogin({ userId: 'dr.adams', name: 'Dr. Adams' }); // or set api.identityToken
 *   const session = await consilium.join(roomId);
 */
export class ConsiliumClient {
  readonly api: ConsiliumApi;

  constructor(baseUrl: string) {
    this.api = new ConsiliumApi(baseUrl);
  }

  /** Get a ticket for the room and join with it. */
  async join(roomId: string): Promise<ClinicSession> {
    return this.joinWithTicket(await this.api.getTicket(roomId));
  }

  /**
   * Join with a ticket obtained elsewhere: the ticket is the only credential
   * the room accepts, and it opens one seat (get a new ticket for each join).
   * Rooms are joined by their id; the server starts the room if needed.
   */
  async joinWithTicket(ticket: Pick<TicketResponse, 'ticket' | 'roomId' | 'endpoint'>): Promise<ClinicSession> {
    // The ticket travels as the matchmaking request's Authorization header only. Setting
    // `client.auth.token` instead would also copy it into the WebSocket URL (`_authToken=`),
    // where proxies and access logs keep it; the room authenticates at matchmaking, and the
    // socket then only presents the one-time seat reservation.
    const client = new Client(ticket.endpoint, { headers: { authorization: `Bearer ${ticket.ticket}` } });
    try {
      const room = await client.joinById(ticket.roomId, { protocolVersion: PROTOCOL_VERSION }, ClinicState);
      return new ClinicSession(room);
    } catch (err) {
      throw fromJoinError(err);
    }
  }

  /** Re-enter a seat the server is still holding (after a dropped connection). */
  async reconnect(reconnectionToken: string, endpoint = this.api.baseUrl): Promise<ClinicSession> {
    const client = new Client(endpoint);
    try {
      return new ClinicSession(await client.reconnect(reconnectionToken, ClinicState));
    } catch (err) {
      throw fromJoinError(err);
    }
  }
}
