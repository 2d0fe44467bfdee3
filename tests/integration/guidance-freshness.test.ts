import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { acknowledgementText, acknowledgerOf, GuidanceServerMessages, type RelayedPointer } from '../../shared/src/guidance.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { slowUplink } from '../support/uplink.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Guidance is never shown fresher than it is, against the real server with
 * real SDK clients: while any guiding link is in warning every relayed
 * pointer says `stale` (also the one a client already holds), and no client
 * clock decides an annotation's or a pointer's age.
 */
let server: TestServer;
let admin: ConsiliumClient;
let roomId: string;
let surgeon: ClinicSession;
let spec: ClinicSession;
let host: ClinicSession;

const I = { position: [0, 0, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };
const YEAR = 365 * 24 * 3600 * 1000;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  roomId = (
    await admin.api.createRoom({
      title: 'Guided hernia repair',
      kind: 'surgical-guidance',
      participants: [
        { userId: 'dr.cut', role: 'surgeon' },
        { userId: 'dr.spec', role: 'specialist' },
        { userId: 'dr.adams', role: 'host' },
      ],
    })
  ).id;
  surgeon = await server.join('dr.cut', roomId, { name: 'Dr. Cut' });
  spec = await server.join('dr.spec', roomId, { name: 'Dr. Spec' });
  host = await server.join('dr.adams', roomId, { name: 'Dr. Adams' });
});
afterAll(async () => {
  await server?.stop();
});

/** Every `guidance.pointer` message this session receives, raw, with whether its room was warning when it arrived. */
function recordPointers(session: ClinicSession): { p: RelayedPointer; warned: boolean }[] {
  const got: { p: RelayedPointer; warned: boolean }[] = [];
  session.room.onMessage(GuidanceServerMessages.pointer, (p: RelayedPointer) => got.push({ p, warned: session.state.info.linkWarning !== '' }));
  return got;
}

