import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ConsiliumClient } from '../../client/src/sdk/index.ts';
import { OPERATIONS } from '../../server/src/http/openapi.ts';
import { sendJson, VALIDATE_RESPONSES } from '../../server/src/http/respond.ts';
import { API_EMPTY_ROUTES, ApiResponseSchemas, type ApiRoute } from '../../shared/src/http.ts';
import { caseBundle, liveObservation } from '../fixtures/case-bundle.ts';
import { syntheaCarroll } from '../fixtures/real-fhir.ts';
import { startLoopbackFhir, type LoopbackFhir } from '../support/fhir-server.ts';
import { LiveKitStandIn } from '../support/livekit-standin.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { zip } from '../support/zip-writer.ts';

/**
 * The published contract (GET /api/openapi.json) against the running app: every route the
 * Express app registers is described, and real answers match the described schemas.
 */
const KEY = 'APIopenapi';
const SECRET = 'test-secret-that-is-long-enough-for-hs256';
const METRICS_TOKEN = 'metrics-token-0123456789';
const CLIENT_ID = 'consilium-openapi-test';
const lk = new LiveKitStandIn(KEY, SECRET);
let fhir: LoopbackFhir;
let server: TestServer;
let admin: ConsiliumClient;
let spec: { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema?: unknown }> }>; requestBody?: unknown; parameters: { name: string; in: string }[] }>> };

let egressStorage: string;

beforeAll(async () => {
  // The egress's storage, shared with the server (RECORDING_AUDIO_DIR): recordings' voice lands there.
  egressStorage = await mkdtemp(path.join(os.tmpdir(), 'consilium-openapi-egress-'));
  lk.egressOutputDir = egressStorage;
  lk.egressAudio = Uint8Array.of(0x4f, 0x67, 0x67, 0x53); // "OggS": the route serves the bytes; nothing here decodes them
  await lk.start();
  const { privateKey } = await generateKeyPair('RS384', { extractable: true });
  fhir = await startLoopbackFhir({ bundle: syntheaCarroll(), clientId: CLIENT_ID, jwks: async () => (await fetch(`${server.app.url}/.well-known/fhir-client-jwks.json`)).json() });
  // Every optional part on, so every route that can exist is registered.
  server = await startTestServer({}, {
    METRICS_TOKEN,
    LIVEKIT_URL: lk.url.replace(/^http/, 'ws'),
    LIVEKIT_API_URL: lk.url,
    LIVEKIT_API_KEY: KEY,
    LIVEKIT_API_SECRET: SECRET,
    FHIR_BASE_URL: fhir.baseUrl,
    FHIR_CLIENT_ID: CLIENT_ID,
    FHIR_PRIVATE_KEY: await exportPKCS8(privateKey),
    FHIR_POLL_SECONDS: '0',
    RECORDING_AUDIO_DIR: path.join(egressStorage, 'consilium'),
  });
  admin = await server.as('it.admin', { admin: true, name: 'IT Admin', scopes: ['patient/*.rs'] });
  spec = (await (await fetch(`${server.app.url}/api/openapi.json`)).json()) as typeof spec;
});
afterAll(async () => {
  await server?.stop();
  await fhir?.close();
  await lk.stop();
  if (egressStorage) await rm(egressStorage, { recursive: true, force: true });
});

/** `METHOD /path` of every route on the Express app (routers are mounted at the root). */
function registeredRoutes(app: express.Express): string[] {
  type Layer = { route?: { path: string | string[]; methods: Record<string, boolean> }; handle?: { stack?: Layer[] }; slash?: boolean };
  const out: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const path of [layer.route.path].flat()) for (const m of Object.keys(layer.route.methods)) out.push(`${m.toUpperCase()} ${path}`);
      } else if (layer.handle?.stack) {
        // A router mounted below the root would need its prefix added: fail loudly rather than mis-name its routes.
        expect(layer.slash, 'routers are mounted at the root').toBe(true);
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return out;
}

const specPath = (route: string) => {
  const [method, path] = route.split(' ') as [string, string];
  return spec.paths[path.replace(/:([A-Za-z]+)/g, '{$1}')]?.[method.toLowerCase()];
};

