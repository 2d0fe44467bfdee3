import type { ClinicSession } from '../../client/src/sdk/index.ts';

/**
 * Records every frame each client WebSocket receives, from the first message
 * on. The SDK uses the runtime's WebSocket (Node >= 22 has one built in) and
 * assigns `onmessage` right after connecting: wrapping that setter on the
 * prototype sees every frame before the SDK does.
 */
const frames = new WeakMap<object, Buffer[]>();
let installed = false;

export function captureFrames(): void {
  if (installed) return;
  installed = true;
  const proto = globalThis.WebSocket.prototype;
  const desc = Object.getOwnPropertyDescriptor(proto, 'onmessage');
  if (!desc?.set || !desc.get) throw new Error('captureFrames: this runtime has no WebSocket.prototype.onmessage accessor');
  const set = desc.set;
  Object.defineProperty(proto, 'onmessage', {
    ...desc,
    set(this: WebSocket, handler: ((ev: MessageEvent) => unknown) | null) {
      const ws = this;
      const recording = handler
        ? function (this: WebSocket, ev: MessageEvent) {
            record(ws, ev.data);
            return handler.call(this, ev);
          }
        : null;
      set.call(this, recording);
    },
  });
}

function record(ws: object, data: unknown): void {
  const list = frames.get(ws) ?? [];
  if (data instanceof ArrayBuffer) list.push(Buffer.from(new Uint8Array(data)));
  else if (ArrayBuffer.isView(data)) list.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  else if (typeof data === 'string') list.push(Buffer.from(data));
  frames.set(ws, list);
}

function socketOf(session: ClinicSession): object {
  return (session.room.connection.transport as unknown as { ws: object }).ws;
}

/** All bytes this session's socket has received so far. */
export function receivedBytes(session: ClinicSession): Buffer {
  return Buffer.concat(frames.get(socketOf(session)) ?? []);
}

export function frameCount(session: ClinicSession): number {
  return frames.get(socketOf(session))?.length ?? 0;
}
