import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { CloseCodes, type ErrorNotice } from '../../shared/src/index.ts';
import { POSE_FRAME, POSE_MESSAGE, encodePoseMessage, readPoseFrame } from '../../shared/src/pose-wire.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The avatar pose fast path (binary, off the patch cycle) keeps every rule:
 * the budget and the policy, removal and kicks, hostile bytes, and a client
 * that was away catches up. (A client whose socket backs up is skipped and
 * sent a keyframe later: tests/unit/clinic.test.ts drives that in memory.)
 */
let server: TestServer;
let admin: ConsiliumClient;

beforeAll(async () => {
  server = await startTestServer({ reconnectSeconds: 10 });
  admin = await server.as('root', { admin: true });
});
afterAll(async () => {
  await server?.stop();
});

type Role = 'host' | 'clinician' | 'observer';
const room = (participants: { userId: string; role: Role }[]) => admin.api.createRoom({ title: 'Poses', kind: 'case-conference', participants });
const join = (userId: string, roomId: string) => server.join(userId, roomId);
const at = (z: number) => ({ head: { p: [0, 1.6, z] as [number, number, number], q: [0, 0, 0, 1] as [number, number, number, number] } });
const raw = (s: ClinicSession, z: number) => s.room.sendBytes(POSE_MESSAGE, encodePoseMessage(at(z)));

/** Every avatar record a session receives, as [slot, head z]. */
function recordsOf(s: ClinicSession): Array<[number, number]> {
  const seen: Array<[number, number]> = [];
  s.room.onMessage(POSE_FRAME, (bytes: Uint8Array) => readPoseFrame(bytes, (slot, p) => seen.push([slot, p.head.p[2]])));
  return seen;
}
const slotOf = (watcher: ClinicSession, userId: string) => watcher.participants().find((p) => p.userId === userId)!.slot;
const headZ = (watcher: ClinicSession, userId: string) => {
  const p = watcher.participants().find((x) => x.userId === userId);
  return p ? watcher.avatarPose(p, { interpolate: false })?.head.p[2] ?? null : null;
};

describe('avatar pose fast path', () => {
  it('hostile bytes are refused with MESSAGE_INVALID; the room and everyone else keep going', async () => {
    const r = await room([{ userId: 'evil', role: 'clinician' }, { userId: 'ok', role: 'clinician' }]);
    const evil = await join('evil', r.id);
    const ok = await join('ok', r.id);
    const errors: ErrorNotice[] = [];
    evil.onError((e) => errors.push(e));
    let seed = 99;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) & 0xff);
    // 80 fuzzed messages (under the budget): random lengths and bytes, bad flags, impossible rotations.
    for (let i = 0; i < 80; i++) {
      const len = [0, 1, 10, 11, 12, 21, 31, 32, 200, 9000][i % 10]!;
      const bytes = Uint8Array.from({ length: len }, rnd);
      if (len === 11 || len === 31) { bytes[0] = len === 11 ? 0 : 3; new DataView(bytes.buffer).setUint32(7, 0x3fffffff, true); }
      evil.room.sendBytes(POSE_MESSAGE, bytes);
    }
    evil.room.sendBytes(77, Uint8Array.of(1, 2, 3)); // an unknown bytes type
    await eventually(() => errors.some((e) => e.type === 'pose' && e.code === 'MESSAGE_INVALID'));
    expect(evil.status).toBe('connected');
    // Nothing malformed was relayed: ok saw no pose of evil's.
    expect(headZ(ok, 'evil')).toBeNull();
    // Both still work.
    raw(evil, 1.25);
    ok.sendPose(at(0.5));
    await eventually(() => headZ(ok, 'evil') !== null && Math.abs(headZ(ok, 'evil')! - 1.25) < 0.002 && Math.abs((headZ(evil, 'ok') ?? 0) - 0.5) < 0.002);
    await Promise.all([evil.leave(), ok.leave()]);
  });

  it('a binary flood is rate-limited, then disconnected (4429); others are unaffected', async () => {
    const r = await room([{ userId: 'flood', role: 'clinician' }, { userId: 'calm', role: 'clinician' }]);
    const flood = await join('flood', r.id);
    const calm = await join('calm', r.id);
    let closed: number | undefined;
    flood.onStatus((s, c) => s === 'closed' && (closed = c));
    for (let i = 0; i < 800; i++) raw(flood, i / 1000);
    await eventually(() => closed !== undefined);
    expect(closed).toBe(CloseCodes.RATE_LIMITED);
    calm.sendPose(at(2));
    expect(await calm.add({ kind: 'marker', asset: 'builtin:pin', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } })).toMatchObject({ ok: true });
    await calm.leave();
  });

  it('removed or kicked: no more poses in, none out', async () => {
    const r = await room([{ userId: 'h', role: 'host' }, { userId: 'gone', role: 'clinician' }, { userId: 'kick', role: 'observer' }]);
    const host = await join('h', r.id);
    const gone = await join('gone', r.id);
    const kicked = await join('kick', r.id);
    const goneSees = recordsOf(gone);
    const kickedSees = recordsOf(kicked);
    raw(gone, 0.1);
    raw(kicked, 0.2);
    await eventually(() => headZ(host, 'gone') !== null && headZ(host, 'kick') !== null);
    const goneSlot = slotOf(host, 'gone');
    const kickSlot = slotOf(host, 'kick');

    await admin.api.removeParticipant(r.id, 'gone');
    expect(await host.request('participant.kick', { userId: 'kick' })).toMatchObject({ ok: true });
    await eventually(() => gone.status === 'closed' && kicked.status === 'closed');
    const hostSees = recordsOf(host);
    const before = { gone: goneSees.length, kicked: kickedSees.length };
    // Their sockets are closed; even if they were not, the seat is over. The host keeps moving.
    for (let i = 0; i < 5; i++) { host.sendPose(at(i)); await sleep(40); }
    expect(goneSees.length).toBe(before.gone);
    expect(kickedSees.length).toBe(before.kicked);
    expect(hostSees.some(([slot]) => slot === goneSlot || slot === kickSlot)).toBe(false);
    await eventually(() => host.participants().length === 1);
    await host.leave();
  });

  it('a dropped client that reconnects gets every avatar (a keyframe), even those that stood still', async () => {
    const r = await room([{ userId: 'still', role: 'clinician' }, { userId: 'back', role: 'clinician' }]);
    const still = await join('still', r.id);
    const backClient = await server.as('back');
    const back = await backClient.join(r.id);
    await back.ready();
    const sessionId = back.sessionId;
    // Drop back's socket (no leave): the seat is held; still poses once while it is away, then stands still.
    const token = back.room.reconnectionToken;
    back.room.reconnection.enabled = false;
    back.room.connection.close(4999 as never);
    await eventually(() => still.participants().find((p) => p.sessionId === sessionId)?.connected === false);
    raw(still, 4.5);
    await sleep(100);
    const again = await backClient.reconnect(token);
    expect(again.sessionId).toBe(sessionId);
    await again.ready();
    await eventually(() => Math.abs((headZ(again, 'still') ?? 0) - 4.5) < 0.002);
    await Promise.all([still.leave(), again.leave()]);
  });
});
