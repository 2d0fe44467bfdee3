/**
 * The floor for windowed pose delivery (issue 20): the least work any server
 * must do to deliver every pose within a window of W ms over WebSocket. A
 * plain `ws` server, no checks, no state, no policy: each binary pose message
 * is appended as it came (slot byte + the bytes) to its room's pending frame;
 * W ms after the first, the frame is WebSocket-framed once and written to
 * every socket of the room — one `socket.write` per recipient per window,
 * exactly what Consilium's flush does (server/src/colyseus/ws-frames.ts).
 * Whatever this costs at W is the kernel's and Node's share; the difference
 * to Consilium at the same W is Consilium's own.
 *   WINDOW_MS=10 tsx bench/fanout/floor-server.ts   (prints "running at http://…")
 * The URL path is /<room>/<slot>.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { binaryFrame } from '../../server/src/colyseus/ws-frames.ts';

const WINDOW_MS = Number(process.env.WINDOW_MS ?? 10);

interface Room {
  sockets: Set<WebSocket>;
  pending: Buffer[];
  timer: NodeJS.Timeout | null;
}
const rooms = new Map<string, Room>();
const socketOf = (ws: WebSocket) => (ws as unknown as { _socket: Socket })._socket;

function flush(room: Room): void {
  room.timer = null;
  const frame = binaryFrame(Buffer.concat(room.pending));
  room.pending = [];
  for (const ws of room.sockets) if (ws.readyState === ws.OPEN) socketOf(ws).write(frame);
}

const httpServer = http.createServer();
const wss = new WebSocketServer({ server: httpServer, perMessageDeflate: false });
wss.on('connection', (ws, req) => {
  const [, name = '', slotText = '0'] = (req.url ?? '/').split('/');
  const slot = Buffer.from([Number(slotText) & 0xff]);
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = { sockets: new Set(), pending: [], timer: null }));
  const r = room;
  r.sockets.add(ws);
  ws.on('message', (data: Buffer) => {
    r.pending.push(slot, data);
    r.timer ??= setTimeout(flush, WINDOW_MS, r);
  });
  ws.on('close', () => {
    r.sockets.delete(ws);
    if (r.sockets.size === 0) {
      if (r.timer) clearTimeout(r.timer);
      rooms.delete(name);
    }
  });
});
httpServer.listen(0, '127.0.0.1', () => process.stdout.write(`running at http://127.0.0.1:${(httpServer.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
