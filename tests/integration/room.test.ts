import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CloseCodes, type ErrorNotice } from '../../shared/src/index.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { dequantizePose } from '../../shared/src/quantize.ts';
import { POSE_MESSAGE, encodePoseMessage } from '../../shared/src/pose-wire.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { untyped } from '../support/untyped.ts';

const identity = { position: [0, 1, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

async function roomWith(participants: { userId: string; role: 'host' | 'clinician' | 'specialist' | 'surgeon' | 'observer' }[]) {
  return server.createRoom({ participants });
}

const join = (userId: string, roomId: string) => server.join(userId, roomId, { name: `Dr ${userId}` });

describe('clinic room', () => {
  it('two participants see each other and each other\'s poses (quantized within 2 mm)', async () => {
    const room = await roomWith([{ userId: 'ana', role: 'host' }, { userId: 'ben', role: 'clinician' }]);
    const a = await join('ana', room.id);
    const joinedSeenByA: string[] = [];
    const leftSeenByA: string[] = [];
    a.onParticipantJoin((p) => joinedSeenByA.push(p.userId));
    a.onParticipantLeave((p) => leftSeenByA.push(p.userId));
    const b = await join('ben', room.id);

    await eventually(() => a.participants().length === 2 && b.participants().length === 2);
    const anaSeenByBen = b.participants().find((p) => p.userId === 'ana')!;
    expect(anaSeenByBen).toMatchObject({ name: 'Dr ana', role: 'host', connected: true });
    expect(anaSeenByBen.slot).not.toBe(b.participants().find((p) => p.userId === 'ben')!.slot);
    // Before anyone sends a pose there is no avatar to draw.
    expect(b.avatarPose(anaSeenByBen)).toBeNull();
    expect(b.state.info.title).toBe('Test room');
    // Without LIVEKIT_* voice is off and says so; moderation answers VOICE_OFF, nothing fails.
    expect(b.state.info.voice).toBe('off');
    expect(await a.request('voice.mute', { userId: 'ben' })).toMatchObject({ ok: false, error: { code: 'VOICE_OFF' } });

    a.sendPose({
      head: { p: [1.2345, 1.7, -0.5], q: [0, 0.7071068, 0, 0.7071068] },
      left: { p: [1.0, 1.2, -0.3], q: [0, 0, 0, 1] },
      right: null,
    });
    const pose = await eventually(() => {
      const p = b.participants().find((x) => x.userId === 'ana')!;
      const pose = b.avatarPose(p, { interpolate: false });
      return pose && Math.abs(pose.head.p[0] - 1.2345) < 0.002 ? pose : null;
    });
    expect(pose.head.p[1]).toBeCloseTo(1.7, 2);
    expect(pose.head.q[1]).toBeCloseTo(0.7071068, 4);
    expect(pose.left?.p[2]).toBeCloseTo(-0.3, 2);
    expect(pose.right).toBeNull();

    // Out-of-room positions are clamped by the server, not trusted.
    a.sendPose({ head: { p: [1e6, 0, 0], q: [0, 0, 0, 2] } });
    await eventually(() => {
      const p = b.participants().find((x) => x.userId === 'ana')!;
      return Math.abs((b.avatarPose(p, { interpolate: false })?.head.p[0] ?? 0) - 50) < 0.002;
    });
    expect(joinedSeenByA).toEqual(['ana', 'ben']);
    await b.leave();
    await eventually(() => leftSeenByA.length === 1);
    expect(leftSeenByA).toEqual(['ben']);
    await a.leave();
  });

  it('grab lock: one holder at a time, released when the holder leaves', async () => {
    const room = await roomWith([{ userId: 'cara', role: 'host' }, { userId: 'dan', role: 'surgeon' }]);
    const c = await join('cara', room.id);
    const d = await join('dan', room.id);
    const added = await c.add({ id: 'heart', kind: 'model', asset: 'builtin:heart', transform: identity });
    expect(added).toEqual({ ok: true, objectId: 'heart' });

    // Both grab at the same moment: exactly one wins.
    const [r1, r2] = await Promise.all([c.grab('heart'), d.grab('heart')]);
    const winners = [r1, r2].filter((r) => r.ok);
    const losers = [r1, r2].filter((r) => !r.ok);
    expect(winners).toHaveLength(1);
    expect(losers).toEqual([{ ok: false, error: expect.objectContaining({ code: 'OBJECT_LOCKED' }) }]);
    const [holder, other] = r1.ok ? [c, d] : [d, c];
    await eventually(() => other.state.objects.get('heart')?.grabbedBy === holder.sessionId);

    // The other cannot move or release it.
    expect(await other.release('heart')).toMatchObject({ ok: false, error: { code: 'OBJECT_NOT_HELD' } });
    const errors: ErrorNotice[] = [];
    other.onError((e) => errors.push(e));
    other.move('heart', { position: [5, 5, 5], rotation: [0, 0, 0, 1] });
    await eventually(() => errors.some((e) => e.code === 'OBJECT_NOT_HELD' && e.type === 'object.move'));
    expect(holder.state.objects.get('heart')!.px).toBe(0);

    // The holder moves it; everyone sees the move.
    let changes = 0;
    other.onObjectChange(other.state.objects.get('heart')!, () => changes++);
    holder.move('heart', { position: [0.25, 1.5, -0.75], rotation: [0, 0, 0, 1], scale: [2, 2, 2] });
    await eventually(() => other.state.objects.get('heart')!.px === 0.25 && other.state.objects.get('heart')!.sx === 2);
    expect(changes).toBeGreaterThan(0);

    // Leaving releases the lock, and the other can take it.
    await holder.leave();
    await eventually(() => other.state.objects.get('heart')?.grabbedBy === '');
    expect(await other.grab('heart')).toEqual({ ok: true, objectId: 'heart' });
    await other.leave();
  });

  it('observers may not move, add or remove objects; the policy answers FORBIDDEN', async () => {
    const room = await roomWith([{ userId: 'eve', role: 'host' }, { userId: 'obs', role: 'observer' }]);
    const host = await join('eve', room.id);
    const obs = await join('obs', room.id);
    await host.add({ id: 'skull', kind: 'model', asset: 'builtin:skull', transform: identity });

    expect(await obs.grab('skull')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await obs.add({ kind: 'marker', asset: 'builtin:pin', transform: identity })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await obs.remove('skull')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const errors: ErrorNotice[] = [];
    obs.onError((e) => errors.push(e));
    obs.move('skull', { position: [3, 3, 3], rotation: [0, 0, 0, 1] });
    await eventually(() => errors.some((e) => e.code === 'FORBIDDEN'));
    // Observers still have an avatar.
    obs.sendPose({ head: { p: [0, 1.6, 2], q: [0, 0, 0, 1] } });
    await eventually(() => (host.avatarPose(host.participants().find((p) => p.userId === 'obs')!, { interpolate: false })?.head.p[2] ?? 0) > 1.99);
    expect(host.objects().map((o) => o.id)).toEqual(['skull']);
    await Promise.all([host.leave(), obs.leave()]);
  });

  it('a non-host editor may remove only objects they added', async () => {
    const room = await roomWith([{ userId: 'hal', role: 'host' }, { userId: 'ivy', role: 'specialist' }]);
    const host = await join('hal', room.id);
    const ivy = await join('ivy', room.id);
    await host.add({ id: 'host-obj', kind: 'model', asset: 'builtin:femur', transform: identity });
    await ivy.add({ id: 'ivy-obj', kind: 'marker', asset: 'builtin:pin', transform: identity });
    expect(await ivy.remove('host-obj')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await ivy.remove('ivy-obj')).toEqual({ ok: true, objectId: 'ivy-obj' });
    expect(await host.remove('host-obj')).toEqual({ ok: true, objectId: 'host-obj' });
    await eventually(() => ivy.objects().length === 0);
    await Promise.all([host.leave(), ivy.leave()]);
  });

  it('invalid and unknown messages get a stable error code; the room keeps working', async () => {
    const room = await roomWith([{ userId: 'jo', role: 'host' }, { userId: 'kim', role: 'clinician' }]);
    const jo = await join('jo', room.id);
    const kim = await join('kim', room.id);
    const errors: ErrorNotice[] = [];
    jo.onError((e) => errors.push(e));

    untyped(jo).send('pointer.update', { target: ['x', 1, 2] });
    untyped(jo).send('pointer.update', { target: null, extra: 1 });
    untyped(jo).send('pointer.update', null);
    jo.room.send('object.add', { kind: 'model', asset: '../../etc/passwd', transform: identity });
    untyped(jo).send('no.such.message', { a: 1 });
    // The binary pose path: a message whose length does not match its flags, and the old msgpack pose (gone in protocol 4).
    jo.room.sendBytes(POSE_MESSAGE, Uint8Array.of(3, 1, 2, 3));
    untyped(jo).send('pose.update', { head: { p: [0, 0, 0], q: [0, 0, 0, 1] } });
    await eventually(() => errors.length >= 7);
    expect(errors.map((e) => e.code).sort()).toEqual(['MESSAGE_INVALID', 'MESSAGE_INVALID', 'MESSAGE_INVALID', 'MESSAGE_INVALID', 'MESSAGE_INVALID', 'MESSAGE_UNKNOWN', 'MESSAGE_UNKNOWN']);
    expect(errors.find((e) => e.type === 'pointer.update')!.details).toEqual([expect.objectContaining({ path: 'target.0' })]);
    expect(errors.find((e) => e.type === 'pose')!.message).toContain('length');
    expect(errors.find((e) => e.type === 'object.add')!.details).toEqual([expect.objectContaining({ path: 'asset' })]);

    const reply = await untyped(jo).request('object.add', { kind: 'model', asset: 'builtin:heart', transform: { position: [0, 'up'], rotation: [0, 0, 0, 1] } });
    expect(reply).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });

    // Same connection, still served; the other participant unaffected.
    expect(jo.status).toBe('connected');
    expect(await jo.add({ id: 'ok-after-bad', kind: 'model', asset: 'builtin:heart', transform: identity })).toMatchObject({ ok: true });
    await eventually(() => kim.state.objects.has('ok-after-bad'));
    await Promise.all([jo.leave(), kim.leave()]);
  });

  it('a flooding client is rate-limited, then disconnected; others are unaffected', async () => {
    const room = await roomWith([{ userId: 'flood', role: 'clinician' }, { userId: 'calm', role: 'clinician' }]);
    const flood = await join('flood', room.id);
    const calm = await join('calm', room.id);
    const errors: ErrorNotice[] = [];
    flood.onError((e) => errors.push(e));
    let closedWith: number | undefined;
    flood.onStatus((s, code) => s === 'closed' && (closedWith = code));

    // Straight to the socket: the SDK itself would coalesce these into one pose.
    for (let i = 0; i < 700; i++) flood.room.sendBytes(POSE_MESSAGE, encodePoseMessage({ head: { p: [0, 1, i / 1000], q: [0, 0, 0, 1] } }));
    await eventually(() => closedWith !== undefined);
    expect(closedWith).toBe(CloseCodes.RATE_LIMITED);
    expect(errors.some((e) => e.code === 'RATE_LIMITED')).toBe(true);
    await eventually(() => calm.participants().length === 1);
    calm.sendPose({ head: { p: [0, 1, 1], q: [0, 0, 0, 1] } });
    expect(await calm.add({ kind: 'marker', asset: 'builtin:pin', transform: identity })).toMatchObject({ ok: true });
    await calm.leave();
  });

  it('scene survives room close and re-open, bit-exact', async () => {
    const room = await roomWith([{ userId: 'lea', role: 'host' }]);
    let lea = await join('lea', room.id);
    await lea.add({ id: 'a', kind: 'model', asset: 'builtin:heart', label: 'Heart', transform: identity });
    await lea.add({ id: 'b', kind: 'marker', asset: 'builtin:pin', transform: { position: [0.1, 0.2, 0.3], rotation: [0.1, 0.2, 0.3, 0.9], scale: [0.5, 0.5, 0.5] } });
    await lea.grab('a');
    lea.move('a', { position: [0.123456789, 1.1, -2.2], rotation: [0, 0.3826834, 0, 0.9238795] });
    await lea.release('a', { position: [0.3333333, 1.2, -2.25], rotation: [0, 0.3826834, 0, 0.9238795], scale: [1.5, 1.5, 1.5] });
    await lea.remove('b');
    await lea.add({ id: 'c', kind: 'label', asset: 'builtin:pin', label: 'Note', transform: identity });
    // Replies come before the next state patch; wait until this client's view has settled.
    await eventually(() => lea.state.objects.has('c') && !lea.state.objects.has('b') && lea.state.objects.get('a')!.sx === 1.5);
    const before = JSON.stringify(lea.state.objects.toJSON());
    await lea.leave();
    await eventually(async () => !(await (await server.as('it.admin', { admin: true })).api.getRoom(room.id)).live);

    lea = await join('lea', room.id);
    expect(JSON.stringify(lea.state.objects.toJSON())).toBe(before);
    expect(lea.state.objects.get('a')).toMatchObject({ px: Math.fround(0.3333333), sx: 1.5, grabbedBy: '', label: 'Heart' });
    expect(lea.state.objects.has('b')).toBe(false);
    await lea.leave();
  });

  it('a dropped client reconnects to its seat and keeps its identity', async () => {
    const room = await roomWith([{ userId: 'max', role: 'clinician' }, { userId: 'ned', role: 'clinician' }]);
    const max = await join('max', room.id);
    const ned = await join('ned', room.id);
    const token = max.room.reconnectionToken;
    const sessionId = max.sessionId;
    max.room.reconnection.enabled = false;
    max.room.connection.close(4999 as never);
    await eventually(() => ned.participants().find((p) => p.sessionId === sessionId)?.connected === false);
    const client = await server.as('max');
    const back = await client.reconnect(token);
    await back.ready();
    expect(back.sessionId).toBe(sessionId);
    await eventually(() => ned.participants().find((p) => p.sessionId === sessionId)?.connected === true);
    await Promise.all([back.leave(), ned.leave()]);
  });

  it('closing a room (DELETE) disconnects everyone and refuses new tickets', async () => {
    const room = await roomWith([{ userId: 'oli', role: 'host' }]);
    const oli = await join('oli', room.id);
    let closedWith: number | undefined;
    oli.onStatus((s, code) => s === 'closed' && (closedWith = code));
    const admin = await server.as('it.admin', { admin: true });
    await admin.api.closeRoom(room.id);
    await eventually(() => closedWith === CloseCodes.ROOM_CLOSED);
    const client = await server.as('oli');
    await expect(client.api.getTicket(room.id)).rejects.toMatchObject({ code: 'ROOM_CLOSED', status: 410 });
  });

  it('removing a participant (PATCH) disconnects them from the live room', async () => {
    const room = await roomWith([{ userId: 'pam', role: 'host' }, { userId: 'quin', role: 'clinician' }]);
    const pam = await join('pam', room.id);
    const quin = await join('quin', room.id);
    let closedWith: number | undefined;
    quin.onStatus((s, code) => s === 'closed' && (closedWith = code));
    const admin = await server.as('it.admin', { admin: true });
    await admin.api.updateRoom(room.id, { title: 'Renamed', participants: [{ userId: 'pam', role: 'host' }] });
    await eventually(() => closedWith === CloseCodes.REMOVED);
    await eventually(() => pam.state.info.title === 'Renamed' && pam.participants().length === 1);
    await pam.leave();
    await sleep(10);
  });
});

describe('presence tools', () => {
  it('laser pointer, presenter mode and 3D strokes follow the policy and reach everyone', async () => {
    const room = await roomWith([{ userId: 'ph', role: 'host' }, { userId: 'pc', role: 'clinician' }, { userId: 'po', role: 'observer' }]);
    const host = await join('ph', room.id);
    const cli = await join('pc', room.id);
    const obs = await join('po', room.id);

    // Everyone may point; the target is quantized like poses.
    obs.room.send('pointer.update', { target: [0.2, 1.1, -0.3] });
    await eventually(() => {
      const p = host.participants().find((x) => x.userId === 'po')!;
      return p.pointing && Math.abs(dequantizePose(p.pointer).p[2] + 0.3) < 0.002;
    });
    obs.room.send('pointer.update', { target: null });
    await eventually(() => !host.participants().find((x) => x.userId === 'po')!.pointing);

    // Presenter: observers cannot; a clinician may take the free floor but not hand it to others; the host decides.
    expect(await obs.request('presenter.set', { sessionId: obs.sessionId })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await cli.request('presenter.set', { sessionId: host.sessionId })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await cli.request('presenter.set', { sessionId: cli.sessionId })).toMatchObject({ ok: true, presenter: cli.sessionId });
    expect(await host.request('presenter.set', { sessionId: host.sessionId })).toMatchObject({ ok: true });
    expect(await cli.request('presenter.set', { sessionId: cli.sessionId })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await host.request('presenter.set', { sessionId: cli.sessionId })).toMatchObject({ ok: true });
    await eventually(() => obs.state.info.presenter === cli.sessionId);
    await cli.leave();
    await eventually(() => obs.state.info.presenter === '');

    // Strokes carry points (x,y,z triples), and only strokes do.
    const stroke = { kind: 'stroke' as const, asset: 'builtin:pin', color: '#ff0000', points: [0, 0, 0, 0.1, 0.05, 0, 0.2, 0.1, 0.01], transform: { position: [0, 1.2, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] } };
    expect(await host.add({ ...stroke, id: 'st1' })).toMatchObject({ ok: true });
    expect(await host.add({ ...stroke, points: [0, 0, 0, 1] })).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    expect(await host.add({ ...stroke, kind: 'model' })).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    await eventually(() => host.state.objects.get('st1')?.points === '0.000,0.000,0.000,0.100,0.050,0.000,0.200,0.100,0.010');
    // Geometry is for everyone, also the observer's; an id the author typed could carry text (their access decides).
    const drawn = await host.add(stroke);
    expect(drawn.ok).toBe(true);
    await eventually(() => drawn.ok && obs.state.objects.get(drawn.objectId)?.points === '0.000,0.000,0.000,0.100,0.050,0.000,0.200,0.100,0.010');
    await Promise.all([host.leave(), obs.leave()]);
  });
});
