import type { Checkpoint } from '../../../shared/src/http.ts';
import { sign, verify } from 'node:crypto';
import type { Pool } from '../db/pool.ts';
import type { Logger } from '../logger.ts';
import type { CheckpointKey, CheckpointPublicKey } from './checkpoint-key.ts';

export type { CheckpointPublicKey };

/**
 * Signed checkpoints of the audit chain, in the spirit of Certificate
 * Transparency's signed tree heads (RFC 9162): {tree size, head hash, time}
 * signed with a key the database does not hold. Anyone who rewrites rows and
 * recomputes the hashes, or cuts rows off the end, no longer matches a
 * checkpoint signed before — and cannot sign a new one.
 */
export type { Checkpoint };

/** The exact bytes signed: a fixed header and one field per line, newline-terminated. */
export function checkpointMessage(c: Pick<Checkpoint, 'treeSize' | 'rootHash' | 'signedAt'>): string {
  return `consilium-audit-checkpoint/v1\n${c.treeSize}\n${c.rootHash}\n${c.signedAt}\n`;
}

export function signCheckpoint(key: CheckpointKey, c: Pick<Checkpoint, 'treeSize' | 'rootHash' | 'signedAt'>): Checkpoint {
  const signature = sign(null, Buffer.from(checkpointMessage(c)), key.privateKey).toString('base64');
  return { id: null, treeSize: c.treeSize, rootHash: c.rootHash, signedAt: c.signedAt, keyId: key.keyId, signature };
}

/** null when a trusted key signed it; otherwise why it is not trusted. */
export function checkpointProblem(c: Checkpoint, trusted: CheckpointPublicKey[]): string | null {
  const key = trusted.find((k) => k.keyId === c.keyId);
  if (!key) return `is signed by an unknown key ${c.keyId.slice(0, 16)}…`;
  if (!/^[0-9a-f]{64}$/.test(c.rootHash) || !Number.isSafeInteger(c.treeSize) || c.treeSize < 0) return 'is malformed';
  let ok = false;
  try {
    ok = verify(null, Buffer.from(checkpointMessage(c)), key.publicKey, Buffer.from(c.signature, 'base64'));
  } catch {
    ok = false;
  }
  return ok ? null : 'has an invalid signature';
}

interface DbCheckpoint {
  id: string;
  tree_size: string;
  root_hash: string;
  signed_at: Date;
  key_id: string;
  signature: string;
}

const fromDb = (r: DbCheckpoint): Checkpoint => ({
  id: Number(r.id),
  treeSize: Number(r.tree_size),
  rootHash: r.root_hash,
  signedAt: r.signed_at.toISOString(),
  keyId: r.key_id,
  signature: r.signature,
});

export async function listCheckpoints(pool: Pool): Promise<Checkpoint[]> {
  const { rows } = await pool.query<DbCheckpoint>('SELECT * FROM audit_checkpoints ORDER BY id');
  return rows.map(fromDb);
}

/** The newest checkpoint signed by one of `trusted`, for publishing. */
export async function latestCheckpoint(pool: Pool, trusted: CheckpointPublicKey[]): Promise<Checkpoint | null> {
  const { rows } = await pool.query<DbCheckpoint>('SELECT * FROM audit_checkpoints WHERE key_id = ANY($1) ORDER BY tree_size DESC, id DESC LIMIT 20', [trusted.map((k) => k.keyId)]);
  return rows.map(fromDb).find((c) => checkpointProblem(c, trusted) === null) ?? null;
}

/** Signs a checkpoint every `intervalMs` when the chain has grown, and once more at stop(). */
export class CheckpointSigner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<Checkpoint | null> | null = null;
  /** When the head was last known to be covered by a checkpoint (signed now, or already): ms since epoch; null before the first run. */
  lastCoveredAt: number | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly key: CheckpointKey,
    private readonly logger?: Logger,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.checkpoint().catch(() => {}), intervalMs);
    this.timer.unref();
  }

  /** Sign the current head unless this key already signed it. Returns the new checkpoint, or null. */
  checkpoint(): Promise<Checkpoint | null> {
    // One at a time: the interval and shutdown may meet.
    this.running ??= this.signHead().finally(() => (this.running = null));
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
    await this.checkpoint().catch(() => {});
  }

  private async signHead(): Promise<Checkpoint | null> {
    try {
      const head = await this.pool.query<{ seq: string; hash: string }>('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1');
      const row = head.rows[0];
      if (!row) {
        this.lastCoveredAt = Date.now();
        return null;
      }
      const treeSize = Number(row.seq);
      const done = await this.pool.query('SELECT 1 FROM audit_checkpoints WHERE key_id = $1 AND tree_size = $2 AND root_hash = $3 LIMIT 1', [this.key.keyId, treeSize, row.hash]);
      if (done.rowCount) {
        this.lastCoveredAt = Date.now();
        return null;
      }
      const c = signCheckpoint(this.key, { treeSize, rootHash: row.hash, signedAt: new Date().toISOString() });
      const ins = await this.pool.query<{ id: string }>(
        'INSERT INTO audit_checkpoints (tree_size, root_hash, signed_at, key_id, signature) VALUES ($1, $2, $3, $4, $5) RETURNING id',
        [c.treeSize, c.rootHash, c.signedAt, c.keyId, c.signature],
      );
      this.lastCoveredAt = Date.now();
      return { ...c, id: Number(ins.rows[0]!.id) };
    } catch (err) {
      const e = err as { code?: string; message?: string };
      this.logger?.error({ db: { code: e.code ?? 'unknown', message: (e.message ?? '').slice(0, 200) } }, 'audit checkpoint failed');
      throw err;
    }
  }
}
