import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession } from '../../client/src/sdk/session.ts';
import { demoCaseBundle } from '../../server/src/demo/demo-case.ts';
import { CdsServiceStandIn, STANDIN_SERVICE, type RecordedCdsCall } from '../support/cds-service.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Outside attack on decision support (round 3, attack2). The hospital's own
 * CDS service declares NO prefetch (it reads the EHR itself by the patient id
 * in the hook context, which many real services do); its cards then rest on
 * nothing Consilium sent, and a shared card is treated as resting on nothing.
 */
let server: TestServer;
let standin: CdsServiceStandIn;
let demo: { caseId: string; patientId: string };
const sessions: ClinicSession[] = [];

beforeAll(async () => {
  let appUrl = '';
  standin = new CdsServiceStandIn(() => appUrl, {});
  // What a hospital service with its own EHR access answers about the patient named in the context.
  standin.cards = (call: RecordedCdsCall) => [
    {
      uuid: `own-ehr-${call.body.hookInstance}`,
      summary: `Creatinine rising for patient ${String(call.body.context?.['patientId'])}`,
      detail: `Chart of patient ${String(call.body.context?.['patientId'])}: creatinine 2.1 mg/dL on 2024-03-05T08:14, 1.4 on 2024-02-11.`,
      indicator: 'warning',
      source: { label: 'Hospital renal service', url: 'JAVASCRIPT:alert(1)' },
      links: [
        { label: 'a', url: ' javascript:alert(1)', type: 'absolute' },
        { label: 'b', url: 'data:text/html,<script>alert(1)</script>', type: 'absolute' },
        { label: 'c', url: 'java\tscript:alert(1)', type: 'absolute' },
        { label: 'ok', url: 'https://renal.example.org/guide', type: 'absolute' },
      ],
    },
  ];
  await standin.start();
  server = await startTestServer({}, { CDS_SERVICES: `${standin.url}/` });
  appUrl = server.app.url;
  const admin = await server.as('root', { admin: true });
  demo = await admin.api.importCase(demoCaseBundle());
});
afterAll(async () => {
  await Promise.all(sessions.map((s) => s.leave().catch(() => {})));
  await server?.stop();
  await standin?.stop();
});

/** The stand-in's record of this user's call in this room (found through its audit row). */
function standinCall(userId: string, roomId: string): Promise<RecordedCdsCall> {
  return eventually(async () => {
    const { rows } = await server.app.pool.query<{ details: { hookInstance: string; service: string } }>(`SELECT details FROM audit_log WHERE actor = $1 AND room_id = $2 AND action = 'cds.call'`, [userId, roomId]);
    const audit = rows.find((r) => r.details.service.endsWith(`/cds-services/${STANDIN_SERVICE}`));
    return audit && standin.callFor(audit.details.hookInstance);
  });
}

async function join(userId: string, roomId: string): Promise<ClinicSession> {
  const s = await server.join(userId, roomId);
  sessions.push(s);
  return s;
}

