import { createHash, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CasesRepo } from '../../server/src/db/cases.repo.ts';
import { migrate } from '../../server/src/db/migrate.ts';
import { RecordingsRepo } from '../../server/src/db/recordings.repo.ts';
import { RoomsRepo } from '../../server/src/db/rooms.repo.ts';
import { RecordingAudioFiles } from '../../server/src/media/recording-audio-files.ts';
import { loadConfig, ConfigError } from '../../server/src/config.ts';
import { createImaging } from '../../server/src/imaging/setup.ts';
import { RETENTION_LOCK_KEY, runRetention, type RetentionDeps } from '../../server/src/ops/retention.ts';
import { cliJson, runCli } from '../support/cli.ts';
import { createTestDatabase, type TestDatabase } from '../support/db.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { zip } from '../support/zip-writer.ts';

/**
 * Retention on the real PostgreSQL: cases no room has used for CASE_RETENTION_DAYS and recordings past
 * their expiry are deleted by the server's job (at start, then periodically) or by `consilium retention run`,
 * audited with reason `retention`; one run at a time (advisory lock); the audit trail stays whole.
 * Time moves by backdating rows (cases, rooms) and by the job's clock (recordings).
 */
const DAY = 86_400_000;
let db: TestDatabase;
let owner: pg.Pool;
let server: TestServer;
let deps: RetentionDeps;
let staleAtBoot: string;
let audioDir: string;
let dataDir: string;

const newCase = (cases: CasesRepo) => cases.createImported({ resourceType: 'Patient', id: randomUUID() } as never, [], 'it.admin');
const backdateCase = (id: string, days: number) => owner.query(`UPDATE cases SET created_at = now() - make_interval(days => $2) WHERE id = $1`, [id, days]);
const resourcesOf = async (caseId: string) => Number((await owner.query(`SELECT count(*) AS n FROM case_resources WHERE case_id = $1`, [caseId])).rows[0].n);
const deletedAt = async (caseId: string) => (await owner.query<{ deleted_at: Date | null }>(`SELECT deleted_at FROM cases WHERE id = $1`, [caseId])).rows[0]!.deleted_at;
const auditFor = async (action: string, key: 'case_id' | 'room_id', id: string) => {
  await server.app.audit.flush();
  return (await owner.query<{ actor: string; details: Record<string, unknown> }>(`SELECT actor, details FROM audit_log WHERE action = $1 AND ${key} = $2`, [action, id])).rows;
};

