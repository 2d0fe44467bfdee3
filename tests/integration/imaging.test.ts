import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { ImagingListResponse, ImagingSeriesResponse } from '../../shared/src/imaging.ts';
import { parsePart10, readFrame } from '../../server/src/domain/dicom.ts';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dicom');
const fixture = (name: string) => readFile(path.join(FIXTURES, name)).then((b) => new Uint8Array(b));
const header = async (name: string) => parsePart10(await fixture(name)).header;

let orthanc: TestOrthanc;
let server: TestServer;
let dataDir: string;
let admin: ConsiliumClient;
let series: Uint8Array[];
let studyUid: string;
let seriesUid: string;
let otherStudyUid: string;

/** A signed-in user whose identity token allows case reads (the room then decides what they see). */
const reader = (userId: string) => server.as(userId, { scopes: ['patient/*.rs'] });

/** The fictional patient of pydicom's CT series (Doe^Peter, 98890234), as a FHIR case naming both the right and a wrong study. */
function bundle(studies: string[]) {
  const patientUrl = 'urn:uuid:0b3f2a52-2222-4a1b-9c55-bbbbbbbbbbbb';
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: patientUrl, resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: '98890234' }], name: [{ family: 'Doe', given: ['Peter'] }], gender: 'male', birthDate: '1950-01-01' } },
      ...studies.map((uid) => ({ resource: { resourceType: 'ImagingStudy', status: 'available', identifier: [{ system: 'urn:dicom:uid', value: `urn:oid:${uid}` }], subject: { reference: patientUrl } } })),
    ],
  };
}

async function get<T>(client: ConsiliumClient, p: string, room: string | null): Promise<{ status: number; body: T; text: string }> {
  const url = new URL(p, server.app.url);
  if (room) url.searchParams.set('room', room);
  const res = await fetch(url, { headers: { authorization: `Bearer ${client.api.identityToken}` } });
  const text = await res.text();
  return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : null) as T, text };
}

