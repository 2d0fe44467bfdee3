import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { CaseReadResponse } from '../../shared/src/http.ts';
import { caseBundle, IDENTIFIERS } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { refusal } from '../support/refusal.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { capturedLogger } from '../support/log-capture.ts';

/**
 * Outside attack (round 7) on the read of several types (`POST /api/cases/:id/resources/query`) and
 * the other case reads that go through a room (`?room=`), with an ordinary account: forbidden and
 * mixed types, rooms one is not in, another case's, closed, kicked, removed, demoted, replay rooms
 * whose session or recording is over, paging extremes, hostile bodies — on the raw HTTP bytes, the
 * audit trail and the process log. `HOLE` tests were found failing and pass once closed; `held`
 * tests pin what resisted, so they fail if it breaks.
 */
const CANARY = { name: 'Kqattsevname5521', mrn: 'KQ-MRN-70331', note: 'Kqattsevnote9044' };
const HOSTILE = 'Kq7hostile-canary-2718';
const IDENTITY = [CANARY.name, CANARY.mrn, IDENTIFIERS.birthDate, IDENTIFIERS.street, IDENTIFIERS.phone, IDENTIFIERS.ssn];
const T = { position: [0.1, 1.2, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };
const PATIENT_SCOPES = ['patient/*.rs'];

const { logger, lines: logLines } = capturedLogger('trace');

let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;
let roomId: string;
let recordingId: string;

interface Row {
  outcome: string;
  room_id: string | null;
  details: Record<string, unknown> & { resources?: string[]; types?: Record<string, unknown> };
}
const caseReads = async (actor: string): Promise<Row[]> => {
  await server.app.audit.flush();
  return (await server.app.pool.query<Row>(`SELECT outcome, room_id, details FROM audit_log WHERE actor = $1 AND action = 'case.read' ORDER BY seq`, [actor])).rows;
};

/** A raw request as an attacker's own HTTP client sends it. */
async function raw(client: ConsiliumClient | null, method: string, path: string, body?: string | Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Promise<{ status: number; text: string; code?: string }> {
  const res = await fetch(new URL(path, server.app.url), {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(client ? { authorization: `Bearer ${client.api.identityToken}` } : {}), ...headers },
    ...(body !== undefined ? { body: body as BodyInit } : {}),
    // A stream goes chunked, with no length declared.
    ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
  } as RequestInit);
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code: string } }).error?.code;
  } catch {
    code = undefined;
  }
  return { status: res.status, text, ...(code ? { code } : {}) };
}
const query = (client: ConsiliumClient, body: object, id = caseId) => raw(client, 'POST', `/api/cases/${id}/resources/query`, JSON.stringify(body));

/** Every case read through a room an attacker can aim at it: several types, the whole case, one type, the imaging list. */
async function everyRead(client: ConsiliumClient, room: string): Promise<{ what: string; status: number; text: string; code?: string }[]> {
  return [
    { what: 'query', ...(await query(client, { room, types: ['Observation', 'Condition', 'Patient'] })) },
    { what: 'case', ...(await raw(client, 'GET', `/api/cases/${caseId}?room=${room}`)) },
    { what: 'resources', ...(await raw(client, 'GET', `/api/cases/${caseId}/resources?room=${room}&type=Condition`)) },
    { what: 'imaging', ...(await raw(client, 'GET', `/api/cases/${caseId}/imaging?room=${room}`)) },
  ];
}
const refusedEverywhere = (reads: Awaited<ReturnType<typeof everyRead>>) => {
  for (const r of reads) {
    expect([r.what, r.status, r.code]).toEqual([r.what, 403, 'SCOPE_DENIED']);
    for (const s of [...IDENTITY, CANARY.note, 'Atrial fibrillation']) expect(r.text, `${r.what}: ${s}`).not.toContain(s);
  }
};

