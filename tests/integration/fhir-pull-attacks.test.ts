import { exportPKCS8, generateKeyPair } from 'jose';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_RECORD_BYTES } from '../../server/src/fhir/fhir-client.ts';
import { SmartBackendAuth } from '../../server/src/fhir/smart-backend.ts';
import { syntheaCarroll, type Bundle } from '../fixtures/real-fhir.ts';
import { startLoopbackFhir, startRecorder, type LoopbackFhir } from '../support/fhir-server.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/**
 * A hospital FHIR server (or whoever answers at its address) that misbehaves:
 * redirects that would carry the bearer token, the client assertion or a
 * record from elsewhere; pages too large for a case import, with honest,
 * absent or lying Content-Length. Each pull is refused with a stable code,
 * nothing is imported, no credential reaches a redirect target, and the
 * server's memory stays bounded.
 */
const CLIENT_ID = 'consilium-attack-client';
const PATIENT = '274f5452-2a39-44c4-a7cb-f36de467762e';
let fhir: LoopbackFhir;
let recorder: Awaited<ReturnType<typeof startRecorder>>;
let server: TestServer;
let adminToken: string;
let bundle: Bundle;
let privateKeyPem: string;

const pull = async () => {
  const res = await fetch(new URL('/api/cases/pull', server.app.url), { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ patientId: PATIENT }) });
  return { status: res.status, body: (await res.json()) as { error?: { code: string; message: string }; caseId?: string } };
};
const caseCount = async () => {
  const c = new pg.Client({ connectionString: server.db.url });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM cases')).rows[0]!.n);
  } finally {
    await c.end();
  }
};
/** Every credential that left for somewhere other than the FHIR base and its token endpoint. */
const leaked = () => [...recorder.requests, ...fhir.outsideBase].filter((r) => r.authorization !== null || r.body.includes('client_assertion'));

beforeAll(async () => {
  bundle = syntheaCarroll();
  const { privateKey } = await generateKeyPair('RS384', { extractable: true });
  privateKeyPem = await exportPKCS8(privateKey);
  fhir = await startLoopbackFhir({ bundle, clientId: CLIENT_ID, pageSize: 200, jwks: async () => (await fetch(`${server.app.url}/.well-known/fhir-client-jwks.json`)).json() });
  // Another origin holding a record, ready to be imported by a client that follows a redirect there.
  recorder = await startRecorder({ resourceType: 'Bundle', type: 'searchset', entry: bundle.entry.map((e) => ({ fullUrl: e.fullUrl, resource: e.resource })) });
  server = await startTestServer({}, { FHIR_BASE_URL: fhir.baseUrl, FHIR_CLIENT_ID: CLIENT_ID, FHIR_PRIVATE_KEY: privateKeyPem, FHIR_POLL_SECONDS: '0' });
  adminToken = (await server.as('root', { admin: true })).api.identityToken!;
});
afterAll(async () => {
  await server?.stop();
  await fhir?.close();
  await recorder?.close();
});
beforeEach(() => fhir.setHostile(null));

describe('redirects are never followed', () => {
  it('the honest server still works (the attacks below are refused for what they are)', async () => {
    const res = await pull();
    expect(res.status).toBe(201);
    expect(await caseCount()).toBe(1);
  });

  it('a 302 from the FHIR API to another port: refused, nothing imported, the other origin never called', async () => {
    fhir.setHostile({ kind: 'redirect', on: 'api', status: 302, location: `${recorder.url}/fhir/Patient/${PATIENT}/$everything` });
    const before = await caseCount();
    const res = await pull();
    expect(res.status).toBe(502);
    expect(res.body.error?.code).toBe('FHIR_REDIRECT_REFUSED');
    expect(res.body.error?.message).toMatch(/redirect \(302\).*not followed/);
    expect(await caseCount()).toBe(before);
    expect(recorder.requests).toEqual([]);
  });

  it('a 307 to the same origin outside the base path: refused, and the bearer token never goes there', async () => {
    const origin = new URL(fhir.baseUrl).origin;
    for (const status of [307, 308, 301] as const) {
      fhir.setHostile({ kind: 'redirect', on: 'api', status, location: `${origin}/elsewhere/Patient/${PATIENT}/$everything` });
      const before = await caseCount();
      const res = await pull();
      expect(res.body.error?.code, String(status)).toBe('FHIR_REDIRECT_REFUSED');
      expect(await caseCount()).toBe(before);
    }
    expect(fhir.outsideBase).toEqual([]);
    expect(leaked()).toEqual([]);
  });

  it('the token endpoint and the SMART configuration cannot redirect the signed assertion elsewhere', async () => {
    const auth = (tokenUrl: string | null) => new SmartBackendAuth({ baseUrl: fhir.baseUrl, clientId: CLIENT_ID, privateKey: privateKeyPem, keyId: null, tokenUrl, scopes: 'system/*.rs' });
    fhir.setHostile({ kind: 'redirect', on: 'token', status: 307, location: `${recorder.url}/token` });
    await expect(auth(fhir.tokenUrl).accessToken()).rejects.toMatchObject({ code: 'FHIR_REDIRECT_REFUSED', message: expect.stringMatching(/token endpoint answered with a redirect \(307\)/) });
    fhir.setHostile({ kind: 'redirect', on: 'token', status: 307, location: `${new URL(fhir.baseUrl).origin}/elsewhere/token` });
    await expect(auth(null).accessToken()).rejects.toMatchObject({ code: 'FHIR_REDIRECT_REFUSED' });
    fhir.setHostile({ kind: 'redirect', on: 'smart-configuration', status: 302, location: `${recorder.url}/.well-known/smart-configuration` });
    await expect(auth(null).accessToken()).rejects.toMatchObject({ code: 'FHIR_REDIRECT_REFUSED', message: expect.stringMatching(/SMART configuration answered with a redirect/) });
    expect(recorder.requests).toEqual([]);
    expect(leaked()).toEqual([]);
  });
});

