/**
 * Stock Colyseus baseline for the fan-out benchmark: what one writes from the
 * Colyseus docs, with Consilium's old int16 pose schema (head + two hands,
 * 7 int16 each: 2 mm positions, 1/32767 quaternion components). Clients send
 * float poses (`pose`, msgpack); the room quantizes them into the state, and
 * Colyseus patches everyone every `patchRate` ms (PATCH_MS, default: Colyseus'
 * own default). No tickets, validation, policy or persistence.
 *   tsx bench/fanout/stock-server.ts   (prints "running at http://…")
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Room, Server, type Client } from '@colyseus/core';
import { schema, t, type SchemaType } from '@colyseus/schema';
import { WebSocketTransport } from '@colyseus/ws-transport';
import type { Pose } from '../../shared/src/messages.ts';
import { quantizePose } from '../../shared/src/quantize.ts';

const QPose = schema({ px: t.int16().default(0), py: t.int16().default(0), pz: t.int16().default(0), qx: t.int16().default(0), qy: t.int16().default(0), qz: t.int16().default(0), qw: t.int16().default(32767) }, 'QPose');
const Avatar = schema({ head: t.ref(QPose).default(() => new QPose()), left: t.ref(QPose).default(() => new QPose()), right: t.ref(QPose).default(() => new QPose()), pointer: t.ref(QPose).default(() => new QPose()) }, 'Avatar');
const State = schema({ participants: t.map(Avatar) }, 'StockState');
type State = SchemaType<typeof State>;

const PATCH_MS = process.env.PATCH_MS ? Number(process.env.PATCH_MS) : undefined;

function set(target: SchemaType<typeof QPose>, pose: Pose | undefined): void {
  if (!pose) return;
  const q = quantizePose(pose);
  target.px = q.px; target.py = q.py; target.pz = q.pz;
  target.qx = q.qx; target.qy = q.qy; target.qz = q.qz; target.qw = q.qw;
}

class StockRoom extends Room<{ state: State }> {
  override state = new State();
  override maxClients = 1000;
  override onCreate(): void {
    if (PATCH_MS) this.setPatchRate(PATCH_MS);
    // A laser pointer as the docs would write it: into the state, delivered with the next patch (grand-rounds bench).
    this.onMessage('pointer', (client: Client, m: { target: [number, number, number] }) => {
      const a = this.state.participants.get(client.sessionId);
      if (a) set(a.pointer, { p: m.target, q: [0, 0, 0, 1] });
    });
    this.onMessage('pose', (client: Client, m: { head: Pose; left?: Pose; right?: Pose }) => {
      const a = this.state.participants.get(client.sessionId);
      if (!a) return;
      set(a.head, m.head);
      set(a.left, m.left);
      set(a.right, m.right);
    });
  }
  override onJoin(client: Client): void {
    this.state.participants.set(client.sessionId, new Avatar());
  }
  override onLeave(client: Client): void {
    this.state.participants.delete(client.sessionId);
  }
}

const httpServer = http.createServer();
const server = new Server({ transport: new WebSocketTransport({ server: httpServer }), greet: false, gracefullyShutdown: false, logger: { debug() {}, info() {}, warn() {}, error: console.error, trace() {} } });
// filterBy: clients name their room (`room` option), so one room per name.
server.define('stock', StockRoom).filterBy(['room']);
await server.listen(0, '127.0.0.1');
process.stdout.write(`running at http://127.0.0.1:${(httpServer.address() as AddressInfo).port}\n`);
process.on('SIGTERM', () => process.exit(0));
