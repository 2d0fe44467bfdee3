import { exportPKCS8, generateKeyPair } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clinicalTime, primaryCode } from '../../server/src/domain/case-summary.ts';
import { CaseImporter } from '../../server/src/fhir/case-importer.ts';
import type { FhirResource } from '../../shared/src/fhir.ts';
import { caseBundle } from '../fixtures/case-bundle.ts';
import { syntheaMargie, type Bundle } from '../fixtures/real-fhir.ts';
import { startLoopbackFhir, type LoopbackFhir } from '../support/fhir-server.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * Case imports run on a worker thread with a heap cap and a time limit of their own
 * (fhir/case-importer.ts), not on the event loop the rooms are served from. This server gives the
 * import worker a small heap (IMPORT_WORKER_HEAP_MB=32; a 2 MB bundle fits in 24 MB): a small
 * bundle imports, a 12 MB one runs the worker out of memory and is refused with IMPORT_TOO_LARGE —
 * run on the event loop, whose heap is far larger, it would import. Nothing of a refused import is
 * stored, and the server carries on.
 */
const CLIENT_ID = 'consilium-import-worker-test';
let server: TestServer;
let fhir: LoopbackFhir;
let token: string;
let big: Bundle;

/** Margie619's record with her Observations repeated (new ids) until its JSON reaches `bytes`. */
function bundleOf(bytes: number): Bundle {
  const b = syntheaMargie();
  const obs = b.entry.filter((e) => e.resource['resourceType'] === 'Observation');
  let size = JSON.stringify(b).length;
  for (let k = 0; size < bytes; k++) {
    b.entry.push({ fullUrl: `urn:uuid:big-${k}`, resource: { ...obs[k % obs.length]!.resource, id: `big-${k}` } });
    size += JSON.stringify(b.entry.at(-1)).length + 1;
  }
  return b;
}

const post = async (path: string, body: BodyInit, headers: Record<string, string> = { 'content-type': 'application/fhir+json' }) => {
  const res = await fetch(new URL(path, server.app.url), { method: 'POST', headers: { authorization: `Bearer ${token}`, ...headers }, body, ...(body instanceof ReadableStream ? { duplex: 'half' } : {}) } as RequestInit);
  return { status: res.status, body: (await res.json()) as { caseId?: string; resources?: number; error?: { code: string; message: string } } };
};
async function sql<T extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: server.db.url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}
const caseCount = async () => Number((await sql<{ n: string }>('SELECT count(*) AS n FROM cases'))[0]!.n);

beforeAll(async () => {
  big = bundleOf(12e6);
  const { privateKey } = await generateKeyPair('RS384', { extractable: true });
  fhir = await startLoopbackFhir({ bundle: big, clientId: CLIENT_ID, pageSize: 100, jwks: async () => (await fetch(`${server.app.url}/.well-known/fhir-client-jwks.json`)).json() });
  server = await startTestServer({}, { IMPORT_WORKER_HEAP_MB: '32', FHIR_BASE_URL: fhir.baseUrl, FHIR_CLIENT_ID: CLIENT_ID, FHIR_PRIVATE_KEY: await exportPKCS8(privateKey), FHIR_POLL_SECONDS: '0' });
  token = (await server.as('root', { admin: true })).api.identityToken!;
});
afterAll(async () => {
  await server?.stop();
  await fhir?.close();
});

