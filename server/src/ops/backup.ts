import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { AuditLog } from '../audit/audit-log.ts';
import type { Config } from '../config.ts';
import { migrate } from '../db/migrate.ts';
import { grantAppRole, roleOfUrl } from '../db/roles.ts';
import { createPrivateFileSync, writePrivateFileSync } from '../private-file.ts';
import { OpsError, requireDatabase, serverTrustedKeys } from './context.ts';
import type { Output } from './commands.ts';

/** What a backup holds besides the dump, to check a restore against. */
export interface BackupManifest {
  format: 'consilium-backup/1';
  createdAt: string;
  /** The newest migration applied when the dump was taken. */
  schema: string;
  counts: { rooms: number; cases: number; auditRows: number };
  /** Hash of the newest audit row: the restored chain must reach it. */
  auditHead: string | null;
  latestCheckpoint: { treeSize: number; keyId: string; signedAt: string } | null;
  dumpSha256: string;
}

const DUMP = 'database.dump';
const MANIFEST = 'manifest.json';

/** The URL with its password moved to PGPASSWORD, so it never shows in the process list. */
function pgEnv(url: string): { url: string; env: NodeJS.ProcessEnv } {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { url: u.toString(), env: { ...process.env, ...(password ? { PGPASSWORD: password } : {}) } };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new OpsError(`${cmd} could not be started (${(err as NodeJS.ErrnoException).code ?? err.message}): install the PostgreSQL client tools (Debian: postgresql-client) matching the server's major version`)));
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new OpsError(`${cmd} failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' ')}`))));
  });
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
const ownerUrlOf = (config: Config) => config.databaseOwnerUrl ?? requireDatabase(config);

async function summary(url: string): Promise<Omit<BackupManifest, 'format' | 'createdAt' | 'dumpSha256'>> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const one = async (sql: string) => (await c.query(sql)).rows[0] as Record<string, unknown> | undefined;
    const schema = String((await one(`SELECT name FROM pgmigrations ORDER BY id DESC LIMIT 1`))?.['name'] ?? '');
    const rooms = Number((await one(`SELECT count(*) AS n FROM rooms`))?.['n']);
    const cases = Number((await one(`SELECT count(*) AS n FROM cases WHERE deleted_at IS NULL`))?.['n']);
    const head = await one(`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`);
    const cp = await one(`SELECT tree_size, key_id, signed_at FROM audit_checkpoints ORDER BY tree_size DESC, id DESC LIMIT 1`);
    return {
      schema,
      counts: { rooms, cases, auditRows: head ? Number(head['seq']) : 0 },
      auditHead: head ? String(head['hash']) : null,
      latestCheckpoint: cp ? { treeSize: Number(cp['tree_size']), keyId: String(cp['key_id']), signedAt: (cp['signed_at'] as Date).toISOString() } : null,
    };
  } finally {
    await c.end();
  }
}

/** The backup directory (new, or empty): owner-only even when it already existed (mkdir leaves an existing one's mode). */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/**
 * `consilium backup --out DIR [--keys-out KEYDIR]`: a pg_dump (custom format) of the whole database —
 * rooms, cases, the audit trail and its checkpoints, the ticket signing keys — and a manifest to check a
 * restore against. The audit checkpoint key lives outside the database on purpose: `--keys-out` copies
 * it (and the retired keys) to a separate place, which must not be stored with the database dump.
 */
