import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaseMore } from '../../client/src/app/clinical/case-more.ts';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { CASE_RESOURCE_TYPES } from '../../shared/src/fhir.ts';
import { R4_RESOURCE_TYPES } from '../../shared/src/fhir-r4-types.ts';
import type { CaseReadResponse } from '../../shared/src/http.ts';
import { caseBundle, IDENTIFIERS, liveObservation } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { capturedLogger } from '../support/log-capture.ts';

/**
 * A view that needs several types of a case reads them in one request
 * (`POST /api/cases/:id/resources/query`) and the audit trail gets one
 * `case.read` row for it, listing per type what was sent (copy and count,
 * none included) or that it was refused — not one row per type, most of them
 * "0 records". Real server, real PostgreSQL, the SDK and the case panel's own
 * reader (client/src/app/clinical/case-more.ts).
 */
const CANARY = { name: 'Qreadname7731', mrn: 'QR-MRN-4410', note: 'Qreadnote2289' };
const HOSTILE = 'Qhostile-canary-5150';
const { logger, lines: logLines } = capturedLogger('trace');

let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;
let patientId: string;
let roomId: string;
const clients: Record<'cli' | 'lim' | 'obs', ConsiliumClient> = {} as never;
const sessions: ClinicSession[] = [];

interface Row {
  seq: number;
  outcome: string;
  room_id: string | null;
  case_id: string | null;
  patient_id: string | null;
  details: Record<string, unknown> & { resources?: string[]; types?: Record<string, unknown> };
}
const caseReads = async (actor: string): Promise<Row[]> =>
  (await server.app.pool.query<Row>(`SELECT seq, outcome, room_id, case_id, patient_id, details FROM audit_log WHERE actor = $1 AND action = 'case.read' ORDER BY seq`, [actor])).rows;
const auditCount = async (): Promise<number> => Number((await server.app.pool.query<{ n: string }>('SELECT count(*) AS n FROM audit_log')).rows[0]!.n);

/** POST any body (hostile ones too) as this client; the raw answer. */
async function post(client: ConsiliumClient | null, path: string, body: string, type = 'application/json'): Promise<{ status: number; text: string }> {
  const res = await fetch(new URL(path, server.app.url), {
    method: 'POST',
    headers: { 'content-type': type, ...(client ? { authorization: `Bearer ${client.api.identityToken}` } : {}) },
    body,
  });
  return { status: res.status, text: await res.text() };
}
const read = (who: 'cli' | 'lim' | 'obs', body: object) => post(clients[who], `/api/cases/${caseId}/resources/query`, JSON.stringify({ room: roomId, ...body }));

beforeAll(async () => {
  server = await startTestServer({ logger });
  admin = await server.as('root', { admin: true, scopes: ['patient/*.rs'] });
  ({ caseId, patientId } = await admin.api.importCase(caseBundle(CANARY)));
  const room = await admin.api.createRoom({
    title: 'Read audit',
    kind: 'case-conference',
    caseId,
    participants: [
      { userId: 'cr.cli', role: 'clinician' },
      { userId: 'cr.lim', role: 'clinician', scopes: ['patient/Observation.rs'] },
      { userId: 'cr.obs', role: 'observer' },
    ],
  });
  roomId = room.id;
  // The identity token allows everything (as the web app's sign-in asks): the room's record of each narrows it.
  for (const who of ['cli', 'lim', 'obs'] as const) clients[who] = await server.as(`cr.${who}`, { scopes: ['patient/*.rs'] });
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.leave().catch(() => {})));
  await server?.stop();
});

