import { spawnSync } from 'node:child_process';
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { rowHash, type ChainedRow } from '../../server/src/audit/canonical.ts';
import { toPublicKey } from '../../server/src/audit/checkpoint-key.ts';
import { signCheckpoint } from '../../server/src/audit/checkpoints.ts';
import { eventually } from '../support/eventually.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Attacks on the audit trail by someone with write access to its tables (a DBA,
 * or a stolen owner password): rewriting a row and recomputing every later hash,
 * cutting rows off the end, forging checkpoints. The signed checkpoints (key
 * outside the database) expose each one.
 */
const root = path.resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'consilium-audit-cp-'));
const servers: TestServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(tmp, { recursive: true, force: true });
});

async function boot(env: Record<string, string> = {}): Promise<TestServer> {
  const s = await startTestServer({}, env);
  servers.push(s);
  return s;
}

async function events(s: TestServer, n: number, tag: string): Promise<void> {
  await Promise.all(Array.from({ length: n }, (_, i) => s.app.audit.record({ actor: `user.${tag}`, action: 'case.read', details: { i, tag } })));
}

async function checkpoint(s: TestServer) {
  await s.app.audit.flush();
  const c = await s.app.auditCheckpoints!.signer.checkpoint();
  expect(c).not.toBeNull();
  return c!;
}

