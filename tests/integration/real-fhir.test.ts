import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { CaseImportResponse, FhirResource } from '../../shared/src/index.ts';
import { liveObservation } from '../fixtures/case-bundle.ts';
import { hl7MedicationBundle, identifyingStrings, syntheaMargie, type Bundle } from '../fixtures/real-fhir.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

captureFrames();

/** Everything the server logs (debug and up), to check no patient data ever reaches it. */
const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

let server: TestServer;
let admin: ConsiliumClient;
let bundle: Bundle;
let report: CaseImportResponse;

beforeAll(async () => {
  server = await startTestServer({ logger });
  admin = await server.as('root', { admin: true });
  bundle = syntheaMargie();
  report = await admin.api.importCase(bundle);
});
afterAll(async () => {
  await server?.stop();
  // Refused entries, NULs and bad queries never put patient data in the log.
  expect(logLines.length).toBeGreaterThan(0);
  for (const canary of ['Margie619', 'Hettinger594', 'Donald', 'Duck', '1979-', '999-']) expect(logLines.join('\n')).not.toContain(canary);
});

const has = (buf: Buffer, s: string) => buf.includes(Buffer.from(s, 'utf8'));
const post = (path: string, body: unknown, token: string | null, type = 'application/fhir+json') =>
  fetch(new URL(path, server.app.url), { method: 'POST', headers: { 'content-type': type, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const get = async (client: ConsiliumClient, path: string) => {
  const res = await fetch(new URL(path, server.app.url), { headers: { authorization: `Bearer ${client.api.identityToken}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { resources: FhirResource[]; error?: { code: string } } };
};

describe('importing a real Synthea export over HTTP', () => {
  it('stores every resource and reports what it stored by type', () => {
    const expected: Record<string, number> = {};
    for (const e of bundle.entry) expected[String(e.resource['resourceType'])] = (expected[String(e.resource['resourceType'])] ?? 0) + 1;
    expect(report.stored).toEqual(expected);
    expect(report.resources).toBe(bundle.entry.length);
    expect(report.refused).toEqual([]);
  });

  it('one bad entry is reported with index, path and reason; all-or-nothing refuses the bundle and stores nothing', async () => {
    const bad = structuredClone(bundle);
    const i = bad.entry.findIndex((e) => e.resource['resourceType'] === 'Claim');
    bad.entry[i]!.resource['resourceType'] = 'Klaim';
    const res = await post('/api/cases', bad, admin.api.identityToken);
    expect(res.status).toBe(201);
    const partial = (await res.json()) as CaseImportResponse;
    expect(partial.refused).toEqual([{ entry: i, path: 'resource.resourceType', reason: expect.stringContaining('not a FHIR R4 resource type') }]);
    expect(partial.stored['Claim']).toBe((report.stored['Claim'] ?? 0) - 1);

    const strict = await post('/api/cases?allOrNothing=true', bad, admin.api.identityToken);
    expect(strict.status).toBe(400);
    expect(((await strict.json()) as { error: { code: string; details: unknown[] } }).error).toMatchObject({ code: 'BODY_INVALID', details: [{ entry: i, path: 'resource.resourceType' }] });
  });

  it('an anonymous or non-admin client never gets a big body parsed', async () => {
    const huge = JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Basic', pad: 'x'.repeat(20 * 1024 * 1024) } }] });
    const anon = await post('/api/cases', huge, null);
    expect(anon.status).toBe(401);
    const user = await server.as('plain-user');
    const notAdmin = await post('/api/cases', huge, user.api.identityToken);
    expect(notAdmin.status).toBe(403);
    expect(((await notAdmin.json()) as { error: { code: string } }).error.code).toBe('ADMIN_REQUIRED');
  });

  it('imports the HL7 MedicationStatement example; a NUL anywhere is refused for that entry with a clear code, never a 500', async () => {
    const ok = (await admin.api.importCase(hl7MedicationBundle())) as CaseImportResponse;
    expect(ok.stored).toEqual({ Patient: 1, MedicationStatement: 1, Medication: 1 });
    const nul = hl7MedicationBundle();
    (nul.entry[1]!.resource['note'] as { text: string }[])[0]!.text = 'miss\u0000es';
    const res = (await admin.api.importCase(nul)) as CaseImportResponse;
    expect(res.refused).toEqual([{ entry: 1, path: 'resource.note.0.text', reason: expect.any(String) }]);
    const nulPatient = hl7MedicationBundle();
    nulPatient.entry[0]!.resource['gender'] = 'male\u0000';
    await expect(admin.api.importCase(nulPatient)).rejects.toMatchObject({ code: 'BODY_INVALID', status: 400 });
  });
});

describe('the de-identification held on the full Synthea patient (raw frames)', () => {
  it('no name, address, identifier, phone or date finer than the year reaches either observer; the clinician gets the record', async () => {
    const room = await admin.api.createRoom({
      title: 'Synthea board',
      kind: 'case-conference',
      caseId: report.caseId,
      participants: [
        { userId: 'cli', role: 'clinician' },
        { userId: 'obs', role: 'observer' },
        { userId: 'wide-obs', role: 'observer', scopes: ['deidentified', 'patient/*.rs'] },
      ],
    });
    // The room carries the case summary (the rest is read on demand over HTTP); wait until the clinician's has arrived whole.
    const t0 = Date.now();
    const cli = await server.join('cli', room.id);
    let last = -1;
    await eventually(() => {
      const n = cli.caseResources().length;
      const settled = n > 0 && n === last;
      last = n;
      return settled && cli.caseResources('Patient').length === 1;
    }, 10_000, 200);
    const joinMs = Date.now() - t0;
    const inSummary = (type: string) => cli.caseResources(type as never).length;
    expect(inSummary('Observation')).toBeGreaterThan(0);
    const obs = await server.join('obs', room.id);
    const wide = await server.join('wide-obs', room.id);
    await eventually(() => obs.caseResources('Observation').length === inSummary('Observation') && wide.caseResources('Procedure').length === inSummary('Procedure'), 10_000);

    // A live sample arrives "now".
    const arrival = new Date();
    const observationsBefore = inSummary('Observation');
    await admin.api.ingestObservation(report.caseId, liveObservation(report.patientId, 'Zqxsynthealive'));
    await eventually(() => obs.caseResources('Observation').length === observationsBefore + 1 && wide.caseResources('Observation').length === obs.caseResources('Observation').length);

    const forbidden = identifyingStrings(bundle);
    expect(forbidden.length).toBeGreaterThan(200);
    const cliBytes = receivedBytes(cli);
    expect(has(cliBytes, 'Hettinger594')).toBe(true); // the capture sees identified data where it belongs
    for (const session of [obs, wide]) {
      const bytes = receivedBytes(session);
      expect(has(bytes, 'mm[Hg]')).toBe(true); // and de-identified data reaches the observers
      const leaked = forbidden.filter((f) => has(bytes, f));
      expect(leaked, 'identifying strings in observer frames').toEqual([]);
      expect(bytes.toString('latin1')).not.toMatch(/\d{4}-\d{2}-\d{2}/);
      expect(has(bytes, 'Zqxsynthealive')).toBe(false);
      // The live sample shows the year only: nothing to compare the arrival time with.
      const live = session.caseResources('Observation').filter((o) => o['effectiveDateTime'] === String(arrival.getUTCFullYear()));
      expect(live.length).toBeGreaterThan(0);
      for (const o of session.caseResources()) for (const v of Object.values(o)) if (typeof v === 'string' && /^\d{4}(-|$)/.test(v)) expect(v).toMatch(/^\d{4}$/);
      // Types without a de-identification rule never reach a de-identified viewer, even with patient/*.rs.
      const types = new Set(session.caseResources().map((r) => r.resourceType));
      for (const t of ['Claim', 'ExplanationOfBenefit', 'CarePlan', 'CareTeam', 'Practitioner', 'Organization']) expect(types.has(t as never), t).toBe(false);
    }
    // Every entry arrives intact (a synced string longer than the encoder buffer used to arrive corrupted).
    const broken: string[] = [];
    cli.state.caseEntries.forEach((e, k) => {
      try {
        JSON.parse(e.json);
      } catch {
        broken.push(k);
      }
    });
    expect(broken).toEqual([]);
    // The clinician (patient/*.rs, identified) gets Practitioners and Organizations to resolve "Dr. X".
    const enc = cli.caseResources('Encounter')[0]!;
    const practitionerRef = (enc['participant'] as { individual: { reference: string } }[])[0]!.individual.reference;
    expect(cli.caseResources().some((r) => `${r.resourceType}/${r.id}` === practitionerRef)).toBe(true);
    console.info(`[real-fhir] full Synthea case (${bundle.entry.length} resources) in room state: clinician join ${joinMs} ms, ${cliBytes.length} bytes; observer ${receivedBytes(obs).length} bytes`);
    await Promise.all([cli.leave(), obs.leave(), wide.leave()]);
  });
});

describe('resources on demand over HTTP', () => {
  let odRoom = '';
  beforeAll(async () => {
    odRoom = (
      await admin.api.createRoom({
        title: 'On demand',
        kind: 'case-conference',
        caseId: report.caseId,
        participants: ['od-reader', 'od-narrow', 'od-deid', 'od-none'].map((userId) => ({ userId, role: 'clinician' as const })),
      })
    ).id;
  });

  it('filters by type, code and date, newest first, under the caller\'s scopes, and audits the read', async () => {
    const reader = await server.as('od-reader', { scopes: ['patient/*.rs'] });
    const bp = await get(reader, `/api/cases/${report.caseId}/resources?room=${odRoom}&type=Observation&code=${encodeURIComponent('http://loinc.org|85354-9')}&limit=3`);
    expect(bp.status).toBe(200);
    expect(bp.body.resources).toHaveLength(3);
    const dates = bp.body.resources.map((r) => Date.parse(String(r['effectiveDateTime'])));
    expect([...dates].sort((a, b) => b - a)).toEqual(dates);
    expect(bp.body.resources.every((r) => (r['component'] as unknown[]).length === 2)).toBe(true);
    const older = await get(reader, `/api/cases/${report.caseId}/resources?room=${odRoom}&type=Observation&before=${encodeURIComponent(String(bp.body.resources[2]!['effectiveDateTime']))}&limit=1000`);
    expect(older.body.resources.every((r) => Date.parse(String(r['effectiveDateTime'])) < dates[2]!)).toBe(true);
    const claims = await get(reader, `/api/cases/${report.caseId}/resources?room=${odRoom}&type=Claim&limit=1000`);
    expect(claims.body.resources).toHaveLength(report.stored['Claim']!);
    const page2 = await get(reader, `/api/cases/${report.caseId}/resources?room=${odRoom}&type=Claim&limit=10&offset=10`);
    expect(page2.body.resources.map((r) => r.id)).toEqual(claims.body.resources.slice(10, 20).map((r) => r.id));
    expect(page2.body['nextOffset']).toBe(20);
    const audit = await admin.api.audit({ user: 'od-reader' });
    expect(audit.events.filter((e) => e.action === 'case.read')).toHaveLength(4);
  });

  it('a narrow or de-identified caller gets only what its scopes allow, with dates as years and no date bisection', async () => {
    const narrow = await server.as('od-narrow', { scopes: ['patient/Observation.rs'] });
    expect((await get(narrow, `/api/cases/${report.caseId}/resources?room=${odRoom}&type=Claim`)).body.error?.code).toBe('SCOPE_DENIED');
    const all = await get(narrow, `/api/cases/${report.caseId}/resources?room=${odRoom}&limit=1000`);
    expect(new Set(all.body.resources.map((r) => r.resourceType))).toEqual(new Set(['Observation']));

    const deid = await server.as('od-deid', { scopes: ['deidentified', 'patient/*.rs'] });
    expect((await get(deid, `/api/cases/${report.caseId}/resources?room=${odRoom}&type=Practitioner`)).body.error?.code).toBe('SCOPE_DENIED');
    expect((await get(deid, `/api/cases/${report.caseId}/resources?room=${odRoom}&type=Observation&before=2015-03-01`)).body.error?.code).toBe('QUERY_INVALID');
    const byYear = await get(deid, `/api/cases/${report.caseId}/resources?room=${odRoom}&type=Observation&before=2015&limit=1000`);
    expect(byYear.status).toBe(200);
    expect(byYear.body.deidentified).toBe(true);
    expect(byYear.body.resources.length).toBeGreaterThan(0);
    for (const r of byYear.body.resources) expect(Number(r['effectiveDateTime'])).toBeLessThan(2015);
    const text = JSON.stringify((await get(deid, `/api/cases/${report.caseId}/resources?room=${odRoom}&limit=1000`)).body);
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    for (const f of identifyingStrings(bundle)) expect(text.includes(f), f).toBe(false);

    for (const q of ['type=Spaceship', 'limit=0', 'limit=5000', 'code=%00', 'before=yesterday', 'offset=-1']) expect((await get(narrow, `/api/cases/${report.caseId}/resources?room=${odRoom}&${q}`)).body.error?.code, q).toBe('QUERY_INVALID');
    const none = await server.as('od-none');
    expect((await get(none, `/api/cases/${report.caseId}/resources`)).body.error?.code).toBe('SCOPE_DENIED');
  });
});
