import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession } from '../../client/src/sdk/index.ts';
import type { RoomDto } from '../../shared/src/http.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { cliJson, runCli } from '../support/cli.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * The `consilium` command line as IT runs it: a child process with the server's environment,
 * working on the same database as a running server, through the same repositories, policy and audit log.
 */
let server: TestServer;
let env: Record<string, string>;
let tmp: string;

beforeAll(async () => {
  server = await startTestServer();
  env = { ...server.db.env };
  tmp = mkdtempSync(path.join(os.tmpdir(), 'consilium-cli-'));
});
afterAll(async () => {
  await server?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

const auditRows = async (action: string) => {
  await server.app.audit.flush();
  const { rows } = await server.app.pool.query<{ actor: string; room_id: string | null; subject: string | null; details: Record<string, unknown> }>(`SELECT actor, room_id, subject, details FROM audit_log WHERE action = $1 ORDER BY seq`, [action]);
  return rows;
};

describe('consilium rooms', () => {
  let room: { id: string };

  it('creates a room with participants, validated like the API, visible to the server, and audited', async () => {
    room = await cliJson<{ id: string }>(['rooms', 'create', '--title', 'Tumour board', '--kind', 'case-conference', '--participant', 'dr.house:host', '--participant', 'oidc:abc-123:clinician:patient/Observation.rs'], env);
    const seen: RoomDto = await (await server.as('it.admin', { admin: true })).api.getRoom(room.id);
    expect(seen.participants).toEqual([
      { userId: 'dr.house', role: 'host', scopes: null },
      { userId: 'oidc:abc-123', role: 'clinician', scopes: ['patient/Observation.rs'] },
    ]);
    expect((await auditRows('room.create')).find((r) => r.room_id === room.id)?.actor).toMatch(/^cli:/);
    const listed = await runCli(['rooms', 'list'], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+TITLE\s+KIND/m);
    expect(listed.stdout).toContain('Tumour board');
  });

  it('refuses bad input with a plain message and exit 2', async () => {
    const bad = await runCli(['rooms', 'create', '--title', 'x', '--kind', 'party'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^consilium: kind: /m);
    const hostile = await runCli(['rooms', 'create', '--title', 'a\u0007bad', '--kind', 'training'], env);
    expect(hostile.code).toBe(2);
    expect((await runCli(['rooms', 'frobnicate'], env)).code).toBe(2);
    const noDb = await runCli(['rooms', 'list'], {});
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toContain('DATABASE_URL is not set');
  });

  it('sets and removes participants under the same policy, by name', async () => {
    const p = await cliJson<{ role: string }>(['rooms', 'set-participant', room.id, 'dr.wilson', '--role', 'specialist'], env);
    expect(p.role).toBe('specialist');
    expect((await server.app.pool.query(`SELECT role FROM room_participants WHERE room_id = $1 AND user_id = 'dr.wilson'`, [room.id])).rows).toEqual([{ role: 'specialist' }]);
    const removed = await runCli(['rooms', 'set-participant', room.id, 'dr.wilson', '--role', 'none'], env);
    expect(removed.code).toBe(0);
    expect((await server.app.pool.query(`SELECT 1 FROM room_participants WHERE room_id = $1 AND user_id = 'dr.wilson'`, [room.id])).rowCount).toBe(0);
  });

  it('will not change a live room behind its back (people in it would keep stale access), and closes others', async () => {
    const live = await server.createRoom({ participants: [{ userId: 'dr.live', role: 'host' }] });
    const session: ClinicSession = await server.join('dr.live', live.id);
    try {
      const refused = await runCli(['rooms', 'set-participant', live.id, 'dr.live', '--role', 'none'], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('is live');
      expect((await runCli(['rooms', 'close', live.id], env)).code).toBe(1);
    } finally {
      await session.leave();
    }
    const closed = await runCli(['rooms', 'close', room.id], env);
    expect(closed.code).toBe(0);
    expect((await server.app.pool.query(`SELECT status FROM rooms WHERE id = $1`, [room.id])).rows[0].status).toBe('closed');
    expect((await runCli(['rooms', 'close', room.id], env)).code).toBe(1);
  });
});

describe('consilium cases and users', () => {
  it('imports a bundle with the API’s importer and prints no patient data', async () => {
    const file = path.join(tmp, 'bundle.json');
    writeFileSync(file, JSON.stringify(caseBundle({ name: 'Zqxcliname', mrn: 'MRN-ZQXCLI', note: 'Zqxclinote' })));
    const r = await runCli(['cases', 'import', file], env);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/Zqxcli|MRN-ZQXCLI/);
    const caseId = /\b([0-9a-f]{8}-[0-9a-f-]{27})\b/.exec(r.stdout)![1]!;
    expect((await server.app.pool.query(`SELECT count(*)::int AS n FROM case_resources WHERE case_id = $1`, [caseId])).rows[0].n).toBeGreaterThan(3);
    writeFileSync(path.join(tmp, 'bad.json'), '{"resourceType":"Bundle"');
    expect((await runCli(['cases', 'import', path.join(tmp, 'bad.json')], env)).code).toBe(2);
    const pull = await runCli(['cases', 'pull', '--patient-id', 'abc'], env);
    expect(pull.code).toBe(1);
    expect(pull.stderr).toContain('FHIR_BASE_URL is not set');
  });

  it('lists the users who signed in', async () => {
    await server.as('dr.seen', { name: 'Dr Seen' }).then((c) => c.api.listRooms());
    await (await server.as('dr.seen', { name: 'Dr Seen' })).api.call('POST /api/rooms/:id/tickets', { params: { id: (await server.createRoom({ participants: [{ userId: 'dr.seen', role: 'clinician' }] })).id } });
    const users = await cliJson<{ userId: string; name: string }[]>(['users', 'list'], env);
    expect(users).toContainEqual(expect.objectContaining({ userId: 'dr.seen', name: 'Dr Seen' }));
  });
});

describe('consilium audit and keys', () => {
  it('exports the trail (rows with their hashes, and checkpoints) and verifies it', async () => {
    await server.app.auditCheckpoints!.signer.checkpoint();
    const ok = await runCli(['audit', 'verify'], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/audit trail intact: \d+ rows.*consistent with signed checkpoint/);
    const out = path.join(tmp, 'audit.jsonl');
    const exported = await cliJson<{ rows: number; checkpoints: number }>(['audit', 'export', '--out', out], env);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; hash?: string; action?: string });
    expect(lines.filter((l) => l.type === 'row')).toHaveLength(exported.rows);
    expect(lines.filter((l) => l.type === 'checkpoint').length).toBeGreaterThan(0);
    expect(lines.at(-1 - exported.checkpoints)?.action).toBe('audit.export'); // the export records itself first
    expect(lines.every((l) => l.type !== 'row' || /^[0-9a-f]{64}$/.test(l.hash!))).toBe(true);
  });

  it('rotates the ticket key: the old one is retired, a new one active', async () => {
    const before = (await server.app.pool.query(`SELECT kid FROM signing_keys WHERE purpose = 'ticket' AND retired_at IS NULL`)).rows[0].kid as string;
    const r = await cliJson<{ retired: string; active: string }>(['keys', 'rotate-ticket'], env);
    expect(r.retired).toBe(before);
    expect(r.active).not.toBe(before);
    const { rows } = await server.app.pool.query(`SELECT kid, retired_at IS NOT NULL AS retired FROM signing_keys WHERE purpose = 'ticket' ORDER BY created_at`);
    expect(rows).toEqual([{ kid: before, retired: true }, { kid: r.active, retired: false }]);
  });

  it('rotates the checkpoint key so old checkpoints keep verifying, and needs the previous-keys file for it', async () => {
    expect((await runCli(['keys', 'rotate-checkpoint'], env)).code).toBe(2);
    const previous = path.join(tmp, 'previous-keys.pem');
    const withPrevious = { ...env, AUDIT_CHECKPOINT_PREVIOUS_KEYS_FILE: previous };
    const oldKey = readFileSync(env['AUDIT_CHECKPOINT_KEY_FILE']!, 'utf8');
    const r = await cliJson<{ retired: string; active: string; retiredPrivateKeyFile: string }>(['keys', 'rotate-checkpoint'], withPrevious);
    expect(readFileSync(env['AUDIT_CHECKPOINT_KEY_FILE']!, 'utf8')).not.toBe(oldKey);
    expect(readFileSync(previous, 'utf8')).toContain('BEGIN PUBLIC KEY');
    expect(existsSync(r.retiredPrivateKeyFile)).toBe(true);
    // Verified with the new key plus the retired one: the old checkpoints still count.
    const verified = await cliJson<{ ok: boolean; checkpoint: { keyId: string } | null }>(['audit', 'verify'], withPrevious);
    expect(verified.ok).toBe(true);
    expect(verified.checkpoint?.keyId).toBe(r.retired);
    // Without the retired key they cannot be told from forgeries.
    expect((await runCli(['audit', 'verify'], env)).code).toBe(1);
    rmSync(r.retiredPrivateKeyFile);
  });

  it('exits 1 naming the row when the trail was rewritten', async () => {
    const owner = new pg.Client({ connectionString: server.db.url });
    await owner.connect();
    try {
      // As the owner, past the append-only trigger: what a database administrator could do.
      await owner.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
      await owner.query(`UPDATE audit_log SET actor = 'dr.nobody' WHERE seq = 2`);
      await owner.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    } finally {
      await owner.end();
    }
    const broken = await runCli(['audit', 'verify'], { ...env, AUDIT_CHECKPOINT_PREVIOUS_KEYS_FILE: path.join(tmp, 'previous-keys.pem') });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('audit trail BROKEN at row 2');
  });
});