/** A conference recorded by `edu` (host, identified) with a clinician's note quoting the patient. */
async function recordConference(): Promise<string> {
  const room = await admin.api.createRoom({ title: 'Board', kind: 'case-conference', caseId, recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }, { userId: 'cli', role: 'clinician' }] });
  const edu = await server.join('edu', room.id);
  const cli = await server.join('cli', room.id);
  const { recordingId: id } = await edu.do('recording.start', {});
  await cli.do('object.add', { kind: 'label', asset: 'builtin:pin', label: `Mass, ${CANARY.name}`, transform: T });
  await new Promise((r) => setTimeout(r, 300));
  await edu.do('recording.stop', {});
  await edu.leave();
  await cli.leave();
  return id;
}

beforeAll(async () => {
  server = await startTestServer({ logger });
  admin = await server.as('root', { admin: true, scopes: PATIENT_SCOPES });
  ({ caseId } = await admin.api.importCase(caseBundle(CANARY)));
  roomId = (
    await admin.api.createRoom({
      title: 'Attack 7',
      kind: 'case-conference',
      caseId,
      participants: [
        { userId: 'a7.cli', role: 'clinician' },
        { userId: 'a7.obs', role: 'observer' },
        { userId: 'a7.lim', role: 'clinician', scopes: ['patient/Observation.rs'] },
        { userId: 'a7.dem', role: 'clinician' },
        { userId: 'a7.rem', role: 'clinician' },
        { userId: 'a7.kik', role: 'clinician' },
      ],
    })
  ).id;
  recordingId = await recordConference();
  for (const u of ['eva', 'lea', 'kim', 'ada', 'gus']) await server.signIn(u, { scopes: PATIENT_SCOPES });
}, 90_000);
afterAll(async () => {
  await server?.stop();
});

