import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { ImagingListResponse, ImagingSeriesResponse } from '../../shared/src/imaging.ts';
import { parsePart10, readFrame } from '../../server/src/domain/dicom.ts';
import { encapsulated, EXPLICIT_LE, jpegInstance, JPEG_BASELINE, part10 } from '../support/dicom-writer.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { zip } from '../support/zip-writer.ts';

/**
 * Outside attack on imaging after the per-series revision cache and zip upload (attack6): warm the
 * cache as an identified reader, then read the same frames as someone whose access has just changed.
 */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dicom');
const fixture = (name: string) => readFile(path.join(FIXTURES, name)).then((b) => new Uint8Array(b));
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const SC = '1.2.840.10008.5.1.4.1.1.7';
const PATIENT = { name: 'Doe^Peter', id: '98890234' };

let server: TestServer;
let dataDir: string;
let admin: ConsiliumClient;
let ct: Uint8Array[];
let jpeg: Uint8Array;
let ctSeries: string;
let ctSop: string;

const bundle = () => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry: [{ fullUrl: 'urn:uuid:0b3f2a52-2222-4a1b-9c55-cccccccccccc', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: PATIENT.id }], name: [{ family: 'Doe', given: ['Peter'] }], gender: 'male' } }],
});

async function get<T = { error?: { code: string } }>(client: ConsiliumClient, p: string, room: string | null): Promise<{ status: number; body: T; text: string }> {
  const url = new URL(p, server.app.url);
  if (room) url.searchParams.set('room', room);
  const res = await fetch(url, { headers: { authorization: `Bearer ${client.api.identityToken}` } });
  const text = await res.text();
  return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : null) as T, text };
}
const code = (r: { status: number; body: unknown }) => (r.status === 200 ? 200 : ((r.body as { error?: { code: string } } | null)?.error?.code ?? r.status));
const frameUrl = (caseId: string, series: string, sop: string, frame: string | number = 1) => `/api/cases/${caseId}/imaging/series/${series}/instances/${sop}/frames/${frame}`;

/** A JPEG secondary capture declaring identity burned into its pixels (withheld from de-identified viewers until marked clean). */
function screenshot(study: string, series: string, sop: string): Uint8Array {
  return jpegInstance({ sopClass: SC, modality: 'OT', study, series, sop, frame: jpeg, patient: PATIENT, burnedIn: 'YES' });
}

/** A case holding the real CT series (uploaded as a zip), with a room. */
async function ctCase(participants: { userId: string; role: 'clinician' | 'observer' }[]) {
  const { caseId } = await admin.api.importCase(bundle());
  await admin.api.uploadDicomZip(caseId, zip(ct.map((data, i) => ({ name: `CT/${i}.dcm`, data }))));
  const room = await server.createRoom({ caseId, participants });
  return { caseId, roomId: room.id };
}

