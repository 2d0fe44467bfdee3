import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { CASE_RESOURCE_TYPES, type CaseImportResponse, type FhirResource } from '../../shared/src/index.ts';
import { hl7GlucoseBundle, patientIdentityStrings, syntheaCarroll, type Bundle } from '../fixtures/real-fhir.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Patient identity follows the Patient scope: a participant who may read
 * Observations or Encounters but not the Patient never receives the patient's
 * name, identifiers, telecom, address lines or birth date — not in a
 * reference's display, a narrative, a contained resource, an extension or free
 * text — by room state (raw frames), `GET /api/cases/:id?room=` or
 * `/resources?room=`. Real data: the HL7 f001 glucose Observation (its
 * subject.display and narrative name "P. van de Heuvel") and a Synthea patient
 * (every Encounter's subject.display names them).
 */
captureFrames();

let server: TestServer;
let admin: ConsiliumClient;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
});
afterAll(async () => {
  await server?.stop();
});

type AccessClass = 'full' | 'observation-only' | 'encounter-only' | 'all-but-patient' | 'de-identified';
const CLASSES: Record<AccessClass, { role: 'clinician' | 'observer'; scopes?: string[] }> = {
  full: { role: 'clinician' },
  'observation-only': { role: 'clinician', scopes: ['patient/Observation.rs'] },
  'encounter-only': { role: 'clinician', scopes: ['patient/Encounter.rs'] },
  // Everything Synthea writes except the Patient: references, claims, care teams, contained resources.
  'all-but-patient': {
    role: 'clinician',
    scopes: ['Observation', 'Encounter', 'Condition', 'Procedure', 'Immunization', 'DiagnosticReport', 'MedicationRequest', 'Claim', 'ExplanationOfBenefit', 'CareTeam', 'CarePlan', 'Practitioner', 'Organization'].map((t) => `patient/${t}.rs`),
  },
  'de-identified': { role: 'observer' },
};
const NARROW: AccessClass[] = ['observation-only', 'encounter-only', 'all-but-patient', 'de-identified'];

const has = (buf: Buffer, s: string) => buf.includes(Buffer.from(s, 'utf8'));

interface Received {
  session: ClinicSession;
  client: ConsiliumClient;
  /** Raw WebSocket bytes plus both HTTP answers, byte for byte. */
  bytes: () => Buffer;
  http: Buffer[];
  httpResources: FhirResource[];
}

async function getRaw(client: ConsiliumClient, path: string): Promise<{ status: number; raw: Buffer }> {
  const res = await fetch(new URL(path, server.app.url), { headers: { authorization: `Bearer ${client.api.identityToken}` } });
  return { status: res.status, raw: Buffer.from(await res.arrayBuffer()) };
}

/** Joins every access class to a room showing the case and reads the case over HTTP through it, as an attacker with a wide token would. */
async function receiveAll(prefix: string, caseId: string): Promise<{ roomId: string; got: Record<AccessClass, Received> }> {
  const entries = Object.entries(CLASSES) as [AccessClass, (typeof CLASSES)[AccessClass]][];
  const room = await admin.api.createRoom({
    title: `${prefix} identity`,
    kind: 'case-conference',
    caseId,
    participants: entries.map(([c, p]) => ({ userId: `${prefix}-${c}`, role: p.role, ...(p.scopes ? { scopes: p.scopes } : {}) })),
  });
  const got = {} as Record<AccessClass, Received>;
  for (const [c] of entries) {
    // The identity token allows everything: only the room's record of this participant narrows it.
    const client = await server.as(`${prefix}-${c}`, { scopes: ['patient/*.rs'] });
    const session = await client.join(room.id);
    await session.ready();
    // Settled: the entry count stopped changing (an Encounter-only reader of a lone Observation gets none).
    let last = -1;
    const t0 = Date.now();
    await eventually(() => {
      const n = session.state.caseEntries.size;
      const settled = n === last && (n > 0 || Date.now() - t0 > 1500);
      last = n;
      return settled;
    }, 10_000, 200);
    const http: Buffer[] = [];
    const whole = await getRaw(client, `/api/cases/${caseId}?room=${room.id}`);
    const onDemand = await getRaw(client, `/api/cases/${caseId}/resources?room=${room.id}&limit=1000`);
    // The read of several types the case panel makes: every case type and what Synthea adds, each refused or withheld as the room decides.
    const byType = await fetch(new URL(`/api/cases/${caseId}/resources/query`, server.app.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${client.api.identityToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ room: room.id, types: [...CASE_RESOURCE_TYPES, 'Claim', 'ExplanationOfBenefit', 'CareTeam', 'CarePlan', 'Practitioner', 'Organization'], limit: 200 }),
    });
    expect([whole.status, onDemand.status, byType.status], c).toEqual([200, 200, 200]);
    http.push(whole.raw, onDemand.raw, Buffer.from(await byType.arrayBuffer()));
    const httpResources = (JSON.parse(onDemand.raw.toString('utf8')) as { resources: FhirResource[] }).resources;
    got[c] = { session, client, http, httpResources, bytes: () => Buffer.concat([receivedBytes(session), ...http]) };
  }
  return { roomId: room.id, got };
}