describe('attack7: replay rooms are no standing door to the case', () => {
  /**
   * LOW. A replay room shows its recording's case to whoever sits in it, and the case reads over HTTP
   * (`?room=` / `room`) take the room record at its word. An expired recording's replay rooms are closed
   * only at the next ticket to them or at the hourly retention run: until then its grantee reads the whole
   * identified case (and the imaging list) through the replay room of a recording that no longer exists.
   */
  it('HOLE (low): an expired recording\'s replay room reads nothing of the case, and closes', async () => {
    const id = await recordConference();
    const edu = await server.as('edu');
    await edu.api.grantRecording(id, { userId: 'eva', role: 'clinician' });
    const eva = await server.as('eva', { scopes: PATIENT_SCOPES });
    const own = await eva.api.openReplay(id);
    const before = await query(eva, { room: own.id, types: ['Condition'] });
    expect(before.status).toBe(200); // the grant reads the case through its replay room
    await server.app.pool.query(`UPDATE recordings SET expires_at = now() - interval '1 second' WHERE id = $1`, [id]);
    // Someone the room does not admit reads nothing through it, and does not get to end it either.
    refusedEverywhere(await everyRead(await server.as('a7.cli', { scopes: PATIENT_SCOPES }), own.id));
    expect((await server.app.pool.query<{ status: string }>(`SELECT status FROM rooms WHERE id = $1`, [own.id])).rows[0]!.status).toBe('open');
    refusedEverywhere(await everyRead(eva, own.id));
    const { rows } = await server.app.pool.query<{ status: string }>(`SELECT status FROM rooms WHERE id = $1`, [own.id]);
    expect(rows[0]!.status).toBe('closed');
  });

  /**
   * LOW. A learner's seat in a group replay is their hold on the recording "for that session"
   * (REPLAY_ROOM_HOURS). Past it, until the retention run or a ticket closes the room, the seat still
   * counted: the learner read the recording's timeline, asked for its voice and read the case through
   * the room.
   */
  it('HOLE (low): once a group replay\'s session is over, its learner holds nothing: no case, no timeline, no voice', async () => {
    const edu = await server.as('edu');
    const group = await edu.api.openReplay(recordingId, { participants: [{ userId: 'lea', role: 'clinician' }] });
    const lea = await server.as('lea', { scopes: PATIENT_SCOPES });
    expect((await query(lea, { room: group.id, types: ['Condition'] })).status).toBe(200);
    expect((await lea.api.getRecording(recordingId)).access).toBe('seat');
    await server.app.pool.query(`UPDATE rooms SET created_at = now() - interval '13 hours' WHERE id = $1`, [group.id]);
    // Nobody has asked for a ticket, no retention run yet: the room is still open in the database.
    expect(await refusal(lea.api.getRecording(recordingId))).toBe('RECORDING_NOT_FOUND');
    expect(await refusal(lea.api.recordingAudioLink(recordingId))).toBe('RECORDING_NOT_FOUND');
    expect((await lea.api.listRecordings()).map((r) => r.id)).not.toContain(recordingId);
    refusedEverywhere(await everyRead(lea, group.id));
    // The read found the session over and closed the room, as a ticket would have.
    expect((await server.app.pool.query<{ status: string }>(`SELECT status FROM rooms WHERE id = $1`, [group.id])).rows[0]!.status).toBe('closed');
  });

  /**
   * LOW. An administrator's private replay (relation `admin`) keeps its room record after the identity
   * provider stops calling them an administrator; no route sees that, so over HTTP the room record alone
   * read the identified case for someone who holds nothing of the recording.
   */
  it('HOLE (low): an administrator\'s replay room reads nothing for them once they are no administrator', async () => {
    const ada = await server.as('ada', { admin: true, scopes: PATIENT_SCOPES });
    const own = await ada.api.openReplay(recordingId);
    const demoted = await server.signIn('ada', { scopes: PATIENT_SCOPES });
    expect(await refusal(demoted.api.getRecording(recordingId))).toBe('RECORDING_NOT_FOUND');
    refusedEverywhere(await everyRead(demoted, own.id));
  });

  /**
   * LOW. A training room's member watches a recording granted to the room. Closed from the command line
   * (no route sees it), the member holds nothing — yet their private replay room kept reading the case.
   */
  it('HOLE (low): a cohort member whose training room closed without a route reads nothing through their replay', async () => {
    const edu = await server.as('edu');
    const cohort = await admin.api.createRoom({ title: 'Cohort 7', kind: 'training', participants: [{ userId: 'edu', role: 'host' }, { userId: 'kim', role: 'clinician' }] });
    await edu.api.grantRecordingToRoom(recordingId, { roomId: cohort.id, role: 'clinician' });
    const kim = await server.as('kim', { scopes: PATIENT_SCOPES });
    const own = await kim.api.openReplay(recordingId);
    expect((await query(kim, { room: own.id, types: ['Condition'] })).status).toBe(200);
    await server.app.pool.query(`UPDATE rooms SET status = 'closed' WHERE id = $1`, [cohort.id]); // as `consilium rooms close` does, with no server to tell
    refusedEverywhere(await everyRead(kim, own.id));
  });

  it('held: a grantee reads through their replay room only what the grant gives (de-identified), never more than the room record says', async () => {
    const edu = await server.as('edu');
    await edu.api.grantRecording(recordingId, { userId: 'gus' }); // observer: de-identified
    const gus = await server.as('gus', { scopes: PATIENT_SCOPES });
    const own = await gus.api.openReplay(recordingId);
    const res = await query(gus, { room: own.id, types: ['Observation', 'Condition', 'Patient', 'DocumentReference'] });
    expect(res.status).toBe(200);
    expect((JSON.parse(res.text) as CaseReadResponse).deidentified).toBe(true);
    for (const s of [...IDENTITY, CANARY.note]) expect(res.text, s).not.toContain(s);
    // Seated by the educator as a resident in a group replay, they read there what that seat gives (as the
    // live room shows it), not their grant's de-identified copy — the seat is the manager's word.
    const group = await edu.api.openReplay(recordingId, { participants: [{ userId: 'gus', role: 'clinician' }] });
    const seated = await query(gus, { room: group.id, types: ['Condition', 'Patient'] });
    expect(seated.status).toBe(200);
    expect(seated.text).toContain(CANARY.name);
    // Revoking the grant ends both: their own replay and the seat the educator gave them.
    await edu.api.revokeRecording(recordingId, 'gus');
    refusedEverywhere(await everyRead(gus, own.id));
    refusedEverywhere(await everyRead(gus, group.id));
  });
});

