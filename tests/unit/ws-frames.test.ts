import { describe, expect, it } from 'vitest';
import type { Writable } from 'node:stream';
import * as ws from 'ws';

// The `ws` library's own frame parser (what a Node client's WebSocket runs); its types do not declare it.
const Receiver = (ws as unknown as { Receiver: new (o: { isServer: boolean; binaryType: string }) => Writable }).Receiver;
import { binaryFrame } from '../../server/src/colyseus/ws-frames.ts';

/** Parse frames with the `ws` library's own receiver (what a client's WebSocket does). */
function receive(bytes: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    const receiver = new Receiver({ isServer: false, binaryType: 'nodebuffer' });
    receiver.on('message', (data: Buffer, isBinary: boolean) => { expect(isBinary).toBe(true); got.push(data); });
    receiver.on('error', reject);
    receiver.write(bytes, () => resolve(got));
  });
}

describe('shared WebSocket frames', () => {
  it('frames payloads of every length class so a standard receiver reads them back exactly', async () => {
    const sizes = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000];
    const payloads = sizes.map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff)));
    const stream = Buffer.concat(payloads.map((p) => binaryFrame(p)));
    const got = await receive(stream);
    expect(got.map((b) => b.byteLength)).toEqual(sizes);
    got.forEach((b, i) => expect(b.equals(payloads[i]!)).toBe(true));
  });
});
