import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { ImagingListResponse, ImagingSeriesResponse } from '../../shared/src/imaging.ts';
import { parsePart10, readFrame } from '../../server/src/domain/dicom.ts';
import { EXPLICIT_LE, jpegInstance as jpegOf, part10, withJpegComment, type DicomElement } from '../support/dicom-writer.ts';
import { startOrthanc, type TestOrthanc } from '../support/orthanc.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Outside attack on the imaging paths (round 3, attack2): hostile but
 * well-formed DICOM that an admin uploads in good faith or that sits in the
 * hospital's PACS, read by ordinary room participants.
 */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dicom');
const fixture = (name: string) => readFile(path.join(FIXTURES, name)).then((b) => new Uint8Array(b));

const MR = '1.2.840.10008.5.1.4.1.1.4';
const SC = '1.2.840.10008.5.1.4.1.1.7';
const PATIENT = { name: 'Doe^Peter', id: '98890234' };

let orthanc: TestOrthanc;
let server: TestServer;
let dataDir: string;
let admin: ConsiliumClient;
let ctSeries: Uint8Array[];
let jpeg: Uint8Array;

function bundle(studies: string[] = []) {
  const patientUrl = 'urn:uuid:0b3f2a52-2222-4a1b-9c55-cccccccccccc';
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: patientUrl, resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: PATIENT.id }], name: [{ family: 'Doe', given: ['Peter'] }], gender: 'male' } },
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

const ident = (patient: { name: string; id: string }): DicomElement[] => [
  { tag: '00100010', vr: 'PN', value: patient.name },
  { tag: '00100020', vr: 'LO', value: patient.id },
];

/** An 8-bit RGB JPEG baseline instance of the case's patient (the published dcmtk JPEG as its frame). */
const jpegInstance = (o: Omit<Parameters<typeof jpegOf>[0], 'patient' | 'imageType'>): Uint8Array => jpegOf({ ...o, patient: PATIENT, imageType: 'ORIGINAL\\PRIMARY' });