describe('a join reads the types the room did not send in one request: one audit row', () => {
  it('the case panel asks about every type the room sent nothing of; the trail gets one row naming each type, with 0 for the empty ones', async () => {
    const session = await clients.cli.join(roomId);
    sessions.push(session);
    await session.ready();
    await eventually(() => session.caseResources('DocumentReference').length === 1);
    // Exactly what case-panel.ts does on its first render: ask whether each type it has nothing of is readable.
    const more = new CaseMore((q) => clients.cli.api.readCaseTypes(caseId, { room: roomId, ...q }), () => {});
    const unsent = CASE_RESOURCE_TYPES.filter((t) => session.caseResources(t).length === 0);
    expect(unsent).toEqual(['Encounter', 'MedicationRequest', 'Immunization', 'DiagnosticReport', 'Medication']);
    for (const t of unsent) expect(more.readable(t)).toBeUndefined();
    await eventually(() => unsent.every((t) => more.readable(t) === true));
    // Asked again on later renders: known, not read again.
    for (const t of unsent) more.readable(t);
    await new Promise((r) => setTimeout(r, 100));

    const rows = await caseReads('cr.cli');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ outcome: 'success', room_id: roomId, case_id: caseId, patient_id: patientId });
    expect(rows[0]!.details).toEqual({
      variant: 'identified',
      basis: 'scope',
      scope: ['patient/*.rs'],
      resources: [],
      types: Object.fromEntries(unsent.map((t) => [t, { variant: 'identified', count: 0 }])),
    });
  });

  it('a read with data lists per type the copy and count, and every resource id sent, as the single-type rows do', async () => {
    const res = await read('cli', { types: ['Observation', 'Condition', 'Encounter', 'Patient'], limit: 10 });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text) as CaseReadResponse;
    expect(body.types.map((t) => [t.type, t.status, t.status === 'read' ? t.resources.length : -1, t.status === 'read' ? t.nextOffset : -1])).toEqual([
      ['Observation', 'read', 1, null],
      ['Condition', 'read', 1, null],
      ['Encounter', 'read', 0, null],
      ['Patient', 'read', 1, null],
    ]);
    expect(res.text).toContain(CANARY.name); // identified: the Patient as stored
    const sent = body.types.flatMap((t) => (t.status === 'read' ? t.resources.map((r) => `${r.resourceType}/${r.id}`) : []));
    const row = (await caseReads('cr.cli')).at(-1)!;
    expect(row.details.resources).toEqual(sent);
    expect(sent).toContain(`Patient/${patientId}`);
    expect(row.details.types).toEqual({
      Observation: { variant: 'identified', count: 1 },
      Condition: { variant: 'identified', count: 1 },
      Encounter: { variant: 'identified', count: 0 },
      Patient: { variant: 'identified', count: 1 },
    });
    // The single-type read is still there, and still writes its own row.
    const single = await clients.cli.api.caseResources(caseId, { room: roomId, type: 'Condition' });
    expect(single.resources).toHaveLength(1);
    expect((await caseReads('cr.cli')).at(-1)!.details).toMatchObject({ resources: [`Condition/${single.resources[0]!.id}`] });
  });

  it('"show all" of a section spanning two types pages both in one read, then only the one that has more', async () => {
    const paged = await admin.api.importCase(caseBundle({ name: 'Qpagename', mrn: 'QP-1', note: 'Qpagenote' }));
    for (const v of [101, 102, 103]) await admin.api.ingestObservation(paged.caseId, liveObservation(paged.patientId, `note ${v}`, v));
    const room = await admin.api.createRoom({ title: 'Paging', kind: 'case-conference', caseId: paged.caseId, participants: [{ userId: 'cr.pager', role: 'clinician' }] });
    const pager = await server.as('cr.pager', { scopes: ['patient/*.rs'] });
    const more = new CaseMore((q) => pager.api.readCaseTypes(paged.caseId, { room: room.id, ...q }), () => {}, 2);
    await more.showAll(['Observation', 'Condition']);
    expect(more.error).toBe('');
    expect(more.complete('Observation')!.map((o) => (o['valueQuantity'] as { value: number }).value)).toEqual([103, 102, 101, 92]); // newest first
    expect(more.complete('Condition')).toHaveLength(1);
    const rows = await caseReads('cr.pager');
    expect(rows.map((r) => r.details.types)).toEqual([
      { Observation: { variant: 'identified', count: 2 }, Condition: { variant: 'identified', count: 1 } },
      { Observation: { variant: 'identified', count: 2 } },
    ]);
    expect(rows.flatMap((r) => r.details.resources!).filter((r) => r.startsWith('Observation/'))).toHaveLength(4);
  });
});

