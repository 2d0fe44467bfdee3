import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchMaker, Protocol, Room, SchemaSerializer, Server, ServerError, type AuthContext, type Client as RoomClient } from '@colyseus/core';
import { Client } from '@colyseus/sdk';
import { WebSocketClient, WebSocketTransport } from '@colyseus/ws-transport';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { EXPECTED_PROTOCOL, FENCED_VERSIONS, fenceProblems, installColyseusFence } from '../../server/src/colyseus/fence.ts';
import { claimsHandedOver, gateMatchmaking, handOverClaims, isFullRoomRefusal } from '../../server/src/colyseus/matchmaker.ts';
import { aliveProcesses, countedProcesses, isProcessAlive, ROOM_COUNT_KEY } from '../../server/src/colyseus/presence.ts';
import { binaryFrame, writeFrame } from '../../server/src/colyseus/ws-frames.ts';

/**
 * The fence around Colyseus' and ws' internals (server/src/colyseus/): each
 * thing the folder patches or relies on is checked here against the installed
 * packages, so an upgrade that changes one fails this file by name instead of
 * quietly breaking admission, the frame budget, full states or pose frames.
 */

// Before anything here installs the full-state fix: the upstream function it replaces, as written for.
const upstreamGetFullState = SchemaSerializer.prototype.getFullState.toString();
const GET_FULL_STATE_SHA256 = '0b34105aa8a5468476161281a078aa97edd644d968be959fac748e041f9439a5';
// The upstream functions full-state.ts wraps to share one encode buffer between rooms (issue 20), as written for.
const upstreamWrapped = {
  'SchemaSerializer.applyPatches': [SchemaSerializer.prototype.applyPatches.toString(), '79432a9780613c2ab928a9738bce3dec03cb5a395af4b4ec4f0cf6c7ba7aea73'],
  'SchemaSerializer.reset': [SchemaSerializer.prototype.reset.toString(), 'b6d8b6272d684bf205216d8e2a0a596b3b425f98f18dc776ea51d5d3a7b81db1'],
  'WebSocketClient.raw': [WebSocketClient.prototype.raw.toString(), '055451017f47ab6352a88b9c61c35a8784c58d2a4c7c1cac1f77e04bc366ca3c'],
} as const;

const root = new URL('../../', import.meta.url);
const pkg = (path: string) => JSON.parse(readFileSync(new URL(path, root), 'utf8')) as { version: string; dependencies: Record<string, string> };

describe('versions', () => {
  it('the installed packages are exactly the ones the fence was written for, and package.json pins them', () => {
    const project = pkg('package.json');
    for (const [name, version] of Object.entries(FENCED_VERSIONS)) {
      expect(pkg(`node_modules/${name}/package.json`).version, name).toBe(version);
      expect(project.dependencies[name], `package.json pins ${name}`).toBe(version);
    }
    // The ws whose private `_socket` we write to is the one Colyseus' transport uses (no nested copy).
    expect(() => readFileSync(new URL('node_modules/@colyseus/ws-transport/node_modules/ws/package.json', root))).toThrow();
  });

  it('SchemaSerializer.getFullState, which full-state.ts replaces for untimed frames, is the one it was copied from', () => {
    expect(createHash('sha256').update(upstreamGetFullState).digest('hex')).toBe(GET_FULL_STATE_SHA256);
  });

  it('the serializer and client methods full-state.ts wraps (one encode buffer per process) are the ones it was written against', () => {
    for (const [name, [source, sha]] of Object.entries(upstreamWrapped)) expect(createHash('sha256').update(source).digest('hex'), name).toBe(sha);
  });
});

describe('the startup guard', () => {
  it('finds every patched or relied-on internal where the fence expects it', () => {
    expect(fenceProblems()).toEqual([]);
    expect({ ...Protocol }).toMatchObject(EXPECTED_PROTOCOL);
    for (const code of Object.values(EXPECTED_PROTOCOL)) expect(code).toBeLessThan(32); // frames.ts masks the low 5 bits
  });

  it('stops the server with a clear error when one is missing or changed', () => {
    const proto = Room.prototype as unknown as Record<string, unknown>;
    const onMessage = proto._onMessage;
    try {
      delete proto._onMessage;
      expect(() => installColyseusFence()).toThrow(/Colyseus\/ws internals.*@colyseus\/core 0\.18\.17.*Room\.prototype\._onMessage is missing/);
      proto._onMessage = (_client: unknown) => {};
      expect(() => installColyseusFence()).toThrow(/Room\.prototype\._onMessage takes 1 parameters, not 2/);
    } finally {
      proto._onMessage = onMessage;
    }
    expect(() => installColyseusFence()).not.toThrow();
  });
});