export async function backup(config: Config, opts: { out: string; keysOut?: string }): Promise<Output> {
  const url = ownerUrlOf(config);
  if (existsSync(opts.out) && readdirSync(opts.out).length > 0) throw new OpsError(`${opts.out} is not empty: back up into a new directory`, 2);
  if (opts.keysOut && path.resolve(opts.keysOut) === path.resolve(opts.out)) throw new OpsError('--keys-out must differ from --out: the checkpoint key must not travel with the database dump', 2);
  privateDir(opts.out);
  const { url: bare, env } = pgEnv(url);
  const dump = path.join(opts.out, DUMP);
  createPrivateFileSync(dump); // pg_dump writes into it and the 0600 mode stays (not the umask's)
  // One snapshot: pg_dump runs in a single repeatable-read transaction, so rows and checkpoints agree.
  await run('pg_dump', ['--format=custom', '--no-owner', '--no-privileges', `--file=${dump}`, `--dbname=${bare}`], env);
  const manifest: BackupManifest = { format: 'consilium-backup/1', createdAt: new Date().toISOString(), ...(await summary(url)), dumpSha256: sha256(dump) };
  writePrivateFileSync(path.join(opts.out, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  const keys: string[] = [];
  if (opts.keysOut) {
    mkdirSync(opts.keysOut, { recursive: true, mode: 0o700 }); // may be the operator's own folder: its mode is theirs, the files are 0600
    const cp = config.auditCheckpoints;
    for (const file of [cp?.keyFile, cp?.previousKeysFile].filter((f): f is string => Boolean(f) && existsSync(f!))) {
      const target = path.join(opts.keysOut, path.basename(file));
      writePrivateFileSync(target, readFileSync(file)); // 0600 whatever the source's mode or an old copy's
      keys.push(target);
    }
  }
  const note = opts.keysOut ? `; keys copied to ${opts.keysOut} (${keys.length} files)` : '; the audit checkpoint key was NOT copied (back it up separately, or pass --keys-out)';
  return { data: { ...manifest, dir: opts.out, keyFiles: keys }, message: `backup written to ${opts.out}: ${manifest.counts.rooms} rooms, ${manifest.counts.cases} cases, ${manifest.counts.auditRows} audit rows (schema ${manifest.schema})${note}` };
}

/**
 * `consilium restore --from DIR`: into an empty database only (DATABASE_OWNER_URL), then migrations
 * forward (a backup from an older release is upgraded), the app role's grants, and the audit trail
 * verified against the checkpoint key the server is configured with. Exit 1 if anything is off.
 */
export async function restore(config: Config, opts: { from: string }): Promise<Output & { ok: boolean }> {
  const ownerUrl = ownerUrlOf(config);
  const appUrl = requireDatabase(config);
  const manifestFile = path.join(opts.from, MANIFEST);
  const dump = path.join(opts.from, DUMP);
  if (!existsSync(manifestFile) || !existsSync(dump)) throw new OpsError(`${opts.from} holds no Consilium backup (${MANIFEST} and ${DUMP})`, 2);
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as BackupManifest;
  if (manifest.format !== 'consilium-backup/1') throw new OpsError(`unknown backup format ${String(manifest.format)}`, 2);
  if (sha256(dump) !== manifest.dumpSha256) throw new OpsError(`${dump} does not match its manifest (sha256): the backup is damaged or was changed`);

  const c = new pg.Client({ connectionString: ownerUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ n: string }>(`SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'`);
    if (Number(rows[0]!.n) > 0) throw new OpsError('the target database is not empty: restore into a newly created database (CREATE DATABASE …) and point DATABASE_OWNER_URL and DATABASE_URL at it');
  } finally {
    await c.end();
  }
  const { url: bare, env } = pgEnv(ownerUrl);
  await run('pg_restore', ['--no-owner', '--no-privileges', '--exit-on-error', '--single-transaction', `--dbname=${bare}`, dump], env);
  const applied = await migrate(ownerUrl);
  const appRole = roleOfUrl(appUrl);
  if (appRole && appUrl !== ownerUrl) await grantAppRole(ownerUrl, appRole);

  const pool = new pg.Pool({ connectionString: appUrl, max: 2 });
  try {
    const trusted = serverTrustedKeys(config);
    const audit = new AuditLog(pool, { trustedKeys: trusted });
    const result = await audit.verify();
    const now = await summary(ownerUrl);
    const problems: string[] = result.problems.map((p) => `audit trail broken at row ${p.seq}: ${p.reason}`);
    if (result.rows < manifest.counts.auditRows) problems.push(`the restored trail has ${result.rows} rows, the backup had ${manifest.counts.auditRows}`);
    if (now.counts.rooms !== manifest.counts.rooms || now.counts.cases !== manifest.counts.cases) problems.push(`restored ${now.counts.rooms} rooms and ${now.counts.cases} cases, the backup had ${manifest.counts.rooms} and ${manifest.counts.cases}`);
    if (manifest.latestCheckpoint && !result.checkpointsChecked) problems.push(`the checkpoint key is not available (AUDIT_CHECKPOINT_KEY_FILE): restore the key files too (key id ${manifest.latestCheckpoint.keyId})`);
    const ok = problems.length === 0;
    if (ok) await audit.record({ actor: 'cli:restore', action: 'backup.restore', details: { backupCreatedAt: manifest.createdAt, schema: manifest.schema, rows: result.rows, migrated: applied } });
    await audit.flush();
    const data = { ok, manifest, restored: now.counts, migrationsApplied: applied, audit: { rows: result.rows, head: result.lastHash, checkpoint: result.checkpoint } };
    const message = ok
      ? `restored ${now.counts.rooms} rooms, ${now.counts.cases} cases, ${result.rows} audit rows (intact${result.checkpoint ? `, signed checkpoint at ${result.checkpoint.treeSize} rows` : ''}); migrations applied: ${applied.length ? applied.join(', ') : 'none'}`
      : `restore finished with problems:\n${problems.join('\n')}`;
    return { ok, data, message };
  } finally {
    await pool.end();
  }
}
