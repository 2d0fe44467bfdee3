import type { AuditCheckpointConfig, Config } from '../config.ts';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import { loadCheckpointKey, loadPublicKeys, type CheckpointKey, type CheckpointPublicKey } from './checkpoint-key.ts';
import { CheckpointSigner } from './checkpoints.ts';

export interface AuditCheckpoints {
  key: CheckpointKey;
  /** The current key and any retired ones: what verify accepts. */
  trustedKeys: CheckpointPublicKey[];
  signer: CheckpointSigner;
}

/** The server's checkpoint key and signer; null when AUDIT_CHECKPOINTS=off (logged). */
export function setUpCheckpoints(config: Config, pool: Pool, logger: Logger): AuditCheckpoints | null {
  const cfg = config.auditCheckpoints;
  if (!cfg) {
    logger.warn('AUDIT_CHECKPOINTS=off: the audit chain is not anchored by signed checkpoints; a rewrite with recomputed hashes or a cut-off tail would go unnoticed');
    return null;
  }
  const key = loadCheckpointKey(cfg.keyFile, { create: cfg.createKey, notice: (m) => logger.warn(m) });
  logger.info({ keyId: key.keyId, keyFile: cfg.keyFile }, 'audit checkpoints signed with this key');
  return { key, trustedKeys: trustedKeys(cfg, key), signer: new CheckpointSigner(pool, key, logger.child({ component: 'audit-checkpoints' })) };
}

export function trustedKeys(cfg: AuditCheckpointConfig, current: CheckpointPublicKey | null): CheckpointPublicKey[] {
  const previous = cfg.previousKeysFile ? loadPublicKeys(cfg.previousKeysFile) : [];
  return current ? [current, ...previous] : previous;
}