beforeAll(async () => {
  orthanc = await startOrthanc();
  const names = (await readdir(path.join(FIXTURES, 'ct-series'))).sort();
  series = await Promise.all(names.map((n) => fixture(`ct-series/${n}`)));
  for (const f of [...series, await fixture('other-patient-ct.dcm')]) await orthanc.store(f);
  const h = parsePart10(series[0]!).header;
  studyUid = h.studyInstanceUid as string;
  seriesUid = h.seriesInstanceUid as string;
  otherStudyUid = (await header('other-patient-ct.dcm')).studyInstanceUid as string;
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-imaging-'));
  server = await startTestServer({}, { DATA_DIR: dataDir, DICOMWEB_URL: orthanc.dicomwebUrl, DICOMWEB_USER: orthanc.user, DICOMWEB_PASSWORD: orthanc.password });
  admin = await server.as('root', { admin: true });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await orthanc?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('imaging from a real PACS (Orthanc over DICOMweb), through the room', () => {
  let caseId: string;
  let roomId: string;
  let cli: ConsiliumClient;
  let obs: ConsiliumClient;
  let labs: ConsiliumClient;

  beforeAll(async () => {
    ({ caseId } = await admin.api.importCase(bundle([studyUid, otherStudyUid])));
    const room = await server.createRoom({ caseId, participants: [{ userId: 'cli', role: 'clinician' }, { userId: 'obs', role: 'observer' }, { userId: 'labs', role: 'clinician', scopes: ['patient/Patient.rs', 'patient/Observation.rs'] }] });
    roomId = room.id;
    [cli, obs, labs] = await Promise.all([reader('cli'), reader('obs'), reader('labs')]);
  });

  it('a clinician lists the series, opens it (audited) and reads every slice as stored; the wrong-patient study is refused, naming what differs', async () => {
    const list = await get<ImagingListResponse>(cli, `/api/cases/${caseId}/imaging`, roomId);
    expect(list.status).toBe(200);
    expect(list.body.variant).toBe('identified');
    expect(list.body.studies).toHaveLength(1);
    expect(list.body.studies[0]!.series).toEqual([expect.objectContaining({ seriesUid, modality: 'CT', instances: 5, withheld: null })]);
    expect(list.body.refused).toEqual([{ studyUid: otherStudyUid, code: 'IMAGING_PATIENT_MISMATCH', message: expect.stringMatching(/patient ID and name/) }]);

    const opened = await get<ImagingSeriesResponse>(cli, `/api/cases/${caseId}/imaging/series/${seriesUid}`, roomId);
    expect(opened.status).toBe(200);
    expect(opened.body.patient).toEqual({ name: 'Doe^Peter', id: '98890234', birthDate: null });
    expect(opened.body.instances).toHaveLength(5);
    expect(opened.body.instances[0]).toMatchObject({ rows: 16, columns: 16, pixelSpacing: [0.488281, 0.488281], rescaleIntercept: -1024, windowCenter: 40, windowWidth: 400 });
    const z = opened.body.instances.map((i) => i.position![2]!);
    expect(z).toEqual([...z].sort((a, b) => a - b)); // sorted along the slice normal

    for (const inst of opened.body.instances) {
      const frame = await cli.api.imagingFrame(caseId, seriesUid, inst.sopUid, 1, roomId);
      const file = series.find((f) => parsePart10(f).header.sopInstanceUid === inst.sopUid)!;
      expect(frame.type).toBe('raw');
      expect(Buffer.from(frame.bytes).equals(Buffer.from(readFrame(parsePart10(file), 1).bytes))).toBe(true);
    }
    const rows = await server.app.pool.query(`SELECT actor, details FROM audit_log WHERE action = 'imaging.series-open' AND case_id = $1`, [caseId]);
    expect(rows.rows).toEqual([{ actor: 'cli', details: expect.objectContaining({ seriesUid, variant: 'identified', instances: 5 }) }]);
    // The study list is a read of the patient's studies too: audited with what it showed.
    const listed = await server.app.pool.query(`SELECT actor, room_id, details FROM audit_log WHERE action = 'case.read' AND case_id = $1 AND details->>'type' = 'ImagingStudy' AND outcome = 'success'`, [caseId]);
    expect(listed.rows).toEqual([{ actor: 'cli', room_id: roomId, details: expect.objectContaining({ imaging: true, variant: 'identified', studies: [{ studyUid: list.body.studies[0]!.studyUid, series: 1 }] }) }]);
    // The other patient's study cannot be reached by naming its series either.
    const otherSeries = (await header('other-patient-ct.dcm')).seriesInstanceUid as string;
    expect((await get(cli, `/api/cases/${caseId}/imaging/series/${otherSeries}`, roomId)).body).toMatchObject({ error: { code: 'IMAGING_PATIENT_MISMATCH' } });
  });

  it('an observer gets the series de-identified: pseudonymous UIDs, the year only, no name, ID or institution in any response; the same pixels', async () => {
    const list = await get<ImagingListResponse>(obs, `/api/cases/${caseId}/imaging`, roomId);
    expect(list.body.variant).toBe('deidentified');
    const shown = list.body.studies[0]!.series[0]!;
    expect(shown.seriesUid).toMatch(/^2\.25\.\d+$/);
    expect(list.body.studies[0]!.date).toBe('2001');
    const opened = await get<ImagingSeriesResponse>(obs, `/api/cases/${caseId}/imaging/series/${shown.seriesUid}`, roomId);
    expect(opened.status).toBe(200);
    expect(opened.body).toMatchObject({ patient: null, institution: null, description: null, date: '2001' });
    const texts = [list.text, opened.text];
    for (const inst of opened.body.instances) {
      expect(inst.sopUid).toMatch(/^2\.25\./);
      const frame = await obs.api.imagingFrame(caseId, shown.seriesUid, inst.sopUid, 1, roomId);
      expect(frame.bytes.length).toBe(16 * 16 * 2);
      texts.push(Buffer.from(frame.bytes).toString('latin1'));
    }
    const real = series.map((f) => parsePart10(f).header);
    for (const t of texts) {
      for (const canary of ['Doe', 'Peter', '98890234', '20010101', 'GE MEDICAL', studyUid, seriesUid, ...real.map((h) => h.sopInstanceUid as string)]) expect(t).not.toContain(canary);
    }
    // The same pseudonyms every time (consistent replacement), and real UIDs are not accepted from this viewer.
    expect((await get<ImagingListResponse>(obs, `/api/cases/${caseId}/imaging`, roomId)).body.studies[0]!.series[0]!.seriesUid).toBe(shown.seriesUid);
    expect((await get(obs, `/api/cases/${caseId}/imaging/series/${seriesUid}`, roomId)).status).toBe(404);
  });

  it('without ImagingStudy in their access: no list, no header, no pixel; and none without the room', async () => {
    const sop = parsePart10(series[0]!).header.sopInstanceUid as string;
    for (const p of [`/api/cases/${caseId}/imaging`, `/api/cases/${caseId}/imaging/series/${seriesUid}`, `/api/cases/${caseId}/imaging/series/${seriesUid}/instances/${sop}/frames/1`]) {
      const res = await get<{ error: { code: string } }>(labs, p, roomId);
      expect([res.status, res.body?.error.code]).toEqual([403, 'SCOPE_DENIED']);
      const noRoom = await get<{ error: { code: string } }>(cli, p, null);
      expect([noRoom.status, noRoom.body?.error.code]).toEqual([403, 'SCOPE_DENIED']);
      const anonymous = await fetch(new URL(p, server.app.url));
      expect(anonymous.status).toBe(401);
    }
  });

  it('revocation stops slices at once: the next frame after a scope change or a kick is refused', async () => {
    const sop = parsePart10(series[1]!).header.sopInstanceUid as string;
    const frame = `/api/cases/${caseId}/imaging/series/${seriesUid}/instances/${sop}/frames/1`;
    await reader('rev');
    await admin.api.setParticipant(roomId, 'rev', { role: 'clinician' });
    const rev = await reader('rev');
    expect((await get(rev, frame, roomId)).status).toBe(200);
    await admin.api.setParticipant(roomId, 'rev', { role: 'clinician', scopes: ['patient/Observation.rs'] });
    expect((await get(rev, frame, roomId)).status).toBe(403);
    await admin.api.setParticipant(roomId, 'rev', { role: 'clinician' });
    expect((await get(rev, frame, roomId)).status).toBe(200);
    await admin.api.removeParticipant(roomId, 'rev');
    expect((await get(rev, frame, roomId)).status).toBe(403);
  });
});

describe('imaging uploaded to Consilium (no PACS)', () => {
  let caseId: string;
  let roomId: string;

  beforeAll(async () => {
    ({ caseId } = await admin.api.importCase(bundle([])));
    roomId = (await server.createRoom({ caseId, participants: [{ userId: 'up.cli', role: 'clinician' }, { userId: 'up.obs', role: 'observer' }] })).id;
  });

  it('an admin uploads the series; files land under DATA_DIR/imaging by hash; a second upload of the same file changes nothing', async () => {
    for (const f of series) expect(await admin.api.uploadDicom(caseId, f)).toMatchObject({ seriesUid, created: true });
    expect(await admin.api.uploadDicom(caseId, series[0]!)).toMatchObject({ created: false });
    expect((await readdir(path.join(dataDir, 'imaging'))).filter((n) => n.endsWith('.dcm'))).toHaveLength(5);
    // Each file was parsed once, at upload: its frame positions are indexed, so frame reads do not parse it again.
    expect((await server.app.pool.query(`SELECT count(*)::int AS n FROM imaging_instances WHERE case_id = $1 AND pixels->>'kind' = 'raw'`, [caseId])).rows[0].n).toBe(5);
    const cli = await reader('up.cli');
    const list = await get<ImagingListResponse>(cli, `/api/cases/${caseId}/imaging`, roomId);
    expect(list.body.studies).toEqual([expect.objectContaining({ studyUid, source: 'upload', series: [expect.objectContaining({ seriesUid, instances: 5 })] })]);
    const sop = parsePart10(series[2]!).header.sopInstanceUid as string;
    const frame = await cli.api.imagingFrame(caseId, seriesUid, sop, 1, roomId);
    expect(Buffer.from(frame.bytes).equals(Buffer.from(readFrame(parsePart10(series[2]!), 1).bytes))).toBe(true);
  });

  it("another patient's file is refused, naming what differs; nothing is stored", async () => {
    const err = await admin.api.uploadDicom(caseId, await fixture('other-patient-ct.dcm')).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'IMAGING_PATIENT_MISMATCH', details: { differs: ['patient ID', 'name'] } });
    const rows = await server.app.pool.query(`SELECT count(*)::int AS n FROM imaging_instances WHERE case_id = $1`, [caseId]);
    expect(rows.rows[0].n).toBe(5);
  });

  it('JPEG 2000 is refused with a plain message; a non-DICOM body and a non-admin are refused', async () => {
    const j2k = await admin.api.uploadDicom(caseId, await fixture('MR_small_jp2klossless.dcm')).catch((e: unknown) => e);
    expect(j2k).toMatchObject({ code: 'IMAGING_UNSUPPORTED', message: expect.stringContaining('JPEG 2000 lossless') });
    expect(await admin.api.uploadDicom(caseId, new TextEncoder().encode('hello, not a DICOM file'.repeat(10))).catch((e: unknown) => e)).toMatchObject({ code: 'IMAGING_NOT_DICOM' });
    const cli = await reader('up.cli');
    expect(await cli.api.uploadDicom(caseId, series[0]!).catch((e: unknown) => e)).toMatchObject({ code: 'ADMIN_REQUIRED' });
  });

  it('implicit VR little endian and JPEG baseline are served; a secondary capture is withheld from de-identified viewers until an admin marks it clean', async () => {
    // Two more cases whose patients are the files' own fictional patients.
    const mr = parsePart10(await fixture('MR_small_implicit.dcm')).header;
    const sc = parsePart10(await fixture('SC_rgb_jpeg_dcmtk.dcm')).header;
    for (const [file, h, family, given] of [['MR_small_implicit.dcm', mr, 'CompressedSamples', 'MR1'], ['SC_rgb_jpeg_dcmtk.dcm', sc, 'Lestrade', 'G']] as const) {
      const patientUrl = 'urn:uuid:0b3f2a52-3333-4a1b-9c55-cccccccccccc';
      const { caseId: cid } = await admin.api.importCase({ resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: patientUrl, resource: { resourceType: 'Patient', identifier: [{ value: h.patientId }], name: [{ family, given: [given] }] } }] });
      await admin.api.uploadDicom(cid, await fixture(file));
      const rid = (await server.createRoom({ caseId: cid, participants: [{ userId: 'up.cli', role: 'clinician' }, { userId: 'up.obs', role: 'observer' }] })).id;
      const cli = await reader('up.cli');
      const obs = await reader('up.obs');
      const frame = await cli.api.imagingFrame(cid, h.seriesInstanceUid as string, h.sopInstanceUid as string, 1, rid);
      if (file === 'MR_small_implicit.dcm') {
        expect(frame).toMatchObject({ type: 'raw' });
        expect(frame.bytes.length).toBe(64 * 64 * 2);
        continue;
      }
      expect(frame.type).toBe('jpeg');
      expect([frame.bytes[0], frame.bytes[1]]).toEqual([0xff, 0xd8]);
      const list = await get<ImagingListResponse>(obs, `/api/cases/${cid}/imaging`, rid);
      const shown = list.body.studies[0]!.series[0]!;
      expect(shown.withheld).toBe('burned-in');
      expect((await get<{ error: { code: string } }>(obs, `/api/cases/${cid}/imaging/series/${shown.seriesUid}`, rid)).body.error.code).toBe('IMAGING_WITHHELD');
      await (await server.as('root', { admin: true, scopes: ['patient/*.rs'] })).api.call('POST /api/cases/:id/imaging/series/:seriesUid/clean', { params: { id: cid, seriesUid: h.seriesInstanceUid as string }, body: { instances: [h.sopInstanceUid as string] } });
      expect((await get<ImagingListResponse>(obs, `/api/cases/${cid}/imaging`, rid)).body.studies[0]!.series[0]!.withheld).toBeNull();
      expect((await get(obs, `/api/cases/${cid}/imaging/series/${shown.seriesUid}`, rid)).status).toBe(200);
    }
  });
});
