import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import type { ClinicSession } from '../../client/src/sdk/session.ts';
import { demoCaseBundle } from '../../server/src/demo/demo-case.ts';
import { hl7GlucoseBundle, identifyingStrings, patientIdentityStrings, syntheaCarroll, type Bundle } from '../fixtures/real-fhir.ts';
import { CdsServiceStandIn, prefetchResources, STANDIN_SERVICE } from '../support/cds-service.ts';
import { eventually, sleep } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { untyped } from '../support/untyped.ts';

const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

let server: TestServer;
let standin: CdsServiceStandIn;
let admin: ConsiliumClient;
let synthea: { caseId: string; patientId: string; bundle: Bundle };
let glucose: { caseId: string; patientId: string; bundle: Bundle };
let demo: { caseId: string; patientId: string };
const sessions: ClinicSession[] = [];

beforeAll(async () => {
  let appUrl = '';
  standin = new CdsServiceStandIn(() => appUrl);
  await standin.start();
  server = await startTestServer({ logger }, { CDS_SERVICES: `${standin.url}/` });
  appUrl = server.app.url;
  admin = await server.as('root', { admin: true });
  const carroll = syntheaCarroll();
  synthea = { ...(await admin.api.importCase(carroll)), bundle: carroll };
  const g = hl7GlucoseBundle();
  glucose = { ...(await admin.api.importCase(g)), bundle: g };
  demo = await admin.api.importCase(demoCaseBundle());
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.leave().catch(() => {})));
  await server?.stop();
  await standin?.stop();
  // Failures are logged by code; nothing the services were sent or answered reaches the log.
  const log = logLines.join('\n');
  for (const canary of ['Carroll471', 'OHara248', 'van de Heuvel', 'Stand-in advisor: consider', 'Potassium 5.9']) expect(log).not.toContain(canary);
});
beforeEach(() => {
  standin.delayMs = 0;
  standin.failStatus = null;
  standin.redirectTo = null;
});

async function join(userId: string, roomId: string): Promise<ClinicSession> {
  const s = await server.join(userId, roomId);
  sessions.push(s);
  return s;
}

/** The audit rows of this user's CDS calls in a room, newest last. */
async function calls(userId: string, roomId: string) {
  const { rows } = await server.app.pool.query<{ details: { service: string; hookInstance: string; resources: string[]; variant: string; scope: string } }>(
    `SELECT details FROM audit_log WHERE actor = $1 AND room_id = $2 AND action = 'cds.call' ORDER BY seq`,
    [userId, roomId],
  );
  return rows.map((r) => r.details);
}

/** The stand-in's record of this user's latest call in this room, with the audit row that announced it. */
async function standinCall(userId: string, roomId: string) {
  return eventually(async () => {
    const audit = (await calls(userId, roomId)).filter((c) => c.service.endsWith(`/cds-services/${STANDIN_SERVICE}`)).at(-1);
    const call = audit && standin.callFor(audit.hookInstance);
    return call && audit ? { call, audit } : null;
  });
}