async function verifyApi(s: TestServer) {
  const admin = await s.as('auditor', { admin: true });
  const res = await fetch(`${s.app.url}/api/audit/verify`, { headers: { authorization: `Bearer ${admin.api.identityToken}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as { ok: boolean; rows: number; firstBroken?: { seq: number; reason: string }; problems: { seq: number; reason: string }[]; checkpoint: { treeSize: number } | null };
}

/** The owner, as an attacker: switch the trigger off, do the deed, switch it back on. */
async function asOwner<T>(s: TestServer, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: s.db.url });
  await c.connect();
  try {
    await c.query('ALTER TABLE audit_log DISABLE TRIGGER USER');
    await c.query('ALTER TABLE audit_checkpoints DISABLE TRIGGER USER');
    const r = await fn(c);
    await c.query('ALTER TABLE audit_log ENABLE TRIGGER USER');
    await c.query('ALTER TABLE audit_checkpoints ENABLE TRIGGER USER');
    return r;
  } finally {
    await c.end();
  }
}

/** Rewrite one row's details and recompute every hash from there on, as a careful attacker would. Returns the new head hash. */
async function rewrite(c: pg.Client, seq: number, details: Record<string, unknown>): Promise<string> {
  const { rows } = await c.query('SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq', [seq - 1]);
  let prev: string = seq === 1 ? '0'.repeat(64) : rows[0].hash;
  for (const r of rows.slice(seq === 1 ? 0 : 1)) {
    const row: ChainedRow = {
      seq: Number(r.seq), at: r.at.toISOString(), actor: r.actor, action: r.action, outcome: r.outcome, roomId: r.room_id,
      caseId: r.case_id, patientId: r.patient_id, subject: r.subject, details: Number(r.seq) === seq ? details : r.details, prevHash: prev,
    };
    const hash = rowHash(row);
    await c.query('UPDATE audit_log SET details = $2, prev_hash = $3, hash = $4 WHERE seq = $1', [row.seq, row.details, prev, hash]);
    prev = hash;
  }
  return prev;
}

function cli(s: TestServer, args: string[] = [], env: Record<string, string> = s.db.env) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/audit-verify.ts', ...args], { cwd: root, env: { ...process.env, ...env, LOG_LEVEL: 'silent' }, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

describe('signed audit checkpoints', () => {
  it('a rewritten row with every later hash recomputed is caught, between the checkpoints that bracket it', async () => {
    const s = await boot();
    await events(s, 5, 'a');
    const first = await checkpoint(s);
    await events(s, 5, 'b');
    const second = await checkpoint(s);
    expect(second.treeSize).toBe(first.treeSize + 5);
    expect(await verifyApi(s)).toMatchObject({ ok: true, checkpoint: { treeSize: second.treeSize } });

    const target = first.treeSize + 2;
    await asOwner(s, (c) => rewrite(c, target, { i: 99, tag: 'forged' }));
    // The chain itself is perfectly consistent again…
    const r = await verifyApi(s);
    // …but no longer matches what was signed.
    expect(r.ok).toBe(false);
    expect(r.firstBroken!.seq).toBe(second.treeSize);
    expect(r.firstBroken!.reason).toContain(`rows ${first.treeSize + 1}–${second.treeSize} were rewritten`);

    const out = cli(s);
    expect(out.status).toBe(1);
    expect(out.out).toMatch(new RegExp(`BROKEN at row ${second.treeSize}: hash differs from signed checkpoint`));
  });

  it('deleting the newest rows is reported as truncation, even when the checkpoints are deleted too (saved copy, pinned key)', async () => {
    const s = await boot();
    await events(s, 8, 'c');
    const cp = await checkpoint(s);

    // An auditor pins the published key and keeps a copy of the latest checkpoint, no login needed.
    const key = await (await fetch(`${s.app.url}/api/audit/checkpoint-key`)).json();
    const latest = await (await fetch(`${s.app.url}/api/audit/checkpoints/latest`)).json();
    expect(latest).toMatchObject({ treeSize: cp.treeSize, rootHash: cp.rootHash });
    const keyFile = path.join(tmp, 'pinned.pem');
    const cpFile = path.join(tmp, 'saved-checkpoint.json');
    writeFileSync(keyFile, key.publicKeyPem);
    writeFileSync(cpFile, JSON.stringify(latest));

    await asOwner(s, (c) => c.query('DELETE FROM audit_log WHERE seq > $1', [cp.treeSize - 3]));
    const r = await verifyApi(s);
    expect(r.ok).toBe(false);
    expect(r.firstBroken).toEqual({ seq: cp.treeSize - 2, reason: expect.stringMatching(new RegExp(`covers ${cp.treeSize} rows, the table has ${cp.treeSize - 3} — the trail was truncated`)) });

    // The attacker also deletes every checkpoint: the database alone no longer knows…
    await asOwner(s, (c) => c.query('DELETE FROM audit_checkpoints'));
    expect(await verifyApi(s)).toMatchObject({ ok: true });
    // …but the auditor's saved checkpoint and pinned key do, with no access to the server's key file.
    const offline = cli(s, ['--public-key', keyFile, '--checkpoint', cpFile], { DATABASE_URL: s.db.appUrl, AUDIT_CHECKPOINT_KEY_FILE: path.join(tmp, 'absent.pem') });
    expect(offline.status).toBe(1);
    expect(offline.out).toContain(`BROKEN at row ${cp.treeSize - 2}`);
    expect(offline.out).toContain('truncated');
  });

  it('forged checkpoints are rejected: another key, or the real key id with a bad signature', async () => {
    const s = await boot();
    await events(s, 6, 'd');
    const genuine = await checkpoint(s);
    // The attacker rewrites row 2 and signs checkpoints for the new head with their own key.
    const mallory = generateKeyPairSync('ed25519');
    const malloryKey = { ...toPublicKey(mallory.publicKey), privateKey: mallory.privateKey };
    const newHead = await asOwner(s, async (c) => {
      const head = await rewrite(c, 2, { i: 1, tag: 'forged' });
      const forged = signCheckpoint(malloryKey, { treeSize: genuine.treeSize, rootHash: head, signedAt: new Date().toISOString() });
      const claimsRealKey = { ...forged, keyId: genuine.keyId };
      for (const f of [forged, claimsRealKey]) {
        await c.query('INSERT INTO audit_checkpoints (tree_size, root_hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5)', [f.treeSize, f.rootHash, f.signedAt, f.keyId, f.signature]);
      }
      return head;
    });
    expect(newHead).not.toBe(genuine.rootHash);
    const r = await verifyApi(s);
    expect(r.ok).toBe(false);
    const reasons = r.problems.map((p) => p.reason).join('\n');
    expect(reasons).toMatch(/signed by an unknown key .*not trusted/);
    expect(reasons).toMatch(/has an invalid signature: it is not trusted/);
    expect(reasons).toMatch(/hash differs from signed checkpoint #\d+/);
    expect(r.checkpoint).toMatchObject({ treeSize: genuine.treeSize });
    // The public endpoint never serves a forged checkpoint.
    expect(await (await fetch(`${s.app.url}/api/audit/checkpoints/latest`)).json()).toMatchObject({ rootHash: genuine.rootHash, keyId: genuine.keyId });
  });

  it('checkpoints are signed periodically and at shutdown, with a key from a 0600 file, verifiable offline with the published key', async () => {
    const s = await boot({ AUDIT_CHECKPOINT_INTERVAL_SECONDS: '1' });
    await events(s, 3, 'e');
    await s.app.audit.flush();
    // Periodic: without anyone asking.
    const latest = await eventually(async () => {
      const res = await fetch(`${s.app.url}/api/audit/checkpoints/latest`);
      const body = res.ok ? ((await res.json()) as { treeSize: number }) : null;
      return body && body.treeSize >= 3 ? body : undefined;
    }, 5000);
    const c = latest as unknown as { treeSize: number; rootHash: string; signedAt: string; keyId: string; signature: string; message: string };
    const key = (await (await fetch(`${s.app.url}/api/audit/checkpoint-key`)).json()) as { algorithm: string; keyId: string; publicKeyPem: string };
    expect(key.algorithm).toBe('Ed25519');
    // Offline: only the published PEM and the checkpoint's own fields.
    const pub = createPublicKey(key.publicKeyPem);
    expect(createHash('sha256').update(pub.export({ type: 'spki', format: 'der' })).digest('hex')).toBe(key.keyId);
    expect(c.message).toBe(`consilium-audit-checkpoint/v1\n${c.treeSize}\n${c.rootHash}\n${c.signedAt}\n`);
    expect(verify(null, Buffer.from(c.message), pub, Buffer.from(c.signature, 'base64'))).toBe(true);
    expect(verify(null, Buffer.from(c.message.replace(/\n\d+\n/, `\n${c.treeSize + 1}\n`)), pub, Buffer.from(c.signature, 'base64'))).toBe(false);
    // The key never reaches the database.
    const owner = new pg.Client({ connectionString: s.db.url });
    await owner.connect();
    const keyFile = s.db.env.AUDIT_CHECKPOINT_KEY_FILE!;
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const secret = createPrivateKey(readFileSync(keyFile)).export({ format: 'jwk' }).d!;
    const { rows: leaks } = await owner.query<{ n: number }>(
      `SELECT (SELECT count(*) FROM signing_keys WHERE private_jwk::text LIKE '%' || $1 || '%')::int + (SELECT count(*) FROM audit_checkpoints WHERE signature LIKE '%' || $1 || '%')::int AS n`,
      [secret],
    );
    expect(leaks[0]!.n).toBe(0);

    // Shutdown: whatever was written last is covered.
    await events(s, 4, 'f');
    await s.app.close();
    const { rows } = await owner.query<{ size: string; seq: string }>('SELECT (SELECT max(tree_size) FROM audit_checkpoints) AS size, (SELECT max(seq) FROM audit_log) AS seq');
    await owner.end();
    expect(rows[0]!.size).toBe(rows[0]!.seq);
  });

  it('key rotation: checkpoints of the retired key still verify when its public key is listed, and only then', async () => {
    const s = await boot();
    await events(s, 4, 'g');
    const old = await checkpoint(s);
    await s.app.close();
    // Rotate: keep the old public key, replace the private key file.
    const oldPublic = path.join(tmp, 'previous-keys.pem');
    writeFileSync(oldPublic, s.app.auditCheckpoints!.key.publicKeyPem);
    rmSync(s.db.env.AUDIT_CHECKPOINT_KEY_FILE!);

    const rotated = await startTestServer({}, { AUDIT_CHECKPOINT_PREVIOUS_KEYS_FILE: oldPublic }, s.db);
    try {
      expect(rotated.app.auditCheckpoints!.key.keyId).not.toBe(old.keyId);
      const key = await (await fetch(`${rotated.app.url}/api/audit/checkpoint-key`)).json();
      expect(key.previousKeys).toEqual([{ keyId: old.keyId, publicKeyPem: expect.stringContaining('BEGIN PUBLIC KEY') }]);
      await events(rotated, 2, 'h');
      const fresh = await checkpoint(rotated);
      expect(fresh.keyId).toBe(rotated.app.auditCheckpoints!.key.keyId);
      expect(await verifyApi(rotated)).toMatchObject({ ok: true, problems: [], checkpoint: { treeSize: fresh.treeSize } });
    } finally {
      await rotated.app.close();
    }
    // Forgetting the retired key makes its checkpoints untrusted: reported, not ignored.
    const forgetful = await startTestServer({}, {}, s.db);
    try {
      const r = await verifyApi(forgetful);
      expect(r.ok).toBe(false);
      expect(r.problems.map((p) => p.reason).join()).toContain(`signed by an unknown key ${old.keyId.slice(0, 16)}`);
    } finally {
      await forgetful.app.close();
    }
  });

  it('AUDIT_CHECKPOINTS=off: no key, no checkpoints, and verify says they were not checked', async () => {
    const s = await boot({ AUDIT_CHECKPOINTS: 'off' });
    await events(s, 2, 'off');
    await s.app.audit.flush();
    expect(s.app.auditCheckpoints).toBeNull();
    const res = await fetch(`${s.app.url}/api/audit/checkpoint-key`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    expect(await verifyApi(s)).toMatchObject({ ok: true, checkpoint: null, checkpointsChecked: false });
  });
});
