import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportPKCS8, generateKeyPair, SignJWT } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { FhirClient, FhirServerError } from '../../server/src/fhir/fhir-client.ts';
import { SmartAuthError, SmartBackendAuth } from '../../server/src/fhir/smart-backend.ts';
import type { CaseImportResponse } from '../../shared/src/index.ts';
import { syntheaCarroll, type Bundle } from '../fixtures/real-fhir.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startLoopbackFhir, type LoopbackFhir } from '../support/fhir-server.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

captureFrames();

/** Everything the server logs (debug and up), to check no patient data ever reaches it. */
const logLines: string[] = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

const CLIENT_ID = 'consilium-test-client';
const PATIENT = '274f5452-2a39-44c4-a7cb-f36de467762e'; // Carroll471's id on the (loopback) hospital server
let fhir: LoopbackFhir;
let server: TestServer;
let admin: ConsiliumClient;
let bundle: Bundle;
let privateKeyPem: string;

const post = async (path: string, body?: unknown) => {
  const res = await fetch(new URL(path, server.app.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${admin.api.identityToken}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string } } };
};
const newObservation = (value: number) => ({
  resourceType: 'Observation',
  id: `new-hr-${randomUUID()}`,
  status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
  subject: { reference: `Patient/${PATIENT}` },
  effectiveDateTime: new Date().toISOString(),
  valueQuantity: { value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
  performer: [{ display: 'Nurse Zqxpoller' }],
});

beforeAll(async () => {
  bundle = syntheaCarroll();
  const { privateKey } = await generateKeyPair('RS384', { extractable: true });
  privateKeyPem = await exportPKCS8(privateKey);
  // The hospital registered Consilium's JWKS URL for this client.
  fhir = await startLoopbackFhir({ bundle, clientId: CLIENT_ID, pageSize: 40, allowedScopes: ['system/*.rs', 'system/Observation.rs'], jwks: async () => (await fetch(`${server.app.url}/.well-known/fhir-client-jwks.json`)).json() });
  server = await startTestServer({ logger }, { FHIR_BASE_URL: fhir.baseUrl, FHIR_CLIENT_ID: CLIENT_ID, FHIR_PRIVATE_KEY: privateKeyPem, FHIR_POLL_SECONDS: '1' });
  admin = await server.as('root', { admin: true });
});
afterAll(async () => {
  await server?.stop();
  await fhir?.close();
  // Nothing the hospital server sent about the patient reached the log.
  expect(logLines.length).toBeGreaterThan(0);
  for (const canary of ['Carroll471', "O'Hara248", '999-84-6370', 'S99916528', '555-889-9870', PATIENT]) expect(logLines.join('\n')).not.toContain(canary);
});

describe('pulling a case from the hospital FHIR server (SMART Backend Services)', () => {
  let pulled: CaseImportResponse;

  it('pulls Patient/$everything page by page and imports it whole, with the import report', async () => {
    const res = await post('/api/cases/pull', { patientId: PATIENT });
    expect(res.status).toBe(201);
    pulled = res.body as unknown as CaseImportResponse;
    const expected: Record<string, number> = {};
    for (const e of bundle.entry) expected[String(e.resource['resourceType'])] = (expected[String(e.resource['resourceType'])] ?? 0) + 1;
    expect(pulled.stored).toEqual(expected);
    expect(pulled.refused).toEqual([]);
    const pages = fhir.log.filter((l) => l.path.includes('$everything'));
    expect(pages).toHaveLength(Math.ceil(bundle.entry.length / 40));
    expect(pages.every((p) => p.status === 200)).toBe(true);
    expect(fhir.tokensIssued()).toBeGreaterThanOrEqual(1);
    const audit = await admin.api.audit({ patient: pulled.patientId });
    expect(audit.events.find((e) => e.action === 'case.import')?.details).toMatchObject({ source: 'fhir-server', counts: expected });
  });

  it('finds the patient by identifier search; unknown identifiers and bad bodies get stable codes', async () => {
    const byIdentifier = await post('/api/cases/pull', { identifier: `http://hospital.smarthealthit.org|${PATIENT}` });
    expect(byIdentifier.status).toBe(201);
    expect((byIdentifier.body as unknown as CaseImportResponse).resources).toBe(bundle.entry.length);
    expect((await post('/api/cases/pull', { identifier: 'http://hospital.smarthealthit.org|nobody' })).body.error?.code).toBe('FHIR_PATIENT_NOT_FOUND');
    expect((await post('/api/cases/pull', { patientId: 'no-such-patient' })).body.error?.code).toBe('FHIR_PATIENT_NOT_FOUND');
    for (const body of [{}, { patientId: '../x' }, { identifier: 'a\u0000b' }, { patientId: PATIENT, identifier: 'x' }, { identifier: 'a|b|c' }]) {
      expect((await post('/api/cases/pull', body)).body.error?.code, JSON.stringify(body)).toBe('BODY_INVALID');
    }
    const user = await server.as('not-admin');
    const res = await fetch(new URL('/api/cases/pull', server.app.url), { method: 'POST', headers: { authorization: `Bearer ${user.api.identityToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ patientId: PATIENT }) });
    expect(res.status).toBe(403);
  });

  it('new Observations on the server reach the live room by polling, de-identified for the observer', async () => {
    const room = await admin.api.createRoom({ title: 'Pulled', kind: 'case-conference', caseId: pulled.caseId, participants: [{ userId: 'p-cli', role: 'clinician' }, { userId: 'p-obs', role: 'observer' }] });
    const cli = await server.join('p-cli', room.id);
    const obs = await server.join('p-obs', room.id);
    // The room carries the case summary (latest and recent values per code); wait until both views hold the same.
    await eventually(() => cli.caseResources('Observation').length > 0 && obs.caseResources('Observation').length === cli.caseResources('Observation').length, 5000);
    const before = cli.caseResources('Observation').length;
    expect(before).toBeLessThanOrEqual(pulled.stored['Observation']!);
    fhir.addObservation(newObservation(131));
    await eventually(() => cli.caseResources('Observation').some((o) => (o['valueQuantity'] as { value?: number } | undefined)?.value === 131), 5000, 50);
    await eventually(() => obs.caseResources('Observation').length === before + 1, 2000);
    const live = obs.caseResources('Observation').find((o) => (o['valueQuantity'] as { value?: number } | undefined)?.value === 131)!;
    expect(live['effectiveDateTime']).toBe(String(new Date().getUTCFullYear()));
    expect(receivedBytes(obs).includes(Buffer.from('Zqxpoller'))).toBe(false);
    expect(receivedBytes(cli).includes(Buffer.from('Zqxpoller'))).toBe(true);
    // Polled again and again: never duplicated.
    await new Promise((r) => setTimeout(r, 2500));
    expect(cli.caseResources('Observation').filter((o) => (o['valueQuantity'] as { value?: number } | undefined)?.value === 131)).toHaveLength(1);
    await Promise.all([cli.leave(), obs.leave()]);
  });

  it('refresh adds what is new and leaves the rest; a case that was not pulled cannot be refreshed', async () => {
    fhir.addObservation(newObservation(77));
    const res = await post(`/api/cases/${pulled.caseId}/refresh`);
    expect(res.status).toBe(200);
    const report = res.body as { added: Record<string, number>; unchanged: number };
    // The poller may have taken it first: either way it is stored exactly once.
    expect((report.added['Observation'] ?? 0) <= 1).toBe(true);
    expect(report.unchanged).toBeGreaterThanOrEqual(bundle.entry.length - 1);
    const reader = await server.as('p-reader', { scopes: ['patient/Observation.rs'] });
    const readRoom = await admin.api.createRoom({ title: 'Read', kind: 'case-conference', caseId: pulled.caseId, participants: [{ userId: 'p-reader', role: 'clinician' }] });
    const view = await reader.api.getCase(pulled.caseId, readRoom.id);
    expect(view.resources.filter((o) => (o['valueQuantity'] as { value?: number } | undefined)?.value === 77)).toHaveLength(1);
    const imported = await admin.api.importCase(syntheaCarroll());
    expect((await post(`/api/cases/${imported.caseId}/refresh`)).body.error?.code).toBe('CASE_NOT_PULLED');
  });

  it('publishes only the public key for the hospital to register', async () => {
    const jwks = (await (await fetch(`${server.app.url}/.well-known/fhir-client-jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS384', use: 'sig', kid: expect.any(String) });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    expect(jwks.keys[0]).not.toHaveProperty('p');
  });
});

describe('the loopback server enforces the backend-services token', () => {
  const assertion = async (claims: { aud?: string; exp?: number; jti?: string; iss?: string }, key?: CryptoKey) => {
    const { importPKCS8 } = await import('jose');
    const signer = key ?? (await importPKCS8(privateKeyPem, 'RS384'));
    const jwks = (await (await fetch(`${server.app.url}/.well-known/fhir-client-jwks.json`)).json()) as { keys: { kid: string }[] };
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ jti: claims.jti ?? randomUUID() })
      .setProtectedHeader({ alg: 'RS384', kid: jwks.keys[0]!.kid })
      .setIssuer(claims.iss ?? CLIENT_ID)
      .setSubject(claims.iss ?? CLIENT_ID)
      .setAudience(claims.aud ?? fhir.tokenUrl)
      .setExpirationTime(claims.exp ?? now + 120)
      .sign(signer);
  };
  const tokenRequest = async (client_assertion: string, scope = 'system/*.rs') =>
    (await fetch(fhir.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', scope, client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion }) })).status;

  it('refuses a wrong signer, a wrong audience, a long-lived or expired assertion, a replayed jti and a scope beyond the grant', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await tokenRequest(await assertion({}))).toBe(200);
    const { privateKey: other } = await generateKeyPair('RS384');
    expect(await tokenRequest(await assertion({}, other))).toBe(401);
    expect(await tokenRequest(await assertion({ aud: `${fhir.baseUrl}/token` }))).toBe(401);
    expect(await tokenRequest(await assertion({ exp: now + 3600 }))).toBe(401);
    expect(await tokenRequest(await assertion({ exp: now - 60 }))).toBe(401);
    expect(await tokenRequest(await assertion({ iss: 'someone-else' }))).toBe(401);
    const jti = randomUUID();
    expect(await tokenRequest(await assertion({ jti }))).toBe(200);
    expect(await tokenRequest(await assertion({ jti }))).toBe(401);
    expect(await tokenRequest(await assertion({}), 'system/*.cruds')).toBe(400);
    expect(fhir.refusals.filter((r) => r.startsWith('token:')).length).toBeGreaterThanOrEqual(7);
  });

  it("Consilium's client: a key the hospital does not know gets no token; a narrower scope cannot run $everything; API calls need a valid token", async () => {
    const { privateKey: unknownKey } = await generateKeyPair('RS384', { extractable: true });
    const stranger = new SmartBackendAuth({ baseUrl: fhir.baseUrl, clientId: CLIENT_ID, privateKey: await exportPKCS8(unknownKey), keyId: 'not-registered', tokenUrl: null, scopes: 'system/*.rs' });
    await expect(stranger.accessToken()).rejects.toBeInstanceOf(SmartAuthError);
    const narrow = new FhirClient(fhir.baseUrl, new SmartBackendAuth({ baseUrl: fhir.baseUrl, clientId: CLIENT_ID, privateKey: privateKeyPem, keyId: null, tokenUrl: fhir.tokenUrl, scopes: 'system/Observation.rs' }));
    await expect(narrow.everything(PATIENT)).rejects.toMatchObject({ status: 403 });
    await expect(narrow.observationsSince(PATIENT, new Date(0))).resolves.toMatchObject({ pages: 1 });
    const anonymous = new FhirClient(fhir.baseUrl, null);
    const err = await anonymous.everything(PATIENT).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FhirServerError);
    expect((err as FhirServerError).status).toBe(401);
  });
});

describe('a hostile or broken FHIR server', () => {
  it('cannot send the client elsewhere with a paging link, nor feed it something that is not FHIR JSON', async () => {
    let hits = 0;
    const evil = http.createServer((req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/fhir+json' });
      if (req.url?.includes('html')) res.end('<html>login</html>');
      else if (req.url?.includes('loop')) res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: req.url }], entry: [] }));
      else res.end(JSON.stringify({ resourceType: 'Bundle', type: 'searchset', link: [{ relation: 'next', url: 'http://169.254.169.254/latest/meta-data' }], entry: [] }));
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(evil.address() as AddressInfo).port}/fhir`;
    const client = new FhirClient(base, null);
    await expect(client.everything('x')).rejects.toThrow(/leaves the FHIR base URL/);
    await expect(client.search('html')).rejects.toThrow(/not FHIR JSON/);
    hits = 0;
    await expect(client.search('loop')).rejects.toThrow(/more than 500 pages/);
    expect(hits).toBe(500);
    await new Promise<void>((r) => evil.close(() => r()));
  });
});
