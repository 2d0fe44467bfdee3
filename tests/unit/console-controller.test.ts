import { describe, expect, it } from 'vitest';
import { accessHelp, auditCsv, auditQuery, ConsoleController, detailsText, nameHint, participantInput, type ConsoleApi } from '../../client/src/admin/console-controller.ts';
import type { DirectoryAuditEvent } from '../../client/src/sdk/api.ts';
import { ConsiliumError } from '../../client/src/sdk/errors.ts';
import type { RoomDto } from '../../shared/src/http.ts';

/** A stand-in for the SDK's HTTP API: records calls, answers from what the test put in. */
function fakeApi(overrides: Partial<Record<keyof ConsoleApi, (...args: never[]) => Promise<unknown>>> = {}) {
  const calls: [string, unknown[]][] = [];
  const api = new Proxy({} as ConsoleApi, {
    get: (_t, name: string) => (...args: unknown[]) => {
      calls.push([name, args]);
      const f = overrides[name as keyof ConsoleApi] as ((...a: unknown[]) => Promise<unknown>) | undefined;
      return f ? f(...args) : Promise.resolve({});
    },
  });
  return { api, calls };
}
const room = (id: string, live = true) => ({ id, title: `Room ${id}`, kind: 'case-review', live, participants: [] }) as unknown as RoomDto;
const event = (seq: number, details: Record<string, unknown> = {}): DirectoryAuditEvent =>
  ({ seq, at: '2026-12-01T10:00:00.000Z', actor: 'u.a', action: 'case.read', outcome: 'success', roomId: 'r1', caseId: null, patientId: 'p1', subject: null, details }) as DirectoryAuditEvent;

describe('ConsoleController: errors', () => {
  it('a refused identity asks for sign-in again; validation details name the participant and field', () => {
    const signIns: string[] = [];
    const ctl = new ConsoleController(fakeApi().api, (m) => signIns.push(m));
    expect(ctl.errorText(new ConsiliumError('AUTH_EXPIRED', 'expired', 401))).toBe('Your sign-in has expired. Please sign in again.');
    expect(signIns).toEqual(['Your sign-in has expired. Please sign in again.']);
    const invalid = new ConsiliumError('SCOPE_ABOVE_CEILING', 'x', 400, [{ path: ['participants', 1, 'scopes', 0], message: 'not allowed' }]);
    expect(ctl.errorText(invalid)).toBe('Those data permissions go beyond what this room allows. Participant 2, scope 1: not allowed');
    expect(signIns).toHaveLength(1);
  });
});

describe('ConsoleController: rooms', () => {
  it('a room needs a title; a new room sends the case only when picked, an edit may unlink it', async () => {
    const { api, calls } = fakeApi();
    const ctl = new ConsoleController(api, () => {});
    const form = { title: '  ', kind: 'surgical-guidance', caseId: '', observerVideo: true, participants: [{ userId: 'u.a', role: 'host' as const }] };
    expect(await ctl.saveRoom(form)).toBe('Give the room a title.');
    expect(calls).toEqual([]);
    expect(await ctl.saveRoom({ ...form, title: ' Board ' })).toBe(null);
    expect(await ctl.saveRoom({ ...form, title: 'Board' }, room('r9'))).toBe(null);
    expect(calls).toEqual([
      ['createRoom', [{ title: 'Board', kind: 'surgical-guidance', participants: form.participants, observerVideo: true, recordingAllowed: false }]],
      ['updateRoom', ['r9', { title: 'Board', kind: 'surgical-guidance', participants: form.participants, observerVideo: true, recordingAllowed: false, caseId: null }]],
    ]);
  });

  it('a refused save or close says why', async () => {
    const refuse = () => Promise.reject(new ConsiliumError('ADMIN_REQUIRED', 'no'));
    const ctl = new ConsoleController(fakeApi({ createRoom: refuse, closeRoom: refuse }).api, () => {});
    expect(await ctl.saveRoom({ title: 'T', kind: 'case-review', caseId: 'c1', observerVideo: false, participants: [] })).toBe('This needs an administrator.');
    expect(await ctl.closeRoom('r1')).toBe('This needs an administrator.');
  });

  it('person rows: presets become scopes, custom scopes are split, role default sends none, empty rows are dropped', () => {
    expect(participantInput({ userId: ' u.a ', role: 'clinician', access: 'vitals', custom: 'ignored' })).toEqual({ userId: 'u.a', role: 'clinician', scopes: ['patient/Observation.rs'] });
    expect(participantInput({ userId: 'u.b', role: 'observer', access: 'custom', custom: ' patient/A.rs   patient/B.rs ' })).toEqual({ userId: 'u.b', role: 'observer', scopes: ['patient/A.rs', 'patient/B.rs'] });
    expect(participantInput({ userId: 'u.c', role: 'host', access: 'custom', custom: '' })).toEqual({ userId: 'u.c', role: 'host' });
    expect(participantInput({ userId: 'u.d', role: 'host', access: 'default', custom: '' })).toEqual({ userId: 'u.d', role: 'host' });
    expect(participantInput({ userId: '  ', role: 'host', access: 'full', custom: '' })).toBe(null);
    expect(accessHelp('default', 'observer')).toBe('(de-identified vitals, problems and imaging)');
    expect(accessHelp('full', 'observer')).toBe('');
    const directory = [{ userId: 'u.a', name: 'Dr. A', admin: false, lastSeenAt: '' }];
    expect([nameHint(directory, ' u.a'), nameHint(directory, 'u.z'), nameHint(directory, ' ')]).toEqual(['Dr. A', 'not signed in yet', '']);
  });

  it('the directory is fetched once per view, and a failure is not kept', async () => {
    let n = 0;
    const ctl = new ConsoleController(fakeApi({ directoryUsers: () => (++n === 1 ? Promise.reject(new TypeError('offline')) : Promise.resolve([])) }).api, () => {});
    await expect(ctl.users()).rejects.toThrow('offline');
    await ctl.users();
    await ctl.users();
    expect(n).toBe(2);
  });
});