describe('against a real Colyseus server', () => {
  const joined: unknown[] = [];
  let onAuthCalls = 0;
  class FenceRoom extends Room {
    override maxClients = 1;
    static override async onAuth(_token: string, _options: unknown, context?: AuthContext) {
      onAuthCalls++;
      const claims = claimsHandedOver<{ sub: string }>(context);
      if (!claims) throw new ServerError(401, 'no claims handed over');
      return claims;
    }
    override onJoin(client: RoomClient) {
      joined.push(client.auth);
    }
  }
  let server: Server;
  let url: string;

  beforeAll(async () => {
    const httpServer = http.createServer();
    server = new Server({ transport: new WebSocketTransport({ server: httpServer }), greet: false, gracefullyShutdown: false });
    server.define('fence', FenceRoom);
    gateMatchmaking(async (invoke, method, roomName, options, authContext) => {
      if (authContext && authContext.token === 'good') handOverClaims(authContext, { sub: 'handed-over' });
      return invoke(method, roomName, options, authContext);
    });
    await server.listen(0);
    url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await server.gracefullyShutdown(false);
  });

  it('hands the gate\'s claims to the static onAuth and uses them as client.auth without asking again; refuses what the gate did not hand over', async () => {
    const listing = await matchMaker.createRoom('fence', {});
    const stranger = new Client(url);
    stranger.auth.token = 'bad';
    await expect(stranger.joinById(listing.roomId)).rejects.toMatchObject({ code: 401 });
    const client = new Client(url);
    client.auth.token = 'good';
    onAuthCalls = 0;
    const room = await client.joinById(listing.roomId);
    expect(onAuthCalls).toBe(1);
    expect(joined).toEqual([{ sub: 'handed-over' }]);
    await room.leave();
  });

  it('refuses a full room in the words isFullRoomRefusal knows, and only a full one', async () => {
    const listing = await matchMaker.createRoom('fence', {});
    const auth = (): AuthContext => ({ token: 'good', headers: new Headers(), ip: '127.0.0.1' }) as AuthContext;
    await matchMaker.controller.invokeMethod('joinById', listing.roomId, {}, auth()); // its one seat, reserved: Colyseus locks it
    const locked = await matchMaker.controller.invokeMethod('joinById', listing.roomId, {}, auth()).catch((e: unknown) => e);
    expect((locked as Error).message).toBe(`room "${listing.roomId}" is locked`);
    expect(await isFullRoomRefusal(locked, listing.roomId)).toBe(true);
    const full = await matchMaker.reserveSeatFor((await matchMaker.getRoomById(listing.roomId))!, {}, { sub: 'x' }).catch((e: unknown) => e);
    expect((full as Error).message).toBe(`${listing.roomId} is already full.`);
    expect(await isFullRoomRefusal(full, listing.roomId)).toBe(true);

    // Locked but with seats left (a room shutting down locks itself): not a full-room refusal.
    const other = await matchMaker.createRoom('fence', {});
    await matchMaker.getLocalRoomById(other.roomId)!.lock();
    const shut = await matchMaker.controller.invokeMethod('joinById', other.roomId, {}, auth()).catch((e: unknown) => e);
    expect((shut as Error).message).toBe(`room "${other.roomId}" is locked`);
    expect(await isFullRoomRefusal(shut, other.roomId)).toBe(false);
  });

  it('keeps the presence bookkeeping the dead-process sweep reads: p:<processId> channel and the roomcount hash', async () => {
    await matchMaker.createRoom('fence', {});
    expect(await isProcessAlive(`not-${matchMaker.processId}`)).toBe(false);
    expect(await matchMaker.presence.channels(`p:${matchMaker.processId}`)).toEqual([`p:${matchMaker.processId}`]);
    expect([...(await aliveProcesses())]).toEqual([matchMaker.processId]);
    expect(await countedProcesses()).toContain(matchMaker.processId);
    expect(ROOM_COUNT_KEY).toBe('roomcount');
    const { SWEPT_RECEIPT_TTL } = (await import('@colyseus/core/utils/Utils')) as { SWEPT_RECEIPT_TTL: number };
    expect(SWEPT_RECEIPT_TTL).toBe(600);
  });
});

describe('ws', () => {
  it('a server-side socket carries the private `_socket` that writeFrame writes whole frames to', async () => {
    const wss = new WebSocketServer({ port: 0 });
    try {
      const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
      const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
      const received = new Promise<{ data: Buffer; binary: boolean }>((resolve) => client.once('message', (data: Buffer, binary: boolean) => resolve({ data, binary })));
      const socket = await serverSide;
      expect(typeof (socket as unknown as { _socket?: { write?: unknown } })._socket?.write).toBe('function');
      const payload = Buffer.from('fenced frame');
      expect(writeFrame(socket, binaryFrame(payload))).toBe(true);
      const got = await received;
      expect(got.binary).toBe(true);
      expect(got.data.equals(payload)).toBe(true);
      client.close();
    } finally {
      await new Promise((r) => wss.close(r));
    }
  });
});
