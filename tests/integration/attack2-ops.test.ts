import { chmod, link, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { syntheaCarroll } from '../fixtures/real-fhir.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Outside attack on the on-demand summary reads and the ops surfaces (round 3, attack2). */
const METRICS = 'metrics-token-attack2-0123456789abcdef';
let server: TestServer;
let admin: ConsiliumClient;
let caseId: string;
let roomId: string;

beforeAll(async () => {
  server = await startTestServer({}, { METRICS_TOKEN: METRICS });
  admin = await server.as('root', { admin: true });
  ({ caseId } = await admin.api.importCase(syntheaCarroll()));
  roomId = (await server.createRoom({ caseId, participants: [{ userId: 'o.student', role: 'observer' }, { userId: 'o.labs', role: 'clinician', scopes: ['patient/Observation.rs'] }] })).id;
});
afterAll(async () => {
  await server?.stop();
});

async function get(client: ConsiliumClient | null, p: string, headers: Record<string, string> = {}) {
  const res = await fetch(new URL(p, server.app.url), { headers: { ...(client ? { authorization: `Bearer ${client.api.identityToken}` } : {}), ...headers } });
  const text = await res.text();
  return { status: res.status, text, body: text.startsWith('{') ? (JSON.parse(text) as Record<string, unknown>) : null };
}

describe('attack2: on-demand summary reads', () => {
  it('held: a de-identified reader pages by year only and gets year-only dates; a labs-only reader cannot name other types, and no response counts them', async () => {
    const student = await server.as('o.student', { scopes: ['patient/*.rs'] });
    for (const before of ['2019-06-01', '2019-06-01T00:00:00Z', '20190601', '2019-13']) {
      expect((await get(student, `/api/cases/${caseId}/resources?room=${roomId}&before=${encodeURIComponent(before)}`)).status).toBe(400);
    }
    const page = await get(student, `/api/cases/${caseId}/resources?room=${roomId}&before=2019&limit=50`);
    expect(page.status).toBe(200);
    expect(page.text).not.toMatch(/"(effectiveDateTime|issued|recordedDate|onsetDateTime|authoredOn)":"\d{4}-/);
    expect(page.text).not.toContain('Carroll471');
    const labs = await server.as('o.labs', { scopes: ['patient/*.rs'] });
    for (const type of ['Condition', 'Patient', 'Immunization', 'MedicationRequest']) {
      expect((await get(labs, `/api/cases/${caseId}/resources?room=${roomId}&type=${type}`)).body).toMatchObject({ error: { code: 'SCOPE_DENIED' } });
    }
    const all = await get(labs, `/api/cases/${caseId}/resources?room=${roomId}&limit=1000`);
    expect(new Set((all.body!['resources'] as { resourceType: string }[]).map((r) => r.resourceType))).toEqual(new Set(['Observation']));
    for (const type of ['Immunization', 'Condition', 'Encounter"', 'MedicationRequest']) expect(all.text).not.toContain(`"${type.replace('"', '')}":`);
  });
});

describe('attack2: ops surfaces', () => {
  it('held: openapi.json and /api/docs hold no secrets, run no scripts; metrics need the exact token', async () => {
    const spec = await get(null, '/api/openapi.json');
    const docs = await get(null, '/api/docs');
    for (const t of [spec.text, docs.text]) {
      for (const secret of [METRICS, server.db.env['DATABASE_URL'] ?? 'postgres://', 'BEGIN PRIVATE', caseId]) expect(t).not.toContain(secret);
    }
    expect(docs.text).not.toMatch(/<script|javascript:|https?:\/\/(?!127\.0\.0\.1|localhost)[a-z]/i);
    expect((await get(null, '/metrics')).status).not.toBe(200);
    expect((await get(null, '/metrics', { authorization: 'Bearer wrong' })).status).not.toBe(200);
    expect((await get(null, '/metrics', { authorization: `Bearer ${METRICS}x` })).status).not.toBe(200);
    const ok = await get(null, '/metrics', { authorization: `Bearer ${METRICS}` });
    expect(ok.status).toBe(200);
    expect(ok.text).not.toContain(caseId);
  });

  it('held: the CLI refuses bad input with a plain message and a non-zero exit, without a stack trace', async () => {
    const env = { ...server.db.env };
    for (const args of [['rooms', 'close', "'; DROP TABLE rooms;--"], ['rooms', 'set-participant', roomId, 'x', '--role', 'god'], ['rooms', 'create', '--title', 'x', '--kind', 'training', '--participant', 'a:host:patient/../../etc'], ['cases', 'import', '/etc/passwd'], ['audit', 'export', '--out', '/tmp/x', '--format', 'xml']]) {
      const r = await runCli(args, env);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr).toMatch(/^consilium: /);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  }, 120_000);

  it('HOLE (low): `consilium audit export --out` into an existing file keeps its permissions (0644): the trail with patient ids becomes world-readable', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'attack2-export-'));
    try {
      const out = path.join(dir, 'audit.jsonl');
      await writeFile(out, 'old\n');
      await chmod(out, 0o644);
      const r = await runCli(['audit', 'export', '--out', out], { ...server.db.env });
      expect(r.code).toBe(0);
      // Expected: the export refuses to overwrite an existing file, or leaves it readable by its owner only.
      expect(((await stat(out)).mode & 0o777).toString(8)).toBe('600');
      const text = await readFile(out, 'utf8');
      expect(text).toContain('"type":"row"');
      expect(text.startsWith('old')).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('fixed: the export replaces the file (a new 0600 file renamed over it): a hard link or a planted symlink never receives the trail', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'attack2-export-'));
    try {
      const out = path.join(dir, 'audit.jsonl');
      const shared = path.join(dir, 'world-readable.jsonl');
      await writeFile(shared, 'old\n');
      await chmod(shared, 0o644);
      await link(shared, out); // the same inode under --out
      expect((await runCli(['audit', 'export', '--out', out], { ...server.db.env })).code).toBe(0);
      expect(await readFile(shared, 'utf8')).toBe('old\n');
      expect(((await stat(out)).mode & 0o777).toString(8)).toBe('600');
      const target = path.join(dir, 'elsewhere.txt');
      await writeFile(target, 'mine\n');
      const planted = path.join(dir, 'planted.jsonl');
      await symlink(target, planted);
      expect((await runCli(['audit', 'export', '--out', planted, '--format', 'fhir'], { ...server.db.env })).code).toBe(0);
      expect(await readFile(target, 'utf8')).toBe('mine\n');
      expect(((await stat(planted)).mode & 0o777).toString(8)).toBe('600');
      // No temporary file is left behind.
      expect((await readdir(dir)).sort()).toEqual(['audit.jsonl', 'elsewhere.txt', 'planted.jsonl', 'world-readable.jsonl']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('fixed: a backup into an existing empty 0755 directory is owner-only: the directory 0700, dump, manifest and key copies 0600 (an old 0644 key copy too)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'attack2-backup-'));
    try {
      const out = path.join(dir, 'backup');
      const keys = path.join(dir, 'keys');
      await mkdir(out, { mode: 0o755 });
      await chmod(out, 0o755);
      await mkdir(keys);
      const keyName = path.basename(server.db.env['AUDIT_CHECKPOINT_KEY_FILE']!);
      await writeFile(path.join(keys, keyName), 'stale copy\n');
      await chmod(path.join(keys, keyName), 0o644);
      const r = await runCli(['backup', '--out', out, '--keys-out', keys], { ...server.db.env });
      expect(r.code, r.stderr).toBe(0);
      expect(((await stat(out)).mode & 0o777).toString(8)).toBe('700');
      const files = await readdir(out);
      expect(files.sort()).toEqual(['database.dump', 'manifest.json']);
      for (const f of files) expect(((await stat(path.join(out, f))).mode & 0o777).toString(8), f).toBe('600');
      expect(await readFile(path.join(keys, keyName), 'utf8')).toContain('PRIVATE KEY');
      for (const f of await readdir(keys)) expect(((await stat(path.join(keys, f))).mode & 0o777).toString(8), f).toBe('600');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
