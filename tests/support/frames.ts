import { WebSocket } from 'ws';
import type { ClinicSession } from '../../client/src/sdk/index.ts';

/**
 * Records every frame each client WebSocket receives, from the first byte of
 * the handshake on, by hooking the `ws` class the SDK uses in Node.
 */
const frames = new WeakMap<object, Buffer[]>();
let installed = false;

export function captureFrames(): void {
  if (installed) return;
  installed = true;
  const proto = WebSocket.prototype as unknown as { emit: (event: string, ...args: unknown[]) => boolean };
  const emit = proto.emit;
  proto.emit = function (this: object, event: string, ...args: unknown[]) {
    if (event === 'message') {
      const data = args[0];
      const list = frames.get(this) ?? [];
      if (Buffer.isBuffer(data)) list.push(Buffer.from(data));
      else if (data instanceof ArrayBuffer) list.push(Buffer.from(new Uint8Array(data)));
      else if (Array.isArray(data)) list.push(Buffer.concat(data as Buffer[]));
      frames.set(this, list);
    }
    return emit.call(this, event, ...args);
  };
}

/** All bytes this session's socket has received so far. */
export function receivedBytes(session: ClinicSession): Buffer {
  const ws = (session.room.connection.transport as unknown as { ws: object }).ws;
  return Buffer.concat(frames.get(ws) ?? []);
}

export function frameCount(session: ClinicSession): number {
  const ws = (session.room.connection.transport as unknown as { ws: object }).ws;
  return frames.get(ws)?.length ?? 0;
}
