import { describe, expect, it } from 'vitest';
import { readBoundedResponse, ResponseTooLarge } from '../../server/src/outbound.ts';

/** A response whose whole body is already buffered (a fast sender on loopback): `pieces` chunks of 64 KB. */
function buffered(pieces: number, headers: Record<string, string> = {}): Response {
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (let i = 0; i < pieces; i++) c.enqueue(new Uint8Array(64 * 1024).fill(i & 0xff));
      c.close();
    },
  });
  return new Response(body, { headers });
}

describe('readBoundedResponse', () => {
  it('stores every byte in order, handing each piece to onChunk', async () => {
    let seen = 0;
    const bytes = await readBoundedResponse(buffered(20), 2 * 1024 * 1024, (c) => (seen += c.byteLength));
    expect(bytes.byteLength).toBe(20 * 64 * 1024);
    expect(seen).toBe(bytes.byteLength);
    for (let i = 0; i < 20; i++) expect(bytes[i * 64 * 1024]).toBe(i);
  });

  it('a body that is all buffered already is read over several turns of the event loop, not in one', async () => {
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const turnsAtChunk: number[] = [];
    await readBoundedResponse(buffered(64), 8 * 1024 * 1024, () => turnsAtChunk.push(turns));
    running = false;
    // 4 MB in pieces of 64 KB: a turn at least every 512 KB, so the rooms' timers and sockets run in between.
    expect(new Set(turnsAtChunk).size).toBeGreaterThanOrEqual(7);
  });

  it('stops at the limit, declared or counted', async () => {
    await expect(readBoundedResponse(buffered(4, { 'content-length': String(10 * 1024 * 1024) }), 1024 * 1024)).rejects.toBeInstanceOf(ResponseTooLarge);
    await expect(readBoundedResponse(buffered(20), 1024 * 1024)).rejects.toBeInstanceOf(ResponseTooLarge);
  });
});
