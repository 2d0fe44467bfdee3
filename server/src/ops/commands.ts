import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { CreateRoomBody, ParticipantInput, type ParticipantDto } from '../../../shared/src/http.ts';
import { loadCheckpointKey, loadPublicKeys, toPublicKey } from '../audit/checkpoint-key.ts';
import { ROOM_ROLES } from '../../../shared/src/roles.ts';
import { listCheckpoints, type Checkpoint } from '../audit/checkpoints.ts';
import { toAuditEvent } from '../audit/fhir-audit-event.ts';
import { AuditLog } from '../audit/audit-log.ts';
import { loadOrCreateSigningKey } from '../auth/keys.ts';
import { authorizeParticipantChange, defaultScopes } from '../auth/policy.ts';
import type { RoomRecord } from '../db/rooms.repo.ts';
import { importBundle } from '../domain/fhir-bundle.ts';
import { prepareImport, type PreparedImport } from '../domain/import-rows.ts';
import { AppError } from '../errors.ts';
import { CaseImporter } from '../fhir/case-importer.ts';
import { createCasePuller } from '../fhir/setup.ts';
import { createImaging } from '../imaging/setup.ts';
import { createLogger } from '../logger.ts';
import { writePrivateFile } from '../private-file.ts';
import { LiveRooms } from '../rooms/live-rooms.ts';
import { RecordingsRepo } from '../db/recordings.repo.ts';
import { RecordingAudioFiles } from '../media/recording-audio-files.ts';
import type { OpsContext } from './context.ts';
import { runRetention } from './retention.ts';
import { OpsError } from './context.ts';

/** What a command answers: rows for a table (or one object), printed as JSON with --json. */
export interface Output {
  data: unknown;
  /** Rows to print as a table; absent → `message`. */
  table?: Record<string, unknown>[];
  message?: string;
}

const roomRow = (r: RoomRecord) => ({ id: r.id, title: r.title, kind: r.kind, status: r.status, caseId: r.caseId ?? '', participants: r.participants.map((p) => `${p.userId}:${p.role}`).join(' ') });
const zodProblems = (issues: { path: PropertyKey[]; message: string }[]) => issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');

/**
 * A room someone is in right now is changed through the running server (admin console or API), which
 * tells the live room at once; the command line has no channel to it and refuses rather than leave
 * a removed participant in the room.
 */
async function refuseIfLive(ctx: OpsContext, roomId: string): Promise<void> {
  const { rows } = await ctx.pool.query<{ process_key: string }>(`SELECT process_key FROM live_instances WHERE room_id = $1 AND expires_at > now()`, [roomId]);
  if (rows[0]) {
    throw new OpsError(`room ${roomId} is live (people are in it, on ${rows[0].process_key || 'a server process'}); change it from the admin console or the API so the live room applies it at once`);
  }
}

async function openRoom(ctx: OpsContext, id: string): Promise<RoomRecord> {
  const room = /^[0-9a-f-]{36}$/i.test(id) ? await ctx.rooms.get(id.toLowerCase()) : null;
  if (!room) throw new OpsError(`no room ${id}`);
  if (room.status !== 'open') throw new OpsError(`room ${id} is closed`);
  return room;
}

export async function roomsList(ctx: OpsContext): Promise<Output> {
  const rooms = await ctx.rooms.listOpen();
  return { data: rooms, table: rooms.map(roomRow) };
}

/** Same validation (CreateRoomBody) and the same audit row as POST /api/rooms. */
export async function roomsCreate(ctx: OpsContext, input: { title?: string; kind?: string; caseId?: string; participants: string[]; scopeCeiling?: string; observerVideo?: boolean }): Promise<Output> {
  const body = CreateRoomBody.safeParse({
    title: input.title,
    kind: input.kind,
    ...(input.caseId ? { caseId: input.caseId } : {}),
    participants: input.participants.map(parseParticipant),
    ...(input.scopeCeiling ? { scopeCeiling: input.scopeCeiling.split(',') } : {}),
    ...(input.observerVideo ? { observerVideo: true } : {}),
  });
  if (!body.success) throw new OpsError(zodProblems(body.error.issues), 2);
  const b = body.data;
  if (b.caseId && !(await ctx.cases.patientOf(b.caseId))) throw new OpsError(`no case ${b.caseId}`);
  const room = await ctx.rooms.create({ title: b.title, kind: b.kind, caseId: b.caseId ?? null, createdBy: ctx.operator.userId, participants: b.participants, scopeCeiling: b.scopeCeiling ?? null, observerVideo: b.observerVideo ?? false });
  await ctx.audit.record({ actor: ctx.operator.userId, action: 'room.create', roomId: room.id, caseId: room.caseId, details: { kind: room.kind, participants: room.participants, scopeCeiling: room.scopeCeiling, observerVideo: room.observerVideo, via: 'cli' } });
  return { data: room, table: [roomRow(room)] };
}