describe('attack2: shared cards and what a service learns', () => {
  it('HOLE (medium): a card computed from no prefetch (identified context) is shared in full to a de-identified observer', async () => {
    const room = await server.createRoom({ caseId: demo.caseId, participants: [{ userId: 'a2.doc', role: 'clinician' }, { userId: 'a2.student', role: 'observer' }] });
    const doc = await join('a2.doc', room.id);
    const student = await join('a2.student', room.id);
    const card = await eventually(() => doc.cds.cards.find((c) => c.service.id === STANDIN_SERVICE));
    // The card names the real patient id (the identified clinician's context) and full dates.
    expect(card.summary).toContain(demo.patientId);
    expect(await doc.cds.share(card.id)).toMatchObject({ ok: true });
    const got = await eventually(() => student.cds.shared.find((s) => s.cardId === card.id));
    // Expected: a card that rests on nothing Consilium can check is shown only to readers as identified as its author (here: card null).
    expect(got.card?.detail ?? null).toBeNull();
  });

  it('fixed: such a card reaches only those whose access covers the sharer\'s; each context names the patient as that participant\'s copies do', async () => {
    const room = await server.createRoom({
      caseId: demo.caseId,
      participants: [
        { userId: 'a2x.doc', role: 'clinician' },
        { userId: 'a2x.peer', role: 'specialist' },
        { userId: 'a2x.labs', role: 'clinician', scopes: ['patient/Observation.rs'] },
        { userId: 'a2x.student', role: 'observer' },
      ],
    });
    const doc = await join('a2x.doc', room.id);
    const peer = await join('a2x.peer', room.id);
    const labs = await join('a2x.labs', room.id);
    const student = await join('a2x.student', room.id);
    // What the no-prefetch service was told: the real id for identified participants (identity-withheld
    // included: their copies keep their references to Patient/<id>), the case's pseudonym for de-identified ones.
    expect((await standinCall('a2x.doc', room.id)).body).toMatchObject({ context: { patientId: demo.patientId }, prefetch: {} });
    expect((await standinCall('a2x.labs', room.id)).body).toMatchObject({ context: { patientId: demo.patientId }, prefetch: {} });
    const deid = await standinCall('a2x.student', room.id);
    expect(deid.body.context?.['patientId']).toMatch(/^[0-9a-f]{32}$/);
    expect(deid.raw).not.toContain(demo.patientId);
    const card = await eventually(() => doc.cds.cards.find((c) => c.service.id === STANDIN_SERVICE));
    expect(await doc.cds.share(card.id)).toEqual({ ok: true, cardId: card.id, shownTo: 2, withheldFrom: 2 });
    expect((await eventually(() => peer.cds.shared.find((s) => s.cardId === card.id))).card?.detail).toContain(demo.patientId);
    expect((await eventually(() => labs.cds.shared.find((s) => s.cardId === card.id))).card).toBeNull();
    expect((await eventually(() => student.cds.shared.find((s) => s.cardId === card.id))).card).toBeNull();
    // The identity-withheld participant's own card (computed under their access) reaches the full clinicians, not the student.
    const labsCard = await eventually(() => labs.cds.cards.find((c) => c.service.id === STANDIN_SERVICE));
    expect(await labs.cds.share(labsCard.id)).toEqual({ ok: true, cardId: labsCard.id, shownTo: 3, withheldFrom: 1 });
    expect((await eventually(() => student.cds.shared.find((s) => s.cardId === labsCard.id))).card).toBeNull();
  });

  it('HOLE (low): the hook\'s "pseudonymous" user is an unkeyed SHA-256 of the user id — a service re-identifies clinicians from a staff list', async () => {
    const room = await server.createRoom({ caseId: demo.caseId, participants: [{ userId: 'dr.adams@hospital.example', role: 'clinician' }] });
    await join('dr.adams@hospital.example', room.id);
    // The call this user caused, found through its audit row (hookInstance), not through the user id.
    const call = await standinCall('dr.adams@hospital.example', room.id);
    expect(call.body.context?.['userId']).toMatch(/^Practitioner\//);
    const staffList = ['dr.brown@hospital.example', 'dr.adams@hospital.example', 'a2.doc'];
    const guessed = staffList.find((u) => call.body.context?.['userId'] === `Practitioner/${createHash('sha256').update(`cds-user:${u}`).digest('hex').slice(0, 32)}`);
    // Expected: a keyed pseudonym (HMAC under a server secret) that a service cannot reverse by guessing.
    expect(guessed).toBeUndefined();
    // Still stable: the same participant is the same Practitioner in another room; another participant is not.
    const again = await server.createRoom({ caseId: demo.caseId, participants: [{ userId: 'dr.adams@hospital.example', role: 'clinician' }, { userId: 'dr.brown@hospital.example', role: 'clinician' }] });
    await join('dr.adams@hospital.example', again.id);
    await join('dr.brown@hospital.example', again.id);
    expect((await standinCall('dr.adams@hospital.example', again.id)).body.context?.['userId']).toBe(call.body.context?.['userId']);
    expect((await standinCall('dr.brown@hospital.example', again.id)).body.context?.['userId']).not.toBe(call.body.context?.['userId']);
  });

  it('held: javascript:, data: and obfuscated links and source URLs from a hostile service never reach the client', async () => {
    const room = await server.createRoom({ caseId: demo.caseId, participants: [{ userId: 'a2.links', role: 'clinician' }] });
    const doc = await join('a2.links', room.id);
    const card = await eventually(() => doc.cds.cards.find((c) => c.service.id === STANDIN_SERVICE));
    expect(card.source.url).toBeNull();
    expect(card.links).toEqual([{ label: 'ok', url: 'https://renal.example.org/guide' }]);
  });
});

describe('attack4: a service that knows the patient by the id it was sent', () => {
  it('its text reaches a participant without Patient scope with the patient\'s name, identifier and birth date withheld; a full clinician reads it as written', async () => {
    const bundle = demoCaseBundle() as { entry: { resource: Record<string, unknown> }[] };
    const patient = bundle.entry.map((e) => e.resource).find((r) => r['resourceType'] === 'Patient')!;
    const name = (patient['name'] as { family: string; given: string[] }[])[0]!;
    const mrn = (patient['identifier'] as { value: string }[])[0]!.value;
    const birthDate = String(patient['birthDate']);
    const [y, m, d] = birthDate.split('-');
    const naming = `${name.given[0]} ${name.family} (MRN ${mrn}), born ${d}/${m}/${y}`;
    const previous = standin.cards;
    standin.cards = (call) => [
      {
        uuid: `knows-${call.body.hookInstance}`,
        summary: naming,
        detail: `Dialysis schedule for ${name.family.toUpperCase()}`,
        indicator: 'warning',
        source: { label: `Renal team of ${name.given[0]} ${name.family}` },
        suggestions: [{ label: `Call ${name.family}'s nephrologist` }],
        links: [{ label: `Chart ${mrn}`, url: 'https://renal.example.org/chart', type: 'absolute' }],
        overrideReasons: [{ code: 'x', display: `Not ${name.given[0]}` }],
      },
    ];
    try {
      const room = await server.createRoom({
        caseId: demo.caseId,
        participants: [
          { userId: 'a4.doc', role: 'clinician' },
          { userId: 'a4.labs', role: 'clinician', scopes: ['patient/Observation.rs'] },
        ],
      });
      const doc = await join('a4.doc', room.id);
      const labs = await join('a4.labs', room.id);
      const full = await eventually(() => doc.cds.cards.find((c) => c.service.id === STANDIN_SERVICE));
      expect(full.summary).toBe(naming);
      const withheld = await eventually(() => labs.cds.cards.find((c) => c.service.id === STANDIN_SERVICE));
      const text = JSON.stringify(withheld);
      for (const s of [name.family, name.given[0]!, mrn, `${d}/${m}/${y}`]) expect(text.toLowerCase()).not.toContain(s.toLowerCase());
      expect(withheld.summary).toBe('[withheld]');
      expect(withheld.links).toEqual([{ label: '[withheld]', url: 'https://renal.example.org/chart' }]);
    } finally {
      standin.cards = previous;
    }
  });
});
