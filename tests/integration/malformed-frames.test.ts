import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession } from '../../client/src/sdk/index.ts';
import { CloseCodes, type ErrorNotice } from '../../shared/src/index.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { untyped } from '../support/untyped.ts';
import { capturedLogger } from '../support/log-capture.ts';

/**
 * Frames a client cannot have produced with the SDK: they cost the same
 * budget as messages, are answered MESSAGE_INVALID, are logged at most once
 * per client per interval, and never crash the room or touch anyone else.
 */
const { logger, lines } = capturedLogger('warn');

let server: TestServer;
let roomId: string;
beforeAll(async () => {
  server = await startTestServer({ logger });
  roomId = (await server.createRoom({ participants: [{ userId: 'mal', role: 'clinician' }, { userId: 'ok', role: 'clinician' }] })).id;
});
afterAll(async () => {
  await server?.stop();
});

const ROOM_DATA = 13;
const ROOM_REQUEST = 21;
/** A data frame for `type` whose payload is not msgpack (0xc1 is never used by msgpack). */
const garbage = (type = 'pose.update') => Buffer.from([ROOM_DATA, 0xa0 | type.length, ...Buffer.from(type), 0xc1, 0xc1]);
const sendRaw = (s: ClinicSession, bytes: Buffer) => (s.room.connection as unknown as { send(d: Buffer): void }).send(bytes);

describe('malformed room frames', () => {
  it('are answered MESSAGE_INVALID without losing the connection; valid messages still work', async () => {
    const mal = await server.join('mal', roomId);
    const notices: ErrorNotice[] = [];
    mal.onError((n) => notices.push(n));
    sendRaw(mal, garbage());
    sendRaw(mal, Buffer.from([ROOM_REQUEST])); // truncated request
    sendRaw(mal, Buffer.from([ROOM_DATA, 0xa5])); // type string longer than the frame
    await eventually(() => notices.some((n) => n.code === 'MESSAGE_INVALID'));
    await sleep(100);
    expect(mal.status).toBe('connected');
    expect(await mal.grab('nothing-here')).toMatchObject({ ok: false, error: { code: 'OBJECT_NOT_FOUND' } });
    // The largest valid stroke fits the frame limit.
    const points = Array.from({ length: 900 }, (_, i) => Math.sin(i) * 0.5);
    expect(await mal.add({ kind: 'stroke', asset: 'builtin:pen', points, color: '#ff0000', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } })).toMatchObject({ ok: true });
    await mal.leave();
  });

  it('a flood of them costs the flooding client its connection (4429), logs a line or two, and nobody else notices', async () => {
    const ok = await server.join('ok', roomId);
    const mal = await server.join('mal', roomId);
    const before = lines.filter((l) => l.includes('undecodable')).length;
    let closed: number | undefined;
    mal.onStatus((s, code) => s === 'closed' && (closed = code));
    for (let i = 0; i < 2400; i++) sendRaw(mal, garbage(i % 2 ? 'object.move' : 'pose.update'));
    await eventually(() => closed === CloseCodes.RATE_LIMITED, 5000);
    const logged = lines.filter((l) => l.includes('undecodable')).length - before;
    expect(logged).toBeGreaterThanOrEqual(1);
    expect(logged).toBeLessThanOrEqual(2);
    expect(lines.join('\n')).not.toMatch(/at .*\.(ts|mjs|js):\d+/); // no stack traces
    expect(ok.status).toBe('connected');
    ok.sendPose({ head: { p: [0, 1.6, 0], q: [0, 0, 0, 1] } });
    expect(await ok.grab('nothing-here')).toMatchObject({ ok: false, error: { code: 'OBJECT_NOT_FOUND' } });
    await ok.leave();
  });

  it('a frame over 16 KB is refused and the connection kept; past the socket limit (256 KB) the socket closes 1009', async () => {
    const big = await server.join('mal', roomId);
    const notices: ErrorNotice[] = [];
    big.onError((n) => notices.push(n));
    // A label of 100 KB: the SDK frames it, the server refuses it without reading it.
    const reply = await big.request('object.add', { kind: 'label', asset: 'builtin:pin', label: 'x'.repeat(100_000), transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID', message: 'frames are at most 16384 bytes' } });
    // Fire-and-forget: a notice instead.
    untyped(big).send('object.move', { objectId: 'x', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] }, pad: 'y'.repeat(20_000) });
    await eventually(() => notices.some((n) => n.code === 'MESSAGE_INVALID' && n.message.includes('16384')));
    expect(big.status).toBe('connected');
    expect(await big.add({ kind: 'marker', asset: 'builtin:pin', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } })).toMatchObject({ ok: true });
    let closed: number | undefined;
    big.room.reconnection.enabled = false;
    big.onStatus((s, code) => s === 'closed' && (closed = code));
    sendRaw(big, Buffer.alloc(300_000, 1));
    await eventually(() => closed !== undefined || big.status !== 'connected');
    expect(big.status).not.toBe('connected');
  });
});