beforeAll(async () => {
  const names = (await readdir(path.join(FIXTURES, 'ct-series'))).sort();
  ct = await Promise.all(names.map((n) => fixture(`ct-series/${n}`)));
  const h = parsePart10(ct[0]!).header;
  ctSeries = h.seriesInstanceUid as string;
  ctSop = h.sopInstanceUid as string;
  jpeg = readFrame(parsePart10(await fixture('SC_rgb_jpeg_dcmtk.dcm')), 1).bytes;
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-attack6-imaging-'));
  server = await startTestServer({}, { DATA_DIR: dataDir });
  admin = await server.as('root', { admin: true, scopes: ['patient/*.rs'] }); // marking clean needs a token that may see the identified images
}, 60_000);
afterAll(async () => {
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('attack6: a warm cache does not outlive access', () => {
  it('held: after a warm identified read, demotion to observer, a scope cut, removal and a closed room each stop the very next frame', async () => {
    const { caseId, roomId } = await ctCase([{ userId: 'a6.cli', role: 'clinician' }]);
    const cli = await server.as('a6.cli', { scopes: ['patient/*.rs'] });
    const url = frameUrl(caseId, ctSeries, ctSop);
    for (let i = 0; i < 5; i++) expect((await get(cli, url, roomId)).status).toBe(200); // cache warm
    // Demoted to observer: de-identified; the real UIDs it had no longer name anything.
    await admin.api.setParticipant(roomId, 'a6.cli', { role: 'observer' });
    expect(code(await get(cli, url, roomId))).toBe('IMAGING_NOT_FOUND');
    expect(code(await get(cli, `/api/cases/${caseId}/imaging/series/${ctSeries}`, roomId))).toBe('IMAGING_NOT_FOUND');
    await admin.api.setParticipant(roomId, 'a6.cli', { role: 'clinician', scopes: ['patient/Observation.rs'] });
    expect(code(await get(cli, url, roomId))).toBe('SCOPE_DENIED');
    await admin.api.setParticipant(roomId, 'a6.cli', { role: 'clinician' });
    expect((await get(cli, url, roomId)).status).toBe(200);
    await admin.api.closeRoom(roomId);
    expect(code(await get(cli, url, roomId))).toBe('SCOPE_DENIED');
  });

  it('held: a room for case B does not open case A\'s frames (mismatched case in the URL), nor does a token without ImagingStudy', async () => {
    const a = await ctCase([{ userId: 'a6.other', role: 'clinician' }]);
    const b = await ctCase([{ userId: 'a6.b', role: 'clinician' }]);
    const inA = await server.as('a6.other', { scopes: ['patient/*.rs'] });
    expect((await get(inA, frameUrl(a.caseId, ctSeries, ctSop), a.roomId)).status).toBe(200); // warm A
    const onlyB = await server.as('a6.b', { scopes: ['patient/*.rs'] });
    expect(code(await get(onlyB, frameUrl(a.caseId, ctSeries, ctSop), b.roomId))).toBe('SCOPE_DENIED');
    expect(code(await get(onlyB, frameUrl(a.caseId, ctSeries, ctSop), a.roomId))).toBe('SCOPE_DENIED');
    // An invited clinician whose own token lacks ImagingStudy.
    const narrow = await server.as('a6.other', { scopes: ['patient/Observation.rs'] });
    expect(code(await get(narrow, frameUrl(a.caseId, ctSeries, ctSop), a.roomId))).toBe('SCOPE_DENIED');
    // Same for an administrator's token without ImagingStudy.
    const narrowAdmin = await server.as('root2', { admin: true, scopes: ['patient/Observation.rs'] });
    expect(code(await get(narrowAdmin, frameUrl(a.caseId, ctSeries, ctSop), null))).toBe('SCOPE_DENIED');
  });

  it('held: frame numbers that are not 1..n (0, negative, NaN, huge, fractional, hex) get IMAGING_NOT_FOUND', async () => {
    const { caseId, roomId } = await ctCase([{ userId: 'a6.frames', role: 'clinician' }]);
    const cli = await server.as('a6.frames', { scopes: ['patient/*.rs'] });
    for (const f of ['0', '-1', 'NaN', 'Infinity', '1e309', '99999999999999999999', '1.5', '2', '%20', 'abc']) {
      expect([f, code(await get(cli, frameUrl(caseId, ctSeries, ctSop, f), roomId))]).toEqual([f, 'IMAGING_NOT_FOUND']);
    }
    expect(code(await get(cli, frameUrl(caseId, ctSeries, ctSop, '1'), roomId))).toBe(200);
  });
});

describe('attack6: burned-in decisions follow the revision', () => {
  it('held: a de-identified observer reads a marked series; the mark removed (or a new burned-in instance) withholds it at once, cache warm', async () => {
    const { caseId } = await admin.api.importCase(bundle());
    const study = '1.2.826.0.1.3680043.9.7433.66.1';
    const series = '1.2.826.0.1.3680043.9.7433.66.2';
    await admin.api.uploadDicom(caseId, screenshot(study, series, `${series}.1`));
    const room = await server.createRoom({ caseId, participants: [{ userId: 'a6.obs', role: 'observer' }, { userId: 'a6.id', role: 'clinician' }] });
    const obs = await server.as('a6.obs', { scopes: ['patient/*.rs'] });
    const cli = await server.as('a6.id', { scopes: ['patient/*.rs'] });
    expect((await get(cli, frameUrl(caseId, series, `${series}.1`), room.id)).status).toBe(200); // identified warms the series
    const shown = (await get<ImagingListResponse>(obs, `/api/cases/${caseId}/imaging`, room.id)).body.studies[0]!.series[0]!;
    expect(shown.withheld).toBe('burned-in');
    await admin.api.call('POST /api/cases/:id/imaging/series/:seriesUid/clean', { params: { id: caseId, seriesUid: series }, body: { instances: [`${series}.1`] } });
    const opened = await get<ImagingSeriesResponse>(obs, `/api/cases/${caseId}/imaging/series/${shown.seriesUid}`, room.id);
    expect(opened.status).toBe(200);
    expect(opened.text).not.toContain('Doe');
    const sop = opened.body.instances[0]!.sopUid;
    expect((await get(obs, frameUrl(caseId, shown.seriesUid, sop), room.id)).status).toBe(200);
    // An administrator withdraws the mark (straight in the database: there is no route for it).
    await server.app.pool.query(`DELETE FROM imaging_instance_clean WHERE case_id = $1`, [caseId]);
    expect(code(await get(obs, frameUrl(caseId, shown.seriesUid, sop), room.id))).toBe('IMAGING_WITHHELD');
    await admin.api.call('POST /api/cases/:id/imaging/series/:seriesUid/clean', { params: { id: caseId, seriesUid: series }, body: { instances: [`${series}.1`] } });
    expect((await get(obs, frameUrl(caseId, shown.seriesUid, sop), room.id)).status).toBe(200);
    // A second burned-in screenshot arrives in the same series, as a zip: withheld again at the next frame.
    await admin.api.uploadDicomZip(caseId, zip([{ name: 'sc2.dcm', data: screenshot(study, series, `${series}.2`) }]));
    expect(code(await get(obs, frameUrl(caseId, shown.seriesUid, sop), room.id))).toBe('IMAGING_WITHHELD');
  });

  it('HOLE (medium): an administrator who may not see the identified pixels (de-identified token) marks a burned-in series clean, releasing it to every de-identified viewer unseen', async () => {
    const { caseId } = await admin.api.importCase(bundle());
    const study = '1.2.826.0.1.3680043.9.7433.66.11';
    const series = '1.2.826.0.1.3680043.9.7433.66.12';
    await admin.api.uploadDicom(caseId, screenshot(study, series, `${series}.1`));
    const room = await server.createRoom({ caseId, participants: [{ userId: 'a6.obs2', role: 'observer' }] });
    const obs = await server.as('a6.obs2', { scopes: ['patient/*.rs'] });
    const deidAdmin = await server.as('root.deid', { admin: true, scopes: ['deidentified', 'patient/*.rs'] });
    // This administrator cannot look at the pixels: to them the series is withheld too.
    const shownToAdmin = (await get<ImagingListResponse>(deidAdmin, `/api/cases/${caseId}/imaging`, null)).body.studies[0]!.series[0]!;
    expect(code(await get(deidAdmin, `/api/cases/${caseId}/imaging/series/${shownToAdmin.seriesUid}`, null))).toBe('IMAGING_WITHHELD');
    // Expected: "marked clean" means someone who could see the identified pixels looked; this one could not.
    const marked = await deidAdmin.api.call('POST /api/cases/:id/imaging/series/:seriesUid/clean', { params: { id: caseId, seriesUid: series }, body: { instances: [`${series}.1`] } }).catch((e: unknown) => e);
    expect(marked).toMatchObject({ code: 'SCOPE_DENIED' });
    const shown = (await get<ImagingListResponse>(obs, `/api/cases/${caseId}/imaging`, room.id)).body.studies[0]!.series[0]!;
    expect(shown.withheld).toBe('burned-in');
  });

  it("held: the case's Patient changed after upload (another patient now): the warm series is refused at the next frame", async () => {
    const { caseId, roomId } = await ctCase([{ userId: 'a6.pat', role: 'clinician' }]);
    const cli = await server.as('a6.pat', { scopes: ['patient/*.rs'] });
    expect((await get(cli, frameUrl(caseId, ctSeries, ctSop), roomId)).status).toBe(200);
    await server.app.pool.query(
      `UPDATE case_resources SET resource = jsonb_set(jsonb_set(resource, '{identifier,0,value}', '"11112222"'), '{name,0,family}', '"Other"') WHERE case_id = $1 AND resource_type = 'Patient'`,
      [caseId],
    );
    expect(code(await get(cli, frameUrl(caseId, ctSeries, ctSop), roomId))).toBe('IMAGING_PATIENT_MISMATCH');
  });

  it('held: a kick stops the next frame with the cache warm', async () => {
    const { caseId, roomId } = await ctCase([{ userId: 'a6.kick', role: 'clinician' }]);
    const cli = await server.as('a6.kick', { scopes: ['patient/*.rs'] });
    expect((await get(cli, frameUrl(caseId, ctSeries, ctSop), roomId)).status).toBe(200);
    await admin.api.moderate(roomId, 'kick', 'a6.kick');
    expect(code(await get(cli, frameUrl(caseId, ctSeries, ctSop), roomId))).toBe('SCOPE_DENIED');
  });
});

describe('attack6: uploads', () => {
  it('held: a non-admin zip upload is refused before anything is stored', async () => {
    const { caseId } = await admin.api.importCase(bundle());
    const cli = await server.as('a6.up', { scopes: ['patient/*.rs'] });
    const err = await cli.api.uploadDicomZip(caseId, zip(ct.map((data, i) => ({ name: `${i}.dcm`, data })))).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ADMIN_REQUIRED' });
    const rows = await server.app.pool.query(`SELECT count(*)::int AS n FROM imaging_instances WHERE case_id = $1`, [caseId]);
    expect(rows.rows[0].n).toBe(0);
  });

  it('held: many frame reads during a zip upload into the same series get 200 or a stable code, never a 5xx', async () => {
    const { caseId } = await admin.api.importCase(bundle());
    await admin.api.uploadDicom(caseId, ct[0]!);
    const room = await server.createRoom({ caseId, participants: [{ userId: 'a6.conc', role: 'clinician' }] });
    const cli = await server.as('a6.conc', { scopes: ['patient/*.rs'] });
    const sops = ct.map((f) => parsePart10(f).header.sopInstanceUid as string);
    const upload = admin.api.uploadDicomZip(caseId, zip(ct.map((data, i) => ({ name: `${i}.dcm`, data }))));
    const reads: Promise<{ status: number; body: unknown }>[] = [];
    for (let i = 0; i < 60; i++) reads.push(get(cli, frameUrl(caseId, ctSeries, sops[i % sops.length]!), room.id));
    await upload;
    const seen = new Set((await Promise.all(reads)).map(code));
    expect([...seen].every((c) => c === 200 || c === 'IMAGING_NOT_FOUND')).toBe(true);
    for (const sop of sops) expect((await get(cli, frameUrl(caseId, ctSeries, sop), room.id)).status).toBe(200);
  });
});

describe('attack6: racing uploads', () => {
  it('HOLE (low, integrity): two different files under one SOP Instance UID uploaded at once are both answered as stored; one is silently dropped', async () => {
    const { caseId } = await admin.api.importCase(bundle());
    const study = '1.2.826.0.1.3680043.9.7433.66.21';
    const series = '1.2.826.0.1.3680043.9.7433.66.22';
    const one = screenshot(study, series, `${series}.1`);
    const other = part10({ sopClassUid: SC, sopInstanceUid: `${series}.1`, transferSyntax: JPEG_BASELINE, elements: [{ tag: '00080060', vr: 'CS', value: 'OT' }, { tag: '00100010', vr: 'PN', value: PATIENT.name }, { tag: '00100020', vr: 'LO', value: PATIENT.id }, { tag: '0020000D', vr: 'UI', value: study }, { tag: '0020000E', vr: 'UI', value: series }, { tag: '00200013', vr: 'IS', value: '2' }], tail: encapsulated([jpeg]) });
    const answers = await Promise.all([one, other].map((f) => admin.api.uploadDicom(caseId, f).then(() => 'stored', (e: { code: string }) => e.code)));
    // Expected: as when uploaded one after the other, the second different file under that UID is refused.
    expect(answers.sort()).toEqual(['IMAGING_NOT_DICOM', 'stored']);
  });
});

describe('attack6: frame memory', () => {
  it('HOLE (medium, availability): one participant asking for a large frame 40 times at once makes the server hold 40 copies of it (no bound on frame bytes in flight)', async () => {
    const { caseId } = await admin.api.importCase(bundle());
    const series = '1.2.826.0.1.3680043.9.7433.66.32';
    const rows = 2048;
    const columns = 3072; // 12 MiB of 16-bit samples: a large but ordinary radiograph
    await admin.api.uploadDicom(caseId, part10({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
      sopInstanceUid: `${series}.1`,
      transferSyntax: EXPLICIT_LE,
      elements: [
        { tag: '00080060', vr: 'CS', value: 'DX' },
        { tag: '00100010', vr: 'PN', value: PATIENT.name },
        { tag: '00100020', vr: 'LO', value: PATIENT.id },
        { tag: '0020000D', vr: 'UI', value: '1.2.826.0.1.3680043.9.7433.66.31' },
        { tag: '0020000E', vr: 'UI', value: series },
        { tag: '00280002', vr: 'US', value: 1 },
        { tag: '00280004', vr: 'CS', value: 'MONOCHROME2' },
        { tag: '00280010', vr: 'US', value: rows },
        { tag: '00280011', vr: 'US', value: columns },
        { tag: '00280100', vr: 'US', value: 16 },
        { tag: '00280101', vr: 'US', value: 16 },
        { tag: '00280102', vr: 'US', value: 15 },
        { tag: '00280103', vr: 'US', value: 0 },
        { tag: '7FE00010', vr: 'OW', value: new Uint8Array(rows * columns * 2).fill(7) },
      ],
    }));
    const room = await server.createRoom({ caseId, participants: [{ userId: 'a6.mem', role: 'clinician' }] });
    const cli = await server.as('a6.mem', { scopes: ['patient/*.rs'] });
    const url = new URL(frameUrl(caseId, series, `${series}.1`), server.app.url);
    url.searchParams.set('room', room.id);
    const consume = async (res: Response) => {
      let n = 0;
      const body = res.body!.getReader();
      for (let r = await body.read(); !r.done; r = await body.read()) n += r.value.byteLength;
      return [res.status, n] as const;
    };
    const ask = () => fetch(url, { headers: { authorization: `Bearer ${cli.api.identityToken}` } });
    expect(await consume(await ask())).toEqual([200, rows * columns * 2]);
    gc();
    const base = process.memoryUsage().arrayBuffers;
    // A slow reader: 40 requests for the frame, their bodies not read for a while (what a stalled or hostile client does).
    const asked = Array.from({ length: 40 }, ask);
    let peak = base;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 50));
      gc(); // live bytes only
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }
    const answers = await Promise.all(asked.map(async (p) => consume(await p)));
    expect(answers.every(([s, n]) => s === 200 && n === rows * columns * 2)).toBe(true);
    // Expected: frame bytes held for readers are bounded (here well under the 480 MiB of 40 copies).
    expect(Math.round((peak - base) / 2 ** 20)).toBeLessThan(160);
  }, 60_000);
});
