/**
 * One frame, many sockets. Server → client WebSocket frames are never masked,
 * so a message bound for every seat frames to the same bytes for all of them:
 * frame it once and write those bytes to each socket, instead of letting the
 * WebSocket library build a header and a two-buffer write per recipient.
 * (With permessage-deflate off — Colyseus' default — `ws` writes each of its
 * own frames whole and at once, so a whole frame written between them cannot
 * tear one.)
 */

/** A complete, unmasked, final binary frame carrying `payload`. */
export function binaryFrame(payload: Uint8Array): Buffer {
  const n = payload.byteLength;
  const headerBytes = n < 126 ? 2 : n < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerBytes + n);
  frame[0] = 0x82; // FIN + binary
  if (n < 126) {
    frame[1] = n;
  } else if (n < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(n, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(n), 2);
  }
  frame.set(payload, headerBytes);
  return frame;
}

/**
 * Relies on `ws` 8.23 (lib/websocket.js): a server-side WebSocket keeps its
 * net.Socket in the private `_socket` (set by `setSocket`), and `readyState`
 * OPEN is 1. Colyseus' `client.ref` is that WebSocket (@colyseus/ws-transport 0.18.4).
 */
interface FramedSocket {
  readyState: number;
  _socket?: { write(chunk: Uint8Array): boolean; destroyed?: boolean };
}

const OPEN = 1;

/** Write a frame from binaryFrame() to the socket under a `ws` WebSocket; false when it cannot (closed, or not a `ws` socket). */
export function writeFrame(ws: unknown, frame: Buffer): boolean {
  const socket = (ws as FramedSocket | null)?._socket;
  if (!socket || socket.destroyed || (ws as FramedSocket).readyState !== OPEN) return false;
  socket.write(frame);
  return true;
}
