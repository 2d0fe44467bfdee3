import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { ImagingListResponse, ImagingSeriesResponse } from '../../shared/src/imaging.ts';
import { parsePart10, readFrame } from '../../server/src/domain/dicom.ts';
import { EXPLICIT_LE, part10 } from '../support/dicom-writer.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { zip, type ZipInput } from '../support/zip-writer.ts';

/**
 * A study uploaded as a zip (issue 21): the real public CT slices (pydicom's, tests/fixtures/dicom) zipped
 * at test time beside what a PACS export or a CD holds (a DICOMDIR, a README, a viewer), and hostile zips:
 * names outside the archive, a bomb, sizes that lie, too many entries, another patient's file.
 */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dicom');
const fixture = (name: string) => readFile(path.join(FIXTURES, name)).then((b) => new Uint8Array(b));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

let server: TestServer;
let dataDir: string;
let admin: ConsiliumClient;
let series: { name: string; bytes: Uint8Array }[];
let seriesUid: string;

/** Pydicom's fictional Peter Doe, the patient of the CT slices. */
const bundle = () => ({
  resourceType: 'Bundle',
  type: 'collection',
  entry: [{ fullUrl: 'urn:uuid:0b3f2a52-2222-4a1b-9c55-cccccccccccc', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: '98890234' }], name: [{ family: 'Doe', given: ['Peter'] }], gender: 'male', birthDate: '1950-01-01' } }],
});
const newCase = async () => (await admin.api.importCase(bundle())).caseId;
const ctEntries = (): ZipInput[] => series.map((f) => ({ name: `DICOM/ST000/SE000/${f.name}`, data: f.bytes }));
const stored = async (caseId: string) => Number((await server.app.pool.query(`SELECT count(*) AS n FROM imaging_instances WHERE case_id = $1`, [caseId])).rows[0].n);
/** What is in DATA_DIR/imaging: stored files and anything an upload left behind. */
const imagingDir = async () => (await readdir(path.join(dataDir, 'imaging')).catch(() => [] as string[])).sort();
const upload = (client: ConsiliumClient, caseId: string, body: Uint8Array) => client.api.uploadDicomZip(caseId, body).catch((e: unknown) => e as { code: string; message: string; details?: Record<string, unknown> });

