import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

captureFrames();

/** Outside attack on the table's hidden text (round 3). */
const CANARY = { name: 'Zqxtblname5521', mrn: 'MRN-Zq-31877', note: 'Zqxtblnote6603' };
const has = (buf: Buffer, s: string) => buf.includes(Buffer.from(s, 'utf8'));

let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  ({ caseId } = await admin.api.importCase(caseBundle(CANARY)));
});
afterAll(async () => {
  await server?.stop();
});

describe('attack3: the table\'s hidden text', () => {
  /**
   * MEDIUM. A label written before the room had a case gets no author access
   * (object.add: authorScope '' when the room has no case) and keeps none when
   * the case is linked: a clinician's note naming the patient, typed while
   * preparing the room, then reaches a de-identified student's socket once the
   * case is on the table. The label's access should be fixed when it is
   * written (or re-judged when a case is linked), not waived.
   */
  it('a label written before the case was linked does not reach a de-identified student afterwards', async () => {
    const room = await admin.api.createRoom({ title: 'Prep', kind: 'case-conference', participants: [{ userId: 'cl', role: 'clinician' }, { userId: 'st', role: 'observer' }] });
    const cl = await server.join('cl', room.id);
    await cl.do('object.add', { kind: 'label', asset: 'builtin:pin', label: `Prep for ${CANARY.name}`, transform: { position: [0, 1, 0], rotation: [0, 0, 0, 1] } });
    await admin.api.updateRoom(room.id, { caseId });
    await eventually(() => cl.caseResources('Patient').length === 1);
    const st = await server.join('st', room.id);
    await eventually(() => st.objects().length === 1 && st.caseResources('Observation').length === 1);
    expect(st.deidentified).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    const leaked = has(receivedBytes(st), CANARY.name);
    await st.leave();
    await cl.leave();
    expect(leaked).toBe(false);
  });
});