beforeAll(async () => {
  db = await createTestDatabase();
  await migrate(db.url);
  owner = new pg.Pool({ connectionString: db.url, max: 2 });
  // Imported 40 days ago and never shown in a room: the server deletes it when it starts.
  staleAtBoot = await newCase(new CasesRepo(owner));
  await backdateCase(staleAtBoot, 40);
  dataDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-retention-'));
  server = await startTestServer({}, { CASE_RETENTION_DAYS: '30', DATA_DIR: dataDir }, db);
  const pool = server.app.pool;
  audioDir = await mkdtemp(path.join(os.tmpdir(), 'consilium-voice-'));
  const cases = new CasesRepo(pool);
  deps = { pool, cases, recordings: new RecordingsRepo(pool), rooms: new RoomsRepo(pool), audit: server.app.audit, audioFiles: new RecordingAudioFiles(audioDir), imaging: createImaging({ pool, cases, dataDir, dicomweb: null }).service, actor: 'it.retention' };
});
afterAll(async () => {
  if (audioDir) await rm(audioDir, { recursive: true, force: true });
  await server?.stop();
  await owner?.end();
  await db?.drop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

describe('case retention', () => {
  it('runs when the server starts: the stale case is deleted and audited as retention by the system', async () => {
    await eventually(async () => (await deletedAt(staleAtBoot)) !== null);
    expect(await resourcesOf(staleAtBoot)).toBe(0);
    const rows = await eventually(async () => (await auditFor('case.delete', 'case_id', staleAtBoot)).length === 1 && auditFor('case.delete', 'case_id', staleAtBoot));
    expect(rows[0]).toMatchObject({ actor: 'system', details: { reason: 'retention', retentionDays: 30 } });
  });

  it('deletes cases without a room for N days, keeps those in use or recently used; a dry run changes nothing', async () => {
    const rooms = deps.rooms;
    const never = await newCase(deps.cases); // imported 31 days ago, never in a room → due
    await backdateCase(never, 31);
    const open = await newCase(deps.cases); // imported long ago, its room still open → kept
    await backdateCase(open, 400);
    await rooms.create({ title: 'Open', kind: 'case-conference', caseId: open, createdBy: 'it', participants: [] });
    const oldClose = await newCase(deps.cases); // its last room closed 45 days ago → due
    await backdateCase(oldClose, 400);
    const r1 = await rooms.create({ title: 'Old', kind: 'case-conference', caseId: oldClose, createdBy: 'it', participants: [] });
    await rooms.close(r1.id);
    await owner.query(`UPDATE rooms SET closed_at = now() - interval '45 days' WHERE id = $1`, [r1.id]);
    const recent = await newCase(deps.cases); // one room closed 45 days ago, another 10 days ago → kept
    await backdateCase(recent, 400);
    for (const daysAgo of [45, 10]) {
      const r = await rooms.create({ title: 'R', kind: 'case-conference', caseId: recent, createdBy: 'it', participants: [] });
      await rooms.close(r.id);
      await owner.query(`UPDATE rooms SET closed_at = now() - make_interval(days => $2) WHERE id = $1`, [r.id, daysAgo]);
    }
    const young = await newCase(deps.cases); // imported today → kept

    const dry = await runRetention(deps, { caseDays: 30, dryRun: true });
    expect(dry.ran).toBe(true);
    expect(dry.items.filter((i) => i.kind === 'case').map((i) => i.id).sort()).toEqual([never, oldClose].sort());
    expect(dry.items.every((i) => i.action === 'due')).toBe(true);
    expect(await deletedAt(never)).toBeNull();
    expect(await resourcesOf(never)).toBe(1);
    expect(await auditFor('case.delete', 'case_id', never)).toEqual([]);

    const kept = await runRetention(deps, { caseDays: null });
    expect(kept.items.filter((i) => i.kind === 'case')).toEqual([]); // CASE_RETENTION_DAYS=0: kept until deleted by hand

    const run = await runRetention(deps, { caseDays: 30 });
    expect(run.items.filter((i) => i.kind === 'case' && i.action === 'deleted').map((i) => i.id).sort()).toEqual([never, oldClose].sort());
    for (const id of [never, oldClose]) {
      expect(await deletedAt(id)).not.toBeNull();
      expect(await resourcesOf(id)).toBe(0);
      expect(await deps.cases.get(id)).toBeNull();
      expect((await auditFor('case.delete', 'case_id', id))[0]).toMatchObject({ actor: 'it.retention', details: { reason: 'retention', retentionDays: 30 } });
    }
    for (const id of [open, recent, young]) {
      expect(await deletedAt(id)).toBeNull();
      expect(await resourcesOf(id)).toBe(1);
    }
    // A second run finds nothing more; the audit trail is whole (nothing of it was deleted).
    expect((await runRetention(deps, { caseDays: 30 })).items.filter((i) => i.kind === 'case')).toEqual([]);
    await server.app.audit.flush();
    expect((await server.app.audit.verify()).ok).toBe(true);
  });
});

describe("a deleted case's images", () => {
  const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/dicom/ct-series');
  /** Pydicom's fictional Peter Doe, the patient of the real CT slices. */
  const peter = { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: 'urn:uuid:0b3f2a52-2222-4a1b-9c55-dddddddddddd', resource: { resourceType: 'Patient', identifier: [{ system: 'urn:oid:1.2.3.4', value: '98890234' }], name: [{ family: 'Doe', given: ['Peter'] }] } }] };
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const stored = async () => (await readdir(path.join(dataDir, 'imaging'))).filter((n) => n.endsWith('.dcm')).map((n) => n.slice(0, -4)).sort();
  const rowsOf = async (caseId: string) => Number((await owner.query(`SELECT (SELECT count(*) FROM imaging_instances WHERE case_id = $1) + (SELECT count(*) FROM case_imaging_studies WHERE case_id = $1) AS n`, [caseId])).rows[0].n);

  it('go with it — by retention and by an admin — except a file another case holds too; cached archive copies and what a crash left go as well', async () => {
    const slices = await Promise.all((await readdir(FIXTURES)).sort().map(async (n) => new Uint8Array(await readFile(path.join(FIXTURES, n)))));
    const admin = await server.as('it.admin', { admin: true });
    const old = (await admin.api.importCase(peter)).caseId; // unused for 40 days: retention deletes it
    const other = (await admin.api.importCase(peter)).caseId; // holds the first slice too
    const third = (await admin.api.importCase(peter)).caseId; // deleted by an admin
    await admin.api.uploadDicomZip(old, zip(slices.map((data, i) => ({ name: `CT/${i}.dcm`, data }))));
    await admin.api.uploadDicom(other, slices[0]!);
    await admin.api.uploadDicom(third, slices[1]!);
    await backdateCase(old, 40);
    expect(await stored()).toEqual(slices.map(sha).sort());
    // What this server would have cached from a PACS for the old case, and a file of the cache's earlier flat layout.
    await mkdir(path.join(dataDir, 'imaging-cache', old), { recursive: true });
    await writeFile(path.join(dataDir, 'imaging-cache', old, 'cached.dcm'), slices[2]!);
    await writeFile(path.join(dataDir, 'imaging-cache', `${'ab'.repeat(32)}.dcm`), slices[3]!);
    // An upload cut short by a crash two hours ago, and one in progress now.
    await writeFile(path.join(dataDir, 'imaging', '.upload-crashed'), slices[4]!);
    await utimes(path.join(dataDir, 'imaging', '.upload-crashed'), new Date(Date.now() - 2 * 3_600_000), new Date(Date.now() - 2 * 3_600_000));
    await writeFile(path.join(dataDir, 'imaging', '.upload-now'), slices[4]!);

    const run = await runRetention(deps, { caseDays: 30 });
    expect(run.items).toContainEqual(expect.objectContaining({ kind: 'case', id: old, action: 'deleted' }));
    expect(await rowsOf(old)).toBe(0);
    // The old case's files are gone but the one the other case holds; its cached archive copies too.
    expect(await stored()).toEqual([sha(slices[0]!), sha(slices[1]!)].sort());
    expect(await readdir(path.join(dataDir, 'imaging-cache'))).toEqual([]);
    expect((await readdir(path.join(dataDir, 'imaging'))).filter((n) => n.startsWith('.'))).toEqual(['.upload-now']);
    expect((await auditFor('case.delete', 'case_id', old))[0]).toMatchObject({ details: { reason: 'retention', imagingFiles: 3 } });
    await rm(path.join(dataDir, 'imaging', '.upload-now'));

    // An admin deletes a case: its file goes at once, and its images are no longer served.
    const room = await server.createRoom({ caseId: third, participants: [{ userId: 'cli.deleted', role: 'clinician' }] });
    const cli = await server.as('cli.deleted', { scopes: ['patient/*.rs'] });
    const seriesUid = (await admin.api.uploadDicom(third, slices[1]!)).seriesUid;
    const before = await cli.api.call('GET /api/cases/:id/imaging/series/:seriesUid', { params: { id: third, seriesUid }, query: { room: room.id } });
    expect(before.instances).toHaveLength(1);
    const res = await fetch(new URL(`/api/cases/${third}`, server.app.url), { method: 'DELETE', headers: { authorization: `Bearer ${admin.api.identityToken}` } });
    expect(res.status).toBe(204);
    expect(await rowsOf(third)).toBe(0);
    expect(await stored()).toEqual([sha(slices[0]!)]);
    const after = await cli.api.imagingFrame(third, seriesUid, before.instances[0]!.sopUid, 1, room.id).catch((e: unknown) => e);
    expect(after).toMatchObject({ code: 'CASE_NOT_FOUND' });
    expect((await auditFor('case.delete', 'case_id', third))[0]).toMatchObject({ details: { imagingFiles: 1 } });

    // A purge cut short by a crash after its commit: the queued file is removed by the next run, a re-uploaded one is kept.
    const lost = await admin.api.importCase(peter);
    await admin.api.uploadDicom(lost.caseId, slices[3]!);
    await owner.query(`DELETE FROM imaging_instances WHERE case_id = $1`, [lost.caseId]);
    await owner.query(`INSERT INTO imaging_file_purges (sha256) VALUES ($1), ($2)`, [sha(slices[3]!), sha(slices[0]!)]);
    await runRetention(deps, { caseDays: 30 });
    expect(await stored()).toEqual([sha(slices[0]!)]);
    expect((await owner.query(`SELECT count(*) AS n FROM imaging_file_purges`)).rows[0].n).toBe('0');
  });
});

