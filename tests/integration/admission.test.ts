import { Client } from '@colyseus/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsiliumError, type ClinicSession, type ConsiliumClient } from '../../client/src/sdk/index.ts';
import { ClinicState, PROTOCOL_VERSION } from '../../shared/src/index.ts';
import { ROOM_CAPACITY } from '../../shared/src/roles.ts';
import { MAX_SEATS_PER_USER } from '../../server/src/app.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Admission (issue 17, items 9 and 10): what counts against a user's joins is
 * the seat reservations really in flight, not recent joins; and a full room
 * answers ROOM_FULL however the joins race.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

/** The refusal code of a join (or JOINED). */
async function outcome(p: Promise<ClinicSession>): Promise<{ code: string; session?: ClinicSession }> {
  try {
    return { code: 'JOINED', session: await p };
  } catch (err) {
    return { code: err instanceof ConsiliumError ? err.code : `UNPARSED ${(err as Error).message}` };
  }
}

/** A seat reservation asked for over HTTP, as an attacker would, without ever connecting. */
async function reserve(client: ConsiliumClient, roomId: string): Promise<{ status: number; body: { sessionId?: string; error?: string } & Record<string, unknown> }> {
  const t = await client.api.getTicket(roomId);
  const res = await fetch(`${server.app.url}/matchmake/joinById/${roomId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.ticket}` },
    body: JSON.stringify({ protocolVersion: PROTOCOL_VERSION }),
  });
  return { status: res.status, body: (await res.json()) as never };
}

describe('seat reservations in flight', () => {
  it('joining, leaving and joining again once a second, eight times, always gets in', async () => {
    const room = await server.createRoom({ participants: [{ userId: 'reload', role: 'clinician' }, { userId: 'watch', role: 'clinician' }] });
    const watcher = await server.join('watch', room.id);
    const me = await server.as('reload');
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const started = Date.now();
      const r = await outcome(me.join(room.id));
      codes.push(r.code);
      if (r.session) {
        await eventually(() => watcher.participants().length === 2);
        await r.session.leave();
        await eventually(() => watcher.participants().length === 1);
      }
      await sleep(Math.max(0, 1000 - (Date.now() - started)));
    }
    expect(codes).toEqual(Array(8).fill('JOINED'));
    await watcher.leave();
  }, 60_000);

  it(`20 reservations by one user without connecting: ${MAX_SEATS_PER_USER} granted, the rest SEAT_LIMIT; a seat taken frees its place`, async () => {
    const room = await server.createRoom({ participants: [{ userId: 'hoard', role: 'clinician' }, { userId: 'other', role: 'clinician' }] });
    const hoarder = await server.as('hoard');
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push(await reserve(hoarder, room.id));
    const granted = answers.filter((a) => a.status === 200 && typeof a.body.sessionId === 'string');
    expect(granted).toHaveLength(MAX_SEATS_PER_USER);
    const refused = answers.filter((a) => a.status !== 200);
    expect(refused).toHaveLength(20 - MAX_SEATS_PER_USER);
    expect(refused.every((a) => String(a.body.error).startsWith('SEAT_LIMIT:'))).toBe(true);
    // Concurrently too: nothing more gets through while the three are in flight.
    const burst = await Promise.all(Array.from({ length: 6 }, () => reserve(hoarder, room.id)));
    expect(burst.filter((a) => a.status === 200)).toHaveLength(0);
    // Someone else is not affected.
    const other = await server.join('other', room.id);
    // Taking one of the reserved seats ends that reservation's flight: one more may be reserved, not two.
    const seat = await new Client(server.app.url).consumeSeatReservation(granted[0]!.body as never, ClinicState);
    await eventually(() => other.participants().length === 2);
    expect((await reserve(hoarder, room.id)).status).toBe(200);
    expect((await reserve(hoarder, room.id)).body.error).toMatch(/^SEAT_LIMIT:/);
    await seat.leave();
    await other.leave();
  }, 60_000);
});

describe('a full room', () => {
  it('joins racing for the last seat: exactly one gets it, every other one is ROOM_FULL (never UNAVAILABLE), round after round', async () => {
    const cap = ROOM_CAPACITY['surgical-guidance'];
    const RACERS = 10;
    const sitters = Array.from({ length: cap - 1 }, (_, i) => `sit-${i}`);
    const racers = Array.from({ length: RACERS }, (_, i) => `race-${i}`);
    const room = await server.createRoom({ kind: 'surgical-guidance', participants: [...sitters, ...racers].map((userId) => ({ userId, role: 'specialist' as const })) });
    const seated: ClinicSession[] = [];
    for (let i = 0; i < sitters.length; i += 8) seated.push(...(await Promise.all(sitters.slice(i, i + 8).map((u) => server.join(u, room.id)))));
    const clients = await Promise.all(racers.map((u) => server.as(u)));
    for (let round = 0; round < 4; round++) {
      const tickets = await Promise.all(clients.map((c) => c.api.getTicket(room.id)));
      const results = await Promise.all(clients.map((c, i) => outcome(c.joinWithTicket(tickets[i]!))));
      const codes = results.map((r) => r.code);
      expect(codes.filter((c) => c === 'JOINED'), `round ${round}: ${codes.join(' ')}`).toHaveLength(1);
      expect(codes.filter((c) => c !== 'JOINED'), `round ${round}: ${codes.join(' ')}`).toEqual(Array(RACERS - 1).fill('ROOM_FULL'));
      const winner = results.find((r) => r.session)!.session!;
      await eventually(() => seated[0]!.participants().length === cap);
      await winner.leave();
      await eventually(() => seated[0]!.participants().length === cap - 1);
    }
    await Promise.all(seated.map((s) => s.leave()));
  }, 120_000);
});
