import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { ConsiliumError } from '../../client/src/sdk/errors.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** The admin console's directory: people who have signed in, cases by patient, audit newest first. */
let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;
let patientId: string;
let roomId: string;

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('dir.admin', { admin: true, name: 'Directory Admin' });
  ({ caseId, patientId } = await admin.api.importCase(caseBundle({ name: 'Dirname5521', mrn: 'DIR-MRN-1', note: 'Dirnote' })));
  const room = await admin.api.createRoom({ title: 'Directory room', kind: 'case-conference', caseId, participants: [{ userId: 'dir.doc', role: 'clinician' }] });
  roomId = room.id;
  await (await server.as('dir.doc', { name: 'Dr. Directory' })).api.getTicket(roomId); // a ticket records the user
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const refused = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (err) {
    return (err as ConsiliumError).code;
  }
  return 'ALLOWED';
};

describe('directory endpoints', () => {
  it('listing rooms, which clients poll, records the user without writing their row again each time; a new name is written at once', async () => {
    const db = new pg.Client({ connectionString: server.db.url });
    await db.connect();
    // xmin changes whenever the row is written (a new row version).
    const version = async () => (await db.query<{ xmin: string; name: string }>(`SELECT xmin::text, name FROM users WHERE id = 'dir.poller'`)).rows[0];
    try {
      const poller = await server.as('dir.poller', { name: 'Dr. Poller' });
      await poller.api.listRooms();
      const first = await version();
      expect(first).toMatchObject({ name: 'Dr. Poller' });
      for (let i = 0; i < 5; i++) await poller.api.listRooms();
      expect(await version()).toEqual(first);
      await (await server.as('dir.poller', { name: 'Dr. P. Oller' })).api.listRooms();
      const renamed = await version();
      expect(renamed!.name).toBe('Dr. P. Oller');
      expect(renamed!.xmin).not.toBe(first!.xmin);
    } finally {
      await db.end();
    }
  });

  it('lists users who have signed in, by name, and finds them by part of the id or name', async () => {
    const users = await admin.api.directoryUsers();
    expect(users.find((u) => u.userId === 'dir.doc')).toMatchObject({ name: 'Dr. Directory', admin: false });
    expect((await admin.api.directoryUsers('direct')).map((u) => u.userId)).toEqual(['dir.doc']);
    // LIKE wildcards are literal: "%" and "_" match only themselves (unescaped, they would match everyone).
    expect(await admin.api.directoryUsers('%')).toEqual([]);
    expect(await admin.api.directoryUsers('_')).toEqual([]);
  });

  it('lists cases with the patient name, sex, birth year and MRN (never the SSN), and audits the read', async () => {
    const cases = await admin.api.directoryCases();
    const c = cases.find((x) => x.caseId === caseId)!;
    expect(c).toMatchObject({ patientId, patientName: 'Jane Dirname5521', gender: 'female', birthYear: '1961', mrn: 'DIR-MRN-1' });
    expect(JSON.stringify(cases)).not.toContain('123-45-6789');
    expect((await admin.api.directoryCases('dirname5521')).map((x) => x.caseId)).toEqual([caseId]);
    expect(await admin.api.directoryCases('nobody-by-this-name')).toEqual([]);
    const trail = await admin.api.auditNewestFirst({ action: 'case.read', limit: 5 });
    const read = trail.events.find((e) => (e.details as { directory?: boolean }).directory);
    expect(read?.actor).toBe('dir.admin');
    expect(JSON.stringify(trail)).not.toContain('Dirname5521'); // ids in the audit, never names
  });

  it('returns the audit trail newest first, filtered by user, action, patient and date, paged with before', async () => {
    const all = await admin.api.auditNewestFirst({ limit: 1000 });
    const seqs = all.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    const page1 = await admin.api.auditNewestFirst({ limit: 2 });
    const page2 = await admin.api.auditNewestFirst({ limit: 2, before: page1.next! });
    expect(page2.events[0]!.seq).toBeLessThan(page1.events[1]!.seq);
    const tickets = await admin.api.auditNewestFirst({ user: 'dir.doc', action: 'ticket' });
    expect(tickets.events.length).toBeGreaterThan(0);
    expect(tickets.events.every((e) => e.action.startsWith('ticket') && (e.actor === 'dir.doc' || e.subject === 'dir.doc'))).toBe(true);
    const byPatient = await admin.api.auditNewestFirst({ patient: patientId });
    expect(byPatient.events.length).toBeGreaterThan(0);
    expect(byPatient.events.every((e) => e.patientId === patientId)).toBe(true);
    const future = await admin.api.auditNewestFirst({ from: new Date(Date.now() + 86_400_000).toISOString() });
    expect(future.events).toEqual([]);
  });

  it('refuses non-admins, missing or bad tokens, and hostile queries with stable codes', async () => {
    const doc = await server.as('dir.doc', { name: 'Dr. Directory' });
    expect(await refused(doc.api.directoryUsers())).toBe('ADMIN_REQUIRED');
    expect(await refused(doc.api.directoryCases())).toBe('ADMIN_REQUIRED');
    expect(await refused(doc.api.auditNewestFirst())).toBe('ADMIN_REQUIRED');
    const anon = await fetch(`${server.app.url}/api/directory/cases`);
    expect(anon.status).toBe(401);
    const forged = await fetch(`${server.app.url}/api/directory/users`, { headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' } });
    expect(forged.status).toBe(401);
    expect(await refused(admin.api.directoryUsers('a\u0000b'))).toBe('QUERY_INVALID');
    expect(await refused(admin.api.directoryUsers('x'.repeat(101)))).toBe('QUERY_INVALID');
    expect(await refused(admin.api.directoryCases('\ud800'))).toBe('ALLOWED'); // an unpaired surrogate is just text that matches nothing
    expect(await refused(admin.api.auditNewestFirst({ action: "x' OR 1=1 --" }))).toBe('QUERY_INVALID');
    expect(await refused(admin.api.auditNewestFirst({ limit: 100000 }))).toBe('QUERY_INVALID');
    expect(await refused(admin.api.auditNewestFirst({ before: -1 }))).toBe('QUERY_INVALID');
    const extra = await fetch(`${server.app.url}/api/directory/users?admin=true`, { headers: { authorization: `Bearer ${admin.api.identityToken}` } });
    expect(extra.status).toBe(400);
    // The server is still fine afterwards.
    expect((await admin.api.directoryUsers()).length).toBeGreaterThan(0);
  });
});