beforeAll(async () => {
  const names = (await readdir(path.join(FIXTURES, 'ct-series'))).sort();
  series = await Promise.all(names.map(async (name) => ({ name, bytes: await fixture(`ct-series/${name}`) })));
  seriesUid = parsePart10(series[0]!.bytes).header.seriesInstanceUid as string;
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-imaging-zip-'));
  server = await startTestServer({}, { DATA_DIR: dataDir });
  admin = await server.as('root', { admin: true });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('a study uploaded as a zip', () => {
  it('stores the real CT slices of a CD-like zip once, skips and counts the rest, and serves the series through the room as the files are', async () => {
    const caseId = await newCase();
    const dicomdir = part10({ sopClassUid: '1.2.840.10008.1.3.10', sopInstanceUid: '1.2.826.0.1.3680043.9.7433.21.9.1', transferSyntax: EXPLICIT_LE, elements: [{ tag: '00041130', vr: 'CS', value: 'CONSILIUM' }] });
    const inner = zip([{ name: 'inner.dcm', data: series[0]!.bytes }]);
    const body = zip([
      ...ctEntries(),
      { name: 'DICOMDIR', data: dicomdir },
      { name: 'README.TXT', data: new TextEncoder().encode('Exported by a PACS. Open viewer.exe to see the images.') },
      { name: 'viewer/viewer.zip', data: inner, method: 'store' },
      { name: 'DICOM/ST000/SE001/renamed.dcm', data: inner, method: 'store' }, // a zip named like an image
      { name: 'DICOM/ST001/MR_small_jp2klossless.dcm', data: await fixture('MR_small_jp2klossless.dcm') },
      { name: 'viewer/', data: new Uint8Array(0), method: 'store' }, // a folder
    ]);
    const answer = await admin.api.uploadDicomZip(caseId, body);
    const studyUid = parsePart10(series[0]!.bytes).header.studyInstanceUid as string;
    expect(answer).toEqual({
      studies: [{ studyUid, series: 1, instances: 5 }],
      instances: 5,
      created: 5,
      skipped: expect.arrayContaining([
        { reason: 'not-dicom', count: 1, names: ['README.TXT'] },
        { reason: 'archive', count: 2, names: ['viewer/viewer.zip', 'DICOM/ST000/SE001/renamed.dcm'] },
        { reason: 'unsupported', count: 1, names: ['DICOM/ST001/MR_small_jp2klossless.dcm'] },
        { reason: 'no-uids', count: 1, names: ['DICOMDIR'] },
      ]),
    });
    expect(answer.skipped).toHaveLength(4);
    // The files as published, under their hashes; nothing else left behind.
    expect(await imagingDir()).toEqual(series.map((f) => `${sha(f.bytes)}.dcm`).sort());
    // The same zip again stores nothing new.
    expect(await admin.api.uploadDicomZip(caseId, body)).toMatchObject({ instances: 5, created: 0 });
    expect(await stored(caseId)).toBe(5);

    const room = await server.createRoom({ caseId, participants: [{ userId: 'cli.zip', role: 'clinician' }] });
    const cli = await server.as('cli.zip', { scopes: ['patient/*.rs'] });
    const list = await cli.api.call('GET /api/cases/:id/imaging', { params: { id: caseId }, query: { room: room.id } }) as ImagingListResponse;
    expect(list.studies[0]!.series).toEqual([expect.objectContaining({ seriesUid, modality: 'CT', instances: 5, withheld: null })]);
    const opened = await cli.api.call('GET /api/cases/:id/imaging/series/:seriesUid', { params: { id: caseId, seriesUid }, query: { room: room.id } }) as ImagingSeriesResponse;
    for (const inst of opened.instances) {
      const frame = await cli.api.imagingFrame(caseId, seriesUid, inst.sopUid, 1, room.id);
      const file = series.find((f) => parsePart10(f.bytes).header.sopInstanceUid === inst.sopUid)!;
      expect(Buffer.from(frame.bytes).equals(Buffer.from(readFrame(parsePart10(file.bytes), 1).bytes))).toBe(true);
    }
    await server.app.audit.flush();
    const audit = await server.app.pool.query(`SELECT actor, outcome, details FROM audit_log WHERE action = 'imaging.upload' AND case_id = $1 ORDER BY seq`, [caseId]);
    expect(audit.rows[0]).toMatchObject({ actor: 'root', outcome: 'success', details: { zip: true, instances: 5, created: 5, skipped: { 'not-dicom': 1, archive: 2, unsupported: 1, 'no-uids': 1 } } });
  });

  it('refuses the whole zip when one file is another patient\'s, naming what differs and the file; nothing is stored', async () => {
    const caseId = await newCase();
    const before = await imagingDir();
    const answer = await upload(admin, caseId, zip([...ctEntries(), { name: 'DICOM/ST009/other-patient-ct.dcm', data: await fixture('other-patient-ct.dcm') }]));
    expect(answer).toMatchObject({ code: 'IMAGING_PATIENT_MISMATCH', message: expect.stringMatching(/other-patient-ct\.dcm.*patient ID and name differ.*nothing was stored/), details: { differs: ['patient ID', 'name'], files: ['DICOM/ST009/other-patient-ct.dcm'] } });
    expect(await stored(caseId)).toBe(0);
    expect(await imagingDir()).toEqual(before);
    await server.app.audit.flush();
    const audit = await server.app.pool.query(`SELECT outcome, details FROM audit_log WHERE action = 'imaging.upload' AND case_id = $1`, [caseId]);
    expect(audit.rows).toEqual([{ outcome: 'failure', details: expect.objectContaining({ code: 'IMAGING_PATIENT_MISMATCH', zip: true }) }]);
  });

  it('is for administrators only, and only as application/zip', async () => {
    const caseId = await newCase();
    const cli = await server.as('cli.notadmin', { scopes: ['patient/*.rs'] });
    expect(await upload(cli, caseId, zip(ctEntries()))).toMatchObject({ code: 'ADMIN_REQUIRED' });
    const res = await fetch(new URL(`/api/cases/${caseId}/imaging/zip`, server.app.url), { method: 'POST', headers: { authorization: `Bearer ${admin.api.identityToken}`, 'content-type': 'application/dicom' }, body: zip(ctEntries()) as unknown as BodyInit });
    expect([res.status, ((await res.json()) as { error: { code: string } }).error.code]).toEqual([400, 'IMAGING_ZIP_REFUSED']);
    expect(await stored(caseId)).toBe(0);
  });
});

describe('hostile zips are refused whole with a stable code, nothing stored, the server answering meanwhile', () => {
  const zeros = new Uint8Array(60 * 1024 * 1024);
  const hostile: [string, () => Promise<Uint8Array> | Uint8Array, RegExp][] = [
    ['a name climbing out of the archive', () => zip([...ctEntries(), { name: '../../../etc/cron.d/x.dcm', data: series[0]!.bytes }]), /outside it|relative path/],
    ['an absolute name', () => zip([{ name: '/etc/passwd', data: series[0]!.bytes }, ...ctEntries()]), /outside it|absolute path/],
    ['a Windows-style climbing name', () => zip([{ name: '..\\..\\boot.ini', data: series[0]!.bytes }, ...ctEntries()]), /outside it|relative path/],
    ['a zip bomb (10 entries of 60 MiB of zeros, deflated a thousand times: 600 MiB from a 600 KB zip)', () => zip([...ctEntries(), ...Array.from({ length: 10 }, (_, i) => ({ name: `DICOM/bomb${i}.dcm`, data: zeros }))]), /inflate to \d+ times the zip's size/],
    ['an entry larger than its header says', () => zip([...ctEntries(), { name: 'DICOM/liar.dcm', data: randomBytes(256 * 1024), declaredSize: 1000 }]), /corrupt or larger than declared/],
    ['more entries than a study has', () => zip(Array.from({ length: 20_001 }, (_, i) => ({ name: `f${i}`, data: new Uint8Array(0), method: 'store' as const }))), /20001 entries/],
    ['no zip at all', () => new TextEncoder().encode('PK but not really a zip file'.repeat(10)), /not a readable zip/],
  ];
  for (const [what, make, message] of hostile) {
    it(what, async () => {
      const caseId = await newCase();
      const before = await imagingDir();
      const loop = monitorEventLoopDelay({ resolution: 10 });
      loop.enable();
      const answer = await upload(admin, caseId, await make());
      loop.disable();
      expect(answer).toMatchObject({ code: 'IMAGING_ZIP_REFUSED', message: expect.stringMatching(message) });
      expect(await stored(caseId)).toBe(0);
      expect(await imagingDir()).toEqual(before); // no file, no temporary folder left
      expect(loop.max / 1e6).toBeLessThan(1000);
    }, 60_000);
  }

  it('an encrypted entry is skipped and counted; the rest is stored', async () => {
    const caseId = await newCase();
    const answer = await admin.api.uploadDicomZip(caseId, zip([...ctEntries(), { name: 'secret.dcm', data: series[0]!.bytes, encrypted: true }]));
    expect(answer).toMatchObject({ instances: 5, skipped: [{ reason: 'encrypted', count: 1, names: ['secret.dcm'] }] });
  });

  it('two different files under one SOP Instance UID, or a zip without any image, are refused; nothing is stored', async () => {
    const caseId = await newCase();
    const altered = new Uint8Array(series[0]!.bytes);
    altered[altered.length - 1] = altered[altered.length - 1]! ^ 0xff; // the same instance, other pixel bytes
    expect(await upload(admin, caseId, zip([...ctEntries(), { name: 'copy.dcm', data: altered }]))).toMatchObject({ code: 'IMAGING_NOT_DICOM', message: expect.stringMatching(/copy\.dcm.*SOP Instance UID/) });
    expect(await upload(admin, caseId, zip([{ name: 'notes.txt', data: new TextEncoder().encode('no images here') }]))).toMatchObject({ code: 'IMAGING_NOT_DICOM', details: { skipped: [{ reason: 'not-dicom', count: 1, names: ['notes.txt'] }] } });
    expect(await stored(caseId)).toBe(0);
  });

  it('a large zip is read off the event loop: the server keeps answering while 40 MB are inflated and parsed', async () => {
    const caseId = await newCase();
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const answer = await admin.api.uploadDicomZip(caseId, zip([...ctEntries(), { name: 'viewer/viewer.exe', data: randomBytes(40 * 1024 * 1024) }]));
    loop.disable();
    expect(answer).toMatchObject({ instances: 5, skipped: [{ reason: 'not-dicom', count: 1 }] });
    expect(Math.round(loop.max / 1e6)).toBeLessThan(500);
  }, 60_000);
});