describe('ConsoleController: cases', () => {
  it('import: bad JSON is caught before sending; a success refreshes the case list', async () => {
    let listed = 0;
    const { api, calls } = fakeApi({ importCase: () => Promise.resolve({ resources: 7 }), directoryCases: () => Promise.resolve([{ n: ++listed }]) });
    const ctl = new ConsoleController(api, () => {});
    expect(await ctl.importBundle('{ nope')).toEqual({ error: true, text: 'That is not valid JSON.' });
    expect(calls).toEqual([]);
    await ctl.cases();
    expect(await ctl.importBundle('{"resourceType":"Bundle"}')).toEqual({ error: false, text: 'Imported 7 resources. The case is now in the patient list when you create a room.' });
    expect(await ctl.cases()).toEqual([{ n: 2 }]);
  });

  it('pull: "system|value" is an identifier, anything else a patient id; refused entries are counted', async () => {
    const { api, calls } = fakeApi({ pullCase: () => Promise.resolve({ resources: 3, stored: { Patient: 1, Observation: 2 }, refused: [{}] }) });
    const ctl = new ConsoleController(api, () => {});
    expect(await ctl.pull('  ')).toEqual({ error: false, text: "Enter a patient identifier (system|value) or the FHIR server's patient id." });
    expect((await ctl.pull(' urn:mrn|123 ')).text).toBe('Pulled 3 resources (1 Patient, 2 Observation); 1 entries refused. The case is now in the patient list when you create a room.');
    await ctl.pull('pat-9');
    expect(calls.map(([, a]) => a[0])).toEqual([{ identifier: 'urn:mrn|123' }, { patientId: 'pat-9' }]);
  });
});

describe('ConsoleController: live rooms', () => {
  it('one row per person across devices; voice columns only where the room has voice; rooms gone meanwhile are skipped', async () => {
    const seat = (sessionId: string, userId: string, extra: object = {}) => ({ sessionId, userId, name: userId.toUpperCase(), role: 'clinician', connected: true, voiceConnected: false, publishing: false, muted: false, ...extra });
    const live: Record<string, unknown> = {
      r1: { live: true, voice: 'ok', presenter: '', participants: [seat('s1', 'a', { connected: false }), seat('s2', 'a', { connected: false, voiceConnected: true, muted: true }), seat('s3', 'b')] },
      r2: { live: true, voice: 'off', presenter: '', participants: [seat('s4', 'c')] },
    };
    const { api } = fakeApi({
      listRooms: () => Promise.resolve([room('r1'), room('r2'), room('r3'), room('r4', false)]),
      liveRoom: ((id: string) => (live[id] ? Promise.resolve(live[id]) : Promise.reject(new Error('gone')))) as never,
    });
    const cards = await new ConsoleController(api, () => {}).liveRooms();
    expect(cards.map((c) => c.heading)).toEqual(['Room r1 · voice ok · 2 people', 'Room r2 · 1 person']);
    expect(cards[0]!.people).toEqual([
      { userId: 'a', name: 'A', role: 'clinician', devices: 2, connection: 'reconnecting', voice: 'muted' },
      { userId: 'b', name: 'B', role: 'clinician', devices: 1, connection: 'connected', voice: 'not joined' },
    ]);
    expect(cards[1]!.people[0]!.voice).toBe(null);
  });
});