beforeAll(async () => {
  orthanc = await startOrthanc();
  const names = (await readdir(path.join(FIXTURES, 'ct-series'))).sort();
  ctSeries = await Promise.all(names.map((n) => fixture(`ct-series/${n}`)));
  jpeg = readFrame(parsePart10(await fixture('SC_rgb_jpeg_dcmtk.dcm')), 1).bytes;
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-attack2-imaging-'));
  server = await startTestServer({}, { DATA_DIR: dataDir, DICOMWEB_URL: orthanc.dicomwebUrl, DICOMWEB_USER: orthanc.user, DICOMWEB_PASSWORD: orthanc.password });
  admin = await server.as('root', { admin: true, scopes: ['patient/*.rs'] }); // marking clean needs a token that may see the identified images
}, 60_000);
afterAll(async () => {
  await server?.stop();
  await orthanc?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('attack2: identity reaching a de-identified viewer through frames', () => {
  it('HOLE (high): a JPEG frame carries its COM segment (patient name and ID) verbatim to a de-identified observer', async () => {
    // An MR exported as JPEG baseline by a device that writes the patient into the JPEG comment
    // (common for ultrasound carts, endoscopes and PACS exporters). Nothing marks it burned-in: it is an MR, ORIGINAL\PRIMARY.
    const { caseId } = await admin.api.importCase(bundle());
    const framed = withJpegComment(jpeg, `Patient: ${PATIENT.name} MRN ${PATIENT.id} DOB 19500101`);
    await admin.api.uploadDicom(caseId, jpegInstance({ sopClass: MR, modality: 'MR', study: '1.2.826.0.1.3680043.9.7433.2.1', series: '1.2.826.0.1.3680043.9.7433.2.2', sop: '1.2.826.0.1.3680043.9.7433.2.3', frame: framed, burnedIn: 'NO' }));
    const room = await server.createRoom({ caseId, participants: [{ userId: 'obs.jpeg', role: 'observer' }] });
    const obs = await server.as('obs.jpeg', { scopes: ['patient/*.rs'] });
    const list = await get<ImagingListResponse>(obs, `/api/cases/${caseId}/imaging`, room.id);
    expect(list.body.variant).toBe('deidentified');
    const shown = list.body.studies[0]!.series[0]!;
    expect(shown.withheld).toBeNull();
    const opened = await get<ImagingSeriesResponse>(obs, `/api/cases/${caseId}/imaging/series/${shown.seriesUid}`, room.id);
    expect(opened.status).toBe(200);
    const frame = await obs.api.imagingFrame(caseId, shown.seriesUid, opened.body.instances[0]!.sopUid, 1, room.id);
    expect(frame.type).toBe('jpeg');
    const text = Buffer.from(frame.bytes).toString('latin1');
    // Expected: the JPEG's application and comment segments are stripped (or the frame withheld) for de-identified viewers.
    expect(['Doe^Peter', PATIENT.id, '19500101'].filter((canary) => text.includes(canary))).toEqual([]);
  });

  it('HOLE (medium): "marked clean" covers instances added to the series afterwards, even one that says BurnedInAnnotation YES', async () => {
    const { caseId } = await admin.api.importCase(bundle());
    const study = '1.2.826.0.1.3680043.9.7433.3.1';
    const series = '1.2.826.0.1.3680043.9.7433.3.2';
    await admin.api.uploadDicom(caseId, jpegInstance({ sopClass: SC, modality: 'OT', study, series, sop: `${series}.1`, frame: jpeg, burnedIn: 'NO' }));
    // The admin looked at the one screenshot the series held and found nothing burned in.
    const marked = await fetch(new URL(`/api/cases/${caseId}/imaging/series/${series}/clean`, server.app.url), { method: 'POST', headers: { authorization: `Bearer ${admin.api.identityToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ instances: [`${series}.1`] }) });
    expect(marked.status).toBe(200);
    // Later a second screenshot arrives in the same series, declaring identity burned into its pixels.
    await admin.api.uploadDicom(caseId, jpegInstance({ sopClass: SC, modality: 'OT', study, series, sop: `${series}.2`, frame: withJpegComment(jpeg, 'burned'), burnedIn: 'YES' }));
    const room = await server.createRoom({ caseId, participants: [{ userId: 'obs.clean', role: 'observer' }] });
    const obs = await server.as('obs.clean', { scopes: ['patient/*.rs'] });
    const list = await get<ImagingListResponse>(obs, `/api/cases/${caseId}/imaging`, room.id);
    const shown = list.body.studies[0]!.series[0]!;
    const opened = await get<ImagingSeriesResponse>(obs, `/api/cases/${caseId}/imaging/series/${shown.seriesUid}`, room.id);
    // Expected: the never-reviewed BurnedInAnnotation YES instance is not served to a de-identified viewer.
    const sops = opened.status === 200 ? opened.body.instances.map((i) => i.sopUid) : [];
    const served: number[] = [];
    for (const sop of sops) {
      const r = await get(obs, `/api/cases/${caseId}/imaging/series/${shown.seriesUid}/instances/${sop}/frames/1`, room.id);
      if (r.status === 200) served.push(r.text.length);
    }
    expect(served.length).toBeLessThanOrEqual(1);
    // The series is withheld again until the admin looks at it again; marking it then covers both instances.
    expect(shown.withheld).toBe('burned-in');
    const again = await fetch(new URL(`/api/cases/${caseId}/imaging/series/${series}/clean`, server.app.url), { method: 'POST', headers: { authorization: `Bearer ${admin.api.identityToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ instances: [`${series}.1`, `${series}.2`] }) });
    expect(again.status).toBe(200);
    const reopened = await get<ImagingSeriesResponse>(obs, `/api/cases/${caseId}/imaging/series/${shown.seriesUid}`, room.id);
    expect([reopened.status, reopened.body.instances.length]).toEqual([200, 2]);
  });
  it('held: an instance uploaded between the admin looking and marking is not marked with the rest; a mark names what was looked at', async () => {
    const { caseId } = await admin.api.importCase(bundle());
    const study = '1.2.826.0.1.3680043.9.7433.3.11';
    const series = '1.2.826.0.1.3680043.9.7433.3.12';
    await admin.api.uploadDicom(caseId, jpegInstance({ sopClass: SC, modality: 'OT', study, series, sop: `${series}.1`, frame: jpeg, burnedIn: 'NO' }));
    // The admin opens the series and reviews what it holds: one instance.
    const looked = (await admin.api.call('GET /api/cases/:id/imaging/series/:seriesUid', { params: { id: caseId, seriesUid: series } })) as ImagingSeriesResponse;
    const reviewed = looked.instances.map((i) => i.sopUid);
    expect(reviewed).toEqual([`${series}.1`]);
    // Meanwhile a second screenshot lands in the series, identity burned in.
    await admin.api.uploadDicom(caseId, jpegInstance({ sopClass: SC, modality: 'OT', study, series, sop: `${series}.2`, frame: withJpegComment(jpeg, 'burned'), burnedIn: 'YES' }));
    const mark = (body: unknown) => admin.api.call('POST /api/cases/:id/imaging/series/:seriesUid/clean', { params: { id: caseId, seriesUid: series }, body }).catch((e: unknown) => e);
    // A mark must say what was looked at: none, an empty list, a UID not in the series — refused, nothing marked.
    expect(await mark(undefined)).toMatchObject({ code: 'BODY_INVALID' });
    expect(await mark({ instances: [] })).toMatchObject({ code: 'BODY_INVALID' });
    expect(await mark({ instances: ['1.2.3.4'] })).toMatchObject({ code: 'IMAGING_NOT_FOUND' });
    expect(await mark({ instances: [`${series}.1`, '1.2\u0000'] })).toMatchObject({ code: 'BODY_INVALID' });
    expect((await server.app.pool.query(`SELECT count(*)::int AS n FROM imaging_instance_clean WHERE case_id = $1`, [caseId])).rows[0].n).toBe(0);
    // The mark names what the admin reviewed: the instance that arrived since stays withheld.
    expect(await mark({ instances: reviewed })).toMatchObject({ ok: true });
    const room = await server.createRoom({ caseId, participants: [{ userId: 'obs.race', role: 'observer' }] });
    const obs = await server.as('obs.race', { scopes: ['patient/*.rs'] });
    const shown = (await get<ImagingListResponse>(obs, `/api/cases/${caseId}/imaging`, room.id)).body.studies[0]!.series[0]!;
    expect(shown.withheld).toBe('burned-in');
    const rows = (await server.app.pool.query<{ sop_uid: string }>(`SELECT sop_uid FROM imaging_instance_clean WHERE case_id = $1`, [caseId])).rows.map((r) => r.sop_uid);
    expect(rows).toEqual([`${series}.1`]);
    // Once both are looked at and named, the series is shown.
    expect(await mark({ instances: [`${series}.1`, `${series}.2`] })).toMatchObject({ ok: true });
    const again = (await get<ImagingListResponse>(obs, `/api/cases/${caseId}/imaging`, room.id)).body.studies[0]!.series[0]!;
    expect(again.withheld).toBeNull();
  });
});

describe('attack2: the wrong patient through the PACS', () => {
  it('HOLE (high, safety): a series of ANOTHER patient filed under the case study\'s Study Instance UID is listed and served', async () => {
    const h = parsePart10(ctSeries[0]!).header;
    const studyUid = h.studyInstanceUid as string;
    for (const f of ctSeries) await orthanc.store(f);
    // Another patient's CT that a misconfigured modality (or a bad merge) gave the same Study Instance UID.
    const wrongSeries = '1.2.826.0.1.3680043.9.7433.4.2';
    const wrongPixels = new Uint8Array(16 * 16 * 2).fill(0x42);
    await orthanc.store(part10({
      sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
      sopInstanceUid: `${wrongSeries}.1`,
      transferSyntax: EXPLICIT_LE,
      elements: [
        { tag: '00080020', vr: 'DA', value: '20010101' },
        { tag: '00080060', vr: 'CS', value: 'CT' },
        ...ident({ name: 'Doe^Archibald', id: '77654033' }),
        { tag: '0020000D', vr: 'UI', value: studyUid },
        { tag: '0020000E', vr: 'UI', value: wrongSeries },
        { tag: '00200011', vr: 'IS', value: '9' },
        { tag: '00280002', vr: 'US', value: 1 },
        { tag: '00280004', vr: 'CS', value: 'MONOCHROME2' },
        { tag: '00280010', vr: 'US', value: 16 },
        { tag: '00280011', vr: 'US', value: 16 },
        { tag: '00280100', vr: 'US', value: 16 },
        { tag: '00280101', vr: 'US', value: 16 },
        { tag: '00280102', vr: 'US', value: 15 },
        { tag: '00280103', vr: 'US', value: 1 },
        { tag: '7FE00010', vr: 'OW', value: wrongPixels },
      ],
    }));
    const { caseId } = await admin.api.importCase(bundle([studyUid]));
    const room = await server.createRoom({ caseId, participants: [{ userId: 'cli.pacs', role: 'clinician' }] });
    const cli = await server.as('cli.pacs', { scopes: ['patient/*.rs'] });
    const list = await get<ImagingListResponse>(cli, `/api/cases/${caseId}/imaging`, room.id);
    expect(list.status).toBe(200);
    const listed = list.body.studies.flatMap((s) => s.series.map((x) => x.seriesUid));
    const opened = await get<ImagingSeriesResponse & { error?: { code: string } }>(cli, `/api/cases/${caseId}/imaging/series/${wrongSeries}`, room.id);
    const frame = await get(cli, `/api/cases/${caseId}/imaging/series/${wrongSeries}/instances/${wrongSeries}.1/frames/1`, room.id);
    // Expected: Archibald's series is neither listed, nor opened, nor its pixels served in Peter's case.
    expect({ listed: listed.includes(wrongSeries), open: opened.status, frame: frame.status }).toEqual({ listed: false, open: 409, frame: 409 });
    // It is named under `refused` with what differs (never the values); Peter's own series is still listed.
    expect(list.body.refused).toEqual([{ studyUid, seriesUid: wrongSeries, code: 'IMAGING_PATIENT_MISMATCH', message: expect.stringMatching(/^the series's patient ID and name differ/) }]);
    expect(list.text).not.toContain('Archibald');
    expect(listed).toContain(h.seriesInstanceUid);
    expect(opened.body.error?.code).toBe('IMAGING_PATIENT_MISMATCH');
  });
});

describe('attack2: hostile uploads', () => {
  it('HOLE (medium, availability): one 16 MB file of 2 million empty elements blocks every room and request for seconds while it is parsed', async () => {
    const { caseId } = await admin.api.importCase(bundle());
    const n = 2_000_000;
    const tail = Buffer.alloc(8 * n);
    for (let i = 0; i < n; i++) {
      tail.writeUInt16LE(0x0009 + 2 * Math.floor(i / 0x10000), i * 8);
      tail.writeUInt16LE(i % 0x10000, i * 8 + 2);
      tail.write('SH', i * 8 + 4, 'latin1');
    }
    const file = part10({ sopClassUid: MR, sopInstanceUid: '1.2.826.0.1.3680043.9.7433.5.3', transferSyntax: EXPLICIT_LE, elements: [...ident(PATIENT), { tag: '0020000D', vr: 'UI', value: '1.2.826.0.1.3680043.9.7433.5.1' }, { tag: '0020000E', vr: 'UI', value: '1.2.826.0.1.3680043.9.7433.5.2' }], tail });
    // The server runs in this process: the event loop's worst delay during the upload is every room's and request's.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const answer = await admin.api.uploadDicom(caseId, file).catch((e: unknown) => e);
    loop.disable();
    const worst = loop.max / 1e6;
    // Expected: an element budget refuses the file early (stable code), and the server keeps answering meanwhile.
    expect({ code: (answer as { code?: string }).code ?? 'accepted', loopBlockedUnder1s: worst < 1000, worstMs: Math.round(worst) }).toEqual({ code: 'IMAGING_NOT_DICOM', loopBlockedUnder1s: true, worstMs: expect.any(Number) });
  }, 60_000);

  it('held: a non-admin upload, deep sequence nesting and a truncated file are refused with stable codes; path tricks in frame URLs get 404', async () => {
    const { caseId } = await admin.api.importCase(bundle());
    const cli = await server.as('cli.upload', { scopes: ['patient/*.rs'] });
    expect(await cli.api.uploadDicom(caseId, ctSeries[0]!).catch((e: unknown) => e)).toMatchObject({ code: 'ADMIN_REQUIRED' });
    const open = Buffer.concat([Buffer.from([0x09, 0x00, 0x10, 0x10]), Buffer.from('SQ'), Buffer.alloc(2), Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.from([0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff])]);
    const deep = part10({ sopClassUid: MR, sopInstanceUid: '1.2.3.9', transferSyntax: EXPLICIT_LE, elements: ident(PATIENT), tail: Buffer.concat(Array(50_000).fill(open)) });
    expect(await admin.api.uploadDicom(caseId, deep).catch((e: unknown) => e)).toMatchObject({ code: 'IMAGING_NOT_DICOM' });
    expect(await admin.api.uploadDicom(caseId, ctSeries[0]!.subarray(0, 400)).catch((e: unknown) => e)).toMatchObject({ code: expect.stringMatching(/^IMAGING_NOT_DICOM$/) });
    const room = await server.createRoom({ caseId, participants: [{ userId: 'cli.upload', role: 'clinician' }] });
    for (const p of ['..%2F..%2Fetc%2Fpasswd', '1.2.3%00', '1.2.3/../../x', '1.2.3.4']) {
      const r = await get(cli, `/api/cases/${caseId}/imaging/series/${p}/instances/${p}/frames/1`, room.id);
      expect(r.status).toBe(404);
    }
  });
});