/** `user:role[:scope,scope]` (user ids may hold colons: the role is found from the right). */
const PARTICIPANT = new RegExp(`^(.+):(${ROOM_ROLES.join('|')})(?::(.+))?$`);
function parseParticipant(spec: string): unknown {
  const m = PARTICIPANT.exec(spec);
  if (!m) throw new OpsError(`--participant ${spec}: expected user:role[:scope,scope] with role one of ${ROOM_ROLES.join(', ')}`, 2);
  return { userId: m[1], role: m[2], ...(m[3] ? { scopes: m[3].split(',') } : {}) };
}

export async function roomsClose(ctx: OpsContext, id: string): Promise<Output> {
  const room = await openRoom(ctx, id);
  await refuseIfLive(ctx, room.id);
  if (!(await ctx.rooms.close(room.id))) throw new OpsError(`room ${id} is closed`);
  await ctx.audit.record({ actor: ctx.operator.userId, action: 'room.close', roomId: room.id, details: { via: 'cli' } });
  return { data: { id: room.id, status: 'closed' }, message: `room ${room.id} closed` };
}

/** Invite, change or (role "none") remove a participant: the policy decides as for an administrator on the API. */
export async function roomsSetParticipant(ctx: OpsContext, roomId: string, userId: string, role: string | undefined, scopes: string | undefined): Promise<Output> {
  const room = await openRoom(ctx, roomId);
  await refuseIfLive(ctx, room.id);
  const before = room.participants.find((p) => p.userId === userId) ?? null;
  if (role === 'none') {
    const decision = authorizeParticipantChange(ctx.operator, null, { targetUserId: userId, before, after: null, ceiling: room.scopeCeiling });
    if (!decision.allow) throw new OpsError(decision.reason ?? decision.code);
    const removed = await ctx.rooms.removeParticipant(room.id, userId);
    await ctx.audit.record({ actor: ctx.operator.userId, action: 'participant.remove', roomId: room.id, caseId: room.caseId, subject: userId, details: { wasInvited: removed, via: 'cli' } });
    return { data: { roomId: room.id, userId, removed }, message: removed ? `${userId} removed from ${room.id}` : `${userId} was not invited to ${room.id}` };
  }
  const parsed = ParticipantInput.safeParse({ userId, role, ...(scopes ? { scopes: scopes.split(',') } : {}) });
  if (!parsed.success) throw new OpsError(zodProblems(parsed.error.issues), 2);
  const participant: ParticipantDto = { userId, role: parsed.data.role, scopes: parsed.data.scopes ?? null };
  const decision = authorizeParticipantChange(ctx.operator, null, { targetUserId: userId, before, after: participant, ceiling: room.scopeCeiling });
  if (!decision.allow) throw new OpsError(decision.reason ?? decision.code);
  await ctx.rooms.setParticipant(room.id, participant);
  await ctx.audit.record({
    actor: ctx.operator.userId,
    action: 'participant.scope-change',
    roomId: room.id,
    caseId: room.caseId,
    subject: userId,
    details: { before: before ? { role: before.role, scopes: before.scopes ?? defaultScopes(before.role) } : null, after: { role: participant.role, scopes: participant.scopes ?? defaultScopes(participant.role) }, via: 'cli' },
  });
  return { data: participant, table: [{ roomId: room.id, userId, role: participant.role, scopes: (participant.scopes ?? defaultScopes(participant.role)).join(' ') }] };
}

async function storeCase(ctx: OpsContext, result: PreparedImport, fhirPatientId?: string): Promise<Output> {
  const caseId = await ctx.cases.createPrepared(result, ctx.operator.userId, fhirPatientId ? { fhirPatientId } : {});
  await ctx.audit.record({ actor: ctx.operator.userId, action: 'case.import', caseId, patientId: result.patientId, details: { counts: result.stored, refused: result.refused.length, skipped: result.skipped.length, via: 'cli', ...(fhirPatientId ? { source: 'fhir-server' } : {}) } });
  const data = { caseId, patientId: result.patientId, resources: result.count, stored: result.stored, refused: result.refused, skipped: result.skipped };
  return { data, table: [{ caseId, patientId: result.patientId, resources: data.resources, refused: result.refused.length, skipped: result.skipped.length }] };
}