describe('guidance freshness', () => {
  it("the surgeon's slow link: every pointer of the specialist relayed to the surgeon while the warning is up says stale; live again after recovery", async () => {
    await eventually(() => surgeon.state.info.linkWarning === '', 8000, 50);
    const got = recordPointers(surgeon);
    const fromSpec = () => got.filter((g) => g.p.sessionId === spec.sessionId).map((g) => g.p);
    const restore = slowUplink(surgeon, 300);
    const slowedAt = Date.now();
    const timer = setInterval(() => spec.guidance.point([0.04, 0.02, 0]), 40);
    try {
      await eventually(() => surgeon.state.info.linkWarning.includes('Dr. Cut (surgeon) is slow'), 5000, 20);
      const warnedAfterMs = Date.now() - slowedAt;
      // Within the warning's time: the pointers that arrive with the warning in the surgeon's state are stale.
      await eventually(() => got.filter((g) => g.warned && g.p.sessionId === spec.sessionId).length >= 5, 3000);
      const during = got.filter((g) => g.warned && g.p.sessionId === spec.sessionId);
      expect(during.map((g) => g.p.stale)).toEqual(during.map(() => true));
      expect(surgeon.guidance.pointers().find((p) => p.sessionId === spec.sessionId)).toMatchObject({ stale: true, current: false });
      // Measured: the warning comes up within about 0.7 s of the slowdown; generous here for a loaded machine.
      expect(warnedAfterMs).toBeLessThan(3000);
    } finally {
      clearInterval(timer);
      restore();
    }
    await eventually(() => surgeon.state.info.linkWarning === '', 8000, 50);
    spec.guidance.point([0.03, 0.03, 0.03]);
    await eventually(() => fromSpec().at(-1)?.target?.[0] === 0.03, 3000);
    expect(fromSpec().at(-1)!.stale).toBe(false);
    await eventually(() => surgeon.guidance.pointers().find((p) => p.sessionId === spec.sessionId)?.current === true, 3000);
    spec.guidance.point(null);
  }, 30_000);

  it('a pointer the surgeon already holds is re-marked stale when the warning comes up, and is not declared live again when it clears', async () => {
    await eventually(() => surgeon.state.info.linkWarning === '', 8000, 50);
    const got = recordPointers(surgeon);
    spec.guidance.point([0.01, 0.02, 0]);
    await eventually(() => got.some((g) => g.p.sessionId === spec.sessionId && g.p.target?.[0] === 0.01));
    await sleep(100);
    const from = got.findIndex((g) => g.p.sessionId === spec.sessionId && g.p.target?.[0] === 0.01);
    const fromSpec = () => got.slice(from).filter((g) => g.p.sessionId === spec.sessionId).map((g) => g.p);
    expect(fromSpec()).toHaveLength(1);
    expect(fromSpec()[0]!.stale).toBe(false);

    // The surgeon's uplink slows; the specialist does not move.
    const restore = slowUplink(surgeon, 300);
    try {
      await eventually(() => surgeon.state.info.linkWarning.includes('Dr. Cut (surgeon) is slow'), 5000, 20);
      await eventually(() => fromSpec().length === 2, 2000, 20);
      // Re-marked, not refreshed: the same pointer with its original relay time.
      expect(fromSpec()[1]).toEqual({ ...fromSpec()[0], stale: true });
      expect(surgeon.guidance.pointers().find((p) => p.sessionId === spec.sessionId)).toMatchObject({ stale: true, current: false });
    } finally {
      restore();
    }
    await eventually(() => surgeon.state.info.linkWarning === '', 8000, 50);
    await sleep(300);
    expect(fromSpec()).toHaveLength(2);
    expect(surgeon.guidance.pointers().find((p) => p.sessionId === spec.sessionId)).toMatchObject({ stale: true, current: false });
    spec.guidance.point(null);
  }, 30_000);

  it("the specialist's own slow link: the surgeon receives the specialist's pointers stale while warned, live after", async () => {
    await eventually(() => surgeon.state.info.linkWarning === '', 8000, 50);
    const got = recordPointers(surgeon);
    const restore = slowUplink(spec, 300);
    const timer = setInterval(() => spec.guidance.point([0.05, 0.05, 0.05]), 40);
    try {
      await eventually(() => surgeon.state.info.linkWarning.includes('Dr. Spec (specialist)'), 5000, 20);
      const n = got.length;
      await eventually(() => got.length >= n + 5, 3000);
      expect(got.slice(n).every((g) => g.p.stale)).toBe(true);
    } finally {
      clearInterval(timer);
      restore();
    }
    await eventually(() => surgeon.state.info.linkWarning === '', 8000, 50);
    spec.guidance.point([0.06, 0.06, 0.06]);
    await eventually(() => got.at(-1)!.p.target?.[0] === 0.06, 3000);
    expect(got.at(-1)!.p.stale).toBe(false);
    spec.guidance.point(null);
  }, 30_000);

  it('a stroke stamped a year ahead or a year behind is stored with the server time; so is a pointer', async () => {
    for (const [id, skew] of [['ahead', YEAR], ['behind', -YEAR]] as const) {
      for (const frame of ['video', 'patient'] as const) {
        const before = Date.now();
        const reply = await spec.add({ id: `${id}-${frame}`, kind: 'stroke', asset: 'builtin:pen', frame, points: [0.2, 0.2, 0, 0.3, 0.3, 0], videoTime: 1000, sentAt: Date.now() + skew, transform: I });
        expect(reply).toMatchObject({ ok: true });
        const after = Date.now();
        const stored = await eventually(() => surgeon.state.objects.get(`${id}-${frame}`));
        expect(stored.sentAt, `${id} ${frame}`).toBeGreaterThanOrEqual(before - 5);
        expect(stored.sentAt, `${id} ${frame}`).toBeLessThanOrEqual(after + 5);
        expect(stored.videoTime).toBe(1000); // media time is the client's to say
      }
    }
    // What is persisted (and loaded after a restart) is the server's time too.
    const db = new pg.Client({ connectionString: server.db.url });
    await db.connect();
    try {
      const rows = await db.query<{ id: string; sent_at: string }>("select id, sent_at from scene_objects where id like 'ahead-%' or id like 'behind-%'");
      expect(rows.rows).toHaveLength(4);
      for (const r of rows.rows) expect(Math.abs(Number(r.sent_at) - Date.now()), r.id).toBeLessThan(60_000);
    } finally {
      await db.end();
    }

    // A pointer's client time is not passed on either: its `sentAt` is the server's relay time.
    const got = recordPointers(surgeon);
    const before = Date.now();
    spec.room.send('pointer.update', { target: [0.1, 0.1, 0.1], sentAt: Date.now() + YEAR });
    await eventually(() => got.some((g) => g.p.sessionId === spec.sessionId && g.p.target?.[0] === 0.1));
    const p = got.find((g) => g.p.target?.[0] === 0.1)!.p;
    expect(p.sentAt).toBe(p.serverAt);
    expect(p.serverAt).toBeGreaterThanOrEqual(before - 5);
    expect(p.serverAt).toBeLessThanOrEqual(Date.now() + 5);
    spec.guidance.point(null);
  });

  it("the specialist is told who acknowledged: the host's acknowledgement is not \"seen by surgeon\", for a video stroke or a 3D annotation", async () => {
    for (const [id, frame] of [['vid-ack', 'video'], ['arrow-ack', 'patient']] as const) {
      expect(await spec.add({ id, kind: 'stroke', asset: 'builtin:pen', frame, points: [0.2, 0.2, 0, 0.3, 0.3, 0], transform: I })).toMatchObject({ ok: true });
    }
    expect(await host.guidance.ack('vid-ack')).toMatchObject({ ok: true });
    expect(await surgeon.guidance.ack('arrow-ack')).toMatchObject({ ok: true });
    const said = (id: string) => {
      const o = spec.state.objects.get(id);
      return o && o.ackedAt > 0 ? acknowledgementText(o, acknowledgerOf(spec.participants(), o.ackedBy)) : undefined;
    };
    expect(await eventually(() => said('vid-ack'))).toBe('Acknowledged by Dr. Adams (host)');
    expect(await eventually(() => said('arrow-ack'))).toBe('Seen by Dr. Cut (surgeon)');
  });
});
