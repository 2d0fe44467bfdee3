import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession } from '../../client/src/sdk/index.ts';
import { matchMaker } from '@colyseus/core';
import { CLINIC_ROOM } from '../../shared/src/index.ts';
import { ROOM_CAPACITY } from '../../shared/src/roles.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * A room at its cap, with a case loaded: every participant's filtered full
 * state decodes, the next join is refused ROOM_FULL, and there is never a
 * second instance of the room (issue 13: the 65th join used to split it).
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.stop();
});

const MAX_ROOM_PARTICIPANTS = ROOM_CAPACITY['case-conference'];

describe('room capacity', () => {
  it(`holds ${MAX_ROOM_PARTICIPANTS} with a case, refuses the next with ROOM_FULL, never splits`, async () => {
    const admin = await server.as('root', { admin: true });
    const bundle = caseBundle({ name: 'Capname', mrn: 'CAP-1', note: 'cap' });
    // A bigger case: 150 more observations, so the state is well past one encoder buffer's worth of filtered data.
    const template = bundle.entry.find((e) => (e.resource as { resourceType: string }).resourceType === 'Observation')!;
    for (let i = 0; i < 150; i++) bundle.entry.push({ ...template, fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, resource: { ...(template.resource as object), id: `obs-extra-${i}` } } as never);
    const { caseId } = await admin.api.importCase(bundle);
    const users = Array.from({ length: MAX_ROOM_PARTICIPANTS + 1 }, (_, i) => `cap-${i}`);
    const room = await admin.api.createRoom({
      title: 'Grand rounds',
      kind: 'case-conference',
      caseId,
      participants: users.map((userId, i) => ({ userId, role: i % 2 ? ('observer' as const) : ('clinician' as const) })),
    });
    const sessions: ClinicSession[] = [];
    for (let i = 0; i < MAX_ROOM_PARTICIPANTS; i += 10) {
      sessions.push(...(await Promise.all(users.slice(i, Math.min(i + 10, MAX_ROOM_PARTICIPANTS)).map((u) => server.join(u, room.id)))));
    }
    await expect(server.join(users[MAX_ROOM_PARTICIPANTS]!, room.id)).rejects.toMatchObject({ code: 'ROOM_FULL' });
    expect((await matchMaker.query({ name: CLINIC_ROOM })).filter((l) => l.roomId === room.id)).toHaveLength(1);

    const observations = (s: ClinicSession) => s.caseResources('Observation').length;
    await eventually(() => sessions.every((s) => s.participants().length === MAX_ROOM_PARTICIPANTS), 20_000, 100);
    const clinician = sessions[0]!;
    const observer = sessions[1]!;
    // Every filtered view decodes to the same summary (identified or de-identified copies of it).
    await eventually(() => observations(clinician) > 0 && sessions.every((s) => observations(s) === observations(clinician)), 20_000, 100);
    expect(clinician.deidentified).toBe(false);
    expect(observer.deidentified).toBe(true);
    expect(observations(observer)).toBe(observations(clinician));
    // Every pose reaches a late joiner's neighbour: the patches decode too.
    sessions[MAX_ROOM_PARTICIPANTS - 1]!.sendPose({ head: { p: [1, 1.5, 2], q: [0, 0, 0, 1] } });
    await eventually(() => {
      const last = clinician.participants().find((p) => p.sessionId === sessions[MAX_ROOM_PARTICIPANTS - 1]!.sessionId);
      return !!last && Math.abs((clinician.avatarPose(last, { interpolate: false })?.head.p[2] ?? 0) - 2) < 0.002;
    }, 5000);
    await Promise.all(sessions.map((s) => s.leave()));
  }, 120_000);

  it('the cap is per kind: a conference turned surgical-guidance keeps who is there, takes nobody past 32', async () => {
    const admin = await server.as('root', { admin: true });
    const cap = ROOM_CAPACITY['surgical-guidance'];
    const users = Array.from({ length: cap + 2 }, (_, i) => `kind-${i}`);
    const room = await admin.api.createRoom({ title: 'Rounds, then theatre', kind: 'case-conference', participants: users.map((userId) => ({ userId, role: 'specialist' as const })) });
    const sessions: ClinicSession[] = [];
    for (let i = 0; i <= cap; i += 11) sessions.push(...(await Promise.all(users.slice(i, Math.min(i + 11, cap + 1)).map((u) => server.join(u, room.id)))));
    expect(sessions).toHaveLength(cap + 1); // a conference takes more than 32
    await admin.api.updateRoom(room.id, { kind: 'surgical-guidance' });
    await eventually(() => sessions[0]!.state.info.kind === 'surgical-guidance');
    await expect(server.join(users[cap + 1]!, room.id)).rejects.toMatchObject({ code: 'ROOM_FULL' });
    // Nobody already in was put out.
    expect(sessions.every((s) => s.status === 'connected')).toBe(true);
    expect(sessions[0]!.participants()).toHaveLength(cap + 1);
    await Promise.all(sessions.map((s) => s.leave()));
  }, 60_000);
});