describe('a pulled record is bounded like an import', () => {
  const MB = 1024 * 1024;

  /** Run one attack and report the largest growth of this process's RSS (the server runs in it) while it lasted. */
  async function attack(length: 'honest' | 'absent' | 'lying', pages: number, pageBytes: number) {
    fhir.setHostile({ kind: 'huge', pages, pageBytes, length });
    const sentBefore = fhir.hugeBytesSent();
    const before = await caseCount();
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
    try {
      const res = await pull();
      peak = Math.max(peak, process.memoryUsage.rss());
      return { res, growthMb: (peak - baseline) / MB, sentMb: (fhir.hugeBytesSent() - sentBefore) / MB, imported: (await caseCount()) - before };
    } finally {
      clearInterval(sampler);
    }
  }

  // A 30 MB page fits the limit, so a server must hold one (bytes, text, parsed: about three times its size).
  // The first one a process reads also grows V8's heap for good (measured: 130–185 MB, once). The bound
  // below is what an attack adds on top of a server that has read one large legitimate page before.
  beforeAll(async () => {
    const { res, growthMb } = await attack('absent', 1, 30 * MB);
    console.info(`one 30 MB page (within the limit) in a fresh process: RSS growth ${growthMb.toFixed(0)} MB`);
    expect(res.body.error?.code).toBe('FHIR_SERVER_ERROR'); // read in full, then not importable (it has no Patient)
  });

  it('four 30 MB pages, chunked (no Content-Length): reading stops at the import limit, memory stays bounded', async () => {
    const { res, growthMb, sentMb, imported } = await attack('absent', 4, 30 * MB);
    console.info(`4 × 30 MB chunked pages: RSS growth ${growthMb.toFixed(0)} MB, ${sentMb.toFixed(0)} MB sent by the server`);
    expect(res.status).toBe(502);
    expect(res.body.error?.code).toBe('FHIR_RECORD_TOO_LARGE');
    expect(res.body.error?.message).toMatch(/32 MiB/);
    expect(imported).toBe(0);
    // The first page (30 MB) fits; the second is abandoned 2 MB in (plus what was in flight on the socket).
    expect(sentMb).toBeLessThan(45);
    expect(growthMb).toBeLessThan(100);
  });

  it('four 30 MB pages with an honest Content-Length: the second page is refused before it is read', async () => {
    const { res, growthMb, sentMb, imported } = await attack('honest', 4, 30 * MB);
    console.info(`4 × 30 MB pages with Content-Length: RSS growth ${growthMb.toFixed(0)} MB, ${sentMb.toFixed(0)} MB sent by the server`);
    expect(res.body.error?.code).toBe('FHIR_RECORD_TOO_LARGE');
    expect(imported).toBe(0);
    expect(sentMb).toBeLessThan(45);
    expect(growthMb).toBeLessThan(100);
  });

  it('one page larger than the whole limit, chunked: refused while reading', async () => {
    const { res, sentMb, imported } = await attack('absent', 1, MAX_RECORD_BYTES + 8 * MB);
    expect(res.body.error?.code).toBe('FHIR_RECORD_TOO_LARGE');
    expect(imported).toBe(0);
    expect(sentMb).toBeLessThan(45);
  });

  it('a Content-Length that lies (claims a small page, sends 60 MB): only the declared bytes are read, and that is not FHIR', async () => {
    const { res, growthMb, imported } = await attack('lying', 1, 60 * MB);
    console.info(`lying Content-Length, 60 MB sent: RSS growth ${growthMb.toFixed(0)} MB`);
    expect(res.status).toBe(502);
    expect(res.body.error?.code).toBe('FHIR_SERVER_ERROR');
    expect(imported).toBe(0);
    expect(growthMb).toBeLessThan(100);
  });

  it('after the attacks the honest record still pulls', async () => {
    expect((await pull()).status).toBe(201);
  });
});
