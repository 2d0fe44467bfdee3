/**
 * Baseline for `npm run bench`: the plain Colyseus room people start from —
 * float32 poses, no tickets, no validation, no policy, no rate limit, no
 * persistence. Same transport and patch rate as Consilium's room.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Room, Server, type Client } from '@colyseus/core';
import { schema, t, type SchemaType } from '@colyseus/schema';
import { WebSocketTransport } from '@colyseus/ws-transport';

const FPose = schema({ px: t.float32(), py: t.float32(), pz: t.float32(), qx: t.float32(), qy: t.float32(), qz: t.float32(), qw: t.float32() }, 'FPose');
const Player = schema(
  { userId: t.string(), head: t.ref(FPose).default(() => new FPose()), left: t.ref(FPose).default(() => new FPose()), right: t.ref(FPose).default(() => new FPose()), pointer: t.ref(FPose).default(() => new FPose()) },
  'Player',
);
const State = schema({ participants: t.map(Player) }, 'BaselineState');
type State = SchemaType<typeof State>;

interface P { p: number[]; q: number[] }
const set = (target: SchemaType<typeof FPose>, pose: P | null | undefined) => {
  if (!pose) return;
  [target.px, target.py, target.pz] = pose.p as [number, number, number];
  [target.qx, target.qy, target.qz, target.qw] = pose.q as [number, number, number, number];
};

class BaselineRoom extends Room<{ state: State }> {
  override state = new State();
  override patchRate = 1000 / 30;
  override maxClients = 64;
  override maxMessagesPerSecond = 100_000;
  override onCreate(): void {
    this.onMessage('pose.update', (client: Client, m: { head: P; left?: P | null; right?: P | null }) => {
      const p = this.state.participants.get(client.sessionId);
      if (!p) return;
      set(p.head, m.head);
      set(p.left, m.left);
      set(p.right, m.right);
    });
  }
  override onJoin(client: Client, options: { userId?: string }): void {
    const p = new Player();
    p.userId = String(options.userId ?? client.sessionId);
    this.state.participants.set(client.sessionId, p);
  }
  override onLeave(client: Client): void {
    this.state.participants.delete(client.sessionId);
  }
}

/**
 * Stock Colyseus for the guidance scenario, at its default patch rate (50 ms):
 * a pointer either relayed on arrival (`pointer.relay`, the same path as
 * Consilium's guidance pointer) or written into the state (`pointer.state`).
 */
class GuidanceBaselineRoom extends BaselineRoom {
  override patchRate = 50;
  override onCreate(): void {
    super.onCreate();
    this.onMessage('pointer.relay', (client: Client, m: unknown) => this.broadcast('pointer', m, { except: client }));
    this.onMessage('pointer.state', (client: Client, m: { target: [number, number, number] }) => {
      const p = this.state.participants.get(client.sessionId);
      if (p) [p.pointer.px, p.pointer.py, p.pointer.pz] = m.target;
    });
  }
}

const httpServer = http.createServer();
const server = new Server({ transport: new WebSocketTransport({ server: httpServer }), greet: false, gracefullyShutdown: false, logger: { debug() {}, info() {}, warn() {}, error: console.error, trace() {} } });
server.define('baseline', BaselineRoom);
server.define('baseline-guidance', GuidanceBaselineRoom);
await server.listen(0, '127.0.0.1');
process.stdout.write(`running at http://127.0.0.1:${(httpServer.address() as AddressInfo).port}\n`);
process.on('SIGTERM', () => process.exit(0));