describe('attack7: the room a read goes through', () => {
  it('held: a room one is not in, another case\'s room, a closed room, a made-up room: 403 and a failure row, nothing of the case', async () => {
    const cli = await server.as('a7.cli', { scopes: PATIENT_SCOPES });
    const other = await admin.api.importCase(caseBundle({ name: 'Kqothername', mrn: 'KQ-OTHER', note: 'Kqothernote' }));
    const otherCaseRoom = await admin.api.createRoom({ title: 'Other case', kind: 'case-conference', caseId: other.caseId, participants: [{ userId: 'a7.cli', role: 'clinician' }] });
    const notMine = await admin.api.createRoom({ title: 'Not mine', kind: 'case-conference', caseId, participants: [{ userId: 'someone', role: 'clinician' }] });
    const closed = await admin.api.createRoom({ title: 'Closed', kind: 'case-conference', caseId, participants: [{ userId: 'a7.cli', role: 'clinician' }] });
    await admin.api.closeRoom(closed.id);
    const before = (await caseReads('a7.cli')).length;
    for (const room of [otherCaseRoom.id, notMine.id, closed.id, '00000000-0000-4000-8000-0000000000a7']) refusedEverywhere(await everyRead(cli, room));
    // The other case through its own room (this case's id in the path) reads nothing of this case either.
    const cross = await query(cli, { room: otherCaseRoom.id, types: ['Condition'] }, caseId);
    expect(cross.status).toBe(403);
    // No room at all: an ordinary account reads nothing.
    expect((await query(cli, { types: ['Condition'] })).code).toBe('SCOPE_DENIED');
    const rows = (await caseReads('a7.cli')).slice(before);
    expect(rows.length).toBeGreaterThanOrEqual(4 * 4);
    expect(rows.every((r) => r.outcome === 'failure' && (r.details.resources ?? []).length === 0)).toBe(true);
  });

  it('held: demoted, removed or kicked mid-session — the very next read follows (de-identified, then nothing)', async () => {
    const dem = await server.as('a7.dem', { scopes: PATIENT_SCOPES });
    const session = await dem.join(roomId);
    await session.ready();
    const first = await query(dem, { room: roomId, types: ['Condition', 'Patient'] });
    expect(first.status).toBe(200);
    expect(first.text).toContain(CANARY.name);
    await admin.api.setParticipant(roomId, 'a7.dem', { role: 'observer' });
    const after = await query(dem, { room: roomId, types: ['Condition', 'Patient', 'Observation'] });
    expect(after.status).toBe(200);
    expect((JSON.parse(after.text) as CaseReadResponse).deidentified).toBe(true);
    for (const s of [...IDENTITY, CANARY.note]) expect(after.text, s).not.toContain(s);
    await session.leave().catch(() => {});

    const rem = await server.as('a7.rem', { scopes: PATIENT_SCOPES });
    expect((await query(rem, { room: roomId, types: ['Condition'] })).status).toBe(200);
    await admin.api.removeParticipant(roomId, 'a7.rem');
    refusedEverywhere(await everyRead(rem, roomId));

    const kik = await server.as('a7.kik', { scopes: PATIENT_SCOPES });
    expect((await query(kik, { room: roomId, types: ['Condition'] })).status).toBe(200);
    await admin.api.moderate(roomId, 'kick', 'a7.kik');
    refusedEverywhere(await everyRead(kik, roomId));
  });

  it('held: the identity token bounds the room: a token with fewer scopes, or de-identified, reads no more than it says', async () => {
    const narrow = await server.as('a7.cli', { scopes: ['patient/Observation.rs'] });
    const res = await query(narrow, { room: roomId, types: ['Observation', 'Condition', 'Patient'] });
    expect(res.status).toBe(200);
    expect((JSON.parse(res.text) as CaseReadResponse).types.map((t) => [t.type, t.status])).toEqual([['Observation', 'read'], ['Condition', 'denied'], ['Patient', 'denied']]);
    for (const s of IDENTITY) expect(res.text, s).not.toContain(s); // identity-withheld: the clinical note stays, the identity goes
    const deid = await server.as('a7.cli', { scopes: ['patient/*.rs', 'deidentified'] });
    const d = await query(deid, { room: roomId, types: ['Observation', 'Condition', 'Patient', 'DocumentReference'] });
    expect((JSON.parse(d.text) as CaseReadResponse).deidentified).toBe(true);
    for (const s of [...IDENTITY, CANARY.note]) expect(d.text, s).not.toContain(s);
    const none = await server.as('a7.cli', { scopes: [] });
    expect((await query(none, { room: roomId, types: ['Observation'] })).code).toBe('SCOPE_DENIED');
  });
});