describe('recording retention', () => {
  it('deletes finished recordings past their expiry (chunks gone, replay rooms closed), keeps the rest', async () => {
    const rec = deps.recordings;
    const room = await deps.rooms.create({ title: 'Teaching', kind: 'training', caseId: null, createdBy: 'it', participants: [] });
    const make = async (retentionDays: number | null, finish: boolean) => {
      const id = randomUUID();
      await rec.begin({ id, roomId: room.id, caseId: null, title: 'R', startedBy: 'it', hostScope: '', chunkMs: 10_000, retentionDays });
      await rec.appendChunk(id, { seq: 0, startMs: 0, endMs: 10_000, data: new Uint8Array([1, 2, 3]) }, []);
      if (finish) await rec.finish(id, 10_000);
      return id;
    };
    const expiring = await make(365, true);
    const forever = await make(null, true);
    const stillRecording = await make(365, false);
    const replay = await deps.rooms.create({ title: 'Replay', kind: 'replay', caseId: null, createdBy: 'it', participants: [], recordingId: expiring });
    // Their voices, as the egress left them in RECORDING_AUDIO_DIR.
    const voice = (id: string) => path.join(audioDir, `${id}.ogg`);
    for (const id of [expiring, forever]) await writeFile(voice(id), 'OggS');
    const chunks = async (id: string) => Number((await owner.query(`SELECT count(*) AS n FROM recording_chunks WHERE recording_id = $1`, [id])).rows[0].n);

    const today = await runRetention(deps, { caseDays: null });
    expect(today.items).toEqual([]);

    const later = () => new Date(Date.now() + 366 * DAY);
    const dry = await runRetention({ ...deps, now: later }, { caseDays: null, dryRun: true });
    expect(dry.items.map((i) => [i.kind, i.id, i.action])).toEqual([['recording', expiring, 'due']]);
    expect(await chunks(expiring)).toBe(1);

    const run = await runRetention({ ...deps, now: later }, { caseDays: null });
    expect(run.items.map((i) => [i.id, i.action])).toEqual([[expiring, 'deleted']]);
    expect(await chunks(expiring)).toBe(0);
    expect((await owner.query(`SELECT deleted_at FROM recordings WHERE id = $1`, [expiring])).rows[0].deleted_at).not.toBeNull();
    expect((await deps.rooms.get(replay.id))?.status).toBe('closed');
    const rows = await auditFor('recording.delete', 'room_id', room.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor: 'it.retention', details: { recordingId: expiring, reason: 'retention', replayRoomsClosed: 1, audioDeleted: true } });
    for (const id of [forever, stillRecording]) expect(await chunks(id)).toBe(1);
    // The expired recording's voice went with it; the kept one's stays.
    expect(existsSync(voice(expiring))).toBe(false);
    expect(existsSync(voice(forever))).toBe(true);
  });

  it('from the command line (no live rooms to reach) an expired recording whose replay is live now is left for the server; once nobody watches, it goes', async () => {
    const room = await server.createRoom({ title: 'Recorded', recordingAllowed: true, participants: [{ userId: 'edu.x', role: 'host' }] });
    const host = await server.join('edu.x', room.id);
    const { recordingId } = await host.do('recording.start', {});
    await new Promise((r) => setTimeout(r, 300));
    await host.do('recording.stop', {});
    await host.leave();
    // It expires tomorrow; the runs below look from the day after (the server's own run, today, keeps it).
    await owner.query(`UPDATE recordings SET expires_at = now() + interval '1 day' WHERE id = $1`, [recordingId]);
    const later = () => new Date(Date.now() + 2 * DAY);
    const edu = await server.as('edu.x');
    const replay = await edu.api.openReplay(recordingId);
    const watching = await edu.join(replay.id);
    await watching.ready();
    const cli = await runRetention({ ...deps, now: later }, { caseDays: null });
    expect(cli.items.filter((i) => i.id === recordingId)).toEqual([expect.objectContaining({ action: 'skipped', note: expect.stringContaining('live') })]);
    expect((await owner.query(`SELECT deleted_at FROM recordings WHERE id = $1`, [recordingId])).rows[0].deleted_at).toBeNull();
    expect(await auditFor('recording.delete', 'room_id', room.id)).toEqual([]);
    expect(watching.status).toBe('connected');
    await watching.leave();
    // The replay's instance gives its lease back when it is disposed: then the same run deletes the recording and closes the room.
    await eventually(async () => (await owner.query(`SELECT 1 FROM live_instances WHERE room_id = $1 AND expires_at > now()`, [replay.id])).rowCount === 0, 10_000);
    const run = await runRetention({ ...deps, now: later }, { caseDays: null });
    expect(run.items.filter((i) => i.id === recordingId).map((i) => i.action)).toEqual(['deleted']);
    expect((await deps.rooms.get(replay.id))?.status).toBe('closed');
    expect((await auditFor('recording.delete', 'room_id', room.id))[0]).toMatchObject({ actor: 'it.retention', details: { recordingId, reason: 'retention', replayRoomsClosed: 1 } });
  });
});

