import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { ImagingListResponse } from '../../shared/src/imaging.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { untyped } from '../support/untyped.ts';

/**
 * The room's shared image viewer and measurements on a slice, on the real
 * stack: pydicom's CT series uploaded to a case of its fictional patient, a
 * presenter, followers with and without ImagingStudy, raw frames checked.
 */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dicom/ct-series');

let server: TestServer;
let dataDir: string;
let caseId: string;
let roomId: string;
let key: string;
const sessions: ClinicSession[] = [];

function bundle() {
  const patientUrl = 'urn:uuid:0b3f2a52-2222-4a1b-9c55-cccccccccccc';
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [{ fullUrl: patientUrl, resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: '98890234' }], name: [{ family: 'Doe', given: ['Peter'] }], gender: 'male' } }],
  };
}

async function list(client: ConsiliumClient): Promise<ImagingListResponse> {
  const res = await fetch(new URL(`/api/cases/${caseId}/imaging?room=${roomId}`, server.app.url), { headers: { authorization: `Bearer ${client.api.identityToken}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as ImagingListResponse;
}

async function join(userId: string): Promise<ClinicSession> {
  const s = await server.join(userId, roomId);
  sessions.push(s);
  return s;
}

beforeAll(async () => {
  captureFrames();
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-viewer-'));
  server = await startTestServer({}, { DATA_DIR: dataDir });
  const admin = await server.as('root', { admin: true });
  ({ caseId } = await admin.api.importCase(bundle()));
  for (const name of (await readdir(FIXTURES)).sort()) await admin.api.uploadDicom(caseId, new Uint8Array(await readFile(path.join(FIXTURES, name))));
  const room = await server.createRoom({
    caseId,
    participants: [
      { userId: 'v.host', role: 'host' },
      { userId: 'v.cli', role: 'clinician' },
      { userId: 'v.obs', role: 'observer' },
      { userId: 'v.labs', role: 'clinician', scopes: ['patient/Patient.rs', 'patient/Observation.rs'] },
    ],
  });
  roomId = room.id;
}, 60_000);
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.leave().catch(() => {})));
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('the shared image viewer', () => {
  let host: ClinicSession;
  let cli: ClinicSession;
  let obs: ClinicSession;
  let labs: ClinicSession;

  beforeAll(async () => {
    [host, cli, obs, labs] = await Promise.all([join('v.host'), join('v.cli'), join('v.obs'), join('v.labs')]);
  });

  it('names a series by one key every viewer resolves: the identified UID for clinicians, the pseudonym for observers', async () => {
    const [cliList, obsList] = await Promise.all([list(await server.as('v.cli', { scopes: ['patient/*.rs'] })), list(await server.as('v.obs', { scopes: ['patient/*.rs'] }))]);
    const c = cliList.studies[0]!.series[0]!;
    const o = obsList.studies[0]!.series[0]!;
    expect(c.key).toBe(o.key);
    expect(o.seriesUid).toBe(o.key); // de-identified: the key is their UID
    expect(c.seriesUid).not.toBe(c.key);
    expect(c.key).toMatch(/^2\.25\.\d+$/);
    key = c.key;
  });

  it('follows whoever drives it; only seats with ImagingStudy learn which series is open', async () => {
    const r = await host.request('viewer.set', { series: key, slice: 3, center: -600, width: 1500, zoom: 2, panX: 0.1, panY: -0.2 });
    expect(r.ok).toBe(true);
    for (const s of [cli, obs]) {
      await eventually(() => expect(s.state.viewer.get('shared')).toMatchObject({ series: key, slice: 3, center: -600, width: 1500, zoom: 2, by: host.sessionId }));
    }
    expect(cli.state.viewer.get('shared')!.panX).toBeCloseTo(0.1, 5);
    // The participant without ImagingStudy has no viewer at all, and the key never reached its socket.
    await new Promise((res) => setTimeout(res, 300));
    expect(labs.state.viewer.get('shared')).toBeUndefined();
    expect(receivedBytes(labs).includes(Buffer.from(key))).toBe(false);
    expect(receivedBytes(cli).includes(Buffer.from(key))).toBe(true);
  });

  it('a new series opens at its first slice, fitted', async () => {
    await host.request('viewer.set', { series: '2.25.1234', center: 40 });
    await eventually(() => expect(cli.state.viewer.get('shared')).toMatchObject({ series: '2.25.1234', slice: 0, zoom: 1, panX: 0, center: 40 }));
    await host.request('viewer.set', { series: key, slice: 2 });
    await eventually(() => expect(cli.state.viewer.get('shared')).toMatchObject({ series: key, slice: 2 }));
  });

  it('the presenter drives; others, observers and those without ImagingStudy are refused', async () => {
    // Nobody presents: an editor without images may not; an observer may not.
    expect(await labs.request('viewer.set', { slice: 1 })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await obs.request('viewer.set', { slice: 1 })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    // The clinician presents: the host's scrolling no longer moves the room's viewer.
    expect((await cli.request('presenter.set', { sessionId: cli.sessionId })).ok).toBe(true);
    expect(await host.request('viewer.set', { slice: 4 })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const before = cli.state.viewer.get('shared')!.seq;
    const seq = await cli.request('viewer.set', { slice: 4 });
    expect(seq).toMatchObject({ ok: true, seq: before + 1 });
    await eventually(() => expect(host.state.viewer.get('shared')!.slice).toBe(4));
    // The host makes the observer presenter: now the observer drives.
    expect((await host.request('presenter.set', { sessionId: obs.sessionId })).ok).toBe(true);
    expect((await obs.request('viewer.set', { slice: 1 })).ok).toBe(true);
    await eventually(() => expect(cli.state.viewer.get('shared')!.slice).toBe(1));
    // …but a presenter without ImagingStudy never does.
    expect((await host.request('presenter.set', { sessionId: labs.sessionId })).ok).toBe(true);
    expect(await labs.request('viewer.set', { slice: 0 })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    await host.request('presenter.set', { sessionId: null });
  });

  it('the 3D mode (planes, MIP, volume) is part of the shared view: it follows the presenter', async () => {
    expect(host.state.viewer.get('shared')!.mode3d).toBe('planes');
    expect((await host.request('viewer.set', { mode3d: 'volume' })).ok).toBe(true);
    await eventually(() => expect(obs.state.viewer.get('shared')).toMatchObject({ mode3d: 'volume', series: key }));
    expect((await host.request('viewer.set', { mode3d: 'mip' })).ok).toBe(true);
    await eventually(() => expect(cli.state.viewer.get('shared')!.mode3d).toBe('mip'));
    await host.request('viewer.set', { mode3d: 'planes' });
  });

  it('refuses what cannot be a viewer state (no real UID as a key, out-of-range numbers)', async () => {
    for (const bad of [{ series: '1.2.840.113619.2.1' }, { slice: -1 }, { width: 0 }, { zoom: 1e9 }, { center: Number.NaN }, { extra: 1 }, { mode3d: 'surface' }]) {
      expect(await untyped(host).request('viewer.set', bad)).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    }
  });
});

describe('measurements on a slice', () => {
  let cli: ClinicSession;
  let cli2: ClinicSession;
  let labs: ClinicSession;

  beforeAll(async () => {
    const room = await server.createRoom({ caseId, participants: [{ userId: 'm.a', role: 'clinician' }, { userId: 'm.b', role: 'specialist' }, { userId: 'm.labs', role: 'clinician', scopes: ['patient/Patient.rs', 'patient/Observation.rs'] }] });
    roomId = room.id;
    [cli, cli2, labs] = await Promise.all([join('m.a'), join('m.b'), join('m.labs')]);
  });

  it('a length on a slice reaches the others who may see the images, and is kept', async () => {
    const r = await cli.add({ id: 'len-1', kind: 'length', asset: 'builtin:pin', frame: 'slice', slice: { series: key, index: 2 }, points: [1.25, 2, 0, 13.5, 10, 0], transform: { position: [0, 0, 0], rotation: [0, 0, 0, 1] } });
    expect(r).toMatchObject({ ok: true, objectId: 'len-1' });
    await eventually(() => expect(cli2.state.objects.get('len-1')).toMatchObject({ kind: 'length', frame: 'slice', slice: `${key}/2`, points: '1.3,2.0,0,13.5,10.0,0' }));
    await new Promise((res) => setTimeout(res, 300));
    expect(labs.state.objects.get('len-1')).toBeUndefined();
    expect(receivedBytes(labs).includes(Buffer.from(key))).toBe(false);
    const db = new pg.Client({ connectionString: server.db.url });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT kind, frame, slice, points FROM scene_objects WHERE room_id = $1 AND id = 'len-1'`, [roomId]);
      expect(rows).toEqual([{ kind: 'length', frame: 'slice', slice: `${key}/2`, points: '1.3,2.0,0,13.5,10.0,0' }]);
    } finally {
      await db.end();
    }
  });

  it('refuses a slice mark from someone without ImagingStudy, and shapes that are not slice marks', async () => {
    const base = { asset: 'builtin:pin', transform: { position: [0, 0, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] } };
    expect(await labs.add({ ...base, kind: 'arrow', frame: 'slice', slice: { series: key, index: 0 }, points: [0, 0, 0, 5, 5, 0] })).toMatchObject({ ok: false, error: { code: 'SCOPE_DENIED' } });
    expect(await cli.add({ ...base, kind: 'length', points: [0, 0, 0, 5, 5, 0] })).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    expect(await cli.add({ ...base, kind: 'stroke', frame: 'slice', slice: { series: key, index: 0 }, points: [0, 0, 0, 5, 5, 0] })).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    expect(await cli.add({ ...base, kind: 'arrow', frame: 'slice', points: [0, 0, 0, 5, 5, 0] })).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    expect(await cli.add({ ...base, kind: 'region', frame: 'slice', slice: { series: key, index: 0 }, points: [0, 0, 0, 5, 5, 0, 6, 6, 0] })).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
  });
});