describe('attack7: types and pages', () => {
  it('held: forbidden and mixed types — only the allowed copies, the others named denied; a de-identified reader gets no identified-only type', async () => {
    const lim = await server.as('a7.lim', { scopes: PATIENT_SCOPES });
    const mixed = await query(lim, { room: roomId, types: ['Patient', 'Observation', 'RelatedPerson', 'Condition', 'DocumentReference'] });
    expect(mixed.status).toBe(200);
    const body = JSON.parse(mixed.text) as CaseReadResponse;
    expect(body.types.map((t) => [t.type, t.status])).toEqual([['Patient', 'denied'], ['Observation', 'read'], ['RelatedPerson', 'denied'], ['Condition', 'denied'], ['DocumentReference', 'denied']]);
    for (const s of [...IDENTITY, IDENTIFIERS.documentText, 'Atrial fibrillation']) expect(mixed.text, s).not.toContain(s);

    const obs = await server.as('a7.obs', { scopes: PATIENT_SCOPES });
    const all = await query(obs, { room: roomId, types: ['Patient', 'Observation', 'Condition', 'DocumentReference', 'MedicationStatement', 'ImagingStudy', 'Practitioner', 'RelatedPerson', 'Person', 'Binary'] });
    expect(all.status).toBe(200);
    const deid = JSON.parse(all.text) as CaseReadResponse;
    expect(deid.deidentified).toBe(true);
    for (const s of [...IDENTITY, CANARY.note, IDENTIFIERS.documentText, IDENTIFIERS.performer, IDENTIFIERS.dicomUid, IDENTIFIERS.observationDate, IDENTIFIERS.conditionOnset]) expect(all.text, s).not.toContain(s);
    // Every copy sent is in the one row, by server id (the pseudonyms sent are not the ids audited).
    const row = (await caseReads('a7.obs')).at(-1)!;
    const sent = deid.types.flatMap((t) => (t.status === 'read' ? t.resources : []));
    expect(row.details.resources).toHaveLength(sent.length);
    expect(Object.values(row.details.types!).reduce<number>((n, t) => n + ((t as { count?: number }).count ?? 0), 0)).toBe(sent.length);
  });

  it('held: a type twice in other spellings, padded, with invisible characters or in another case is refused whole (400), with no row', async () => {
    const cli = await server.as('a7.cli', { scopes: PATIENT_SCOPES });
    const before = (await caseReads('a7.cli')).length;
    for (const types of [['Observation', 'observation'], ['Observation', 'OBSERVATION'], ['Observation', 'Observation '], ['Observation', 'Observation\u200b'], ['Observation', '\ufeffObservation'], ['Observation', 'Observatіon'], ['Observation', 'Observation'], ['__proto__'], ['constructor'], ['Observation', 'toString']]) {
      const res = await query(cli, { room: roomId, types });
      expect([JSON.stringify(types), res.status, res.code]).toEqual([JSON.stringify(types), 400, 'BODY_INVALID']);
    }
    expect((await caseReads('a7.cli')).length).toBe(before);
  });

  it('held: paging extremes — offsets past the end, the largest page, 20 types at once — send only what the row lists', async () => {
    const cli = await server.as('a7.cli', { scopes: PATIENT_SCOPES });
    const twenty = ['Patient', 'Observation', 'Condition', 'DocumentReference', 'MedicationStatement', 'MedicationRequest', 'AllergyIntolerance', 'Encounter', 'Procedure', 'Immunization', 'DiagnosticReport', 'ImagingStudy', 'Medication', 'CarePlan', 'Goal', 'Device', 'Specimen', 'FamilyMemberHistory', 'ServiceRequest', 'Practitioner'];
    for (const page of [{ offset: 0, limit: 200 }, { offset: 1, limit: 1 }, { offset: 1_000_000, limit: 200 }, { offset: 999_999, limit: 1 }]) {
      const res = await query(cli, { room: roomId, types: twenty, ...page });
      expect(res.status, JSON.stringify(page)).toBe(200);
      const body = JSON.parse(res.text) as CaseReadResponse;
      const sent = body.types.flatMap((t) => (t.status === 'read' ? t.resources.map((r) => `${r.resourceType}/${r.id}`) : []));
      const row = (await caseReads('a7.cli')).at(-1)!;
      expect(row.details.resources).toEqual(sent);
      if (page.offset >= 1) expect(sent.filter((r) => r.startsWith('Patient/'))).toEqual([]); // one Patient: nothing past it
    }
    for (const page of [{ offset: 1_000_001 }, { offset: 1e300 }, { offset: 0.5 }, { limit: 201 }, { limit: -1 }, { offset: '0' }, { limit: null }]) {
      const res = await query(cli, { room: roomId, types: ['Observation'], ...page });
      expect([JSON.stringify(page), res.status, res.code]).toEqual([JSON.stringify(page), 400, 'BODY_INVALID']);
    }
  });
});