describe('deny by default, per type', () => {
  it('a reader without a type gets nothing of it: the answer says denied, the one row says SCOPE_DENIED for it and lists only what was sent', async () => {
    const res = await read('lim', { types: ['Observation', 'Condition', 'Patient', 'AllergyIntolerance'] });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text) as CaseReadResponse;
    expect(body.types).toEqual([
      expect.objectContaining({ type: 'Observation', status: 'read' }),
      { type: 'Condition', status: 'denied', code: 'SCOPE_DENIED' },
      { type: 'Patient', status: 'denied', code: 'SCOPE_DENIED' },
      { type: 'AllergyIntolerance', status: 'denied', code: 'SCOPE_DENIED' },
    ]);
    // Nothing of the refused types, and not the identity (the Observation comes identity-withheld).
    for (const s of ['Atrial fibrillation', IDENTIFIERS.conditionOnset, 'Ibuprofen', CANARY.name, CANARY.mrn, IDENTIFIERS.birthDate, IDENTIFIERS.street]) expect(res.text, s).not.toContain(s);
    const rows = await caseReads('cr.lim');
    expect(rows).toHaveLength(1);
    const obs = body.types[0]!.status === 'read' ? body.types[0]!.resources : [];
    expect(rows[0]).toMatchObject({ outcome: 'success', room_id: roomId });
    expect(rows[0]!.details).toEqual({
      variant: 'identity-withheld',
      basis: 'scope',
      scope: ['patient/*.rs'],
      resources: obs.map((r) => `Observation/${r.id}`),
      types: { Observation: { variant: 'identity-withheld', count: 1 }, Condition: { code: 'SCOPE_DENIED' }, Patient: { code: 'SCOPE_DENIED' }, AllergyIntolerance: { code: 'SCOPE_DENIED' } },
    });
  });

  it('every type refused: 403 SCOPE_DENIED and one failure row, as a refused single-type read', async () => {
    const before = (await caseReads('cr.lim')).length;
    const res = await read('lim', { types: ['Condition', 'Procedure'] });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text).error.code).toBe('SCOPE_DENIED');
    expect(res.text).not.toContain('Atrial');
    const single = await fetch(new URL(`/api/cases/${caseId}/resources?room=${roomId}&type=Condition`, server.app.url), { headers: { authorization: `Bearer ${clients.lim.api.identityToken}` } });
    expect(single.status).toBe(403);
    const rows = (await caseReads('cr.lim')).slice(before);
    expect(rows.map((r) => [r.outcome, r.details])).toEqual([
      ['failure', { code: 'SCOPE_DENIED', types: { Condition: { code: 'SCOPE_DENIED' }, Procedure: { code: 'SCOPE_DENIED' } } }],
      ['failure', { code: 'SCOPE_DENIED', type: 'Condition' }],
    ]);
    expect(rows[0]).toMatchObject({ case_id: caseId, patient_id: patientId, room_id: roomId });
  });

  it('a de-identified reader gets de-identified copies; the row names the server ids and the copy given', async () => {
    const res = await read('obs', { types: ['Observation', 'Patient', 'DocumentReference'] });
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text) as CaseReadResponse;
    expect(body.deidentified).toBe(true);
    for (const s of [CANARY.name, CANARY.mrn, IDENTIFIERS.birthDate, IDENTIFIERS.street, IDENTIFIERS.phone]) expect(res.text, s).not.toContain(s);
    const row = (await caseReads('cr.obs')).at(-1)!;
    expect(row.details['variant']).toBe('deidentified');
    expect(row.details.resources).toContain(`Patient/${patientId}`); // the server id, never the pseudonym sent
    expect(res.text).not.toContain(patientId);
    expect(row.details.types).toMatchObject({ Observation: { variant: 'deidentified', count: 1 }, Patient: { variant: 'deidentified', count: 1 } });
  });

  it('the FHIR AuditEvent export keeps every resource sent and says per type what was read or withheld', async () => {
    const res = await fetch(new URL('/api/audit?format=fhir&user=cr.lim&limit=50', server.app.url), { headers: { authorization: `Bearer ${admin.api.identityToken}` } });
    const bundle = (await res.json()) as { entry: { resource: { subtype: { code: string }[]; outcome: string; outcomeDesc?: string; entity: { what?: { reference?: string }; role?: { code: string }; detail?: { type: string; valueString: string }[] }[] } }[] };
    const event = bundle.entry.map((e) => e.resource).find((r) => r.subtype[0]!.code === 'case.read' && r.outcome === '0')!;
    const [obsRow] = await caseReads('cr.lim');
    expect(event.entity.filter((e) => e.what?.reference?.startsWith('Observation/')).map((e) => e.what!.reference)).toEqual(obsRow!.details.resources);
    expect(event.entity.some((e) => e.what?.reference === `Patient/${patientId}`)).toBe(true); // the patient the read was about
    // Per type, keyed by type (the row's jsonb keeps keys in its own order, not the request's).
    const byType = Object.fromEntries(event.entity.find((e) => e.role?.code === '24')!.detail!.map((d) => [d.type, d.valueString]));
    expect(byType).toEqual({ Observation: '1 identity-withheld', Condition: 'SCOPE_DENIED', Patient: 'SCOPE_DENIED', AllergyIntolerance: 'SCOPE_DENIED' });
    expect(event.outcomeDesc).toMatch(/^Withheld: /);
    expect(event.outcomeDesc!.slice('Withheld: '.length).split(', ').sort()).toEqual(['AllergyIntolerance (SCOPE_DENIED)', 'Condition (SCOPE_DENIED)', 'Patient (SCOPE_DENIED)']);
  });
});

