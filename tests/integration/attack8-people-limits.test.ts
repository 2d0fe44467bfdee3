import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { PEOPLE_SEARCH_LIMIT } from '../../server/src/domain/rate-limit.ts';
import { refusal } from '../support/refusal.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Outside attack (round 8) on the people a recording's managers may find and seat:
 * - the host of a recording reads the whole user directory out by many short searches ("a", "b", …),
 *   spreading them over the recordings they manage;
 * - a group replay seats learners by user id: one nobody has signed in with was taken (a seat for nobody,
 *   or for whoever signs in with that id one day), where a grant refuses it (USER_NOT_FOUND).
 * `HOLE` tests were found failing and pass once closed.
 */
const NOBODY = 'nobody.ever.signed.in';

let server: TestServer;
let admin: ConsiliumClient;
let edu: ConsiliumClient;
let recA: string;
let recB: string;

/** A raw request as an attacker's own HTTP client sends it. */
async function raw(client: ConsiliumClient, method: string, path: string, body?: unknown): Promise<{ status: number; code: string | null; retryAfter: string | null }> {
  const res = await fetch(new URL(path, server.app.url), {
    method,
    headers: { authorization: `Bearer ${client.api.identityToken}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const parsed = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: parsed.error?.code ?? null, retryAfter: res.headers.get('retry-after') };
}
const search = (client: ConsiliumClient, id: string, q: string) => raw(client, 'GET', `/api/recordings/${id}/people?q=${encodeURIComponent(q)}`);

/** A short recording by `host`. */
async function record(host: string): Promise<string> {
  const room = await admin.api.createRoom({ title: 'Board', kind: 'case-conference', recordingAllowed: true, participants: [{ userId: host, role: 'host' }] });
  const s = await server.join(host, room.id, { name: 'Dr. Okafor' });
  const { recordingId } = await s.do('recording.start', {});
  await new Promise((r) => setTimeout(r, 300));
  await s.do('recording.stop', {});
  await s.leave();
  return recordingId;
}

const replayRooms = async (recordingId: string): Promise<number> =>
  Number((await server.app.pool.query<{ n: string }>(`SELECT count(*) AS n FROM rooms WHERE recording_id = $1`, [recordingId])).rows[0]!.n);

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.signIn('root8', { admin: true, name: 'Root Admin' });
  recA = await record('edu8');
  recB = await record('edu8');
  edu = await server.signIn('edu8', { name: 'Dr. Okafor' });
  for (const [id, name] of [['stu8', 'Sam Student'], ['str8', 'Stan Stranger'], ['lea8', 'Lea Learner']]) await server.signIn(id!, { name: name! });
  await edu.api.grantRecording(recA, { userId: 'stu8' });
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

describe('attack8: reading the directory out by many short searches', () => {
  it('HOLE: a host spraying searches over two recordings is refused RATE_LIMITED (429, Retry-After) after the burst; others are not; it comes back', async () => {
    const { burst, perMinute } = PEOPLE_SEARCH_LIMIT;
    let passed = 0;
    let refused: Awaited<ReturnType<typeof search>> | null = null;
    // "a", "b", … alternately through both recordings they manage.
    for (let i = 0; i < burst * 3 && !refused; i++) {
      const res = await search(edu, i % 2 === 0 ? recA : recB, String.fromCharCode(97 + (i % 26)));
      if (res.status === 200) passed++;
      else refused = res;
    }
    expect(refused).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    // The burst, and at most the one token the spray's own time refilled.
    expect(passed).toBeGreaterThanOrEqual(burst);
    expect(passed).toBeLessThanOrEqual(burst + 1);
    const wait = Number(refused!.retryAfter);
    expect(Number.isInteger(wait) && wait >= 1 && wait <= Math.ceil(60 / perMinute)).toBe(true);
    // Neither recording is a way round it: the budget is the user's.
    for (const id of [recA, recB]) expect(await search(edu, id, 'sam'), id).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    // Another manager searching meanwhile (from the same address) is not affected.
    expect((await admin.api.findPeople(recA, 'sam')).map((p) => p.userId)).toEqual(['stu8']);
    // The SDK reports it as a stable code.
    expect(await refusal(edu.api.findPeople(recB, 'sam'))).toBe('RATE_LIMITED');
    // After the wait it says, one more search passes — and only one: the sustained rate, not a new burst.
    await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    expect((await edu.api.findPeople(recB, 'sam')).map((p) => p.userId)).toEqual(['stu8']);
    expect((await search(edu, recA, 'lea')).code).toBe('RATE_LIMITED');
  });

  it('held: refused searches (not theirs to make, or malformed) read nothing and spend nobody\'s budget', async () => {
    const stu = await server.as('stu8');
    for (let i = 0; i < PEOPLE_SEARCH_LIMIT.burst + 2; i++) expect((await search(stu, recA, 'sam')).code).toBe('FORBIDDEN');
    const oth = await server.signIn('oth8');
    for (let i = 0; i < PEOPLE_SEARCH_LIMIT.burst + 2; i++) expect((await search(oth, recA, 'sam')).code).toBe('RECORDING_NOT_FOUND');
  });
});

describe('attack8: a group replay seats only people who have signed in', () => {
  it('HOLE: a learner id nobody has signed in with is refused USER_NOT_FOUND, and no room is made', async () => {
    const before = await replayRooms(recA);
    // (The administrator asks: the host's directory budget went on the spray above, and an unknown id spends it too.)
    const res = await raw(admin, 'POST', `/api/recordings/${recA}/replays`, { participants: [{ userId: NOBODY, role: 'observer' }] });
    expect([res.status, res.code]).toEqual([404, 'USER_NOT_FOUND']);
    // One unknown among known learners spoils the lot.
    expect(await refusal(admin.api.openReplay(recA, { participants: [{ userId: 'lea8', role: 'observer' }, { userId: 'LEA8', role: 'observer' }] }))).toBe('USER_NOT_FOUND');
    expect(await replayRooms(recA)).toBe(before);
    const { rows } = await server.app.pool.query(`SELECT 1 FROM room_participants WHERE user_id IN ($1, 'LEA8')`, [NOBODY]);
    expect(rows).toEqual([]);
    // Those who have signed in are seated as before.
    const group = await edu.api.openReplay(recA, { participants: [{ userId: 'lea8', role: 'observer' }] });
    expect(group.participants.map((p) => p.userId).sort()).toEqual(['edu8', 'lea8']);
    expect(await replayRooms(recA)).toBe(before + 1);
  });

  it('held: it is no oracle — those who may not open a group replay get their refusal, known id or not', async () => {
    const stu = await server.as('stu8'); // granted it: watches alone, does not seat others
    const str = await server.as('str8'); // a stranger to it
    for (const userId of [NOBODY, 'lea8']) {
      const body = { participants: [{ userId, role: 'observer' }] };
      expect((await raw(stu, 'POST', `/api/recordings/${recA}/replays`, body)).code, userId).toBe('FORBIDDEN');
      expect((await raw(str, 'POST', `/api/recordings/${recA}/replays`, body)).code, userId).toBe('RECORDING_NOT_FOUND');
    }
    // The manager too is told only after every other check: a seat above the recording's ceiling is refused first.
    const above = await raw(edu, 'POST', `/api/recordings/${recA}/replays`, { participants: [{ userId: NOBODY, role: 'clinician', scopes: ['patient/*.rs', 'patient/Bogus.rs'] }] });
    expect(above.code).not.toBe('USER_NOT_FOUND');
    expect(above.status).toBe(400);
  });
  it('held: an answer that an id is unknown spends the directory budget — a manager cannot probe ids past it; known ids cost nothing', async () => {
    const recC = await record('edu9');
    const host = await server.signIn('edu9', { name: 'Dr. Nine' });
    // Known ids, granted and seated again and again: no budget spent.
    for (let i = 0; i < 12; i++) expect((await raw(host, 'POST', `/api/recordings/${recC}/grants`, { userId: 'lea8' })).status).toBeLessThan(300);
    expect((await search(host, recC, 'lea')).status).toBe(200);
    // Probing guessed ids, through grants and group replays alike: USER_NOT_FOUND until the budget is gone, then RATE_LIMITED.
    const codes: (string | null)[] = [];
    for (let i = 0; i < 14; i++) {
      const r = i % 2 === 0
        ? await raw(host, 'POST', `/api/recordings/${recC}/grants`, { userId: `guess.${i}` })
        : await raw(host, 'POST', `/api/recordings/${recC}/replays`, { participants: [{ userId: `guess.${i}`, role: 'observer' }] });
      codes.push(r.code);
      if (r.code === 'RATE_LIMITED') expect(Number(r.retryAfter)).toBeGreaterThan(0);
    }
    expect(codes.filter((c) => c === 'USER_NOT_FOUND').length).toBeLessThanOrEqual(10);
    expect(codes.slice(-3)).toEqual(['RATE_LIMITED', 'RATE_LIMITED', 'RATE_LIMITED']);
    // The same budget as searching: spent, searches are refused too.
    expect((await search(host, recC, 'lea')).code).toBe('RATE_LIMITED');
  });
});
