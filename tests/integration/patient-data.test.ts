import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { AGE_BAND_URL, CloseCodes } from '../../shared/src/index.ts';
import { caseBundle, IDENTIFIERS, liveObservation } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

captureFrames();

const CANARY = { name: 'Zqxname7731', mrn: 'MRN-Zq-88412', note: 'Zqxnote5519' };
const LIVE_CANARY = 'Zqxlive2208';
const CANARIES = [CANARY.name, CANARY.mrn, CANARY.note];

let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;
let patientId: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  ({ caseId, patientId } = await admin.api.importCase(caseBundle(CANARY)));
});
afterAll(async () => {
  await server?.stop();
});

const join = (userId: string, roomId: string) => server.join(userId, roomId);

const has = (buf: Buffer, s: string) => buf.includes(Buffer.from(s, 'utf8'));

describe('patient data in a shared room', () => {
  it('raw frames: canaries reach the clinician and never the observer — on join, on patches, after live ingest', async () => {
    const room = await admin.api.createRoom({
      title: 'Canary board',
      kind: 'case-conference',
      caseId,
      participants: [{ userId: 'cli', role: 'clinician' }, { userId: 'obs', role: 'observer' }],
    });
    const cli = await join('cli', room.id);
    const obs = await join('obs', room.id);

    // Join: the clinician's full state carries the identified case.
    await eventually(() => cli.caseResources('Patient').length === 1 && cli.caseResources('Observation').length === 1);
    const patient = cli.caseResources('Patient')[0]!;
    expect(JSON.stringify(patient)).toContain(CANARY.name);
    expect(cli.deidentified).toBe(false);

    // The observer gets de-identified copies of its scoped types only.
    await eventually(() => obs.caseResources('Observation').length === 1);
    expect(obs.deidentified).toBe(true);
    expect(obs.caseResources('MedicationStatement')).toEqual([]);
    expect(obs.caseResources('DocumentReference')).toEqual([]);
    expect(obs.caseResources('AllergyIntolerance')).toEqual([]);
    expect(obs.caseResources('Condition')).toHaveLength(1);
    expect(obs.caseResources('ImagingStudy')).toHaveLength(1);
    const deidPatient = obs.caseResources('Patient')[0]!;
    expect(deidPatient).toEqual({ resourceType: 'Patient', id: expect.any(String), gender: 'female', extension: [{ url: AGE_BAND_URL, valueString: '60-69' }] });

    // Patches: poses, objects, an annotation by the clinician.
    cli.sendPose({ head: { p: [0, 1.7, 0], q: [0, 0, 0, 1] } });
    obs.sendPose({ head: { p: [1, 1.6, 0], q: [0, 0, 0, 1] } });
    expect(await cli.add({ id: 'note-1', kind: 'label', asset: 'builtin:pin', label: `MRN ${CANARY.mrn} — see ${CANARY.note}`, transform: { position: [0, 1.5, 0], rotation: [0, 0, 0, 1] } })).toMatchObject({ ok: true });
    // A model without free text (server-chosen id, built-in asset) is for everyone; a client-chosen id is free text.
    const added = await cli.add({ kind: 'model', asset: 'builtin:heart', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } });
    const model1 = added.ok ? added.objectId : '';
    expect(await cli.add({ id: CANARY.note, kind: 'model', asset: 'builtin:heart', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } })).toMatchObject({ ok: true });
    // Free text on any kind of object may quote the patient: a labelled model carries its author's access too.
    expect(await cli.add({ id: 'model-2', kind: 'model', asset: 'builtin:heart', label: `Heart of ${CANARY.name}`, transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } })).toMatchObject({ ok: true });
    // Geometry is for everyone, its free text only for those whose access covers the author's: a note and a
    // labelled model with server-chosen ids reach the observer as a placeholder (hasText, no label).
    const note = await cli.add({ kind: 'label', asset: 'builtin:pin', label: `Plan for ${CANARY.name}`, transform: { position: [0, 1.4, 0], rotation: [0, 0, 0, 1] } });
    const labelled = await cli.add({ kind: 'model', asset: 'builtin:liver', label: `Liver of ${CANARY.name}`, transform: { position: [0.2, 1, 0], rotation: [0, 0, 0, 1] } });
    const stroke = await cli.add({ kind: 'stroke', asset: 'builtin:pen', points: [0, 0, 0, 0.05, 0.02, 0], transform: { position: [0, 1.1, 0], rotation: [0, 0, 0, 1] } });
    const [noteId, labelledId, strokeId] = [note, labelled, stroke].map((r) => (r.ok ? r.objectId : ''));
    await eventually(() => [model1, noteId!, labelledId!, strokeId!].every((id) => obs.state.objects.has(id)) && cli.state.objects.has('note-1') && cli.state.objects.has('model-2') && cli.state.objects.has(CANARY.note));
    expect(cli.state.objects.get(noteId!)!.label).toBe(`Plan for ${CANARY.name}`);
    for (const id of [noteId!, labelledId!]) expect(obs.state.objects.get(id)).toMatchObject({ hasText: true, label: undefined, createdBy: 'cli' });
    expect(obs.state.objects.get(strokeId!)!.points).not.toBe('');
    // A client-chosen id (or an uploaded asset's name) is itself free text: such an object stays the author's.
    expect(obs.state.objects.has('note-1')).toBe(false);
    expect(obs.state.objects.has('model-2')).toBe(false);
    expect(obs.state.objects.has(CANARY.note)).toBe(false);

    // Live ingest reaches both, each in their form.
    const t0 = Date.now();
    await admin.api.ingestObservation(caseId, liveObservation(patientId, `${LIVE_CANARY} bedside monitor`));
    await eventually(() => cli.caseResources('Observation').length === 2 && obs.caseResources('Observation').length === 2, 1000, 5);
    const ingestMs = Date.now() - t0;
    expect(ingestMs).toBeLessThan(1000);

    const cliBytes = receivedBytes(cli);
    const obsBytes = receivedBytes(obs);
    // The capture works for the observer too: its de-identified data is in its frames.
    expect(has(obsBytes, 'Atrial fibrillation')).toBe(true);
    expect(has(obsBytes, 'bedside monitor')).toBe(false); // live note dropped by de-identification
    for (const c of [...CANARIES, LIVE_CANARY]) expect(has(cliBytes, c), `clinician frames should contain ${c}`).toBe(true);
    for (const c of [...CANARIES, LIVE_CANARY]) expect(has(obsBytes, c), `observer frames must not contain ${c}`).toBe(false);
    // Nor any other Safe Harbor identifier, nor the server's resource ids.
    for (const v of [IDENTIFIERS.birthDate, IDENTIFIERS.phone, IDENTIFIERS.email, IDENTIFIERS.street, IDENTIFIERS.ssn, IDENTIFIERS.observationDate, IDENTIFIERS.dicomUid, IDENTIFIERS.performer, patientId]) {
      expect(has(obsBytes, v), `observer frames must not contain ${v}`).toBe(false);
    }
    await Promise.all([cli.leave(), obs.leave()]);
  });

  it('scope changes apply live: new data appears, revoked data leaves the client and is not sent again', async () => {
    const room = await admin.api.createRoom({
      title: 'Live scopes',
      kind: 'case-conference',
      caseId,
      participants: [{ userId: 'host1', role: 'host' }, { userId: 'spec', role: 'specialist', scopes: ['patient/Observation.rs'] }],
    });
    const host = await join('host1', room.id);
    const spec = await join('spec', room.id);
    await eventually(() => spec.caseResources('Observation').length >= 1);
    expect(spec.caseResources('Condition')).toEqual([]);
    expect(spec.caseResources('Patient')).toEqual([]);

    // The host (not an admin) widens the specialist's scopes.
    const hostApi = (await server.as('host1')).api;
    let t0 = Date.now();
    await hostApi.setParticipant(room.id, 'spec', { role: 'specialist', scopes: ['patient/Observation.rs', 'patient/Condition.rs'] });
    await eventually(() => spec.caseResources('Condition').length === 1, 1000, 5);
    expect(Date.now() - t0).toBeLessThan(1000);

    // Narrow again: Observations leave the client's state.
    t0 = Date.now();
    await hostApi.setParticipant(room.id, 'spec', { role: 'specialist', scopes: ['patient/Condition.rs'] });
    await eventually(() => spec.caseResources('Observation').length === 0, 1000, 5);
    expect(Date.now() - t0).toBeLessThan(1000);

    // A new observation after revocation is never sent to the specialist.
    const before = receivedBytes(spec).length;
    const canary = 'Zqxafterrevoke';
    await admin.api.ingestObservation(caseId, liveObservation(patientId, canary));
    await eventually(() => host.caseResources('Observation').some((o) => JSON.stringify(o).includes(canary)));
    spec.sendPose({ head: { p: [0, 1, 0], q: [0, 0, 0, 1] } });
    await eventually(() => receivedBytes(spec).length > before);
    expect(has(receivedBytes(spec).subarray(before), canary)).toBe(false);
    expect(spec.caseResources('Observation')).toEqual([]);

    // Non-hosts cannot change participants.
    await expect((await server.as('spec')).api.setParticipant(room.id, 'spec', { role: 'host', scopes: ['patient/*.rs'] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await Promise.all([host.leave(), spec.leave()]);
  });

  it('removing a participant disconnects them and revokes their unexpired tickets', async () => {
    const room = await admin.api.createRoom({ title: 'Removal', kind: 'case-conference', caseId, participants: [{ userId: 'h2', role: 'host' }, { userId: 'gone', role: 'clinician' }] });
    const host = await join('h2', room.id);
    const goneClient = await server.as('gone');
    const spareTicket = await goneClient.api.getTicket(room.id);
    const gone = await goneClient.joinWithTicket(await goneClient.api.getTicket(room.id));
    await gone.ready();
    let closedWith: number | undefined;
    gone.onStatus((s, code) => s === 'closed' && (closedWith = code));

    await admin.api.removeParticipant(room.id, 'gone');
    await eventually(() => closedWith === CloseCodes.REMOVED, 1000, 5);
    await expect(goneClient.joinWithTicket(spareTicket)).rejects.toMatchObject({ code: 'TICKET_REVOKED' });
    await expect(goneClient.api.getTicket(room.id)).rejects.toMatchObject({ code: 'NOT_INVITED' });
    await eventually(() => host.participants().length === 1);
    await host.leave();
  });

  it('reads a case over HTTP through a room that shows it, within the room\'s access and the caller\'s own scopes', async () => {
    const room = await admin.api.createRoom({
      title: 'Readers',
      kind: 'case-conference',
      caseId,
      participants: [
        { userId: 'reader1', role: 'clinician' },
        { userId: 'reader2', role: 'clinician' },
        { userId: 'reader3', role: 'clinician' },
        { userId: 'reader-obs', role: 'observer' },
        { userId: 'reader-kicked', role: 'clinician' },
      ],
    });
    const narrow = await server.as('reader1', { scopes: ['patient/Observation.rs'] });
    const view = await narrow.api.getCase(caseId, room.id);
    expect(new Set(view.resources.map((r) => r.resourceType))).toEqual(new Set(['Observation']));
    expect(view.deidentified).toBe(false);

    const deid = await server.as('reader2', { scopes: ['deidentified', 'patient/*.rs'] });
    const dview = await deid.api.getCase(caseId, room.id);
    expect(dview.deidentified).toBe(true);
    const text = JSON.stringify(dview);
    for (const c of CANARIES) expect(text).not.toContain(c);
    expect(dview.resources.find((r) => r.resourceType === 'DocumentReference')).not.toHaveProperty('content');

    const none = await server.as('reader3');
    await expect(none.api.getCase(caseId, room.id)).rejects.toMatchObject({ code: 'SCOPE_DENIED', status: 403 });

    // A wide identity token does not widen the room: not without a room, not uninvited, not beyond the room's access, not kicked.
    const wide = { scopes: ['patient/*.rs'] };
    await expect((await server.as('reader1', wide)).api.getCase(caseId)).rejects.toMatchObject({ code: 'SCOPE_DENIED' });
    await expect((await server.as('stranger-reader', wide)).api.getCase(caseId, room.id)).rejects.toMatchObject({ code: 'SCOPE_DENIED' });
    const asObserver = await (await server.as('reader-obs', wide)).api.getCase(caseId, room.id);
    expect(asObserver.deidentified).toBe(true);
    for (const c of CANARIES) expect(JSON.stringify(asObserver)).not.toContain(c);
    await admin.api.moderate(room.id, 'kick', 'reader-kicked');
    await expect((await server.as('reader-kicked', wide)).api.getCase(caseId, room.id)).rejects.toMatchObject({ code: 'SCOPE_DENIED' });
  });
});

describe('reconnection keeps the filter', () => {
  it('an observer who drops and reconnects gets its de-identified view back, and still no canary', async () => {
    const room = await admin.api.createRoom({ title: 'Drop', kind: 'case-conference', caseId, participants: [{ userId: 'rc-obs', role: 'observer' }, { userId: 'rc-cli', role: 'clinician' }] });
    const cli = await join('rc-cli', room.id);
    const client = await server.as('rc-obs');
    const obs = await client.join(room.id);
    await obs.ready();
    await eventually(() => obs.caseResources('Observation').length >= 1);
    const token = obs.room.reconnectionToken;
    obs.room.reconnection.enabled = false;
    const sessionId = obs.sessionId;
    obs.room.connection.close(4999 as never);
    await eventually(() => cli.participants().find((p) => p.sessionId === sessionId)?.connected === false);
    const back = await client.reconnect(token);
    await back.ready();
    await eventually(() => back.caseResources('Observation').length >= 1 && back.caseResources('Condition').length === 1);
    expect(back.deidentified).toBe(true);
    cli.sendPose({ head: { p: [0, 1.6, 0], q: [0, 0, 0, 1] } });
    await admin.api.ingestObservation(caseId, liveObservation(patientId, `${LIVE_CANARY} after reconnect`));
    await eventually(() => back.caseResources('Observation').length === cli.caseResources('Observation').length && cli.caseResources('Observation').some((o) => JSON.stringify(o).includes('after reconnect')));
    const bytes = receivedBytes(back);
    expect(has(bytes, 'Atrial fibrillation')).toBe(true);
    for (const c of [...CANARIES, LIVE_CANARY]) expect(has(bytes, c), c).toBe(false);
    expect(back.caseResources('MedicationStatement')).toEqual([]);
    await Promise.all([back.leave(), cli.leave()]);
  });
});

describe('models showing case resources', () => {
  it('a model bound to an ImagingStudy is on every table; which study it shows reaches only those who may read imaging', async () => {
    const room = await admin.api.createRoom({
      title: 'Imaging',
      kind: 'case-conference',
      caseId,
      participants: [{ userId: 'im-host', role: 'host' }, { userId: 'im-obs', role: 'observer' }, { userId: 'im-lab', role: 'specialist', scopes: ['patient/Observation.rs'] }],
    });
    const host = await join('im-host', room.id);
    const obs = await join('im-obs', room.id);
    const lab = await join('im-lab', room.id);
    await eventually(() => host.caseResources('ImagingStudy').length === 1);
    const study = host.caseResources('ImagingStudy')[0]!;
    const ctAdded = await host.add({ kind: 'model', asset: 'builtin:heart', resourceRef: `ImagingStudy/${study.id}`, transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } });
    expect(ctAdded).toMatchObject({ ok: true });
    const ct = ctAdded.ok ? ctAdded.objectId : '';
    expect(await lab.add({ id: 'ct2', kind: 'model', asset: 'builtin:heart', resourceRef: `ImagingStudy/${study.id}`, transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } })).toMatchObject({ ok: false, error: { code: 'SCOPE_DENIED' } });
    expect(await host.add({ id: 'ct3', kind: 'model', asset: 'builtin:heart', resourceRef: 'ImagingStudy/00000000-0000-4000-8000-000000000000', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    await eventually(() => obs.state.objects.has(ct));
    // Each finds the model's resource in its own form; the observer never learns the server's id.
    await eventually(() => host.resourceOf(ct)?.id === study.id && obs.resourceOf(ct) !== null);
    expect(obs.resourceOf(ct)!.id).not.toBe(study.id);
    expect(obs.resourceOf(ct)).toEqual(obs.caseResources('ImagingStudy')[0]);
    const synced = await host.add({ kind: 'model', asset: 'builtin:skull', transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } });
    const sync = synced.ok ? synced.objectId : '';
    await eventually(() => lab.state.objects.has(sync) && obs.state.objects.has(sync));
    // The model is on everyone's table; only those who read imaging learn which study it shows.
    await eventually(() => lab.state.objects.has(ct));
    expect(lab.resourceOf(ct)).toBeNull();
    expect(has(receivedBytes(lab), study.id)).toBe(false);
    expect(has(receivedBytes(obs), study.id)).toBe(false);
    // Removing the model unbinds it.
    expect(await host.remove(ct)).toMatchObject({ ok: true });
    await eventually(() => host.resourceOf(ct) === null && obs.resourceOf(ct) === null);
    await Promise.all([host.leave(), obs.leave(), lab.leave()]);
  });
});

describe('cases API', () => {
  it('imports only as admin and reports refused entries with the offending entry', async () => {
    const user = await server.as('nobody');
    await expect(user.api.importCase(caseBundle(CANARY))).rejects.toMatchObject({ code: 'ADMIN_REQUIRED' });
    const bad = caseBundle(CANARY);
    (bad.entry[3]!.resource as Record<string, unknown>)['patient'] = { reference: 'Patient/elsewhere' };
    // One bad entry is refused and reported; the rest is stored.
    expect(await admin.api.importCase(bad)).toMatchObject({ resources: 7, refused: [{ entry: 3, path: 'resource.patient.reference', reason: expect.any(String) }] });
    await expect(admin.api.importCase({ resourceType: 'Bundle', type: 'collection', entry: [] })).rejects.toMatchObject({ code: 'BODY_INVALID' });
    await expect(admin.api.ingestObservation(caseId, { resourceType: 'Observation', status: 'final' })).rejects.toMatchObject({ code: 'BODY_INVALID' });
    await expect(admin.api.getCase('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({ code: 'CASE_NOT_FOUND' });
  });

  it('switching the case of a live room withdraws the old case and discloses the new one', async () => {
    const { caseId: other } = await admin.api.importCase(caseBundle({ name: 'Switchname', mrn: 'SW-1', note: 'sw' }));
    const room = await admin.api.createRoom({ title: 'Switch', kind: 'case-conference', caseId, participants: [{ userId: 'sw-cli', role: 'clinician' }] });
    const cli = await join('sw-cli', room.id);
    await eventually(() => JSON.stringify(cli.caseResources('Patient')).includes(CANARY.name));
    await admin.api.updateRoom(room.id, { caseId: other });
    await eventually(() => cli.state.info.caseId === other && JSON.stringify(cli.caseResources('Patient')).includes('Switchname'));
    expect(JSON.stringify(cli.caseResources())).not.toContain(CANARY.name);
    await admin.api.updateRoom(room.id, { caseId: null });
    await eventually(() => cli.caseResources().length === 0 && cli.state.info.caseId === '');
    await cli.leave();
  });

  it('deleting a case withdraws it from live rooms and from reads', async () => {
    const { caseId: doomed } = await admin.api.importCase(caseBundle({ name: 'Doomed1', mrn: 'D-1', note: 'gone' }));
    const room = await admin.api.createRoom({ title: 'Doomed', kind: 'training', caseId: doomed, participants: [{ userId: 'd-cli', role: 'clinician' }] });
    const cli = await join('d-cli', room.id);
    await eventually(() => cli.caseResources().length === 8);
    await admin.api.deleteCase(doomed);
    await eventually(() => cli.caseResources().length === 0 && cli.state.info.caseId === '');
    const reader = await server.as('d-reader', { scopes: ['patient/*.rs'] });
    await expect(reader.api.getCase(doomed)).rejects.toMatchObject({ code: 'CASE_NOT_FOUND' });
    await cli.leave();
  });
});

describe('the table: geometry for all, free text under its author\'s access (attacks)', () => {
  it('hidden note text never reaches a raw frame of a narrower participant — on join, on patches, after reconnection; widening brings it, narrowing takes it away', async () => {
    const room = await admin.api.createRoom({
      title: 'Table text',
      kind: 'case-conference',
      caseId,
      participants: [
        { userId: 'tt-host', role: 'host' },
        { userId: 'tt-narrow', role: 'clinician', scopes: ['patient/Observation.rs'] },
        { userId: 'tt-student', role: 'observer' },
        { userId: 'tt-late', role: 'observer' },
      ],
    });
    const host = await join('tt-host', room.id);
    const narrow = await join('tt-narrow', room.id);
    const studentClient = await server.as('tt-student');
    const student = await studentClient.join(room.id);
    await student.ready();
    const text = `Zqxtable9931 ${CANARY.name}`;
    const I = { position: [0, 1.2, 0] as [number, number, number], rotation: [0, 0, 0, 1] as [number, number, number, number] };
    const heart = await host.add({ kind: 'model', asset: 'builtin:heart', transform: I });
    const note = await host.add({ kind: 'label', asset: 'builtin:pin', label: text, transform: I });
    const stroke = await host.add({ kind: 'stroke', asset: 'builtin:pen', points: [0, 0, 0, 0.05, 0.05, 0], transform: I });
    const [heartId, noteId, strokeId] = [heart, note, stroke].map((r) => (r.ok ? r.objectId : ''));
    for (const s of [narrow, student]) {
      await eventually(() => [heartId!, noteId!, strokeId!].every((id) => s.state.objects.has(id)));
      expect(s.state.objects.get(noteId!)).toMatchObject({ kind: 'label', hasText: true, label: undefined, createdBy: 'tt-host' });
    }
    // A participant joining later gets the whole table in its first full state — without the text.
    const late = await join('tt-late', room.id);
    await eventually(() => late.state.objects.has(noteId!) && late.state.objects.has(strokeId!));
    // A dropped and reconnected socket gets a fresh full state: still without the text.
    const token = student.room.reconnectionToken;
    student.room.reconnection.enabled = false;
    student.room.connection.close(4999 as never);
    await eventually(() => host.participants().some((p) => p.userId === 'tt-student' && !p.connected));
    const back = await studentClient.reconnect(token);
    await back.ready();
    await eventually(() => back.state.objects.has(noteId!));
    expect(back.state.objects.get(noteId!)!.label).toBeUndefined();
    for (const s of [narrow, student, late, back]) expect(has(receivedBytes(s), 'Zqxtable9931'), 'hidden text in a raw frame').toBe(false);
    expect(has(receivedBytes(host), 'Zqxtable9931')).toBe(true);

    // Widened to the host's access, the narrow clinician reads the note; narrowed again, the text leaves its state.
    const hostApi = (await server.as('tt-host')).api;
    await hostApi.setParticipant(room.id, 'tt-narrow', { role: 'clinician' });
    await eventually(() => narrow.state.objects.get(noteId!)?.label === text);
    await hostApi.setParticipant(room.id, 'tt-narrow', { role: 'clinician', scopes: ['patient/Observation.rs'] });
    await eventually(() => !narrow.state.objects.get(noteId!)?.label);
    expect(narrow.state.objects.has(noteId!)).toBe(true); // the note itself stays on the table
    const before = receivedBytes(narrow).length;
    const second = await host.add({ kind: 'label', asset: 'builtin:pin', label: 'Zqxsecond4410', transform: I });
    await eventually(() => second.ok && narrow.state.objects.has(second.objectId));
    expect(has(receivedBytes(narrow).subarray(before), 'Zqxsecond4410')).toBe(false);
    await Promise.all([host.leave(), narrow.leave(), back.leave(), late.leave()]);
  });
});
