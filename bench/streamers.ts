/**
 * A worker process for the benchmarks: N participants streaming head and hand
 * poses at 30 Hz, every number moving, each on its own phase, so the probe
 * clients in the main process are not sharing an event loop with them.
 *   tsx bench/streamers.ts consilium <url> <roomId> <userPrefix> <count>
 *   tsx bench/streamers.ts stock <url> <roomName> <userPrefix> <count>
 */
import { Client, type Room } from '@colyseus/sdk';
import { WebSocket } from 'ws';
import { ConsiliumClient } from '../client/src/sdk/index.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const [mode, url, room, prefix, countArg] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countArg);
const HZ = 30;

const pose = (i: number, t: number) => ({
  head: { p: [i * 0.5 + Math.sin(t) * 0.05, 1.7 + Math.sin(t * 1.3) * 0.03, Math.cos(t) * 0.04], q: [Math.sin(t / 2) * 0.1, Math.sin(t / 3) * 0.2, Math.cos(t / 5) * 0.05, 0.97] },
  left: { p: [i * 0.5 - 0.2 + Math.sin(t * 2) * 0.1, 1.2 + Math.cos(t) * 0.05, 0.3], q: [Math.sin(t) * 0.2, 0.1, Math.cos(t) * 0.1, 0.97] },
  right: { p: [i * 0.5 + 0.2, 1.2 + Math.cos(t * 1.7) * 0.05, 0.3 + Math.sin(t) * 0.05], q: [0.1, Math.sin(t) * 0.2, 0.05, 0.97] },
});

type Pose = ReturnType<typeof pose>;
const senders: ((p: Pose) => void)[] = [];
for (let i = 0; i < count; i++) {
  if (mode === 'consilium') {
    const c = new ConsiliumClient(url);
    await c.api.devLogin({ userId: `${prefix}${i}`, name: `${prefix}${i}` });
    const session = await c.join(room);
    // Consilium's binary pose path (shared/src/pose-wire.ts), through the SDK.
    senders.push((p) => session.sendPose(p as Parameters<typeof session.sendPose>[0]));
  } else {
    const r: Room = await new Client(url).joinOrCreate(room, { userId: `${prefix}${i}` });
    r.onMessage('pointer', () => {}); // relayed pointers reach everyone; streamers only watch
    senders.push((p) => r.send('pose.update', p));
  }
}
senders.forEach((send, i) => {
  const phase = Math.random() * (1000 / HZ);
  setTimeout(() => {
    let tick = 0;
    setInterval(() => send(pose(i, ++tick / HZ + i)), 1000 / HZ);
  }, phase);
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => process.exit(0));
