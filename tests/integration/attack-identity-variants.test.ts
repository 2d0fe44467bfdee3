import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { WITHHELD } from '../../server/src/domain/withhold-identity.ts';
import { hl7 } from '../fixtures/real-fhir.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Outside attack on issue 17 item 1 (identity follows the Patient scope), by
 * class rather than by example: the patient's identity as it is ordinarily
 * written in free text — part of a hyphenated surname ("Mrs. López" for
 * García-López, exactly as "Heuvel" is caught for "van de Heuvel"), a name in
 * a script written without spaces, the birth date in a day/month/year form —
 * reaching a participant with only `patient/Observation.rs`, through the room
 * (raw frames) and `GET /api/cases/:id?room=`. A string that names the patient
 * is withheld whole (the rest of it is about them), so the note arrives as
 * `[withheld]`: the Observation itself still arrives.
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

/** The HL7 f001 Patient (Pieter van de Heuvel) renamed, with one Observation whose note says `note`. */
function bundle(name: Record<string, unknown>, note: string) {
  const patient: Record<string, unknown> = { ...hl7('patient-example-f001-pieter'), name: [name] };
  const glucose = hl7('observation-example-f001-glucose') as Record<string, unknown>;
  const obs: Record<string, unknown> = { ...glucose, subject: { reference: `Patient/${String(patient['id'])}` }, note: [{ text: note }] };
  delete obs['text'];
  return { resourceType: 'Bundle', type: 'collection', entry: [{ resource: patient }, { resource: obs }] };
}

/** What an Observation-only clinician receives of the case: raw room frames and the HTTP read through the room. */
async function received(prefix: string, b: ReturnType<typeof bundle>): Promise<string> {
  const report = await admin.api.importCase(b);
  const room = await admin.api.createRoom({ title: `${prefix} identity`, kind: 'case-conference', caseId: report.caseId, participants: [{ userId: `${prefix}-obs`, role: 'clinician', scopes: ['patient/Observation.rs'] }] });
  const client = await server.as(`${prefix}-obs`, { scopes: ['patient/*.rs'] });
  const session = await client.join(room.id);
  await session.ready();
  await eventually(() => session.state.caseEntries.size >= 1, 10_000);
  const res = await fetch(new URL(`/api/cases/${report.caseId}?room=${room.id}`, server.app.url), { headers: { authorization: `Bearer ${client.api.identityToken}` } });
  expect(res.status).toBe(200);
  const http = await res.text();
  const view = JSON.parse(http) as { resources: { resourceType: string }[] };
  expect(view.resources.map((r) => r.resourceType)).toEqual(['Observation']);
  const all = receivedBytes(session).toString('utf8') + http;
  await session.leave();
  return all;
}

describe('identity in free text, as people write it, reaches an Observation-only participant', () => {
  it('part of a hyphenated surname ("Mrs. López" for García-López) is withheld like "Heuvel" of "van de Heuvel"', async () => {
    const got = await received('hyph', bundle({ use: 'official', family: 'García-López', given: ['María'] }, 'Mrs. López reports dizziness after breakfast'));
    expect(got.includes(WITHHELD), 'the note arrived, withheld whole').toBe(true);
    expect(got.includes('López'), 'López reached the participant').toBe(false);
  }, 30_000);

  it('a name written without spaces around it (Chinese) is withheld', async () => {
    const got = await received('cjk', bundle({ use: 'official', family: '王', given: ['伟'], text: '王伟' }, '患者王伟今晨血糖偏高 glucose high this morning'));
    expect(got.includes(WITHHELD), 'the note arrived, withheld whole').toBe(true);
    expect(got.includes('王伟'), '王伟 reached the participant').toBe(false);
  }, 30_000);

  it('the birth date written day/month/year (1944-11-17 as 17/11/1944) is withheld', async () => {
    const got = await received('dob', bundle({ use: 'official', family: 'Jansen', given: ['Pieter'] }, 'Identity confirmed, DOB 17/11/1944, fasting sample'));
    expect(got.includes(WITHHELD), 'the note arrived, withheld whole').toBe(true);
    expect(got.includes('17/11/1944'), '17/11/1944 reached the participant').toBe(false);
  }, 30_000);
});
