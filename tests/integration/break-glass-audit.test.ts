import { spawnSync } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const CANARY = { name: 'Bgname4417', mrn: 'BG-MRN-5521', note: 'Bgnote9930' };
// 0.04 min = 2.4 s grants, so expiry is observable in a test.
const GRANT_MS = 2400;

let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;
let patientId: string;

beforeAll(async () => {
  server = await startTestServer({}, { BREAK_GLASS_MINUTES: String(GRANT_MS / 60_000), BREAK_GLASS_SELF_GRANT_ROLES: 'surgeon' });
  admin = await server.as('root', { admin: true });
  ({ caseId, patientId } = await admin.api.importCase(caseBundle(CANARY)));
});
afterAll(async () => {
  await server?.stop();
});

const join = (userId: string, roomId: string) => server.join(userId, roomId);

describe('break-glass', () => {
  it('request → host approves → visible → expires by itself → gone; all audited with the reason', async () => {
    const room = await admin.api.createRoom({
      title: 'Emergency',
      kind: 'case-conference',
      caseId,
      participants: [
        { userId: 'bg-host', role: 'host' },
        { userId: 'bg-cli', role: 'clinician', scopes: ['patient/Observation.rs'] },
        { userId: 'bg-obs', role: 'observer' },
      ],
    });
    const host = await join('bg-host', room.id);
    const cli = await join('bg-cli', room.id);
    const obs = await join('bg-obs', room.id);
    await eventually(() => cli.caseResources('Observation').length === 1);
    expect(cli.caseResources('MedicationStatement')).toEqual([]);

    expect(await cli.breakGlass(['MedicationStatement'], 'short')).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    expect(await obs.breakGlass(['MedicationStatement'], 'I am curious about this patient')).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });

    const reason = 'Suspected bleeding on anticoagulants; need current medication list';
    const requested = await cli.breakGlass(['MedicationStatement', 'AllergyIntolerance'], reason);
    expect(requested).toMatchObject({ ok: true, status: 'pending' });
    const requestId = (requested as { requestId: string }).requestId;
    expect(await cli.breakGlass(['Procedure'], reason)).toMatchObject({ ok: false, error: { code: 'BREAK_GLASS_PENDING' } });

    // Shown to the host and the requester; not to the observer.
    await eventually(() => host.accessRequests().some((r) => r.id === requestId && r.reason === reason));
    await eventually(() => cli.accessRequests().length === 1);
    expect(obs.accessRequests()).toEqual([]);
    expect(cli.caseResources('MedicationStatement')).toEqual([]);

    // Only a host can decide.
    expect(await cli.approve(requestId)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const approved = await host.approve(requestId);
    expect(approved).toMatchObject({ ok: true, status: 'approved' });
    await eventually(() => cli.caseResources('MedicationStatement').length === 1 && cli.caseResources('AllergyIntolerance').length === 1, 1000, 5);
    expect(cli.accessRequests()[0]!.status).toBe('approved');

    // It ends by itself.
    await eventually(() => cli.caseResources('MedicationStatement').length === 0, GRANT_MS + 3000, 20);
    expect(cli.caseResources('AllergyIntolerance')).toEqual([]);
    expect(cli.caseResources('Observation')).toHaveLength(1);
    await eventually(() => cli.accessRequests()[0]?.status === 'expired');

    await server.app.audit.flush();
    const { events } = await admin.api.audit({ room: room.id, limit: 1000 });
    const actions = events.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['break-glass.request', 'break-glass.approve', 'break-glass.expire']));
    const req = events.find((e) => e.action === 'break-glass.request')!;
    expect(req).toMatchObject({ actor: 'bg-cli', details: { reason, mode: 'approval', resourceTypes: ['MedicationStatement', 'AllergyIntolerance'] } });
    expect(events.find((e) => e.action === 'break-glass.approve')).toMatchObject({ actor: 'bg-host', subject: 'bg-cli' });
    const bgDisclosure = events.find((e) => e.action === 'disclosure' && e.details['basis'] === 'break-glass');
    expect(bgDisclosure).toMatchObject({ actor: 'bg-cli', details: { resources: expect.arrayContaining([expect.stringMatching(/^MedicationStatement\//)]) } });
    expect(events.some((e) => e.action === 'disclosure.revoked' && e.actor === 'bg-cli')).toBe(true);
    await Promise.all([host.leave(), cli.leave(), obs.leave()]);
  });

  it('a host can deny; a surgeon self-grants at once', async () => {
    const room = await admin.api.createRoom({
      title: 'OR 3',
      kind: 'surgical-guidance',
      caseId,
      participants: [
        { userId: 'or-host', role: 'host' },
        { userId: 'or-spec', role: 'specialist', scopes: ['patient/ImagingStudy.rs'] },
        { userId: 'or-surg', role: 'surgeon', scopes: ['patient/Procedure.rs'] },
      ],
    });
    const host = await join('or-host', room.id);
    const spec = await join('or-spec', room.id);
    const surg = await join('or-surg', room.id);

    const r = await spec.breakGlass(['Condition'], 'Need the problem list for planning');
    const id = (r as { requestId: string }).requestId;
    expect(await host.deny(id, 'not needed')).toMatchObject({ ok: true, status: 'denied' });
    await eventually(() => spec.accessRequests()[0]?.status === 'denied');
    expect(spec.caseResources('Condition')).toEqual([]);
    expect(await host.approve(id)).toMatchObject({ ok: false, error: { code: 'REQUEST_NOT_FOUND' } });

    const self = await surg.breakGlass(['AllergyIntolerance'], 'Intra-operative reaction, checking allergies');
    expect(self).toMatchObject({ ok: true, status: 'approved' });
    await eventually(() => surg.caseResources('AllergyIntolerance').length === 1, 1000, 5);
    await eventually(() => host.accessRequests().some((x) => x.userId === 'or-surg' && x.status === 'approved'));
    await Promise.all([host.leave(), spec.leave(), surg.leave()]);
  });
});

describe('audit trail', () => {
  it('records joins, tickets, disclosures, imports and admin actions — and never patient data', async () => {
    await server.app.audit.flush();
    const { events } = await admin.api.audit({ limit: 1000 });
    const actions = new Set(events.map((e) => e.action));
    for (const a of ['case.import', 'room.create', 'ticket.issued', 'room.join', 'disclosure', 'room.leave', 'break-glass.request']) expect(actions).toContain(a);
    const disclosure = events.find((e) => e.action === 'disclosure' && e.actor === 'bg-obs')!;
    expect(disclosure).toMatchObject({ patientId, details: { basis: 'scope', variant: 'deidentified' } });

    const client = new pg.Client({ connectionString: server.db.url });
    await client.connect();
    const dump = (await client.query<{ t: string }>('SELECT string_agg(row_to_json(a)::text, \'\\n\') AS t FROM audit_log a')).rows[0]!.t;
    for (const c of Object.values(CANARY)) expect(dump).not.toContain(c);
    await client.end();
  });

  it('filters by room, user, patient and time, pages, and exports FHIR AuditEvents', async () => {
    const page1 = await admin.api.audit({ limit: 3 });
    expect(page1.events).toHaveLength(3);
    const page2 = await admin.api.audit({ limit: 3, after: page1.next! });
    expect(page2.events[0]!.seq).toBe(page1.events[2]!.seq + 1);
    const byUser = await admin.api.audit({ user: 'bg-cli', limit: 1000 });
    expect(byUser.events.every((e) => e.actor === 'bg-cli' || e['subject'] === 'bg-cli')).toBe(true);
    const byPatient = await admin.api.audit({ patient: patientId, limit: 1000 });
    expect(byPatient.events.length).toBeGreaterThan(0);
    expect(byPatient.events.every((e) => e['patientId'] === patientId)).toBe(true);
    // Emergency access and joins name the patient too, so IT finds them by patient.
    for (const a of ['break-glass.request', 'break-glass.approve', 'room.join']) expect(byPatient.events.some((e) => e.action === a), a).toBe(true);
    const future = await admin.api.audit({ from: new Date(Date.now() + 3600_000).toISOString() });
    expect(future.events).toEqual([]);

    const res = await fetch(`${server.app.url}/api/audit?format=fhir&limit=5`, { headers: { authorization: `Bearer ${admin.api.identityToken}` } });
    const bundle = (await res.json()) as { resourceType: string; entry: { resource: Record<string, unknown> }[] };
    expect(bundle.resourceType).toBe('Bundle');
    expect(bundle.entry[0]!.resource).toMatchObject({ resourceType: 'AuditEvent', type: { system: 'http://dicom.nema.org/resources/ontology/DCM' }, recorded: expect.any(String) });

    const bad = await fetch(`${server.app.url}/api/audit?room=nope`, { headers: { authorization: `Bearer ${admin.api.identityToken}` } });
    expect(bad.status).toBe(400);
    const nonAdmin = await server.as('bg-cli');
    await expect(nonAdmin.api.audit()).rejects.toMatchObject({ code: 'ADMIN_REQUIRED' });
  });

  it('is append-only; the hash chain verifies, and a direct edit is caught at the first broken row', async () => {
    expect(await admin.api.verifyAudit()).toMatchObject({ ok: true });
    const client = new pg.Client({ connectionString: server.db.url });
    await client.connect();
    await expect(client.query(`UPDATE audit_log SET actor = 'mallory' WHERE seq = 5`)).rejects.toThrow(/append-only/);
    await expect(client.query(`DELETE FROM audit_log WHERE seq = 5`)).rejects.toThrow(/append-only/);

    // An attacker with superuser rights bypasses the trigger…
    await client.query('BEGIN');
    await client.query("SET LOCAL session_replication_role = 'replica'");
    await client.query(`UPDATE audit_log SET details = details || '{"reason":"edited"}' WHERE seq = 7`);
    await client.query('COMMIT');
    await client.end();

    // …and verification names the row.
    expect(await admin.api.verifyAudit()).toMatchObject({ ok: false, firstBroken: { seq: 7, reason: expect.stringContaining('hash') } });
    const root = path.resolve(import.meta.dirname, '../..');
    const cli = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/audit-verify.ts'], { cwd: root, env: { ...process.env, ...server.db.env, LOG_LEVEL: 'silent' }, encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stdout + cli.stderr).toMatch(/row 7/);
  });
});