describe('replay sessions end (REPLAY_ROOM_HOURS)', () => {
  it('a replay room older than its session closes at the next ticket and in the retention run (live too); a seated learner holds nothing after', async () => {
    const rec = deps.recordings;
    const room = await deps.rooms.create({ title: 'Teaching', kind: 'training', caseId: null, createdBy: 'it', participants: [] });
    const id = randomUUID();
    await rec.begin({ id, roomId: room.id, caseId: null, title: 'Session', startedBy: 'edu.r', hostScope: '', chunkMs: 10_000, retentionDays: null });
    await rec.appendChunk(id, { seq: 0, startMs: 0, endMs: 10_000, data: new Uint8Array([1]) }, []);
    await rec.finish(id, 10_000);
    const replay = (seat: string) => deps.rooms.create({ title: 'Replay', kind: 'replay', caseId: null, createdBy: 'edu.r', participants: [{ userId: 'edu.r', role: 'host' }, { userId: seat, role: 'observer' }], recordingId: id });
    const old = await replay('lea.r');
    const fresh = await replay('lea.f');
    const stale = await replay('lea.s');
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);
    for (const r of [old, stale]) await owner.query(`UPDATE rooms SET created_at = $2 WHERE id = $1`, [r.id, hoursAgo(13)]);
    // The server's default session is 12 hours: the learner's next ticket finds the session over.
    const lea = await server.as('lea.r');
    await expect(lea.api.getTicket(old.id)).rejects.toMatchObject({ code: 'ROOM_CLOSED' });
    expect((await deps.rooms.get(old.id))?.status).toBe('closed');
    expect((await auditFor('room.close', 'room_id', old.id))[0]).toMatchObject({ details: { reason: 'the replay session is over (REPLAY_ROOM_HOURS)' } });
    // Nobody asked for a ticket to the other one: the retention run closes it; the fresh one stays.
    const closedLive: string[] = [];
    const dry = await runRetention({ ...deps, closeLiveRoom: async (r) => void closedLive.push(r) }, { caseDays: null, replayRoomMs: 12 * 3_600_000, dryRun: true });
    expect(dry.items.filter((i) => i.kind === 'replay-room').map((i) => [i.id, i.action])).toEqual([[stale.id, 'due']]);
    const run = await runRetention({ ...deps, closeLiveRoom: async (r) => void closedLive.push(r) }, { caseDays: null, replayRoomMs: 12 * 3_600_000 });
    expect(run.items.filter((i) => i.kind === 'replay-room').map((i) => [i.id, i.action])).toEqual([[stale.id, 'closed']]);
    expect(closedLive).toEqual([stale.id]);
    expect((await deps.rooms.get(stale.id))?.status).toBe('closed');
    expect((await deps.rooms.get(fresh.id))?.status).toBe('open');
    expect((await auditFor('room.close', 'room_id', stale.id))[0]).toMatchObject({ actor: 'it.retention', details: { recordingId: id, reason: 'retention' } });
    // The seat was the learner's only hold on the recording: it ended with the session.
    await expect((await server.as('lea.s')).api.getRecording(id)).rejects.toMatchObject({ code: 'RECORDING_NOT_FOUND' });
    expect((await (await server.as('lea.f')).api.getRecording(id)).id).toBe(id);
  });
});