describe('ConsoleController: audit', () => {
  it('filters become a query of whole local days; pages follow the cursor; a new search starts over', async () => {
    const pages = [{ events: [event(9), event(8)], next: 8 }, { events: [event(7)], next: null }, { events: [event(9)], next: null }];
    const { api, calls } = fakeApi({ auditNewestFirst: () => Promise.resolve(pages.shift()) });
    const ctl = new ConsoleController(api, () => {});
    const filters = { user: ' u.a ', action: 'case.read', patient: '', from: '2026-12-01', to: '2026-12-01' };
    expect((await ctl.auditPage(filters, true)).status).toBe('2 events shown, newest first.');
    expect((await ctl.auditPage(filters, false)).status).toBe('3 events shown, newest first.');
    expect(ctl.auditNext).toBe(null);
    expect((await ctl.auditPage(filters, true)).status).toBe('1 event shown, newest first.');
    const [q1, q2, q3] = calls.map(([, a]) => a[0] as Record<string, unknown>);
    const day = auditQuery(filters);
    expect(q1).toEqual({ limit: 50, user: 'u.a', action: 'case.read', from: day['from'], to: day['to'] });
    expect(new Date(String(day['to'])).getTime() - new Date(String(day['from'])).getTime()).toBe(86_400_000);
    expect(q2).toMatchObject({ before: 8 });
    expect(q3).not.toHaveProperty('before');
  });

  it('details read as counts of records per type; CSV quotes every cell, hostile text included', () => {
    expect(detailsText(event(1, { resources: ['Condition/1', 'Condition/2', 'Observation/3'], query: 'secret', room: 'r1' }))).toBe('resources: 3 records (Condition, Observation) · room: r1');
    // A read of several types: the per-type account leads (what was asked, how many, what was refused).
    const read = { variant: 'identified', basis: 'scope', scope: ['patient/*.rs'], resources: ['Condition/1', 'Condition/2'], types: { Condition: { variant: 'identified', count: 2 }, Immunization: { variant: 'identified', count: 0 }, Procedure: { code: 'SCOPE_DENIED' } } };
    expect(detailsText(event(1, read))).toBe('types: Condition 2, Immunization 0, Procedure SCOPE_DENIED · variant: identified · basis: scope · scope: ["patient/*.rs"] · resources: 2 records (Condition)');
    expect(detailsText(event(1, { resources: [] }))).toBe('resources: 0 records');
    const csv = auditCsv([event(1, { note: 'a "quoted",\nline' })]);
    expect(csv.split('\n')[0]).toBe('seq,at,actor,action,outcome,room,patient,subject,details');
    expect(csv).toContain('"{""note"":""a \\""quoted\\"",\\nline""}"');
  });

  it('verify says intact or where the chain broke', async () => {
    const replies = [{ ok: true, rows: 12 }, { ok: false, rows: 12, firstBroken: { seq: 5, reason: 'hash mismatch' } }];
    const ctl = new ConsoleController(fakeApi({ verifyAudit: () => Promise.resolve(replies.shift()) }).api, () => {});
    expect(await ctl.verifyAudit()).toEqual({ error: false, text: 'Chain intact: 12 rows verified.' });
    expect(await ctl.verifyAudit()).toEqual({ error: true, text: 'Chain BROKEN at row 5: hash mismatch' });
  });
});

describe('ConsoleController: images', () => {
  it('a zip goes to the zip route, other files one by one; the outcome says what was stored, skipped and refused (each refusal on its own line)', async () => {
    const { api, calls } = fakeApi({
      uploadDicomZip: async () => ({ studies: [{ studyUid: '1.2.3', series: 1, instances: 4 }], instances: 4, created: 3, skipped: [{ reason: 'not-dicom', count: 1, names: ['README.TXT'] }, { reason: 'archive', count: 4, names: ['a.zip', 'b.zip', 'c.zip', 'd.zip'] }] }),
      uploadDicom: async (_caseId: never, data: never) => {
        if ((data as Uint8Array)[0] === 9) throw new ConsiliumError('IMAGING_PATIENT_MISMATCH', "the study's patient ID differs from the case's patient", 409);
        return { studyUid: '1.2.3', seriesUid: '1.2.3.4', sopUid: '1.2.3.4.5', created: true };
      },
    });
    const ctl = new ConsoleController(api, () => {});
    expect(await ctl.uploadImages('', [{ name: 'x.dcm', data: new Uint8Array([1]) }])).toEqual([{ error: true, text: 'Choose the patient case the images belong to.' }]);
    expect(await ctl.uploadImages('c1', [])).toEqual([{ error: true, text: 'Choose DICOM files, or a zip of a study.' }]);
    expect(calls).toEqual([]);
    const progress: string[] = [];
    const out = await ctl.uploadImages('c1', [{ name: 'Study.ZIP', data: new Uint8Array([0]) }, { name: 'IM0001', data: new Uint8Array([1]) }, { name: 'other.dcm', data: new Uint8Array([9]) }], (t) => progress.push(t));
    expect(calls.map(([name, args]) => [name, args[0]])).toEqual([['uploadDicomZip', 'c1'], ['uploadDicom', 'c1'], ['uploadDicom', 'c1']]);
    expect(progress).toEqual(['Uploading 1 of 3: Study.ZIP (a zip is read and checked whole before anything is stored)…', 'Uploading 2 of 3: IM0001…', 'Uploading 3 of 3: other.dcm…']);
    expect(out).toEqual([
      { error: false, text: 'Stored 5 images (4 new) in 1 study.' },
      { error: false, text: 'Skipped 1 not DICOM (README.TXT); 4 archives inside the zip (not opened) (a.zip, b.zip, c.zip, …).' },
      { error: true, text: "Refused other.dcm: the study's patient ID differs from the case's patient." },
    ]);
  });
});