/** The importer POST /api/cases uses: the report names refused entries by index and path, never their content. */
export async function casesImport(ctx: OpsContext, file: string, allOrNothing: boolean): Promise<Output> {
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new OpsError(`cannot read ${file} as JSON: ${(err as Error).message.split('\n')[0]}`, 2);
  }
  const result = importBundle(body, randomUUID, { allOrNothing });
  if (!result.ok) throw new OpsError(`the FHIR bundle is invalid: ${result.problems.map((p) => `${p.path}: ${p.reason}`).slice(0, 5).join('; ')}`);
  // A command-line process serves no rooms: the import runs here.
  return storeCase(ctx, prepareImport(result));
}

/** `Patient/$everything` from FHIR_BASE_URL, as POST /api/cases/pull. */
export async function casesPull(ctx: OpsContext, target: { patientId: string } | { identifier: string }): Promise<Output> {
  if (!ctx.config.fhir) throw new OpsError('FHIR_BASE_URL is not set: no FHIR server to pull from');
  const { puller } = createCasePuller(ctx.config.fhir, { cases: ctx.cases, audit: ctx.audit, live: new LiveRooms('cli'), logger: createLogger('silent'), importer: new CaseImporter(ctx.config.caseImport) });
  try {
    const { fhirPatientId, prepared } = await puller.fetchPatient(target);
    return await storeCase(ctx, prepared, fhirPatientId);
  } catch (err) {
    if (err instanceof AppError) throw new OpsError(`${err.code}: ${err.message}`);
    throw err;
  }
}

export async function usersList(ctx: OpsContext): Promise<Output> {
  const { rows } = await ctx.pool.query<{ id: string; name: string; is_admin: boolean; last_seen_at: Date }>(`SELECT id, name, is_admin, last_seen_at FROM users ORDER BY last_seen_at DESC`);
  const users = rows.map((r) => ({ userId: r.id, name: r.name, admin: r.is_admin, lastSeenAt: r.last_seen_at.toISOString() }));
  return { data: users, table: users };
}

/** The chain against every checkpoint a trusted key signed (and saved copies): exit 1 when broken. */
export async function auditVerify(ctx: OpsContext, opts: { publicKeys: string[]; checkpoints: string[] }): Promise<Output & { ok: boolean }> {
  const audit = opts.publicKeys.length ? new AuditLog(ctx.pool, { trustedKeys: opts.publicKeys.flatMap(loadPublicKeys) }) : ctx.audit;
  const extra = opts.checkpoints.map((f) => ({ ...(JSON.parse(readFileSync(f, 'utf8')) as Checkpoint), id: null }));
  const result = await audit.verify(extra);
  const anchor = result.checkpoint ? `; consistent with signed checkpoint ${result.checkpoint.id ?? '(supplied)'} (${result.checkpoint.treeSize} rows, ${result.checkpoint.signedAt})` : '';
  const warning = !result.checkpointsChecked ? '\nwarning: no checkpoint key available; signed checkpoints were not checked (pass --public-key)' : !result.checkpoint ? '\nwarning: no signed checkpoint yet' : '';
  const message = result.ok ? `audit trail intact: ${result.rows} rows, head ${result.lastHash}${anchor}${warning}` : result.problems.map((p) => `audit trail BROKEN at row ${p.seq}: ${p.reason}`).join('\n');
  return { ok: result.ok, data: result, message };
}

/**
 * Every row with its hash-chain fields, and every checkpoint, as JSON lines (or FHIR AuditEvents): an
 * archive an auditor can verify offline. The trail in the database is never deleted by Consilium.
 */
export async function auditExport(ctx: OpsContext, opts: { out: string; format: 'jsonl' | 'fhir'; from?: string; to?: string }): Promise<Output> {
  await ctx.audit.record({ actor: ctx.operator.userId, action: 'audit.export', details: { format: opts.format, from: opts.from ?? null, to: opts.to ?? null } });
  await ctx.audit.flush();
  let count = 0;
  let checkpoints: Checkpoint[] = [];
  // Patient ids throughout: a new 0600 file that replaces whatever was at --out (writePrivateFile).
  await writePrivateFile(opts.out, async (append) => {
    let after = 0;
    for (;;) {
      const rows = await ctx.audit.query({ afterSeq: after, limit: 1000, ...(opts.from ? { from: new Date(opts.from) } : {}), ...(opts.to ? { to: new Date(opts.to) } : {}) });
      if (rows.length === 0) break;
      await append(rows.map((r) => JSON.stringify(opts.format === 'fhir' ? toAuditEvent(r) : { type: 'row', ...r })).join('\n') + '\n');
      count += rows.length;
      after = rows[rows.length - 1]!.seq;
    }
    checkpoints = await listCheckpoints(ctx.pool);
    if (opts.format === 'jsonl') await append(checkpoints.map((c) => JSON.stringify({ type: 'checkpoint', ...c })).join('\n') + (checkpoints.length ? '\n' : ''));
  });
  return { data: { file: opts.out, rows: count, checkpoints: checkpoints.length }, message: `${count} audit rows and ${checkpoints.length} checkpoints written to ${opts.out}` };
}

