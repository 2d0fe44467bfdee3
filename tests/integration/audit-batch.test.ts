import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../server/src/audit/audit-log.ts';
import { createLogger } from '../../server/src/logger.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * One audit event that cannot be stored never fails the others written in the
 * same batch (other users' requests), and neither its text nor the database's
 * description of it reaches a log.
 */
const CANARY = 'Phi7731-Jane-Roe-MRN-88412';
const logs: string[] = [];
let server: TestServer;

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  server = await startTestServer({ logger: pino({ level: 'debug' }, sink) });
});
afterAll(async () => {
  await server?.stop();
});

const good = (i: number, tag: string): AuditEvent => ({ actor: `clin.${tag}`, action: 'case.read', details: { i, note: `fine\ttext\nline ${i} 😀` } });

async function settle(events: AuditEvent[]) {
  // All recorded in one tick: they share one batch.
  return Promise.allSettled(events.map((e) => server.app.audit.record(e)));
}

async function rowsOf(actor: string) {
  const { rows } = await server.app.pool.query<{ seq: string; details: { i: number } }>('SELECT seq, details FROM audit_log WHERE actor = $1 ORDER BY seq', [actor]);
  return rows;
}

describe('audit batch isolation', () => {
  it('hostile text in the middle of a burst is refused alone; every good event is committed and chained', async () => {
    const poisons: AuditEvent[] = [
      { actor: 'clin.a', action: 'break-glass.request', details: { reason: `bleeding ${CANARY}\u0000` } },
      { actor: 'clin.a', action: 'break-glass.request', details: { reason: `lone \ud800 ${CANARY}` } },
      { actor: 'clin.a', action: 'break-glass.request', details: { reason: `lone \udc00 ${CANARY}` } },
      { actor: 'clin.a', action: 'break-glass.request', details: { [`k\u0000${CANARY}`]: 1 } },
      { actor: `clin.a\u0007`, action: 'case.read' },
      { actor: 'clin.a', action: 'case.read', roomId: `not-a-uuid-${CANARY}` },
      { actor: 'clin.a', action: 'case.read', details: { big: CANARY.repeat(200_000) } },
      { actor: 'clin.a', action: 'case.read', details: { n: 10n } as unknown as Record<string, unknown> },
    ];
    const events = Array.from({ length: 60 }, (_, i) => good(i, 'a'));
    events.splice(30, 0, ...poisons);
    const results = await settle(events);

    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected).toHaveLength(poisons.length);
    expect(results.slice(30, 30 + poisons.length).every((r) => r.status === 'rejected')).toBe(true);
    for (const r of rejected) {
      const err = (r as PromiseRejectedResult).reason as { code: string; message: string };
      expect(err.code).toBe('AUDIT_EVENT_INVALID');
      expect(err.message).not.toContain(CANARY);
    }
    const rows = await rowsOf('clin.a');
    expect(rows.map((r) => r.details.i)).toEqual(Array.from({ length: 60 }, (_, i) => i));
    const seqs = rows.map((r) => Number(r.seq));
    expect(seqs.at(-1)! - seqs[0]!).toBe(59); // contiguous: nothing skipped in the chain
    expect(await server.app.audit.verify()).toMatchObject({ ok: true });
    const written = logs.join('');
    expect(written).toContain('"problem":"details.reason contains control character U+0000"');
    expect(written).toContain('"problem":"a key in details contains control character U+0000"');
    expect(written).not.toContain(CANARY);
  });

  it('an event the database itself refuses is rolled back alone (savepoint), with only the SQLSTATE logged', async () => {
    // A rule the pre-check does not know: the database is the one refusing.
    const owner = new pg.Client({ connectionString: server.db.url });
    await owner.connect();
    await owner.query(`ALTER TABLE audit_log ADD CONSTRAINT test_no_poison CHECK (details->>'mark' IS DISTINCT FROM 'poison')`);
    try {
      const events = Array.from({ length: 40 }, (_, i) => good(i, 'b'));
      events.splice(20, 0, { actor: 'clin.b', action: 'case.read', details: { mark: 'poison', note: CANARY } });
      events.splice(35, 0, { actor: 'clin.b', action: 'case.read', details: { mark: 'poison', note: CANARY } });
      const logsBefore = logs.length;
      const results = await settle(events);

      expect(results.map((r) => r.status).filter((s) => s === 'rejected')).toHaveLength(2);
      for (const i of [20, 35]) {
        const r = results[i] as PromiseRejectedResult;
        expect(r.status).toBe('rejected');
        expect(r.reason).toMatchObject({ code: 'AUDIT_WRITE_FAILED', message: expect.stringContaining('23514') });
        expect(String(r.reason.message)).not.toContain(CANARY);
        // A clean error: none of the driver's fields that quote the row.
        expect(Object.keys(r.reason)).not.toEqual(expect.arrayContaining(['detail']));
        expect(r.reason.detail).toBeUndefined();
        expect(r.reason.where).toBeUndefined();
      }
      const rows = await rowsOf('clin.b');
      expect(rows.map((r) => r.details.i)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      expect(await server.app.audit.verify()).toMatchObject({ ok: true });

      const written = logs.slice(logsBefore).join('');
      expect(written).toContain('"code":"23514"');
      expect(written).toContain('audit event refused by the database');
      expect(written).not.toContain(CANARY);
      expect(written).not.toContain('Failing row');
      expect(written).not.toContain('poison');
    } finally {
      await owner.query('ALTER TABLE audit_log DROP CONSTRAINT test_no_poison');
      await owner.end();
    }
  });

  it("a poisoned event never fails another user's HTTP request written alongside it", async () => {
    const admin = await server.as('iso.admin', { admin: true });
    const creates = Array.from({ length: 8 }, (_, i) => admin.api.createRoom({ title: `Iso ${i}`, kind: 'training', participants: [{ userId: `u${i}`, role: 'host' }] }));
    const poison = server.app.audit.record({ actor: 'clin.c', action: 'break-glass.request', details: { reason: `${CANARY}\u0000` } });
    const [rooms, bad] = await Promise.all([Promise.allSettled(creates), poison.then(() => 'committed', (e: { code: string }) => e.code)]);
    expect(bad).toBe('AUDIT_EVENT_INVALID');
    expect(rooms.map((r) => r.status)).toEqual(Array(8).fill('fulfilled'));
    const { rows } = await server.app.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE actor = 'iso.admin' AND action = 'room.create'`);
    expect(rows[0]!.n).toBe(8);
    expect(logs.join('')).not.toContain(CANARY);
  });

  it("the server's logger reduces any database error to code and message: no detail, where or quoted value", async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (l: string) => void lines.push(l) });
    const owner = new pg.Client({ connectionString: server.db.url });
    await owner.connect();
    try {
      const errors = await Promise.all([
        owner.query('SELECT $1::jsonb', [`{"reason":"${CANARY}\\u0000"}`]).catch((e: unknown) => e),
        owner.query('SELECT $1::uuid', [CANARY]).catch((e: unknown) => e),
      ]);
      // The driver's errors do quote the value…
      expect(JSON.stringify(errors.map((e) => ({ ...(e as object), message: (e as Error).message })))).toContain(CANARY);
      for (const err of errors) logger.error({ err }, 'query failed');
    } finally {
      await owner.end();
    }
    // …the log does not.
    const out = lines.join('');
    expect(out).toContain('"code":"22P05"');
    expect(out).toContain('"code":"22P02"');
    expect(out).not.toContain(CANARY);
    expect(out).not.toMatch(/"(detail|where|stack|query)"/);
    // Other errors keep their stack.
    logger.error({ err: new Error('plain') }, 'x');
    expect(lines.at(-1)).toContain('"stack"');
  });
});
