import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { ImagingListResponse, ImagingSeriesResponse } from '../../shared/src/imaging.ts';
import { parsePart10, readFrame } from '../../server/src/domain/dicom.ts';
import { PEOPLE_SEARCH_LIMIT } from '../../server/src/domain/rate-limit.ts';
import { jpegInstance as jpegOf, withJpegComment } from '../support/dicom-writer.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Outside attack (round 9, attack9) on three recent changes:
 * 1. a clean mark names the instances an administrator looked at;
 * 2. the per-user limit on GET /api/recordings/:id/people;
 * 3. USER_NOT_FOUND for group replay seats, as an oracle of who has signed in.
 * Each test asserts the safe behaviour; `HOLE` tests were found failing.
 */
const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dicom');
const SC = '1.2.840.10008.5.1.4.1.1.7';
const PATIENT = { name: 'Doe^Peter', id: '98890234' };
const NOBODY = 'nobody.ever.signed.in.9';

let server: TestServer;
let dataDir: string;
let admin: ConsiliumClient;
let jpeg: Uint8Array;

function bundle() {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    entry: [{ fullUrl: 'urn:uuid:0b3f2a52-9999-4a1b-9c55-cccccccccccc', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: PATIENT.id }], name: [{ family: 'Doe', given: ['Peter'] }], gender: 'male' } }],
  };
}
const sc = (study: string, series: string, sop: string, burnedIn: 'YES' | 'NO', frame = jpeg) =>
  jpegOf({ sopClass: SC, modality: 'OT', study, series, sop, frame, burnedIn, patient: PATIENT, imageType: 'ORIGINAL\\PRIMARY' });