describe('the case import runs on its worker thread', () => {
  it('a small bundle imports; the rows carry the codes, clinical times and source ids the importer derives', async () => {
    const bundle = caseBundle({ name: 'Worker Test', mrn: 'MRN-W-1', note: 'n' });
    const res = await post('/api/cases', JSON.stringify(bundle));
    expect(res.status).toBe(201);
    const rows = await sql<{ resource: FhirResource; code: string | null; clinical_at: Date | null; source_id: string | null }>(
      'SELECT resource, code, clinical_at, source_id FROM case_resources WHERE case_id = $1',
      [res.body.caseId],
    );
    expect(rows).toHaveLength(bundle.entry.length);
    expect(rows.length).toBe(res.body.resources);
    const sources = bundle.entry.flatMap((e) => (e.resource['id'] ? [`${String(e.resource['resourceType'])}/${String(e.resource['id'])}`] : []));
    for (const row of rows) {
      expect(row.code).toBe(primaryCode(row.resource));
      expect(row.clinical_at?.getTime() ?? null).toBe(clinicalTime(row.resource));
      if (row.source_id !== null) expect(sources).toContain(row.source_id);
    }
    expect(rows.filter((r) => r.clinical_at !== null).length).toBeGreaterThan(0);
  });

  it('a body sent without a Content-Length (chunked) imports the same way', async () => {
    const text = new TextEncoder().encode(JSON.stringify(caseBundle({ name: 'Chunked Test', mrn: 'MRN-W-2', note: 'n' })));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < text.length; i += 1000) controller.enqueue(text.slice(i, i + 1000));
        controller.close();
      },
    });
    const res = await post('/api/cases', stream);
    expect([res.status, res.body.error]).toEqual([201, undefined]);
  });

  it('a bundle the worker cannot hold is refused with IMPORT_TOO_LARGE, nothing is stored, and the server carries on', async () => {
    const before = await caseCount();
    const res = await post('/api/cases', JSON.stringify(big));
    expect([res.status, res.body.error?.code]).toEqual([413, 'IMPORT_TOO_LARGE']);
    expect(res.body.error?.message).toMatch(/nothing was stored/);
    expect(await caseCount()).toBe(before);
    const after = await post('/api/cases', JSON.stringify(caseBundle({ name: 'After Test', mrn: 'MRN-W-3', note: 'n' })));
    expect(after.status).toBe(201);
  });

  it("a pulled record goes through the same worker: too large for it, the pull is refused and no case is created", async () => {
    const before = await caseCount();
    const patientId = String(big.entry.find((e) => e.resource['resourceType'] === 'Patient')!.resource['id']);
    const res = await post('/api/cases/pull', JSON.stringify({ patientId }), { 'content-type': 'application/json' });
    expect([res.status, res.body.error?.code]).toEqual([413, 'IMPORT_TOO_LARGE']);
    expect(fhir.log.filter((l) => l.path.includes('$everything')).length).toBe(Math.ceil(big.entry.length / 100));
    expect(await caseCount()).toBe(before);
  });
});

describe('CaseImporter', () => {
  const body = () => Buffer.from(JSON.stringify(caseBundle({ name: 'Unit Test', mrn: 'MRN-W-4', note: 'n' })));

  it('moves a body with memory of its own to the worker (no copy; a small pooled Buffer is copied) and answers with the rows as bytes', async () => {
    const importer = new CaseImporter({ heapMb: 256, timeoutMs: 60_000 });
    const pooled = body();
    expect((await importer.run({ kind: 'body', body: pooled })).ok).toBe(true);
    expect(pooled.byteLength).toBeGreaterThan(0);
    const input = Buffer.from(new TextEncoder().encode(pooled.toString('utf8')).buffer);
    const answer = await importer.run({ kind: 'body', body: input });
    expect(input.byteLength).toBe(0);
    if (!answer.ok) throw new Error(answer.reason);
    expect(answer.prepared.count).toBeGreaterThan(1);
    const rows = answer.prepared.chunks.flatMap((c) => JSON.parse(new TextDecoder().decode(c)) as unknown[]);
    expect(rows).toHaveLength(answer.prepared.count);
  });

  it('a worker past its time limit is stopped: IMPORT_TIMEOUT', async () => {
    const importer = new CaseImporter({ heapMb: 256, timeoutMs: 1 });
    await expect(importer.run({ kind: 'body', body: body() })).rejects.toMatchObject({ code: 'IMPORT_TIMEOUT' });
  });

  it('answers bad JSON and invalid bundles, not throws', async () => {
    const importer = new CaseImporter({ heapMb: 256, timeoutMs: 60_000 });
    expect(await importer.run({ kind: 'body', body: Buffer.from('{"resourceType": "Bundle", ') })).toEqual({ ok: false, reason: 'json' });
    const invalid = await importer.run({ kind: 'body', body: Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Observation' } }] })) });
    expect(invalid).toMatchObject({ ok: false, reason: 'invalid', problems: [expect.objectContaining({ path: 'entry' })] });
  });
});