describe('hostile bodies: a stable 400, nothing audited, nothing logged', () => {
  it('unknown types, 200 types, duplicates, NUL, huge strings, wrong shapes', async () => {
    const before = await auditCount();
    const linesBefore = logLines.length;
    const bodies: [string, string][] = [
      ['unknown type', JSON.stringify({ room: roomId, types: [HOSTILE] })],
      ['200 types', JSON.stringify({ room: roomId, types: Array.from({ length: 200 }, (_, i) => R4_RESOURCE_TYPES[i % R4_RESOURCE_TYPES.length]) })],
      ['every R4 type once', JSON.stringify({ room: roomId, types: R4_RESOURCE_TYPES })],
      ['duplicates', JSON.stringify({ room: roomId, types: ['Observation', 'Condition', 'Observation'] })],
      ['NUL in a type', JSON.stringify({ room: roomId, types: [`Observation\u0000${HOSTILE}`] })],
      ['NUL in the room', JSON.stringify({ room: `${roomId}\u0000`, types: ['Observation'] })],
      ['NUL in a key', JSON.stringify({ room: roomId, types: ['Observation'], [`k\u0000${HOSTILE}`]: 1 })],
      ['a huge type', JSON.stringify({ room: roomId, types: [HOSTILE.repeat(3000)] })],
      ['larger than a small body', JSON.stringify({ room: roomId, types: ['Observation'], pad: HOSTILE.repeat(5000) })],
      ['16,000 bad items', JSON.stringify({ room: roomId, types: Array.from({ length: 16_000 }, () => 'Q') })],
      ['types not a list', JSON.stringify({ room: roomId, types: 'Observation' })],
      ['no types', JSON.stringify({ room: roomId, types: [] })],
      ['types missing', JSON.stringify({ room: roomId })],
      ['limit 0', JSON.stringify({ room: roomId, types: ['Observation'], limit: 0 })],
      ['limit over the cap', JSON.stringify({ room: roomId, types: ['Observation'], limit: 201 })],
      ['limit a string', JSON.stringify({ room: roomId, types: ['Observation'], limit: '5' })],
      ['offset negative', JSON.stringify({ room: roomId, types: ['Observation'], offset: -1 })],
      ['an unknown field', JSON.stringify({ room: roomId, types: ['Observation'], code: HOSTILE })],
      ['room not a uuid', JSON.stringify({ room: HOSTILE, types: ['Observation'] })],
      ['a list body', JSON.stringify(['Observation'])],
      ['not JSON', `{"types": ["${HOSTILE}"`],
      ['not sent as JSON', 'types=Observation'],
    ];
    for (const [what, body] of bodies) {
      const res = await post(clients.cli, `/api/cases/${caseId}/resources/query`, body, what === 'not sent as JSON' ? 'application/x-www-form-urlencoded' : 'application/json');
      expect(res.status, what).toBe(400);
      const error = JSON.parse(res.text).error as { code: string; details?: unknown[] };
      expect(error.code, what).toBe('BODY_INVALID');
      expect(res.text, what).not.toContain(HOSTILE); // the refusal names the field, never echoes the value
      expect(res.text.length, what).toBeLessThan(4000);
    }
    expect(await auditCount()).toBe(before);
    expect(logLines.slice(linesBefore).join('')).not.toContain(HOSTILE);
    expect(logLines.join('')).not.toContain(CANARY.name);
  });

  it('no token, no case, a room that does not show the case: refused before any patient data is read', async () => {
    const body = JSON.stringify({ room: roomId, types: ['Observation'] });
    expect((await post(null, `/api/cases/${caseId}/resources/query`, body)).status).toBe(401);
    expect(JSON.parse((await post(clients.cli, `/api/cases/00000000-0000-4000-8000-000000000000/resources/query`, body)).text).error.code).toBe('CASE_NOT_FOUND');
    expect(JSON.parse((await post(clients.cli, `/api/cases/${HOSTILE}/resources/query`, body)).text).error.code).toBe('CASE_NOT_FOUND');
    const other = await admin.api.createRoom({ title: 'Other', kind: 'case-conference', participants: [{ userId: 'cr.cli', role: 'clinician' }] });
    const before = (await caseReads('cr.cli')).length;
    const res = await post(clients.cli, `/api/cases/${caseId}/resources/query`, JSON.stringify({ room: other.id, types: ['Observation'] }));
    expect(res.status).toBe(403);
    expect(res.text).not.toContain(CANARY.note);
    const rows = (await caseReads('cr.cli')).slice(before);
    expect(rows.map((r) => [r.outcome, r.details])).toEqual([['failure', { code: 'SCOPE_DENIED' }]]);
  });
});
