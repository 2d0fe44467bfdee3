import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket as WsSocket } from 'ws';
import type { ClinicSession } from '../../client/src/sdk/index.ts';
import { CloseCodes, PROTOCOL_VERSION } from '../../shared/src/index.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Issue 17, item 13: every frame a client sends costs its message budget —
 * Colyseus' own protocol codes (PING, JOIN_ROOM, input codes, codes nobody
 * uses), requests nobody handles, WebSocket ping and pong frames — so a flood
 * of any of them ends in 4429 like a flood of messages, while everyone else
 * in the room carries on.
 */
let server: TestServer;
let roomId: string;
const USERS = ['ping', 'input-r', 'input-u', 'unknown-code', 'join-again', 'no-handler', 'empty', 'ws-ping', 'ws-pong'];
beforeAll(async () => {
  server = await startTestServer();
  roomId = (await server.createRoom({ participants: [...USERS, ...USERS.map((u) => `honest-${u}`), 'honest'].map((userId) => ({ userId, role: 'clinician' as const })) })).id;
});
afterAll(async () => {
  await server?.stop();
});

// Colyseus 0.18 protocol codes (the first byte of a frame).
const JOIN_ROOM = 10;
const PING = 18;
const ROOM_INPUT_RELIABLE = 19;
const ROOM_INPUT_UNRELIABLE = 20;
const ROOM_REQUEST = 21;
/** Flood rate: what the issue measured (~1,470 PINGs a second), under Colyseus' own 2,000/s backstop. */
const RATE = 1500;
/** A flood must end within this (the budget: 90/s, burst 180, 300 refusals tolerated → about a third of a second at RATE). */
const BOUND_MS = 5000;

const sendRaw = (s: ClinicSession, bytes: Uint8Array) => (s.room.connection as unknown as { send(d: Uint8Array): void }).send(bytes);

/** Send `frame()` at RATE a second until `closed()` or BOUND_MS + 3 s; returns how long it ran. */
async function flood(send: () => void, closed: () => boolean): Promise<number> {
  const start = Date.now();
  let sent = 0;
  while (!closed() && Date.now() - start < BOUND_MS + 3000) {
    const due = Math.floor(((Date.now() - start) / 1000) * RATE);
    for (; sent < due; sent++) {
      try {
        send();
      } catch {
        /* closing */
      }
    }
    await sleep(10);
  }
  return Date.now() - start;
}

/** While a flood runs, the honest client's requests and pings are answered. */
async function honestMeanwhile(honest: ClinicSession, until: () => boolean): Promise<number> {
  let answered = 0;
  while (!until()) {
    expect(await honest.grab('nothing-here')).toMatchObject({ ok: false, error: { code: 'OBJECT_NOT_FOUND' } });
    answered++;
    await sleep(50);
  }
  return answered;
}

const pingOnce = (s: ClinicSession) => new Promise<number>((resolve) => s.room.ping((ms) => resolve(ms)));

const sdkFloods: [user: string, frame: Uint8Array][] = [
  ['ping', Uint8Array.of(PING)],
  ['input-r', Uint8Array.of(ROOM_INPUT_RELIABLE, 0xc1, 0xff, 0x00)],
  ['input-u', Uint8Array.of(ROOM_INPUT_UNRELIABLE, 0xc1, 0xff, 0x00)],
  ['unknown-code', Uint8Array.of(31, 1, 2, 3)],
  ['join-again', Uint8Array.of(JOIN_ROOM)],
  // A request for a type with no handler: Colyseus answers it itself.
  ['no-handler', Uint8Array.of(ROOM_REQUEST, 0x01, 0xa4, ...Buffer.from('nope'))],
  ['empty', new Uint8Array(0)],
];

describe('the message budget covers every frame', () => {
  it('an honest client may ping', async () => {
    const honest = await server.join('honest', roomId);
    for (let i = 0; i < 5; i++) expect(await pingOnce(honest)).toBeGreaterThanOrEqual(0);
    expect(honest.status).toBe('connected');
    await honest.leave();
  });

  it('a message costs one, not two: a burst just under the budget is answered in full', async () => {
    const honest = await server.join('honest', roomId);
    const replies = await Promise.all(Array.from({ length: 170 }, () => honest.grab('nothing-here')));
    expect(replies.filter((r) => !r.ok && r.error.code === 'OBJECT_NOT_FOUND')).toHaveLength(170);
    await honest.leave();
  });

  for (const [user, frame] of sdkFloods) {
    it(`a flood of ${user} frames ends in ${CloseCodes.RATE_LIMITED}; the honest client in the room keeps working`, async () => {
      const honest = await server.join(`honest-${user}`, roomId);
      const flooder = await server.join(user, roomId);
      flooder.room.reconnection.enabled = false;
      let closed: number | undefined;
      flooder.onStatus((s, code) => s === 'closed' && (closed = code));
      let ran = 0;
      const [, answered] = await Promise.all([
        flood(() => sendRaw(flooder, frame), () => closed !== undefined).then((ms) => (ran = ms)),
        honestMeanwhile(honest, () => closed !== undefined || ran > 0),
      ]);
      expect(closed, `${user}: still open after ${ran} ms`).toBe(CloseCodes.RATE_LIMITED);
      expect(ran).toBeLessThan(BOUND_MS);
      expect(answered).toBeGreaterThan(0);
      expect(honest.status).toBe('connected');
      expect(await pingOnce(honest)).toBeGreaterThanOrEqual(0);
      await eventually(() => !honest.participants().some((p) => p.sessionId === flooder.sessionId));
      await honest.leave();
    }, 30_000);
  }

  for (const kind of ['ping', 'pong'] as const) {
    it(`a flood of WebSocket ${kind} frames ends in ${CloseCodes.RATE_LIMITED}`, async () => {
      const honest = await server.join(`honest-ws-${kind}`, roomId);
      const user = await server.as(`ws-${kind}`);
      const t = await user.api.getTicket(roomId);
      const res = await fetch(`${server.app.url}/matchmake/joinById/${roomId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.ticket}` },
        body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
      });
      const seat = (await res.json()) as { sessionId: string; processId: string; roomId: string };
      const ws = new WsSocket(`${server.app.url.replace(/^http/, 'ws')}/${seat.processId}/${seat.roomId}?sessionId=${seat.sessionId}`);
      let closed: number | undefined;
      ws.on('close', (code) => (closed = code));
      ws.on('error', () => {});
      // Seated once the server's JOIN_ROOM arrives; answering it completes the join, as the SDK does.
      await new Promise<void>((resolve) => ws.once('message', () => resolve()));
      ws.send(Uint8Array.of(JOIN_ROOM));
      await eventually(() => honest.participants().some((p) => p.sessionId === seat.sessionId));
      let ran = 0;
      const [, answered] = await Promise.all([
        flood(() => (kind === 'ping' ? ws.ping() : ws.pong()), () => closed !== undefined).then((ms) => (ran = ms)),
        honestMeanwhile(honest, () => closed !== undefined || ran > 0),
      ]);
      expect(closed, `still open after ${ran} ms`).toBe(CloseCodes.RATE_LIMITED);
      expect(ran).toBeLessThan(BOUND_MS);
      expect(answered).toBeGreaterThan(0);
      expect(honest.status).toBe('connected');
      await honest.leave();
    }, 30_000);
  }
});