describe('the OpenAPI description', () => {
  it('describes every route the app registers', () => {
    const routes = registeredRoutes(server.app.web);
    expect(routes.length).toBeGreaterThan(35);
    const missing = routes.filter((r) => !specPath(r));
    expect(missing).toEqual([]);
    // And the other way round: every described /api route exists on a fully configured server.
    const unregistered = Object.keys(OPERATIONS).filter((k) => k.includes(' /api/') && !routes.includes(k));
    expect(unregistered).toEqual(['POST /api/dev/login'].filter((k) => !routes.includes(k)));
  });

  it('is OpenAPI 3.1 whose response schemas are the zod schemas the server checks, and whose bodies are the request schemas', () => {
    expect(spec.openapi).toBe('3.1.0');
    for (const [route, schema] of Object.entries(ApiResponseSchemas)) {
      const op = specPath(route)!;
      const ok = Object.entries(op.responses).find(([status]) => status.startsWith('2'))!;
      expect(ok[1].content?.['application/json']?.schema, route).toEqual(JSON.parse(JSON.stringify(stripSchema(z.toJSONSchema(schema, { io: 'output', unrepresentable: 'any' })))));
    }
    for (const route of API_EMPTY_ROUTES) expect(Object.keys(specPath(route)!.responses)).toContain('204');
    expect(specPath('POST /api/rooms')!.requestBody).toBeTruthy();
    expect(specPath('GET /api/cases/:id/resources')!.parameters.map((p) => p.name)).toEqual(expect.arrayContaining(['id', 'type', 'before', 'limit', 'offset', 'room']));
    // The read of several types documents its body: the type list (each a FHIR R4 type, at most 20) and the per-type page.
    const readBody = (specPath('POST /api/cases/:id/resources/query')!.requestBody as { content: Record<string, { schema: { properties: Record<string, { maxItems?: number; uniqueItems?: boolean; items?: { enum?: string[] } }>; required: string[] } }> }).content['application/json']!.schema;
    expect(readBody.required).toEqual(['types']);
    expect(readBody.properties['types']).toMatchObject({ maxItems: 20, uniqueItems: true, items: { enum: expect.arrayContaining(['Observation', 'Claim']) } });
    expect(Object.keys(readBody.properties).sort()).toEqual(['limit', 'offset', 'room', 'types']);
  });

  it('has a readable page that loads nothing from elsewhere', async () => {
    const res = await fetch(`${server.app.url}/api/docs`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toContain('/api/rooms/{id}/tickets');
    expect(html).not.toMatch(/<script|https?:\/\/(?!127\.0\.0\.1|localhost)[a-z]/i);
  });
});

describe('real answers match the description', () => {
  const seen = new Set<string>();
  /** Call a JSON route and check its answer against the schema the description publishes. */
  async function call<R extends ApiRoute>(route: R, init: { params?: Record<string, string>; body?: unknown; query?: Record<string, string>; as?: ConsiliumClient; status?: number } = {}) {
    const [method, template] = route.split(' ') as [string, string];
    const url = new URL(template.replace(/:(\w+)/g, (_m, n: string) => encodeURIComponent(init.params?.[n] ?? '')), server.app.url);
    for (const [k, v] of Object.entries(init.query ?? {})) url.searchParams.set(k, v);
    const token = (init.as ?? admin).api.identityToken;
    const res = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) }, ...(init.body ? { body: JSON.stringify(init.body) } : {}) });
    const json: unknown = await res.json();
    expect(res.status, `${route}: ${JSON.stringify(json).slice(0, 300)}`).toBe(init.status ?? 200);
    const checked = ApiResponseSchemas[route].safeParse(json);
    expect(checked.success ? [] : checked.error.issues, route).toEqual([]);
    seen.add(route);
    return json as z.infer<(typeof ApiResponseSchemas)[R]>;
  }

  it('for every JSON route (answers are also checked by the server itself outside production)', async () => {
    await call('GET /api/auth/config');
    await call('GET /api/client-config');
    const imported = await call('POST /api/cases', { body: caseBundle({ name: 'Zqxname', mrn: 'MRN-OPENAPI', note: 'Zqxnote' }), status: 201 });
    const pulled = await call('POST /api/cases/pull', { body: { patientId: '274f5452-2a39-44c4-a7cb-f36de467762e' }, status: 201 });
    await call('POST /api/cases/:id/refresh', { params: { id: pulled.caseId } });
    const room = await call('POST /api/rooms', { body: { title: 'Contract', kind: 'case-conference', caseId: imported.caseId, participants: [{ userId: 'dr.a', role: 'host' }, { userId: 'dr.b', role: 'clinician' }, { userId: 'dr.d', role: 'clinician' }] }, status: 201 });
    await call('GET /api/rooms');
    await call('GET /api/rooms/:id', { params: { id: room.id } });
    await call('PATCH /api/rooms/:id', { params: { id: room.id }, body: { title: 'Contract 2', recordingAllowed: true } });
    await call('PUT /api/rooms/:id/participants/:userId', { params: { id: room.id, userId: 'dr.c' }, body: { role: 'observer' } });
    const host = await server.as('dr.a', { scopes: ['patient/*.rs'] });
    await call('POST /api/rooms/:id/tickets', { params: { id: room.id }, as: host, status: 201 });
    const session = await host.join(room.id);
    await session.ready();
    const live = await call('GET /api/rooms/:id/live', { params: { id: room.id }, as: host });
    expect(live.live).toBe(true);
    const clinician = await server.join('dr.d', room.id);
    const asked = (await clinician.breakGlass(['MedicationStatement'], 'Need the medication list for planning')) as { ok: boolean; requestId: string };
    expect(asked.ok).toBe(true);
    await call('POST /api/rooms/:id/access-requests/:requestId', { params: { id: room.id, requestId: asked.requestId }, body: { decision: 'deny' } });
    await clinician.leave();
    // A short recording, then the library routes.
    const recording = await session.do('recording.start', {});
    await new Promise((r) => setTimeout(r, 300));
    await session.do('recording.stop', {});
    await call('GET /api/recordings', { as: host });
    await call('GET /api/recordings/:id', { params: { id: recording.recordingId }, as: host });
    await server.signIn('dr.c'); // a grant names someone who has signed in
    await call('GET /api/recordings/:id/people', { params: { id: recording.recordingId }, query: { q: 'dr.' }, as: host });
    await call('POST /api/recordings/:id/grants', { params: { id: recording.recordingId }, body: { userId: 'dr.c' }, as: host });
    const cohort = await call('POST /api/rooms', { body: { title: 'Cohort', kind: 'training', participants: [{ userId: 'dr.a', role: 'host' }, { userId: 'dr.e', role: 'observer' }] }, status: 201 });
    await call('POST /api/recordings/:id/room-grants', { params: { id: recording.recordingId }, body: { roomId: cohort.id }, as: host });
    await call('GET /api/recordings/:id/grants', { params: { id: recording.recordingId }, as: host });
    await call('POST /api/recordings/:id/replays', { params: { id: recording.recordingId }, body: {}, as: host, status: 201 });
    await call('POST /api/recordings/:id/audio-link', { params: { id: recording.recordingId }, as: host }); // the egress wrote its file (the stand-in's storage)
    await call('POST /api/rooms/:id/moderation', { params: { id: room.id }, body: { action: 'kick', userId: 'dr.b', minutes: 5 } });
    await call('GET /api/cases/:id', { params: { id: imported.caseId } });
    await call('GET /api/cases/:id', { params: { id: imported.caseId }, query: { room: room.id }, as: host });
    await call('GET /api/cases/:id/resources', { params: { id: imported.caseId }, query: { limit: '2' } });
    const several = await call('POST /api/cases/:id/resources/query', { params: { id: imported.caseId }, body: { types: ['Observation', 'Encounter'], limit: 2 } });
    expect(several.types.map((t) => [t.type, t.status])).toEqual([['Observation', 'read'], ['Encounter', 'read']]);
    await call('POST /api/cases/:id/observations', { params: { id: imported.caseId }, body: liveObservation(imported.patientId, 'Zqxvital'), status: 201 });
    await call('GET /api/audit', { query: { limit: '5' } });
    await call('GET /api/audit/verify');
    await call('GET /api/audit/checkpoint-key');
    await server.app.auditCheckpoints!.signer.checkpoint();
    await call('GET /api/audit/checkpoints/latest');
    await call('GET /api/directory/users');
    await call('GET /api/directory/cases');
    await call('GET /api/directory/audit', { query: { limit: '3' } });
    // Imaging: a real CT slice (pydicom's Doe^Peter) uploaded to a case of its patient, then read back.
    const dicom = new Uint8Array(await readFile(path.join(import.meta.dirname, '../fixtures/dicom/ct-series/2062.dcm')));
    const patientUrl = 'urn:uuid:0b3f2a52-2222-4a1b-9c55-cccccccccccc';
    const imagingCase = await call('POST /api/cases', { body: { resourceType: 'Bundle', type: 'collection', entry: [{ fullUrl: patientUrl, resource: { resourceType: 'Patient', identifier: [{ value: '98890234' }], name: [{ family: 'Doe', given: ['Peter'] }] } }] }, status: 201 });
    const uploaded = await admin.api.uploadDicom(imagingCase.caseId, dicom); // a binary body: the SDK's call, checked here
    const upload = ApiResponseSchemas['POST /api/cases/:id/imaging/instances'].safeParse(uploaded);
    expect(upload.success ? [] : upload.error.issues).toEqual([]);
    seen.add('POST /api/cases/:id/imaging/instances');
    const zipped = await admin.api.uploadDicomZip(imagingCase.caseId, zip([{ name: 'CT/2062.dcm', data: dicom }, { name: 'README.txt', data: new TextEncoder().encode('read me') }]));
    const zipUpload = ApiResponseSchemas['POST /api/cases/:id/imaging/zip'].safeParse(zipped);
    expect(zipUpload.success ? [] : zipUpload.error.issues).toEqual([]);
    expect(zipped).toMatchObject({ instances: 1, created: 0, skipped: [{ reason: 'not-dicom', count: 1 }] });
    seen.add('POST /api/cases/:id/imaging/zip');
    await call('GET /api/cases/:id/imaging', { params: { id: imagingCase.caseId } });
    await call('GET /api/cases/:id/imaging/series/:seriesUid', { params: { id: imagingCase.caseId, seriesUid: uploaded.seriesUid } });
    await call('POST /api/cases/:id/imaging/series/:seriesUid/clean', { params: { id: imagingCase.caseId, seriesUid: uploaded.seriesUid }, body: { instances: [uploaded.sopUid] } });
    await session.leave();
    // Dev login is a POST without a token; the SDK's own call went through the server's check.
    await server.as('dr.z');
    seen.add('POST /api/dev/login');
    expect(Object.keys(ApiResponseSchemas).filter((r) => !seen.has(r))).toEqual([]);
  });

  it('a body that drifts from its schema is a 500 outside production, not a silent change of contract', async () => {
    const app = express();
    app.locals[VALIDATE_RESPONSES] = true;
    app.get('/drift', (_req, res) => sendJson(res, 'GET /api/client-config', { imagingViewerUrl: null, fhirServer: 'yes' } as never));
    app.get('/extra', (_req, res) => sendJson(res, 'GET /api/client-config', { imagingViewerUrl: null, fhirServer: true, secret: 'x' } as never));
    app.get('/fine', (_req, res) => sendJson(res, 'GET /api/client-config', { imagingViewerUrl: null, fhirServer: true, publicUrl: 'http://x' }));
    const s = http.createServer(app).listen(0, '127.0.0.1');
    await new Promise((r) => s.once('listening', r));
    const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    try {
      expect((await fetch(`${base}/drift`)).status).toBe(500);
      expect((await fetch(`${base}/extra`)).status).toBe(500);
      expect((await fetch(`${base}/fine`)).status).toBe(200);
    } finally {
      s.close();
    }
  });
});

function stripSchema(s: Record<string, unknown>): Record<string, unknown> {
  const { $schema: _drop, ...rest } = s;
  return rest;
}