describe('Consilium as a CDS client', () => {
  it('publishes its JWKS; the built-in service answers only calls Consilium signed', async () => {
    const jwks = (await (await fetch(`${server.app.url}/.well-known/cds-client-jwks.json`)).json()) as { keys: { kty: string; crv: string; alg: string; d?: string }[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-384', alg: 'ES384' });
    expect(jwks.keys[0]!.d).toBeUndefined();
    const discovery = (await (await fetch(`${server.app.url}/cds-services`)).json()) as { services: { id: string; hook: string }[] };
    expect(discovery.services).toEqual([expect.objectContaining({ id: 'consilium-rules', hook: 'patient-view' })]);
    const unsigned = await fetch(`${server.app.url}/cds-services/consilium-rules`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ hook: 'patient-view', hookInstance: 'x', context: { userId: 'Practitioner/1', patientId: '1' } }) });
    expect(unsigned.status).toBe(401);
  });

  it('a "vitals and labs only" participant: the call is signed, audited with what was sent, and holds only their identity-withheld Observations', async () => {
    const room = await server.createRoom({ caseId: synthea.caseId, participants: [{ userId: 'labs.only', role: 'clinician', scopes: ['patient/Observation.rs'] }] });
    await join('labs.only', room.id);
    const { call, audit } = await standinCall('labs.only', room.id);
    expect(standin.refused).toEqual([]);
    expect(call.claims.aud).toBe(`${standin.url}/cds-services/${STANDIN_SERVICE}`);
    expect(call.claims.iss).toBe(server.app.url);
    expect(call.body).not.toHaveProperty('fhirAuthorization');
    expect(call.body).not.toHaveProperty('fhirServer');
    expect(call.body.hook).toBe('patient-view');
    expect(call.body.context).toEqual({ userId: expect.stringMatching(/^Practitioner\/[0-9a-f]{32}$/), patientId: synthea.patientId });
    // Only the Observation searches were answered; everything else was left out, not answered "none".
    expect(Object.keys(call.body.prefetch ?? {}).sort()).toEqual(['labs', 'observations']);
    const sent = prefetchResources(call.body.prefetch);
    expect(sent.length).toBeGreaterThan(10);
    expect(new Set(sent.map((r) => r['resourceType']))).toEqual(new Set(['Observation']));
    expect(audit.variant).toBe('identity-withheld');
    expect(new Set(audit.resources)).toEqual(new Set(sent.map((r) => `Observation/${String(r['id'])}`)));
    for (const s of patientIdentityStrings(synthea.bundle)) expect(call.raw).not.toContain(s);
  });

  it('HL7 glucose example: the Observation that names its patient goes out without the name to a labs-only participant', async () => {
    const room = await server.createRoom({ caseId: glucose.caseId, participants: [{ userId: 'labs.glucose', role: 'clinician', scopes: ['patient/Observation.rs'] }] });
    await join('labs.glucose', room.id);
    const { call } = await standinCall('labs.glucose', room.id);
    const sent = prefetchResources(call.body.prefetch);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent.map((r) => r['resourceType']))).toEqual(new Set(['Observation']));
    expect(call.raw).toContain('15074-8');
    for (const s of patientIdentityStrings(glucose.bundle)) expect(call.raw).not.toContain(s);
    expect(call.raw).not.toContain('van de Heuvel');
  });

  it('a de-identified observer: de-identified copies only, under the pseudonymous patient id — no identifier, name or full date of the real record', async () => {
    const room = await server.createRoom({ caseId: synthea.caseId, participants: [{ userId: 'student', role: 'observer' }] });
    await join('student', room.id);
    const { call, audit } = await standinCall('student', room.id);
    expect(audit.variant).toBe('deidentified');
    const patientId = (call.body.context as { patientId: string }).patientId;
    expect(patientId).toMatch(/^[0-9a-f]{32}$/);
    expect(patientId).not.toBe(synthea.patientId);
    const sent = prefetchResources(call.body.prefetch);
    expect(new Set(sent.map((r) => r['resourceType']))).toEqual(new Set(['Patient', 'Observation', 'Condition']));
    for (const r of sent) expect(String(r['id'])).toMatch(/^[0-9a-f]{32}$/);
    for (const s of identifyingStrings(synthea.bundle)) expect(call.raw).not.toContain(s);
    expect(call.raw).not.toContain(synthea.patientId);
  });

  it('canary over the whole record: a full clinician may be sent more, and no call of anyone holds a type outside their access', async () => {
    const room = await server.createRoom({ caseId: synthea.caseId, participants: [{ userId: 'full.doc', role: 'clinician' }, { userId: 'conds', role: 'specialist', scopes: ['patient/Condition.rs', 'patient/Patient.rs'] }] });
    await join('full.doc', room.id);
    await join('conds', room.id);
    const full = await standinCall('full.doc', room.id);
    const types = new Set(prefetchResources(full.call.body.prefetch).map((r) => r['resourceType']));
    for (const t of ['Patient', 'Observation', 'Condition', 'Encounter', 'Immunization']) expect(types).toContain(t);
    const conds = await standinCall('conds', room.id);
    expect(new Set(prefetchResources(conds.call.body.prefetch).map((r) => r['resourceType']))).toEqual(new Set(['Patient', 'Condition']));
    expect(conds.call.raw).not.toContain('"Observation"');
  });
});

