import type { Client } from '@colyseus/core';
import { describe, expectTypeOf, it } from 'vitest';
import type { ClinicSession } from '../../client/src/sdk/session.ts';
import type { RelayedPointer, LinkPing } from '../../shared/src/guidance.ts';
import type { ConsiliumApi } from '../../client/src/sdk/api.ts';
import type { ApiResponses, CaseReadResponse, CaseResourcesPage, LiveRoomDto, RoomDto, TicketResponse } from '../../shared/src/http.ts';
import type { ClientReplies, ClientReply } from '../../shared/src/messages.ts';
import type { ErrorNotice, Reply, ServerMessages } from '../../shared/src/protocol.ts';
import { commands } from '../../server/src/rooms/commands/index.ts';
import type { CommandResult } from '../../server/src/rooms/types.ts';

/**
 * The protocol typed both ways, checked by the compiler (`npm test` runs tsc
 * over this file first): a reply, a payload or a server message that drifts
 * between shared/, the server's commands and the SDK fails to compile here.
 */
type Session = ClinicSession;
type ServerClient = Client<{ messages: ServerMessages }>;

describe('room protocol types', () => {
  it('every command returns its message reply', () => {
    type Returned<N extends keyof typeof commands> = Awaited<ReturnType<(typeof commands)[N]['run']>>;
    expectTypeOf<Returned<'object.grab'>>().toEqualTypeOf<CommandResult<{ objectId: string }>>();
    expectTypeOf<Returned<'presenter.set'>>().toEqualTypeOf<CommandResult<{ presenter: string }>>();
    expectTypeOf<Returned<'participant.kick'>>().toEqualTypeOf<CommandResult<ClientReplies['participant.kick']>>();
    expectTypeOf<Returned<'guidance.clear'>>().toEqualTypeOf<CommandResult<{ removed: number; objectIds: string[]; notRemoved?: string[] }>>();
    // Every message name has exactly one reply type, and nothing else does.
    expectTypeOf<keyof ClientReplies>().toEqualTypeOf<keyof typeof commands>();
  });

  it('the SDK infers each reply from the message name', () => {
    expectTypeOf<ReturnType<Session['grab']>>().toEqualTypeOf<Promise<Reply<{ objectId: string }>>>();
    expectTypeOf<ReturnType<Session['breakGlass']>>().toEqualTypeOf<Promise<Reply<{ requestId: string; status: string; expiresAt: number }>>>();
    expectTypeOf<ReturnType<Session['guidance']['ack']>>().toEqualTypeOf<Promise<Reply<{ objectId: string; ackedAt: number }>>>();
    expectTypeOf<ReturnType<Session['guidance']['clear']>>().toEqualTypeOf<Promise<Reply<ClientReply<'guidance.clear'>>>>();
    const session = null as unknown as Session;
    expectTypeOf<ReturnType<typeof session.request<'voice.mute'>>>().toEqualTypeOf<Promise<Reply<{ userId: string; muted: boolean; applied: boolean }>>>();
    expectTypeOf<ReturnType<typeof session.do<'anchor.set'>>>().toEqualTypeOf<Promise<{ version: number }>>();
  });

  it('payloads are checked both ways', () => {
    const session = null as unknown as Session;
    const client = null as unknown as ServerClient;
    // Compile-time only: these closures are never called.
    const checks = [
      () => session.request('object.grab', { objectId: 'a' }),
      // @ts-expect-error a payload of the wrong shape
      () => session.request('object.grab', { id: 'a' }),
      // @ts-expect-error no such message
      () => session.request('object.fly', {}),
      () => session.room.onMessage('guidance.pointer', (p) => expectTypeOf(p).toEqualTypeOf<RelayedPointer>()),
      () => session.room.onMessage('link.ping', (p) => expectTypeOf(p).toEqualTypeOf<LinkPing>()),
      () => session.room.onMessage('error', (e) => expectTypeOf(e).toEqualTypeOf<ErrorNotice>()),
      () => client.send('link.ping', { n: 1, t: 2 }),
      // @ts-expect-error the server may send only the protocol's messages, with their payloads
      () => client.send('link.ping', { n: 'one' }),
      // @ts-expect-error no such server message
      () => client.send('surprise', {}),
    ];
    expectTypeOf(checks).toBeArray();
  });

  it('HTTP answers are typed by route on both sides', () => {
    expectTypeOf<ReturnType<ConsiliumApi['getRoom']>>().toEqualTypeOf<Promise<RoomDto>>();
    expectTypeOf<ReturnType<ConsiliumApi['listRooms']>>().toEqualTypeOf<Promise<RoomDto[]>>();
    expectTypeOf<ReturnType<ConsiliumApi['getTicket']>>().toEqualTypeOf<Promise<TicketResponse>>();
    expectTypeOf<ReturnType<ConsiliumApi['liveRoom']>>().toEqualTypeOf<Promise<LiveRoomDto>>();
    expectTypeOf<ReturnType<ConsiliumApi['caseResources']>>().toEqualTypeOf<Promise<CaseResourcesPage>>();
    expectTypeOf<ReturnType<ConsiliumApi['readCaseTypes']>>().toEqualTypeOf<Promise<CaseReadResponse>>();
    expectTypeOf<ApiResponses['POST /api/rooms/:id/tickets']>().toEqualTypeOf<TicketResponse>();
    const api = null as unknown as ConsiliumApi;
    const checks = [
      () => api.call('GET /api/rooms/:id', { params: { id: 'x' } }),
      // @ts-expect-error a route's :params are required
      () => api.call('GET /api/rooms/:id', {}),
      // @ts-expect-error no such route
      () => api.call('GET /api/nowhere', {}),
    ];
    expectTypeOf(checks).toBeArray();
  });
});
