import { LocalPresence } from '@colyseus/core';
import { describe, expect, it } from 'vitest';
import { ReservationsInFlight } from '../../server/src/rooms/matchmaking.ts';

/** The in-flight count on Colyseus' own in-process presence (the Redis one has the same interface), with a clock we move. */
function setup() {
  let now = 1_000_000;
  const presence = new LocalPresence();
  const flights = new ReservationsInFlight(() => presence, 15_000, () => now);
  return { flights, advance: (ms: number) => (now += ms) };
}

describe('seat reservations in flight', () => {
  it('counts what is in flight, not what happened lately', async () => {
    const { flights } = setup();
    // Join and take the seat, ten times over: never more than one in flight.
    for (let i = 0; i < 10; i++) {
      const place = await flights.take('room', 'ann', 3);
      expect(place).not.toBeNull();
      await flights.reserved('room', 'ann', place!, `s${i}`);
      await flights.taken('room', 'ann', `s${i}`);
    }
  });

  it(`refuses beyond the limit until one lands, fails or expires; per user and per room`, async () => {
    const { flights, advance } = setup();
    const places = [await flights.take('room', 'ann', 3), await flights.take('room', 'ann', 3), await flights.take('room', 'ann', 3)];
    expect(places.every((p) => p !== null)).toBe(true);
    expect(await flights.take('room', 'ann', 3)).toBeNull();
    expect(await flights.take('room', 'ann', 3)).toBeNull();
    // Someone else, or another room, is not affected.
    expect(await flights.take('room', 'ben', 3)).not.toBeNull();
    expect(await flights.take('other', 'ann', 3)).not.toBeNull();
    // One made its reservation and its seat was taken; one failed.
    await flights.reserved('room', 'ann', places[0]!, 'sess-1');
    await flights.taken('room', 'ann', 'sess-1');
    expect(await flights.take('room', 'ann', 3)).not.toBeNull();
    expect(await flights.take('room', 'ann', 3)).toBeNull();
    await flights.release('room', places[1]!);
    expect(await flights.take('room', 'ann', 3)).not.toBeNull();
    expect(await flights.take('room', 'ann', 3)).toBeNull();
    // Colyseus gives up on a reservation after 15 s: so does the count.
    advance(14_000);
    expect(await flights.take('room', 'ann', 3)).toBeNull();
    advance(1_001);
    expect(await flights.take('room', 'ann', 3)).not.toBeNull();
  });

  it('a user id with a space cannot be counted as another user', async () => {
    const { flights } = setup();
    for (let i = 0; i < 3; i++) expect(await flights.take('room', 'ann x', 3)).not.toBeNull();
    expect(await flights.take('room', 'ann', 3)).not.toBeNull();
  });
});