describe('cards in the room', () => {
  it('built-in rules on the demo case: the clinician gets the hyperkalaemia and INR cards, citing entries they hold; an observer without Observation scope gets none', async () => {
    const room = await server.createRoom({
      caseId: demo.caseId,
      participants: [{ userId: 'doc', role: 'clinician' }, { userId: 'doc2', role: 'specialist' }, { userId: 'guest', role: 'observer', scopes: ['deidentified', 'patient/Condition.rs'] }],
    });
    const doc = await join('doc', room.id);
    const guest = await join('guest', room.id);
    const doc2 = await join('doc2', room.id);
    const k = await eventually(() => doc.cds.cards.find((c) => c.summary.startsWith('Potassium 5.9 mmol/L')));
    expect(k).toMatchObject({ indicator: 'warning', service: { id: 'consilium-rules', builtin: true }, source: { label: 'Consilium built-in rules (rules, not advice)' } });
    expect(k.detail).toContain('Lisinopril 10 MG Oral Tablet (ACE inhibitor)');
    expect(k.sources).toHaveLength(2);
    const keys = new Set<string>();
    doc.state.caseEntries.forEach((e) => keys.add(e.key));
    for (const s of k.sources) expect(keys).toContain(s);
    expect(doc.cds.cards.some((c) => c.summary === 'INR 3.8 above the warfarin target range')).toBe(true);
    // The stand-in's card came too, with its javascript: link dropped.
    const other = await eventually(() => doc.cds.cards.find((c) => c.service.id === STANDIN_SERVICE));
    expect(other.links).toEqual([{ label: 'Evidence', url: 'https://advisor.example.org/evidence' }]);
    await eventually(() => guest.cds.cards.length > 0 || (standin.calls.length > 0 && true));
    await sleep(300);
    expect(guest.cds.cards.filter((c) => c.service.builtin)).toEqual([]);

    // Sharing: the specialist (same access) reads it; the observer learns only that a card was shared.
    const reply = await doc.cds.share(k.id);
    expect(reply).toEqual({ ok: true, cardId: k.id, shownTo: 2, withheldFrom: 1 });
    const seen = await eventually(() => doc2.cds.shared.find((s) => s.cardId === k.id));
    expect(seen.card?.summary).toBe(k.summary);
    const withheld = await eventually(() => guest.cds.shared.find((s) => s.cardId === k.id));
    expect(withheld).toEqual({ cardId: k.id, by: { userId: 'doc', name: 'doc' }, card: null, indicator: 'warning' });
    // An observer may neither share nor answer; nobody shares a card that is not theirs.
    expect(await doc2.cds.share(k.id)).toMatchObject({ ok: false, error: { code: 'CARD_NOT_FOUND' } });
    expect(await guest.cds.share(k.id)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await untyped(doc).request('cds.share', { cardId: '../../x' })).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    const { rows } = await server.app.pool.query(`SELECT details FROM audit_log WHERE action = 'cds.share' AND room_id = $1`, [room.id]);
    expect(rows[0].details).toMatchObject({ shownTo: ['doc', 'doc2'], withheldFrom: ['guest'] });
  });

  it('dismissing needs a reason, goes to the service feedback endpoint (signed) and the audit trail, and the card leaves the list; nothing is executed', async () => {
    const room = await server.createRoom({ caseId: demo.caseId, participants: [{ userId: 'fb.doc', role: 'clinician' }] });
    const doc = await join('fb.doc', room.id);
    const card = await eventually(() => doc.cds.cards.find((c) => c.service.id === STANDIN_SERVICE));
    expect(await doc.cds.dismiss(card.id, {})).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    expect(await doc.cds.dismiss(card.id, { reasonCode: 'made-up' })).toMatchObject({ ok: false, error: { code: 'MESSAGE_INVALID' } });
    const before = standin.feedback.length;
    expect(await doc.cds.dismiss(card.id, { reasonCode: 'not-relevant', comment: 'Discussed at the meeting' })).toEqual({ ok: true, cardId: card.id, outcome: 'overridden', delivered: true });
    const fb = standin.feedback[before]!;
    expect(fb.claims.aud).toBe(`${standin.url}/cds-services/${STANDIN_SERVICE}/feedback`);
    expect((fb.body as { feedback: unknown[] }).feedback).toEqual([
      { card: expect.stringMatching(/^standin-/), outcome: 'overridden', outcomeTimestamp: expect.any(String), overrideReason: { reason: { code: 'not-relevant', system: 'urn:standin', display: 'Not relevant' }, userComment: 'Discussed at the meeting' } },
    ]);
    await eventually(() => !doc.cds.cards.some((c) => c.id === card.id));
    const { rows } = await server.app.pool.query(`SELECT details FROM audit_log WHERE action = 'cds.feedback' AND room_id = $1`, [room.id]);
    expect(rows).toEqual([{ details: expect.objectContaining({ outcome: 'overridden', reason: 'not-relevant', comment: true }) }]);
    expect(JSON.stringify(rows)).not.toContain('Discussed');
    const inr = doc.cds.cards.find((c) => c.summary.startsWith('INR'))!;
    expect(await doc.cds.accept(inr.id, inr.suggestions[0]!.uuid!)).toMatchObject({ ok: true, outcome: 'accepted', delivered: true });
  });

  it('a live value recomputes the cards; losing Observation access withdraws the cards computed from it at once', async () => {
    const room = await server.createRoom({ caseId: demo.caseId, participants: [{ userId: 'live.doc', role: 'clinician' }] });
    const doc = await join('live.doc', room.id);
    await eventually(() => doc.cds.cards.some((c) => c.summary.startsWith('Potassium 5.9')));
    await admin.api.ingestObservation(demo.caseId, { resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '2823-3', display: 'Potassium' }] }, subject: { reference: `Patient/${demo.patientId}` }, effectiveDateTime: new Date().toISOString(), valueQuantity: { value: 6.8, unit: 'mmol/L' }, referenceRange: [{ low: { value: 3.5 }, high: { value: 5.1 } }] });
    const k = await eventually(() => doc.cds.cards.find((c) => c.summary.startsWith('Potassium 6.8')), 8000);
    expect(k.indicator).toBe('critical');
    await admin.api.setParticipant(room.id, 'live.doc', { role: 'clinician', scopes: ['patient/Condition.rs', 'patient/Patient.rs'] });
    await eventually(() => doc.cds.cards.every((c) => !c.service.builtin) && !doc.cds.cards.some((c) => c.summary.includes('Potassium')));
  });
});

