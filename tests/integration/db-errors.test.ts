import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { caseBundle, IDENTIFIERS } from '../fixtures/case-bundle.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { capturedLogger } from '../support/log-capture.ts';

/**
 * Database errors reach neither the client nor the log with patient data.
 * Three real PostgreSQL failure paths, set up as traps on the import table of
 * this test's own database, each carrying the canary patient somewhere in the
 * error: the message (a quoted value), `detail` (the failing row) and `where`
 * (the JSON context of a jsonb parse — the exact leak seen in production).
 */
const CANARY = 'Zebulon-Quibble-Canary';
const { logger, lines } = capturedLogger('info');

let server: TestServer;
let admin: ConsiliumClient;
let db: pg.Client;

beforeAll(async () => {
  // A plain pino logger, as any embedder might inject: the app must protect it itself.
  server = await startTestServer({ logger });
  admin = await server.as('dbe.admin', { admin: true });
  db = new pg.Client({ connectionString: server.db.url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await server?.stop();
});

const TRAPS: Record<string, { install: string; remove: string; sqlstate: string; dbText: RegExp }> = {
  'quoted value in the message': {
    install: `CREATE FUNCTION trap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM (NEW.resource->'name'->0->>'family')::int; RETURN NEW; END $$;
              CREATE TRIGGER trap BEFORE INSERT ON case_resources FOR EACH ROW WHEN (NEW.resource_type = 'Patient') EXECUTE FUNCTION trap();`,
    remove: 'DROP TRIGGER trap ON case_resources; DROP FUNCTION trap();',
    sqlstate: '22P02',
    dbText: /invalid input syntax/,
  },
  'failing row in detail': {
    install: `ALTER TABLE case_resources ADD CONSTRAINT trap CHECK (resource->'name'->0->>'family' NOT LIKE '%Canary%')`,
    remove: 'ALTER TABLE case_resources DROP CONSTRAINT trap',
    sqlstate: '23514',
    dbText: /violates check constraint|Failing row/,
  },
  'JSON context in where': {
    install: `CREATE FUNCTION trap() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM replace(NEW.resource::text, 'Canary', '\\u0000Canary')::jsonb; RETURN NEW; END $$;
              CREATE TRIGGER trap BEFORE INSERT ON case_resources FOR EACH ROW WHEN (NEW.resource_type = 'Patient') EXECUTE FUNCTION trap();`,
    remove: 'DROP TRIGGER trap ON case_resources; DROP FUNCTION trap();',
    sqlstate: '22P05',
    dbText: /Unicode|JSON data/,
  },
};

describe('database errors', () => {
  for (const [name, trap] of Object.entries(TRAPS)) {
    it(`${name}: the client gets INTERNAL with a request id, the log the SQLSTATE and that id, and nobody the patient`, async () => {
      await db.query(trap.install);
      try {
        const before = lines.length;
        const res = await fetch(`${server.app.url}/api/cases`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json', authorization: `Bearer ${admin.api.identityToken}` },
          body: JSON.stringify(caseBundle({ name: CANARY, mrn: 'MRN-DBE-1', note: 'db error path' })),
        });
        const text = await res.text();
        expect(res.status).toBe(500);
        const body = JSON.parse(text) as { error: { code: string; requestId: string } };
        expect(body.error).toEqual({ code: 'INTERNAL', message: 'Internal error', requestId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
        expect(res.headers.get('x-request-id')).toBe(body.error.requestId);
        for (const leak of [CANARY, IDENTIFIERS.birthDate, 'case_resources']) expect(text).not.toContain(leak);
        expect(text).not.toMatch(trap.dbText);

        const logged = lines.slice(before);
        const line = logged.map((l) => JSON.parse(l) as { requestId?: string; err?: { type?: string; code?: string; message?: string } }).find((l) => l.requestId === body.error.requestId);
        expect(line?.err).toMatchObject({ type: 'DatabaseError', code: trap.sqlstate });
        expect(typeof line?.err?.message).toBe('string');
        const log = logged.join('\n');
        for (const leak of [CANARY, 'Canary', IDENTIFIERS.birthDate, IDENTIFIERS.street, 'MRN-DBE-1', 'Failing row', 'JSON data', 'INSERT INTO']) expect(log, leak).not.toContain(leak);
        expect(log).not.toMatch(/"(detail|where|internalQuery|parameters|query)"/);
      } finally {
        await db.query(trap.remove);
      }
    });
  }

  it('the same import succeeds once the trap is gone (nothing was half-written)', async () => {
    const ok = await admin.api.importCase(caseBundle({ name: CANARY, mrn: 'MRN-DBE-1', note: 'db error path' }));
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM cases');
    expect(Number(rows[0]!.n)).toBe(1);
    expect(ok.caseId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