describe('the slice panel pinned in the patient frame (surgical guidance)', () => {
  let surgeon: ClinicSession;
  let guide: ClinicSession;
  let labsSurgeon: ClinicSession;
  let obs: ClinicSession;
  const pose = { p: [0.3, 0.25, 0] as [number, number, number], q: [0, 0, 0, 1] as [number, number, number, number] };

  beforeAll(async () => {
    const room = await server.createRoom({
      caseId,
      kind: 'surgical-guidance',
      participants: [
        { userId: 'p.surgeon', role: 'surgeon' },
        { userId: 'p.guide', role: 'specialist' },
        { userId: 'p.labs', role: 'surgeon', scopes: ['patient/Patient.rs', 'patient/Observation.rs'] },
        { userId: 'p.obs', role: 'observer' },
      ],
    });
    roomId = room.id;
    [surgeon, guide, labsSurgeon, obs] = await Promise.all([join('p.surgeon'), join('p.guide'), join('p.labs'), join('p.obs')]);
  });

  it('the guide pins it; the surgeon sees where, relative to the anchor; moving it is pinning again; null takes it down', async () => {
    const before = surgeon.state.viewer.get('shared')!.seq;
    expect(await guide.request('viewer.pin', { pose })).toMatchObject({ ok: true, pinned: true });
    await eventually(() => expect(surgeon.state.viewer.get('shared')).toMatchObject({ pinBy: guide.sessionId, pinQw: 1 }));
    const v = surgeon.state.viewer.get('shared')!;
    expect([v.pinPx, v.pinPy, v.pinPz].map((c) => +c.toFixed(4))).toEqual([0.3, 0.25, 0]);
    expect(v.seq).toBe(before); // a pin is not a change of the view: followers keep following the presenter
    // The surgeon moves it (by gaze, in the headset): a turned panel, the quaternion normalised by the server.
    expect(await surgeon.request('viewer.pin', { pose: { p: [-0.2, 0.3, 0.1], q: [0, 2, 0, 2] } })).toMatchObject({ ok: true, pinned: true });
    await eventually(() => expect(guide.state.viewer.get('shared')).toMatchObject({ pinBy: surgeon.sessionId }));
    const w = guide.state.viewer.get('shared')!;
    expect(w.pinQy).toBeCloseTo(Math.SQRT1_2, 5);
    expect(w.pinQw).toBeCloseTo(Math.SQRT1_2, 5);
    // Pinned 40 m away is pinned at the patient: no further than PIN_MAX_METRES from the anchor.
    await surgeon.request('viewer.pin', { pose: { p: [40, 0, 0], q: [0, 0, 0, 1] } });
    await eventually(() => expect(guide.state.viewer.get('shared')!.pinPx).toBeCloseTo(2, 4));
    expect(await guide.request('viewer.pin', { pose: null })).toMatchObject({ ok: true, pinned: false });
    await eventually(() => expect(surgeon.state.viewer.get('shared')!.pinBy).toBe(''));
  });

  it('refused without ImagingStudy, to observers, outside surgical guidance, and for what is not a pose', async () => {
    expect(await labsSurgeon.request('viewer.pin', { pose })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await obs.request('viewer.pin', { pose })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    for (const bad of [{}, { pose: { p: [0, 0], q: [0, 0, 0, 1] } }, { pose: { p: [0, 0, Number.NaN], q: [0, 0, 0, 1] } }, { pose, extra: 1 }]) {
      expect(await untyped(surgeon).request('viewer.pin', bad)).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    }
    const conference = await server.createRoom({ caseId, participants: [{ userId: 'p.conf', role: 'host' }] });
    roomId = conference.id;
    const host = await join('p.conf');
    expect(await host.request('viewer.pin', { pose })).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
  });

  it('the surgeon without ImagingStudy never receives the pin (the viewer state is not theirs)', async () => {
    expect(await guide.request('viewer.pin', { pose })).toMatchObject({ ok: true });
    await eventually(() => expect(surgeon.state.viewer.get('shared')!.pinBy).toBe(guide.sessionId));
    await new Promise((res) => setTimeout(res, 300));
    expect(labsSurgeon.state.viewer.get('shared')).toBeUndefined();
    // The pose as float32 bytes (0.3 then 0.25) is in the surgeon's frames, never in theirs.
    const pinned = Buffer.from(new Float32Array([0.25]).buffer);
    expect(receivedBytes(surgeon).includes(pinned)).toBe(true);
    expect(receivedBytes(labsSurgeon).includes(pinned)).toBe(false);
  });
});