/** Per access class: entries by variant in the room state, resources over HTTP, bytes, and the identity strings found. */
function tally(got: Record<AccessClass, Received>, identity: string[]) {
  const out: Record<string, { variants: Record<string, number>; http: number; bytes: number; identity: number }> = {};
  for (const [c, r] of Object.entries(got)) {
    const variants: Record<string, number> = {};
    r.session.state.caseEntries.forEach((e) => void (variants[e.variant] = (variants[e.variant] ?? 0) + 1));
    const bytes = r.bytes();
    out[c] = { variants, http: r.httpResources.length, bytes: bytes.length, identity: identity.filter((s) => has(bytes, s)).length };
  }
  return out;
}

describe('HL7 f001: the glucose Observation names its subject (display and narrative)', () => {
  let bundle: Bundle;
  let report: CaseImportResponse;
  let got: Record<AccessClass, Received>;
  let identity: string[];

  beforeAll(async () => {
    bundle = hl7GlucoseBundle();
    report = await admin.api.importCase(bundle);
    expect(report.stored).toEqual({ Patient: 1, Observation: 1 });
    identity = patientIdentityStrings(bundle);
    ({ got } = await receiveAll('f001', report.caseId));
  });
  afterAll(async () => {
    await Promise.all(Object.values(got ?? {}).map((r) => r.session.leave()));
  });

  it('the identity strings are real: the published Observation carries the name in subject.display and its narrative', () => {
    expect(identity).toEqual(expect.arrayContaining(['van de Heuvel', 'Pieter', '738472983', '0648352638', 'p.heuvel@gmail.com', 'Van Egmondkade 23', '1944-11-17']));
    const obs = bundle.entry[1]!.resource as { subject: { display: string }; text: { div: string } };
    expect(obs.subject.display).toBe('P. van de Heuvel');
    expect(obs.text.div).toContain('P. van de Heuvel');
  });

  it('full access gets the identity; no narrow class gets a single identity string, yet each gets its data', () => {
    const counts = tally(got, identity);
    console.info(`[identity] f001 per access class: ${JSON.stringify(counts)}`);
    const full = got.full.bytes();
    for (const s of ['van de Heuvel', 'Pieter', '738472983', '1944-11-17']) expect(has(full, s), s).toBe(true);
    expect(got.full.session.caseResources('Observation')[0]!['subject']).toMatchObject({ display: 'P. van de Heuvel' });
    for (const c of NARROW) {
      const bytes = got[c].bytes();
      expect(identity.filter((s) => has(bytes, s)), `${c}: identity strings received`).toEqual([]);
      expect(has(bytes, 'Heuvel'), c).toBe(false);
    }
    // Observation readers still get the measurement and its clinical context.
    for (const c of ['observation-only', 'all-but-patient'] as const) {
      const [obs] = got[c].session.caseResources('Observation');
      expect(obs, c).toMatchObject({ valueQuantity: { value: 6.3 }, effectivePeriod: { start: '2013-04-02T09:30:10+01:00' }, performer: [{ display: 'A. Langeveld' }] });
      expect(got[c].session.caseResources('Patient')).toEqual([]);
      expect(got[c].httpResources.map((r) => r.resourceType)).toEqual(['Observation']);
    }
    expect(got['encounter-only'].session.caseResources()).toEqual([]);
  });

  it('a live Observation naming the patient (display, narrative, note, identifier) reaches narrow readers without the identity', async () => {
    const sessions = Object.values(got).map((r) => r.session);
    const before = sessions.map((s) => s.caseResources('Observation').length);
    const live = {
      resourceType: 'Observation',
      status: 'final',
      text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Glucose for Pieter van de Heuvel, tel 0648352638</div>' },
      code: { coding: [{ system: 'http://loinc.org', code: '15074-8', display: 'Glucose [Moles/volume] in Blood' }] },
      subject: { reference: `Patient/${report.patientId}`, display: 'Pieter van de Heuvel', identifier: { value: '738472983' } },
      effectiveDateTime: new Date().toISOString(),
      valueQuantity: { value: 7.1, unit: 'mmol/l', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      note: [{ text: 'Called p.heuvel@gmail.com about the result' }],
    };
    await admin.api.ingestObservation(report.caseId, live);
    await eventually(() => sessions.every((s, i) => s.caseResources('Observation').length === before[i]! + (s === got['encounter-only'].session ? 0 : 1)), 10_000);
    expect(has(receivedBytes(got.full.session), '0648352638')).toBe(true);
    for (const c of NARROW) {
      const bytes = receivedBytes(got[c].session);
      expect(identity.filter((s) => has(bytes, s)), c).toEqual([]);
    }
    const narrow = got['observation-only'].session.caseResources('Observation').find((o) => (o['valueQuantity'] as { value: number }).value === 7.1)!;
    expect(narrow['subject']).toEqual({ reference: `Patient/${report.patientId}` });
  });
});

describe('Synthea: every Encounter names the patient in subject.display', () => {
  let bundle: Bundle;
  let report: CaseImportResponse;
  let roomId: string;
  let got: Record<AccessClass, Received>;
  let identity: string[];

  beforeAll(async () => {
    bundle = syntheaCarroll();
    report = await admin.api.importCase(bundle);
    identity = patientIdentityStrings(bundle);
    ({ roomId, got } = await receiveAll('syn', report.caseId));
  });
  afterAll(async () => {
    await Promise.all(Object.values(got ?? {}).map((r) => r.session.leave()));
  });

  it('full access gets the identity; no narrow class gets a single identity string, yet each gets its data', () => {
    expect(identity).toEqual(expect.arrayContaining(['Carroll471', "O'Hara248", '999-84-6370', 'S99916528', '555-889-9870', '1081 Ward Key Unit 71', '1954-06-13']));
    const counts = tally(got, identity);
    console.info(`[identity] Synthea per access class: ${JSON.stringify(counts)}`);
    expect(counts['full']!.identity).toBe(identity.length);
    const fullEnc = got.full.session.caseResources('Encounter');
    expect(fullEnc.length).toBeGreaterThan(0);
    expect(String((fullEnc[0]!['subject'] as { display: string }).display)).toContain('Carroll471');
    for (const c of NARROW) {
      const bytes = got[c].bytes();
      expect(identity.filter((s) => has(bytes, s)), `${c}: identity strings received`).toEqual([]);
    }
    expect(got['encounter-only'].session.caseResources('Encounter').length).toBeGreaterThan(0);
    expect(got['encounter-only'].httpResources).toHaveLength(14);
    expect(got['observation-only'].httpResources).toHaveLength(88);
    const all = got['all-but-patient'].httpResources;
    for (const t of ['Claim', 'ExplanationOfBenefit', 'CareTeam', 'Practitioner']) expect(all.some((r) => r.resourceType === t), t).toBe(true);
    // Practitioners keep their names: only the patient's identity is withheld.
    expect(all.find((r) => r.resourceType === 'Practitioner')!['name']).toBeDefined();
    for (const r of [...got['encounter-only'].session.caseResources(), ...all]) expect(r['text'], `${r.resourceType} narrative`).toBeUndefined();
  });

  it('a narrow reader cannot ask for the Patient over HTTP', async () => {
    const res = await getRaw(got['encounter-only'].client, `/api/cases/${report.caseId}/resources?room=${roomId}&type=Patient`);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.raw.toString()).error.code).toBe('SCOPE_DENIED');
  });

  it('break-glass to Patient mid-session: the identified copies replace the withheld ones', async () => {
    const room = await admin.api.createRoom({ title: 'syn break-glass', kind: 'case-conference', caseId: report.caseId, participants: [{ userId: 'syn-bg', role: 'surgeon', scopes: ['patient/Encounter.rs'] }] });
    const surgeon = await server.join('syn-bg', room.id);
    await eventually(() => surgeon.caseResources('Encounter').length > 0, 10_000);
    const display = () => surgeon.caseResources('Encounter').map((e) => (e['subject'] as { display?: string }).display);
    expect(display().every((d) => d === undefined)).toBe(true);
    expect(surgeon.caseResources('Patient')).toEqual([]);
    expect(await surgeon.breakGlass(['Patient'], 'Confirming identity before incision')).toMatchObject({ ok: true, status: 'approved' });
    await eventually(() => surgeon.caseResources('Patient').length === 1 && display().every((d) => typeof d === 'string' && d.includes('Carroll471')), 10_000);
    // Each Encounter once: the identity-withheld copy left when the identified one came.
    expect(surgeon.caseResources('Encounter')).toHaveLength(got['encounter-only'].session.caseResources('Encounter').length);
    await surgeon.leave();
  });

  it('narrowed mid-session (Patient scope taken away): the identified copies leave, the withheld ones arrive, no new frame names the patient', async () => {
    const room = await admin.api.createRoom({ title: 'syn demotion', kind: 'case-conference', caseId: report.caseId, participants: [{ userId: 'syn-dem', role: 'clinician', scopes: ['patient/Patient.rs', 'patient/Encounter.rs'] }] });
    const cli = await server.join('syn-dem', room.id);
    await eventually(() => cli.caseResources('Patient').length === 1 && cli.caseResources('Encounter').length > 0, 10_000);
    // The whole identified case first (it arrives over several patches): only frames after the narrowing are judged.
    await settled(() => receivedBytes(cli).length);
    const variants = () => new Set([...cli.state.caseEntries.values()].map((e) => e.variant));
    expect(variants()).toEqual(new Set(['identified']));
    const before = receivedBytes(cli).length;
    await admin.api.setParticipant(room.id, 'syn-dem', { role: 'clinician', scopes: ['patient/Encounter.rs'] });
    await eventually(() => cli.caseResources('Patient').length === 0 && variants().size === 1 && variants().has('identity-withheld'), 10_000);
    expect(cli.caseResources('Encounter').every((e) => (e['subject'] as { display?: string }).display === undefined)).toBe(true);
    const after = receivedBytes(cli).subarray(before);
    expect(after.length).toBeGreaterThan(0);
    expect(identity.filter((x) => has(after, x))).toEqual([]);
    // A new resource enters the synced map after the narrowing (a live sample): still nothing of the patient.
    const mark = receivedBytes(cli).length;
    await admin.api.ingestObservation(report.caseId, { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] }, subject: { reference: `Patient/${report.patientId}` }, effectiveDateTime: new Date().toISOString(), valueQuantity: { value: 80, unit: '/min' } });
    await admin.api.setParticipant(room.id, 'syn-dem', { role: 'clinician', scopes: ['patient/Encounter.rs', 'patient/Observation.rs'] });
    await eventually(() => cli.caseResources('Observation').length > 0, 10_000);
    const later = receivedBytes(cli).subarray(mark);
    expect(identity.filter((x) => has(later, x))).toEqual([]);
    await cli.leave();
  });
});

/** Resolves once `measure` has stayed the same for `quietMs` (what a client receives has stopped growing). */
async function settled(measure: () => number, quietMs = 400, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  let last = measure();
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() - start > timeoutMs) throw new Error('still changing');
    await new Promise((r) => setTimeout(r, 50));
    const now = measure();
    if (now !== last) [last, since] = [now, Date.now()];
  }
}