/** A raw request as an attacker's own HTTP client sends it. */
async function raw(client: ConsiliumClient, method: string, p: string, body?: unknown, rawBody?: string): Promise<{ status: number; code: string | null; message: string | null; retryAfter: string | null; text: string }> {
  const res = await fetch(p.startsWith('//') ? `${server.app.url.replace(/\/$/, '')}${p}` : new URL(p, server.app.url), {
    method,
    headers: { authorization: `Bearer ${client.api.identityToken}`, ...(body !== undefined || rawBody !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(rawBody !== undefined ? { body: rawBody } : body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  const parsed = (text.startsWith('{') ? JSON.parse(text) : {}) as { error?: { code: string; message: string } };
  return { status: res.status, code: parsed.error?.code ?? null, message: parsed.error?.message ?? null, retryAfter: res.headers.get('retry-after'), text };
}
async function get<T>(client: ConsiliumClient, p: string, room: string): Promise<{ status: number; body: T }> {
  const url = new URL(p, server.app.url);
  url.searchParams.set('room', room);
  const res = await fetch(url, { headers: { authorization: `Bearer ${client.api.identityToken}` } });
  const text = await res.text();
  return { status: res.status, body: (text.startsWith('{') ? JSON.parse(text) : null) as T };
}
const mark = (client: ConsiliumClient, caseId: string, series: string, body: unknown) => raw(client, 'POST', `/api/cases/${caseId}/imaging/series/${encodeURIComponent(series)}/clean`, body);
const marks = async (caseId: string): Promise<string[]> =>
  (await server.app.pool.query<{ sop_uid: string }>(`SELECT sop_uid FROM imaging_instance_clean WHERE case_id = $1 ORDER BY sop_uid`, [caseId])).rows.map((r) => r.sop_uid);

/** What a de-identified observer of the case gets: the series list, and the frames served for every instance. */
async function deidView(caseId: string, who: string): Promise<{ withheld: (string | null)[]; served: number; open: number[] }> {
  const room = await server.createRoom({ caseId, participants: [{ userId: who, role: 'observer' }] });
  const obs = await server.as(who, { scopes: ['patient/*.rs'] });
  const list = await get<ImagingListResponse>(obs, `/api/cases/${caseId}/imaging`, room.id);
  expect(list.body.variant).toBe('deidentified');
  const all = list.body.studies.flatMap((s) => s.series);
  let served = 0;
  const open: number[] = [];
  for (const s of all) {
    const opened = await get<ImagingSeriesResponse>(obs, `/api/cases/${caseId}/imaging/series/${s.seriesUid}`, room.id);
    open.push(opened.status);
    if (opened.status !== 200) continue;
    for (const i of opened.body.instances) if ((await get(obs, `/api/cases/${caseId}/imaging/series/${s.seriesUid}/instances/${i.sopUid}/frames/1`, room.id)).status === 200) served++;
  }
  return { withheld: all.map((s) => s.withheld), served, open };
}

beforeAll(async () => {
  jpeg = readFrame(parsePart10(new Uint8Array(await readFile(path.join(FIXTURES, 'SC_rgb_jpeg_dcmtk.dcm')))), 1).bytes;
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-attack9-'));
  server = await startTestServer({}, { DATA_DIR: dataDir });
  admin = await server.as('root9', { admin: true, scopes: ['patient/*.rs'] });
}, 60_000);
afterAll(async () => {
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('attack9: marking a series clean', () => {
  const study = '1.2.826.0.1.3680043.9.7433.9.1';
  const seriesA = '1.2.826.0.1.3680043.9.7433.9.2';
  const seriesB = '1.2.826.0.1.3680043.9.7433.9.3';
  let caseId: string;
  let otherCase: string;
  beforeAll(async () => {
    ({ caseId } = await admin.api.importCase(bundle()));
    ({ caseId: otherCase } = await admin.api.importCase(bundle()));
    await admin.api.uploadDicom(caseId, sc(study, seriesA, `${seriesA}.1`, 'YES'));
    await admin.api.uploadDicom(caseId, sc(study, seriesA, `${seriesA}.2`, 'YES', withJpegComment(jpeg, 'two')));
    await admin.api.uploadDicom(caseId, sc(study, seriesB, `${seriesB}.1`, 'YES', withJpegComment(jpeg, 'b1')));
    await admin.api.uploadDicom(otherCase, sc('1.2.826.0.1.3680043.9.7433.9.11', '1.2.826.0.1.3680043.9.7433.9.12', '1.2.826.0.1.3680043.9.7433.9.12.1', 'YES'));
  }, 60_000);

  it('held: a non-admin, a de-identified admin and an admin without ImagingStudy cannot mark; nothing is marked', async () => {
    const cli = await server.as('cli9', { scopes: ['patient/*.rs'] });
    const deidAdmin = await server.as('deid9', { admin: true, scopes: ['deidentified', 'patient/*.rs'] });
    const labsAdmin = await server.as('labs9', { admin: true, scopes: ['patient/Observation.rs'] });
    const body = { instances: [`${seriesA}.1`, `${seriesA}.2`] };
    expect((await mark(cli, caseId, seriesA, body)).status).toBe(403);
    expect((await mark(deidAdmin, caseId, seriesA, body)).code).toBe('SCOPE_DENIED');
    expect((await mark(labsAdmin, caseId, seriesA, body)).code).toBe('SCOPE_DENIED');
    expect(await marks(caseId)).toEqual([]);
  });

  it('held: instances of another series, of another case, duplicates, pseudonyms and odd UIDs mark nothing', async () => {
    const refused = async (series: string, instances: unknown, codes: string[]) => {
      const r = await mark(admin, caseId, series, { instances });
      expect(codes, `${series} ${JSON.stringify(instances).slice(0, 80)} → ${r.status} ${r.code}`).toContain(r.code);
    };
    await refused(seriesA, [`${seriesA}.1`, `${seriesB}.1`], ['IMAGING_NOT_FOUND']); // one of another series
    await refused(seriesB, [`${seriesA}.1`], ['IMAGING_NOT_FOUND']);
    await refused(seriesA, ['1.2.826.0.1.3680043.9.7433.9.12.1'], ['IMAGING_NOT_FOUND']); // another case's
    await refused('1.2.826.0.1.3680043.9.7433.9.12', ['1.2.826.0.1.3680043.9.7433.9.12.1'], ['IMAGING_NOT_FOUND']); // another case's series
    await refused(seriesA, [`${seriesA}.1`, `${seriesA}.1`], ['BODY_INVALID']); // duplicates
    for (const odd of ['', '1..2', '.1', '1.', ' 1.2', '1.2 ', '1.2\n', '١.٢', '1.2e3', '0x1.2', `1.${'2'.repeat(63)}`, '1.2.826.0.1.3680043.9.7433.9.2.1%00', 1, null, { sop: 1 }]) await refused(seriesA, [`${seriesA}.2`, odd], ['BODY_INVALID']);
    await refused(seriesA, `${seriesA}.1`, ['BODY_INVALID']); // not a list
    // A huge list: over the cap refused as a body; at the cap, unknown UIDs refused as not in the series.
    await refused(seriesA, Array.from({ length: 10_001 }, (_, i) => `1.2.${i}`), ['BODY_INVALID', 'BODY_TOO_LARGE', 'PAYLOAD_TOO_LARGE']);
    const t = Date.now();
    await refused(seriesA, [...Array.from({ length: 9_999 }, (_, i) => `1.2.${i}`), `${seriesA}.1`], ['IMAGING_NOT_FOUND']);
    expect(Date.now() - t).toBeLessThan(5_000);
    // Extra fields, prototype keys.
    const extra = await raw(admin, 'POST', `/api/cases/${caseId}/imaging/series/${seriesA}/clean`, undefined, `{"instances":["${seriesA}.1"],"__proto__":{"x":1}}`);
    expect(extra.code).toBe('BODY_INVALID');
    // Odd series in the path.
    for (const s of ['..', '1.2.3%2F..', `${seriesA}%00`, 'x'.repeat(300)]) {
      const r = await raw(admin, 'POST', `/api/cases/${caseId}/imaging/series/${s}/clean`, { instances: [`${seriesA}.1`] });
      expect(r.status, s).toBeGreaterThanOrEqual(400);
      expect(r.status, s).toBeLessThan(500);
    }
    // The pseudonyms a de-identified viewer sees are no names for the real instances.
    const room = await server.createRoom({ caseId, participants: [{ userId: 'obs9.ps', role: 'observer' }] });
    const obs = await server.as('obs9.ps', { scopes: ['patient/*.rs'] });
    const shown = (await get<ImagingListResponse>(obs, `/api/cases/${caseId}/imaging`, room.id)).body.studies[0]!.series;
    expect(shown.every((s) => s.seriesUid.startsWith('2.25.'))).toBe(true);
    const psA = shown.find((s) => s.seriesUid !== seriesA)!.seriesUid;
    await refused(psA, [`${seriesA}.1`], ['IMAGING_NOT_FOUND']);
    const pseudoSops = ['2.25.1', `2.25.${'9'.repeat(38)}`];
    await refused(seriesA, pseudoSops, ['IMAGING_NOT_FOUND']);
    expect(await marks(caseId)).toEqual([]);
  });

  it('held: a partial mark keeps the whole series withheld; another series and another case holding the same SOP are not released', async () => {
    expect((await mark(admin, caseId, seriesA, { instances: [`${seriesA}.1`] })).status).toBe(200);
    let view = await deidView(caseId, 'obs9.part');
    expect(view.withheld).toEqual(['burned-in', 'burned-in']);
    expect(view.served).toBe(0);
    // The same bytes (same SOP) uploaded to another case: the mark in this case is not a mark there.
    const { caseId: twin } = await admin.api.importCase(bundle());
    await admin.api.uploadDicom(twin, sc(study, seriesA, `${seriesA}.1`, 'YES'));
    const twinView = await deidView(twin, 'obs9.twin');
    expect([twinView.withheld, twinView.served]).toEqual([['burned-in'], 0]);
    // Marking the rest of A releases A only, and only A's two instances.
    expect((await mark(admin, caseId, seriesA, { instances: [`${seriesA}.1`, `${seriesA}.2`] })).status).toBe(200);
    view = await deidView(caseId, 'obs9.full');
    expect(view.withheld.sort()).toEqual(['burned-in', null]);
    expect(view.served).toBe(2);
  });

  it('held: uploads racing marks — a de-identified viewer never gets an instance nobody named', async () => {
    const { caseId: raceCase } = await admin.api.importCase(bundle());
    const st = '1.2.826.0.1.3680043.9.7433.9.21';
    const se = '1.2.826.0.1.3680043.9.7433.9.22';
    await admin.api.uploadDicom(raceCase, sc(st, se, `${se}.1`, 'NO'));
    const room = await server.createRoom({ caseId: raceCase, participants: [{ userId: 'obs9.race', role: 'observer' }] });
    const obs = await server.as('obs9.race', { scopes: ['patient/*.rs'] });
    for (let i = 2; i <= 9; i++) {
      // The admin marks what they looked at ({1..i-1}) while instance i, burned in, is being uploaded.
      const named = Array.from({ length: i - 1 }, (_, k) => `${se}.${k + 1}`);
      const [, m] = await Promise.all([admin.api.uploadDicom(raceCase, sc(st, se, `${se}.${i}`, 'YES', withJpegComment(jpeg, `burned ${i}`))), mark(admin, raceCase, se, { instances: named })]);
      expect(m.status).toBe(200);
      expect(await marks(raceCase)).not.toContain(`${se}.${i}`);
      const s = (await get<ImagingListResponse>(obs, `/api/cases/${raceCase}/imaging`, room.id)).body.studies[0]!.series[0]!;
      expect(s.withheld, `round ${i}`).toBe('burned-in');
      const opened = await get<ImagingSeriesResponse & { error?: { code: string } }>(obs, `/api/cases/${raceCase}/imaging/series/${s.seriesUid}`, room.id);
      expect(opened.status).toBe(403);
      // Guessing the pseudonym-free real UIDs does not help either.
      expect((await get(obs, `/api/cases/${raceCase}/imaging/series/${se}/instances/${se}.${i}/frames/1`, room.id)).status).toBeGreaterThanOrEqual(400);
    }
    // Naming an instance as it lands: either refused (not yet in the series) or it was there when named.
    const [, m] = await Promise.all([admin.api.uploadDicom(raceCase, sc(st, se, `${se}.10`, 'YES')), mark(admin, raceCase, se, { instances: [`${se}.10`] })]);
    expect([200, 404]).toContain(m.status);
  });
});

describe('attack9: the people-search limit', () => {
  let recA: string;
  let recB: string;
  let edu: ConsiliumClient;
  const search = (c: ConsiliumClient, id: string, q: string, prefix = '/api/recordings') => raw(c, 'GET', `${prefix}/${id}/people?q=${encodeURIComponent(q)}`);

  async function record(host: string): Promise<string> {
    const room = await server.createRoom({ title: 'Board', kind: 'case-conference', recordingAllowed: true, participants: [{ userId: host, role: 'host' }] });
    const s = await server.join(host, room.id, { name: host });
    const { recordingId } = await s.do('recording.start', {});
    await new Promise((r) => setTimeout(r, 300));
    await s.do('recording.stop', {});
    await s.leave();
    return recordingId;
  }
  beforeAll(async () => {
    recA = await record('edu9');
    recB = await record('edu9');
    edu = await server.signIn('edu9');
    for (const id of ['lea9', 'sam9', 'victim9']) await server.signIn(id, { name: `${id} name` });
  }, 60_000);

  it('held: a concurrent burst over two recordings, odd path spellings and query shapes passes at most the burst', async () => {
    const shapes = [
      (i: number) => search(edu, i % 2 ? recA : recB, String.fromCharCode(97 + (i % 26))),
      (i: number) => search(edu, i % 2 ? recA : recB, 'a', '/API/Recordings'),
      (i: number) => raw(edu, 'GET', `/api/recordings/${i % 2 ? recA : recB}/people/?q=e`),
      (i: number) => raw(edu, 'GET', `/api/recordings/${(i % 2 ? recA : recB).toUpperCase()}/people?q=e`),
      (i: number) => raw(edu, 'GET', `//api/recordings/${recA}/people?q=${i}`),
    ];
    const all = await Promise.all(Array.from({ length: 40 }, (_, i) => shapes[i % shapes.length]!(i)));
    const passed = all.filter((r) => r.status === 200).length;
    expect(passed).toBeLessThanOrEqual(PEOPLE_SEARCH_LIMIT.burst + 1);
    expect(all.filter((r) => r.status === 429).every((r) => r.code === 'RATE_LIMITED' && Number(r.retryAfter) >= 1)).toBe(true);
    // Other ways to search people are not open to a host: the administrators' directory.
    for (const p of ['/api/directory/users?q=a', '/api/directory/users']) expect((await raw(edu, 'GET', p)).status).toBe(403);
    // Someone else's budget is untouched by this host's spree (same address).
    const other = await server.as('victim9', { admin: true });
    expect((await search(other, recA, 'lea')).status).toBe(200);
  });

  it('held: a stranger cannot spend a manager\'s budget (refused searches cost nothing, nor name anyone)', async () => {
    const stranger = await server.as('str9');
    for (let i = 0; i < 30; i++) expect((await search(stranger, recA, 'a')).code).toBe('RECORDING_NOT_FOUND');
    const mgr = await server.as('root9.b', { admin: true });
    for (let i = 0; i < PEOPLE_SEARCH_LIMIT.burst; i++) expect((await search(mgr, recA, 'x')).status, `search ${i}`).toBe(200);
  });

  it('held (was a hole): once out of searches, a host cannot check guessed ids through group replay seats — the check spends the same budget', async () => {
    // edu9 has spent its people searches above.
    expect((await search(edu, recA, 'sam')).code).toBe('RATE_LIMITED');
    const probe = async (candidate: string) => {
      const r = await raw(edu, 'POST', `/api/recordings/${recA}/replays`, { participants: [{ userId: candidate, role: 'observer' }, { userId: NOBODY, role: 'observer' }] });
      return r.message?.includes(`"${candidate}"`) ? 'unknown' : r.message?.includes(`"${NOBODY}"`) ? 'exists' : `${r.status} ${r.code}`;
    };
    const answers = { sam9: await probe('sam9'), ghost9: await probe('ghost9') };
    // Safe: the check of seats spends the same budget as a search (or does not tell which id is unknown once the budget is gone).
    expect(answers).not.toEqual({ sam9: 'exists', ghost9: 'unknown' });
  });
});

describe('attack9: USER_NOT_FOUND as an oracle for those without the right', () => {
  let rec: string;
  let roomId: string;
  beforeAll(async () => {
    const room = await server.createRoom({ title: 'Board', kind: 'case-conference', recordingAllowed: true, participants: [{ userId: 'host9', role: 'host' }, { userId: 'cli9b', role: 'clinician' }] });
    roomId = room.id;
    const s = await server.join('host9', room.id, { name: 'host9' });
    ({ recordingId: rec } = await s.do('recording.start', {}));
    await new Promise((r) => setTimeout(r, 300));
    await s.do('recording.stop', {});
    await s.leave();
    const host = await server.signIn('host9');
    for (const id of ['known9', 'granted9', 'seat9', 'cohort9']) await server.signIn(id);
    await host.api.grantRecording(rec, { userId: 'granted9' });
    const training = await server.createRoom({ title: 'Cohort', kind: 'training', participants: [{ userId: 'cohort9', role: 'observer' }, { userId: 'host9', role: 'host' }] });
    await host.api.grantRecordingToRoom(rec, { roomId: training.id });
    await host.api.openReplay(rec, { participants: [{ userId: 'seat9', role: 'observer' }] });
  }, 60_000);

  it('held: every relation short of managing it, and every malformed shape, answers the same for a known id and an unknown one', async () => {
    const who = await Promise.all(['granted9', 'cohort9', 'seat9', 'cli9b', 'str9b'].map((u) => server.as(u)));
    const recPaths = [rec, rec.toUpperCase(), '00000000-0000-4000-8000-000000000000', 'not-a-uuid'];
    for (const c of who) {
      for (const r of recPaths) {
        for (const shape of [
          (u: string) => ({ participants: [{ userId: u, role: 'observer' }] }),
          (u: string) => ({ participants: [{ userId: u, role: 'clinician', scopes: ['patient/*.rs'] }] }),
          (u: string) => ({ title: 'x', participants: [{ userId: u }] }),
          (u: string) => ({ participants: [{ userId: u, role: 'observer' }, { userId: u, role: 'observer' }] }),
        ]) {
          const known = await raw(c, 'POST', `/api/recordings/${r}/replays`, shape('known9'));
          const unknown = await raw(c, 'POST', `/api/recordings/${r}/replays`, shape(NOBODY));
          expect(unknown.code).not.toBe('USER_NOT_FOUND');
          expect([unknown.status, unknown.code, unknown.message?.replace(NOBODY, 'X')]).toEqual([known.status, known.code, known.message?.replace('known9', 'X')]);
        }
        // Grants: the same.
        const gk = await raw(c, 'POST', `/api/recordings/${r}/grants`, { userId: 'known9' });
        const gu = await raw(c, 'POST', `/api/recordings/${r}/grants`, { userId: NOBODY });
        expect(gu.code).not.toBe('USER_NOT_FOUND');
        expect([gu.status, gu.code]).toEqual([gk.status, gk.code]);
      }
    }
    // Nothing was made for anyone.
    const { rows } = await server.app.pool.query(`SELECT 1 FROM room_participants WHERE user_id IN ('known9', $1)`, [NOBODY]);
    expect(rows).toEqual([]);
    expect(roomId).toBeTruthy();
  });
});
