import type { VerifyProblem, VerifyResult } from '../../../shared/src/http.ts';
import type { Pool } from '../db/pool.ts';
import { fromDb, type DbRow } from './rows.ts';
import { GENESIS_HASH, rowHash } from './canonical.ts';
import { checkpointProblem, listCheckpoints, type Checkpoint, type CheckpointPublicKey } from './checkpoints.ts';

/** The verification report is an API response: declared in shared/ (the console and CLI read it). */
export type { VerifyProblem, VerifyResult };

/**
 * Walk the whole chain: each row must link to the previous one and match its
 * own hash; and the chain must agree with every checkpoint signed by a trusted
 * key — the row at the checkpoint's size has the checkpoint's hash, and no
 * fewer rows exist than it covers. A checkpoint not signed by a trusted key is
 * itself reported: only someone with write access to the table could have put it there.
 */
export async function verifyAuditTrail(pool: Pool, opts: { trustedKeys: CheckpointPublicKey[]; extraCheckpoints?: Checkpoint[] }): Promise<VerifyResult> {
  const problems: VerifyProblem[] = [];
  const checked = opts.trustedKeys.length > 0;
  const anchors = new Map<number, Checkpoint[]>();
  let newest: Checkpoint | null = null;
  if (checked) {
    for (const c of [...(await listCheckpoints(pool)), ...(opts.extraCheckpoints ?? [])]) {
      const why = checkpointProblem(c, opts.trustedKeys);
      if (why) {
        problems.push({ seq: c.treeSize, reason: `checkpoint ${c.id === null ? '(supplied)' : `#${c.id}`} ${why}: it is not trusted` });
        continue;
      }
      anchors.set(c.treeSize, [...(anchors.get(c.treeSize) ?? []), c]);
      if (!newest || c.treeSize > newest.treeSize || (c.treeSize === newest.treeSize && c.signedAt > newest.signedAt)) newest = c;
    }
  }

  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  let lastAnchored = 0;
  const pageSize = 2000;
  walk: for (;;) {
    const { rows } = await pool.query<DbRow>('SELECT * FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2', [expectedSeq, pageSize]);
    for (const db of rows) {
      const row = fromDb(db);
      const broken = (reason: string) => problems.push({ seq: row.seq === expectedSeq ? row.seq : expectedSeq, reason });
      if (row.seq !== expectedSeq) {
        broken(`row ${expectedSeq} is missing`);
        break walk;
      }
      if (row.prevHash !== prevHash) {
        broken('does not link to the previous row');
        break walk;
      }
      if (rowHash(row) !== row.hash) {
        broken('contents do not match the row hash');
        break walk;
      }
      const cps = anchors.get(row.seq);
      const differs = cps?.find((c) => c.rootHash !== row.hash);
      if (differs) {
        broken(
          `hash differs from signed checkpoint #${differs.id ?? '(supplied)'} (${differs.treeSize} rows, signed ${differs.signedAt}): ` +
            `rows ${lastAnchored + 1}–${row.seq} were rewritten after it was signed`,
        );
        break walk;
      }
      if (cps) lastAnchored = row.seq;
      prevHash = row.hash;
      expectedSeq++;
      count++;
    }
    if (rows.length < pageSize) {
      if (newest && count < newest.treeSize) {
        problems.push({
          seq: count + 1,
          reason: `row ${count + 1} is missing: signed checkpoint #${newest.id ?? '(supplied)'} (signed ${newest.signedAt}) covers ${newest.treeSize} rows, the table has ${count} — the trail was truncated`,
        });
      }
      break;
    }
  }

  problems.sort((a, b) => a.seq - b.seq);
  return {
    ok: problems.length === 0,
    rows: count,
    lastHash: prevHash,
    checkpoint: newest,
    checkpointsChecked: checked,
    ...(problems[0] ? { firstBroken: problems[0] } : {}),
    problems,
  };
}
