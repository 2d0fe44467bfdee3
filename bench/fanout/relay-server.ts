/**
 * Naive JSON relay for the fan-out benchmark: a plain `ws` server; every text
 * message a client sends is rebroadcast as is, on arrival, to every other
 * client in the same room (the URL path names the room). No batching, no
 * state, no checks.
 *   tsx bench/fanout/relay-server.ts   (prints "running at http://…")
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

const rooms = new Map<string, Set<WebSocket>>();
const httpServer = http.createServer();
const wss = new WebSocketServer({ server: httpServer });
wss.on('connection', (ws, req) => {
  const name = req.url ?? '/';
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Set()));
  room.add(ws);
  ws.on('message', (data, isBinary) => {
    for (const peer of room) if (peer !== ws && peer.readyState === peer.OPEN) peer.send(data, { binary: isBinary });
  });
  ws.on('close', () => {
    room.delete(ws);
    if (room.size === 0) rooms.delete(name);
  });
});
httpServer.listen(0, '127.0.0.1', () => process.stdout.write(`running at http://127.0.0.1:${(httpServer.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => process.exit(0));