describe('cases shown in recordings', () => {
  /**
   * The rule (docs/OPERATIONS.md, "Retention"): a replay reads its case at replay time, so a kept recording
   * keeps the case it showed — until the recording expires (RECORDING_RETENTION_DAYS) or is deleted; then
   * the case's own clock (days since its last room closed) decides, in the same run. Replay rooms are no use
   * of their own: they live and die with their recording.
   */
  it('a kept recording keeps its case; when it expires the case goes in the same run; a recording kept until deleted keeps it until then', async () => {
    const rec = deps.recordings;
    const showCaseInRecording = async (retentionDays: number | null) => {
      const caseId = await newCase(deps.cases);
      await backdateCase(caseId, 400);
      const room = await deps.rooms.create({ title: 'Board', kind: 'case-conference', caseId, createdBy: 'it', participants: [] });
      await deps.rooms.close(room.id);
      await owner.query(`UPDATE rooms SET closed_at = now() - interval '45 days' WHERE id = $1`, [room.id]);
      const id = randomUUID();
      await rec.begin({ id, roomId: room.id, caseId, title: 'Board', startedBy: 'it', hostScope: 'patient/*.rs', chunkMs: 10_000, retentionDays });
      await rec.appendChunk(id, { seq: 0, startMs: 0, endMs: 10_000, data: new Uint8Array([1]) }, []);
      await rec.finish(id, 10_000);
      // Watched: an open replay room of it (it does not keep the case beyond the recording's life).
      const replay = await deps.rooms.create({ title: 'Replay', kind: 'replay', caseId, createdBy: 'it', participants: [], recordingId: id });
      return { caseId, id, replay: replay.id };
    };
    const yearly = await showCaseInRecording(365);
    const untilDeleted = await showCaseInRecording(null);
    const mine = (items: { kind: string; id: string; action: string }[]) =>
      items.filter((i) => [yearly.caseId, yearly.id, untilDeleted.caseId, untilDeleted.id].includes(i.id)).map((i) => [i.kind, i.id, i.action]);

    // Today: both cases are 45 days past their last room, yet kept by their recordings.
    expect(mine((await runRetention(deps, { caseDays: 30 })).items)).toEqual([]);
    expect(await deletedAt(yearly.caseId)).toBeNull();
    expect((await rec.get(yearly.id))?.caseDeleted).toBe(false);

    // A year on: the yearly recording expires, and its case goes with it in the same run (the dry run says so first).
    const later = () => new Date(Date.now() + 366 * DAY);
    expect(mine((await runRetention({ ...deps, now: later }, { caseDays: 30, dryRun: true })).items)).toEqual([['case', yearly.caseId, 'due'], ['recording', yearly.id, 'due']]);
    expect(mine((await runRetention({ ...deps, now: later }, { caseDays: 30 })).items)).toEqual([['case', yearly.caseId, 'deleted'], ['recording', yearly.id, 'deleted']]);
    expect(await deletedAt(yearly.caseId)).not.toBeNull();
    expect((await deps.rooms.get(yearly.replay))?.status).toBe('closed');
    // Kept until deleted: its case stays; deleted by hand, the next run takes the case.
    expect(await deletedAt(untilDeleted.caseId)).toBeNull();
    await rec.delete(untilDeleted.id);
    await deps.rooms.close(untilDeleted.replay);
    expect(mine((await runRetention(deps, { caseDays: 30 })).items)).toEqual([['case', untilDeleted.caseId, 'deleted']]);
    expect((await auditFor('case.delete', 'case_id', untilDeleted.caseId))[0]).toMatchObject({ details: { reason: 'retention' } });
  });

  it('a case deleted under a kept recording: the recording says so, and its replay goes on without the case', async () => {
    const caseId = await newCase(deps.cases);
    const room = await deps.rooms.create({ title: 'Board', kind: 'case-conference', caseId, createdBy: 'it', participants: [] });
    const id = randomUUID();
    await deps.recordings.begin({ id, roomId: room.id, caseId, title: 'Board', startedBy: 'it', hostScope: 'patient/*.rs', chunkMs: 10_000, retentionDays: 365 });
    await deps.recordings.finish(id, 10_000);
    expect((await deps.recordings.get(id))?.caseDeleted).toBe(false);
    await deps.cases.delete(caseId); // by hand (an administrator), whatever retention says
    expect((await deps.recordings.get(id))?.caseDeleted).toBe(true);
    expect((await deps.recordings.listFor(null)).find((r) => r.id === id)?.caseDeleted).toBe(true);
    await deps.rooms.close(room.id);
  });
});

