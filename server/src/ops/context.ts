import os from 'node:os';
import { existsSync } from 'node:fs';
import { AuditLog } from '../audit/audit-log.ts';
import { loadCheckpointKey } from '../audit/checkpoint-key.ts';
import { trustedKeys } from '../audit/setup.ts';
import type { Principal } from '../auth/policy.ts';
import type { Config } from '../config.ts';
import { CasesRepo } from '../db/cases.repo.ts';
import { KeysRepo } from '../db/keys.repo.ts';
import { createPool, type Pool } from '../db/pool.ts';
import { RoomsRepo } from '../db/rooms.repo.ts';
import { UsersRepo } from '../db/users.repo.ts';

/** What the command line works with: the deployment's own repositories and audit log, as the app role. */
export interface OpsContext {
  config: Config;
  pool: Pool;
  rooms: RoomsRepo;
  cases: CasesRepo;
  users: UsersRepo;
  keys: KeysRepo;
  audit: AuditLog;
  /** The operator as the policy sees them: an administrator named `cli:<os user>` in the audit trail. */
  operator: Principal;
  close(): Promise<void>;
}

/** A plain failure: the CLI prints the message and exits 1 (usage errors: 2). */
export class OpsError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}

export function requireDatabase(config: Config): string {
  if (!config.databaseUrl) throw new OpsError('DATABASE_URL is not set: the command line works on the deployment’s PostgreSQL (the same environment as the server)', 2);
  return config.databaseUrl;
}

/** The server's checkpoint key (when the file is there) and retired keys: what audit verification trusts. */
export function serverTrustedKeys(config: Config) {
  const cfg = config.auditCheckpoints;
  if (!cfg) return [];
  // A previous-keys file that does not exist yet (before the first rotation) holds no keys.
  if (cfg.previousKeysFile && !existsSync(cfg.previousKeysFile)) return serverTrustedKeys({ ...config, auditCheckpoints: { ...cfg, previousKeysFile: null } });
  return trustedKeys(cfg, existsSync(cfg.keyFile) ? loadCheckpointKey(cfg.keyFile, { create: false }) : null);
}

export function openOps(config: Config): OpsContext {
  const pool = createPool(requireDatabase(config));
  const user = (() => {
    try {
      return os.userInfo().username.replace(/[^A-Za-z0-9._@-]/g, '_').slice(0, 60) || 'operator';
    } catch {
      return 'operator';
    }
  })();
  const audit = new AuditLog(pool, { trustedKeys: serverTrustedKeys(config) });
  return {
    config,
    pool,
    rooms: new RoomsRepo(pool),
    cases: new CasesRepo(pool),
    users: new UsersRepo(pool),
    keys: new KeysRepo(pool),
    audit,
    operator: { userId: `cli:${user}`, name: `Command line (${user})`, admin: true, scopes: [] },
    async close() {
      await audit.flush();
      await pool.end();
    },
  };
}