describe('attack7: the row says what happened', () => {
  /**
   * LOW. The read of several types writes the room it went through into its row (`room_id`), taken from
   * the request. An administrator reads under their own token whatever `room` says, so the row named
   * whatever room they chose — another case's room, or one that does not exist — as the room of a read it
   * played no part in (an audit query by room then lists a read of this patient under a room showing another).
   */
  it('HOLE (low): the row names the room a read went through, never one the caller merely named', async () => {
    const other = await admin.api.importCase(caseBundle({ name: 'Kqroomname', mrn: 'KQ-ROOM', note: 'Kqroomnote' }));
    const otherRoom = await admin.api.createRoom({ title: 'Other case', kind: 'case-conference', caseId: other.caseId, participants: [{ userId: 'a7.cli', role: 'clinician' }] });
    for (const room of [otherRoom.id, '00000000-0000-4000-8000-0000000000a7']) {
      expect((await query(admin, { room, types: ['Condition'] })).status).toBe(200);
      const row = (await caseReads('root')).at(-1)!;
      expect([room, row.room_id]).toEqual([room, null]);
    }
    // Through a room that shows the case and admits them, it is named — for anyone.
    const inRoom = await admin.api.createRoom({ title: 'Admin in', kind: 'case-conference', caseId, participants: [{ userId: 'root', role: 'clinician' }] });
    expect((await query(admin, { room: inRoom.id, types: ['Condition'] })).status).toBe(200);
    expect((await caseReads('root')).at(-1)!.room_id).toBe(inRoom.id);
    const cli = await server.as('a7.cli', { scopes: PATIENT_SCOPES });
    expect((await query(cli, { room: roomId, types: ['Condition'] })).status).toBe(200);
    expect((await caseReads('a7.cli')).at(-1)!.room_id).toBe(roomId);
  });

  /**
   * LOW. A read that sends nothing (an empty type, a page past the end) recorded `variant: identified`
   * for a reader without Patient scope, whose every copy is identity-withheld: the row said they read the
   * identified record. The copy a read gives follows the reader's access, whether or not anything was found.
   */
  it('HOLE (low): a read that finds nothing records the copy the reader gets, not "identified"', async () => {
    const lim = await server.as('a7.lim', { scopes: PATIENT_SCOPES });
    expect((await query(lim, { room: roomId, types: ['Observation'], offset: 5000 })).status).toBe(200);
    expect((await caseReads('a7.lim')).at(-1)!.details).toMatchObject({ variant: 'identity-withheld', resources: [], types: { Observation: { variant: 'identity-withheld', count: 0 } } });
    expect((await raw(lim, 'GET', `/api/cases/${caseId}/resources?room=${roomId}&type=Observation&offset=5000`)).status).toBe(200);
    expect((await caseReads('a7.lim')).at(-1)!.details).toMatchObject({ variant: 'identity-withheld', resources: [] });
    const obs = await server.as('a7.obs', { scopes: PATIENT_SCOPES });
    expect((await query(obs, { room: roomId, types: ['Observation'], offset: 5000 })).status).toBe(200);
    expect((await caseReads('a7.obs')).at(-1)!.details).toMatchObject({ variant: 'deidentified', resources: [] });
    const cli = await server.as('a7.cli', { scopes: PATIENT_SCOPES });
    expect((await query(cli, { room: roomId, types: ['Observation'], offset: 5000 })).status).toBe(200);
    expect((await caseReads('a7.cli')).at(-1)!.details).toMatchObject({ variant: 'identified', resources: [] });
  });
});