describe('one run at a time', () => {
  it('a run while another holds the lock does nothing; the command line says so and exits 1', async () => {
    const victim = await newCase(deps.cases);
    await backdateCase(victim, 31);
    const holder = await owner.connect();
    try {
      await holder.query('SELECT pg_advisory_lock($1)', [RETENTION_LOCK_KEY]);
      const blocked = await runRetention(deps, { caseDays: 30 });
      expect(blocked).toMatchObject({ ran: false, items: [] });
      const cli = await runCli(['retention', 'run'], { ...db.env, CASE_RETENTION_DAYS: '30' });
      expect(cli.code).toBe(1);
      expect(cli.stderr).toMatch(/running in another process/);
      expect(await deletedAt(victim)).toBeNull();
    } finally {
      await holder.query('SELECT pg_advisory_unlock($1)', [RETENTION_LOCK_KEY]);
      holder.release();
    }
  });

  it('consilium retention run --dry-run lists, then run deletes as the operator', async () => {
    const env = { ...db.env, CASE_RETENTION_DAYS: '30' };
    const victim = (await owner.query<{ id: string }>(`SELECT id FROM cases WHERE deleted_at IS NULL AND created_at < now() - interval '30 days' AND NOT EXISTS (SELECT 1 FROM rooms WHERE case_id = cases.id)`)).rows.map((r) => r.id);
    expect(victim).toHaveLength(1);
    const dry = await cliJson<{ dryRun: boolean; items: { id: string; action: string }[] }>(['retention', 'run', '--dry-run'], env);
    expect(dry).toMatchObject({ dryRun: true, items: [{ id: victim[0], action: 'due' }] });
    expect(await deletedAt(victim[0]!)).toBeNull();
    const table = await runCli(['retention', 'run'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^KIND\s+ID\s+SINCE\s+ACTION/m);
    expect(table.stdout).toMatch(/^1 deleted, 0 replay rooms closed, 0 skipped \(cases: 30 days without a room; recordings: by their expiry\)$/m);
    expect(await deletedAt(victim[0]!)).not.toBeNull();
    expect((await auditFor('case.delete', 'case_id', victim[0]!))[0]?.actor).toMatch(/^cli:/);
    // Off (the default): the command keeps every case and says so.
    const off = await runCli(['retention', 'run', '--dry-run'], db.env);
    expect(off.stdout).toMatch(/cases: kept \(CASE_RETENTION_DAYS=0\)/);
  });

  it('refuses a negative or non-numeric retention', () => {
    expect(() => loadConfig({ CASE_RETENTION_DAYS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ CASE_RETENTION_DAYS: 'forever' })).toThrow(ConfigError);
    expect(loadConfig({}).retention.caseDays).toBeNull();
  });
});
