import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { ConsiliumError } from '../../client/src/sdk/index.ts';
import { identifyingStrings, patientIdentityStrings, syntheaCarroll, type Bundle } from '../fixtures/real-fhir.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

captureFrames();

/**
 * Record → replay on a real patient nobody on this project wrote: Synthea's Carroll471 O'Hara248 as
 * published (tests/fixtures/synthea, provenance in tests/fixtures/README.md). A case conference on the
 * record is recorded — a clinician's note naming the patient, a model labelled with one of their Encounters —
 * and replayed afterwards to viewers granted it:
 * - an identified resident's replay holds the patient's identity strings and the data of their scopes;
 * - a de-identified student's replay holds none of the identity (raw frames and raw HTTP), yet their data;
 * - a viewer whose access is narrowed, then revoked, after the session gets nothing of what was taken.
 */
const has = (buf: Buffer, s: string) => buf.includes(Buffer.from(s, 'utf8'));
const T = { position: [0.2, 1.1, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };

let server: TestServer;
let admin: ConsiliumClient;
let bundle: Bundle;
let identity: string[];
let caseId: string;
let recordingId: string;
let durationMs: number;
let noteText: string;
let encounterLabel: string;

/** What a viewer receives over HTTP about the recording and, through their replay room, the case — byte for byte. */
async function httpBytes(client: ConsiliumClient, replayRoomId: string): Promise<{ bytes: Buffer; statuses: number[]; resources: { resourceType: string }[] }> {
  const paths = [`/api/recordings/${recordingId}`, '/api/recordings', `/api/cases/${caseId}?room=${replayRoomId}`, `/api/cases/${caseId}/resources?room=${replayRoomId}&limit=1000`];
  const got = await Promise.all(paths.map(async (p) => {
    const res = await fetch(new URL(p, server.app.url), { headers: { authorization: `Bearer ${client.api.identityToken}` } });
    return { status: res.status, raw: Buffer.from(await res.arrayBuffer()) };
  }));
  const page = got[3]!.status === 200 ? (JSON.parse(got[3]!.raw.toString('utf8')) as { resources: { resourceType: string }[] }).resources : [];
  return { bytes: Buffer.concat(got.map((g) => g.raw)), statuses: got.map((g) => g.status), resources: page };
}

/** A private replay sought to the end of the recording, its case settled. */
async function replayAlone(client: ConsiliumClient): Promise<{ seat: ClinicSession; roomId: string }> {
  const room = await client.api.openReplay(recordingId);
  const seat = await client.join(room.id);
  await seat.ready();
  await seat.do('replay.control', { action: 'seek', positionMs: durationMs });
  await eventually(() => seat.objects().filter((o) => o.id.startsWith('rec_')).length === 2 && seat.caseResources('Observation').length > 0, 15_000);
  // Settled: the entry count stopped changing.
  let last = -1;
  await eventually(() => {
    const n = seat.state.caseEntries.size;
    const settled = n === last;
    last = n;
    return settled;
  }, 10_000, 200);
  return { seat, roomId: room.id };
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  bundle = syntheaCarroll();
  ({ caseId } = await admin.api.importCase(bundle));
  identity = patientIdentityStrings(bundle);
  const patient = bundle.entry.find((e) => e.resource['resourceType'] === 'Patient')!.resource as { name: { given: string[]; family: string }[]; identifier: { value: string }[] };
  const room = await admin.api.createRoom({ title: 'Hypertension clinic review', kind: 'case-conference', caseId, recordingAllowed: true, participants: [{ userId: 'edu', role: 'host' }, { userId: 'cli', role: 'clinician' }] });
  const edu = await server.join('edu', room.id);
  const cli = await server.join('cli', room.id);
  await eventually(() => edu.caseResources('Encounter').length > 0 && cli.caseResources('Patient').length === 1, 15_000);
  const encounter = edu.caseResources('Encounter')[0]! as { type?: { text?: string }[] };
  encounterLabel = `Heart, for: ${encounter.type?.[0]?.text ?? 'encounter'}`;
  ({ recordingId } = await edu.do('recording.start', {}));
  // Written under the clinician's identified access: the patient's name and SSN, as clinicians do.
  noteText = `${patient.name[0]!.given[0]} ${patient.name[0]!.family}, SSN ${patient.identifier.find((i) => /^\d{3}-\d{2}-\d{4}$/.test(i.value))?.value}: BP trend?`;
  await cli.do('object.add', { kind: 'label', asset: 'builtin:pin', label: noteText, transform: T });
  await edu.do('object.add', { kind: 'model', asset: 'builtin:heart', label: encounterLabel, transform: T });
  await edu.do('presenter.set', { sessionId: edu.sessionId });
  cli.room.send('pointer.update', { target: [0.2, 1.1, 0], sentAt: Date.now() });
  await new Promise((r) => setTimeout(r, 500));
  ({ durationMs } = await edu.do('recording.stop', {}));
  await edu.leave();
  await cli.leave();
  const eduApi = await server.as('edu');
  for (const u of ['res', 'stu', 'late']) await server.signIn(u); // a grant names someone who has signed in
  await eduApi.api.grantRecording(recordingId, { userId: 'res', role: 'clinician' });
  await eduApi.api.grantRecording(recordingId, { userId: 'stu' }); // observer: de-identified
  await eduApi.api.grantRecording(recordingId, { userId: 'late', role: 'clinician' });
}, 90_000);
afterAll(async () => {
  await server?.stop();
});