describe('attack7: hostile bodies', () => {
  it('held: NUL, lone surrogates, 1 MB, a gzip bomb, deep nesting, prototype keys: a stable 400, nothing audited, nothing of it logged', async () => {
    const cli = await server.as('a7.cli', { scopes: PATIENT_SCOPES });
    await server.app.audit.flush();
    const count = async () => Number((await server.app.pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_log')).rows[0]!.n);
    const auditBefore = await count();
    const linesBefore = logLines.length;
    const path = `/api/cases/${caseId}/resources/query`;
    const big = JSON.stringify({ room: roomId, types: ['Observation'], pad: HOSTILE.repeat(Math.ceil(1_048_576 / HOSTILE.length)) });
    const chunked = () => new ReadableStream<Uint8Array>({
      start(c) {
        const bytes = new TextEncoder().encode(big);
        for (let i = 0; i < bytes.length; i += 65_536) c.enqueue(bytes.subarray(i, i + 65_536));
        c.close();
      },
    });
    const bodies: [string, string | Uint8Array | (() => ReadableStream<Uint8Array>), Record<string, string>][] = [
      ['a lone surrogate in a type', `{"room":"${roomId}","types":["Observation\\ud800${HOSTILE}"]}`, {}],
      ['a lone surrogate in a key', `{"room":"${roomId}","types":["Observation"],"\\udc00${HOSTILE}":1}`, {}],
      ['NUL in a type', `{"room":"${roomId}","types":["Observation\\u0000${HOSTILE}"]}`, {}],
      ['1 MB', big, {}],
      ['1 MB, no length declared', chunked, {}],
      ['a gzip bomb', gzipSync(Buffer.from(big)), { 'content-encoding': 'gzip' }],
      ['deep nesting', `{"room":"${roomId}","types":["Observation"],"x":${'['.repeat(5000)}${']'.repeat(5000)}}`, {}],
      ['__proto__', `{"room":"${roomId}","types":["Observation"],"__proto__":{"admin":true,"${HOSTILE}":1}}`, {}],
      ['constructor.prototype', `{"room":"${roomId}","types":["Observation"],"constructor":{"prototype":{"${HOSTILE}":1}}}`, {}],
    ];
    for (const [what, body, headers] of bodies) {
      const res = await raw(cli, 'POST', path, typeof body === 'function' ? body() : body, headers);
      expect([what, res.status, res.code]).toEqual([what, expect.any(Number), 'BODY_INVALID']);
      expect(res.status, what).toBeGreaterThanOrEqual(400);
      expect(res.status, what).toBeLessThan(500);
      expect(res.text, what).not.toContain(HOSTILE);
      expect(res.text.length, what).toBeLessThan(4000);
    }
    // The server still answers, and the prototype was not polluted.
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
    expect((await query(cli, { room: roomId, types: ['Observation'] })).status).toBe(200);
    expect(await count()).toBe(auditBefore + 1);
    await eventually(() => logLines.length >= linesBefore);
    expect(logLines.slice(linesBefore).join('')).not.toContain(HOSTILE);
    for (const s of [...IDENTITY, CANARY.note]) expect(logLines.join(''), s).not.toContain(s);
  });
});