/**
 * A new ticket signing key in the database; the old one is retired. Running processes keep the key they
 * loaded until restarted (tickets live ≤ TICKET_TTL_SECONDS): restart every process afterwards.
 */
export async function rotateTicketKey(ctx: OpsContext): Promise<Output> {
  const old = await ctx.keys.active('ticket');
  await ctx.pool.query(`UPDATE signing_keys SET retired_at = now() WHERE purpose = 'ticket' AND retired_at IS NULL`);
  const fresh = await loadOrCreateSigningKey(ctx.keys, 'ticket');
  await ctx.audit.record({ actor: ctx.operator.userId, action: 'key.rotate', details: { key: 'ticket', retired: old?.kid ?? null, active: fresh.kid } });
  return { data: { retired: old?.kid ?? null, active: fresh.kid }, message: `ticket key rotated: ${old?.kid ?? '(none)'} retired, ${fresh.kid} active. Restart every server process (rolling) to use it.` };
}

/**
 * docs/AUDIT.md's rotation, done right: the old public key is appended to the previous-keys file,
 * a new private key replaces the key file (the old private key is kept beside it as .retired-<time>,
 * mode 600, for you to destroy once the restart is done).
 */
export async function rotateCheckpointKey(ctx: OpsContext): Promise<Output> {
  const cfg = ctx.config.auditCheckpoints;
  if (!cfg) throw new OpsError('AUDIT_CHECKPOINTS=off: there is no checkpoint key to rotate');
  if (!cfg.previousKeysFile) throw new OpsError('set AUDIT_CHECKPOINT_PREVIOUS_KEYS_FILE first (the servers must read it too): retired keys go there so old checkpoints keep verifying', 2);
  if (!existsSync(cfg.keyFile)) throw new OpsError(`the checkpoint key file ${cfg.keyFile} does not exist`);
  const old = loadCheckpointKey(cfg.keyFile, { create: false });
  const { privateKey } = generateKeyPairSync('ed25519');
  const fresh = toPublicKey(createPublicKey(privateKey));
  appendFileSync(cfg.previousKeysFile, old.publicKeyPem, { mode: 0o644 });
  const retired = `${cfg.keyFile}.retired-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  renameSync(cfg.keyFile, retired);
  writeFileSync(cfg.keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  await ctx.audit.record({ actor: ctx.operator.userId, action: 'key.rotate', details: { key: 'audit-checkpoint', retired: old.keyId, active: fresh.keyId } });
  return {
    data: { retired: old.keyId, active: fresh.keyId, retiredPrivateKeyFile: retired },
    message: `checkpoint key rotated: ${old.keyId} retired (public half appended to ${cfg.previousKeysFile}), ${fresh.keyId} active.\nRestart every server process, tell your auditors the new key (GET /api/audit/checkpoint-key), then destroy ${retired}.`,
  };
}

/** The server's retention job, run once now (or listed only, with --dry-run); the same lock, so never alongside it. */
export async function retentionRun(ctx: OpsContext, dryRun: boolean): Promise<Output> {
  const report = await runRetention(
    // The archive's cache and the uploads live under DATA_DIR: run this where the server's DATA_DIR is.
    { pool: ctx.pool, cases: ctx.cases, recordings: new RecordingsRepo(ctx.pool), rooms: ctx.rooms, audit: ctx.audit, audioFiles: new RecordingAudioFiles(ctx.config.recordingAudioDir), imaging: createImaging({ pool: ctx.pool, cases: ctx.cases, dataDir: ctx.config.dataDir, dicomweb: null }).service, actor: ctx.operator.userId },
    { caseDays: ctx.config.retention.caseDays, replayRoomMs: ctx.config.replayRoomMs, dryRun },
  );
  if (!report.ran) throw new OpsError('retention is running in another process right now (a server): try again later');
  const policy = `cases: ${ctx.config.retention.caseDays === null ? 'kept (CASE_RETENTION_DAYS=0)' : `${ctx.config.retention.caseDays} days without a room`}; recordings: by their expiry`;
  const count = (a: string) => report.items.filter((i) => i.action === a).length;
  const message = dryRun ? `dry run (${policy}): ${report.items.length} due, nothing changed` : `${count('deleted')} deleted, ${count('closed')} replay rooms closed, ${count('skipped')} skipped (${policy})`;
  return { data: report, table: report.items.map((i) => ({ kind: i.kind, id: i.id, since: i.since, action: i.action, note: i.note ?? '' })), message };
}