describe('record → replay on a real Synthea patient', () => {
  it('the identity strings are the published patient\'s, and the note quotes them', () => {
    expect(identity).toEqual(expect.arrayContaining(['Carroll471', "O'Hara248", '999-84-6370', '1954-06-13']));
    expect(noteText).toContain('Carroll471');
    expect(noteText).toContain('999-84-6370');
  });

  it('an identified resident\'s replay holds the patient\'s identity and the data of their scopes', async () => {
    const res = await server.as('res', { scopes: ['patient/*.rs'] });
    const { seat, roomId } = await replayAlone(res);
    await eventually(() => seat.caseResources('Patient').length === 1);
    const http = await httpBytes(res, roomId);
    expect(http.statuses).toEqual([200, 200, 200, 200]);
    const bytes = Buffer.concat([receivedBytes(seat), http.bytes]);
    expect(identity.filter((s) => !has(bytes, s))).toEqual([]);
    // Their data, read through the replay room at replay time: every Encounter and Observation of the record.
    const count = (t: string) => http.resources.filter((r) => r.resourceType === t).length;
    expect([count('Encounter'), count('Observation')]).toEqual([14, 88]);
    const recorded = seat.objects().filter((o) => o.id.startsWith('rec_'));
    expect(recorded.map((o) => o.label).sort()).toEqual([encounterLabel, noteText].sort());
    expect((await res.api.getRecording(recordingId)).markers.find((m) => m.kind === 'annotation')).toMatchObject({ what: 'label', text: noteText });
    console.info(`[synthea replay] identified: ${identity.length}/${identity.length} identity strings, ${http.resources.length} resources over HTTP, ${receivedBytes(seat).length} frame bytes`);
    await seat.leave();
  });

  it('a de-identified student\'s replay holds none of them — raw frames and raw HTTP — yet their own data', async () => {
    const stu = await server.as('stu', { scopes: ['patient/*.rs'] }); // a wide identity token: only the grant narrows
    const { seat, roomId } = await replayAlone(stu);
    await new Promise((r) => setTimeout(r, 300));
    const http = await httpBytes(stu, roomId);
    expect(http.statuses).toEqual([200, 200, 200, 200]);
    const bytes = Buffer.concat([receivedBytes(seat), http.bytes]);
    expect(seat.deidentified).toBe(true);
    expect(identity.filter((s) => has(bytes, s))).toEqual([]);
    // Everything Safe Harbor forbids of the record (names, identifiers, addresses, telecom, full dates) is absent too.
    const safeHarbor = identifyingStrings(bundle);
    expect(safeHarbor.filter((s) => has(bytes, s))).toEqual([]);
    // Their data: the de-identified Observations; the recorded table without the free text of others' access.
    expect(http.resources.filter((r) => r.resourceType === 'Observation').length).toBe(88);
    expect(http.resources.some((r) => r.resourceType === 'Encounter')).toBe(false);
    const recorded = seat.objects().filter((o) => o.id.startsWith('rec_'));
    expect(recorded.map((o) => [o.kind, o.label ?? '', o.hasText])).toEqual(expect.arrayContaining([['label', '', true], ['model', '', true]]));
    expect((await stu.api.getRecording(recordingId)).markers.find((m) => m.kind === 'annotation')).toMatchObject({ what: 'label', hidden: true });
    console.info(`[synthea replay] de-identified: 0/${identity.length} identity strings, 0/${safeHarbor.length} Safe Harbor strings, ${http.resources.length} resources over HTTP`);
    await seat.leave();
  });

  it('a viewer narrowed after the session loses the identity at once; revoked, they get nothing at all', async () => {
    const late = await server.as('late', { scopes: ['patient/*.rs'] });
    const { seat, roomId } = await replayAlone(late);
    await eventually(() => seat.caseResources('Patient').length === 1);
    expect(has(receivedBytes(seat), 'Carroll471')).toBe(true);

    // Narrowed to a student's access: their replay follows at once.
    const edu = await server.as('edu');
    const mark = receivedBytes(seat).length;
    await edu.api.grantRecording(recordingId, { userId: 'late' }); // observer, de-identified
    await eventually(() => seat.deidentified && seat.caseResources('Patient').every((p) => !JSON.stringify(p).includes('Carroll471')));
    await seat.do('replay.control', { action: 'seek', positionMs: 0 });
    await seat.do('replay.control', { action: 'seek', positionMs: durationMs });
    await new Promise((r) => setTimeout(r, 400));
    const http = await httpBytes(late, roomId);
    const after = Buffer.concat([receivedBytes(seat).subarray(mark), http.bytes]);
    expect(identity.filter((s) => has(after, s))).toEqual([]);
    expect(http.resources.filter((r) => r.resourceType === 'Encounter')).toEqual([]);

    // Revoked: out of the replay at once; nothing through the room or the library.
    let closed = false;
    seat.onStatus((s) => void (s === 'closed' && (closed = true)));
    await edu.api.revokeRecording(recordingId, 'late');
    await eventually(() => closed, 3000, 10);
    const gone = await httpBytes(late, roomId);
    expect(gone.statuses).toEqual([404, 200, 403, 403]);
    expect(identity.filter((s) => has(gone.bytes, s))).toEqual([]);
    expect(gone.resources).toEqual([]);
    await expect(late.api.getTicket(roomId)).rejects.toBeInstanceOf(ConsiliumError);
  });
});