describe('a slow or failing service holds nothing up', () => {
  it('5 s to answer: the join and the built-in cards are not delayed; its cards never appear (gave up after 2 s, logged by code)', async () => {
    standin.delayMs = 5000;
    const room = await server.createRoom({ caseId: demo.caseId, participants: [{ userId: 'slow.doc', role: 'clinician' }] });
    const started = Date.now();
    const doc = await join('slow.doc', room.id);
    const joinedMs = Date.now() - started;
    await eventually(() => doc.cds.cards.some((c) => c.summary.startsWith('Potassium')));
    const builtinMs = Date.now() - started;
    expect(joinedMs).toBeLessThan(1500);
    expect(builtinMs).toBeLessThan(1900);
    expect(doc.caseResources('Observation').length).toBeGreaterThan(0);
    await eventually(() => logLines.some((l) => l.includes('"code":"CDS_TIMEOUT"')), 6000);
    await sleep(3500);
    expect(doc.cds.cards.some((c) => c.service.id === STANDIN_SERVICE)).toBe(false);
  });

  it('failing (500) or redirecting: no cards from it, the built-in ones still come, nothing retried', async () => {
    for (const [setup, code] of [[() => (standin.failStatus = 500), 'CDS_HTTP_ERROR'], [() => (standin.redirectTo = 'http://127.0.0.1:9/steal'), 'CDS_REDIRECT_REFUSED']] as const) {
      setup();
      const room = await server.createRoom({ caseId: demo.caseId, participants: [{ userId: `fail.${code}`, role: 'clinician' }] });
      const before = standin.calls.length;
      const doc = await join(`fail.${code}`, room.id);
      await eventually(() => doc.cds.cards.some((c) => c.summary.startsWith('INR')));
      await eventually(() => logLines.some((l) => l.includes(`"code":"${code}"`)));
      await sleep(300);
      expect(standin.calls.length - before).toBe(1);
      expect(doc.cds.cards.some((c) => c.service.id === STANDIN_SERVICE)).toBe(false);
      standin.failStatus = null;
      standin.redirectTo = null;
    }
  });
});
