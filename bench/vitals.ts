/**
 * Live vitals scenario of `npm run bench` (kept from the old fan-out run):
 * `POST /api/cases/:id/observations` until the new Observation is in the
 * state of both a clinician (identified copy) and an observer (de-identified
 * copy), 16 clients in the room, 20 samples. Includes the HTTP request,
 * validation, the PostgreSQL insert, the audit rows written before
 * disclosure, and the next patch.
 */
import { WebSocket } from 'ws';
import { ConsiliumClient, type ClinicSession } from '../client/src/sdk/index.ts';
import { caseBundle, liveObservation } from '../tests/fixtures/case-bundle.ts';
import { benchDatabase, fmt, percentile, startProcess, stop } from './support.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

const CLIENTS = 16;
const db = await benchDatabase();
const { child, url } = await startProcess(['server/src/main.ts'], { DATABASE_URL: db.url, PORT: '0', HOST: '127.0.0.1', NODE_ENV: 'development', LOG_LEVEL: 'warn', SEED_DEMO: 'false' });
try {
  const boss = new ConsiliumClient(url);
  await boss.api.devLogin({ userId: 'bench.admin', name: 'Bench', admin: true });
  const users = Array.from({ length: CLIENTS }, (_, i) => `u${i}`);
  const { caseId, patientId } = await boss.api.importCase(caseBundle({ name: 'Bench', mrn: 'B-1', note: 'n' }));
  const room = await boss.api.createRoom({ title: 'bench', kind: 'training', caseId, participants: users.map((userId, i) => ({ userId, role: i % 2 === 0 ? 'clinician' : 'observer' })) });
  const sessions: ClinicSession[] = [];
  for (const userId of users) {
    const c = new ConsiliumClient(url);
    await c.api.devLogin({ userId, name: userId });
    const s = await c.join(room.id);
    await s.ready();
    sessions.push(s);
  }
  const ingest: number[] = [];
  for (let i = 0; i < 20; i++) {
    const before = sessions[0]!.caseResources('Observation').length;
    const t0 = performance.now();
    await boss.api.ingestObservation(caseId, liveObservation(patientId, 'bench', 80 + i));
    await new Promise<void>((resolve) => {
      const check = () => (sessions[0]!.caseResources('Observation').length > before && sessions[1]!.caseResources('Observation').length > before ? resolve() : setTimeout(check, 1));
      check();
    });
    ingest.push(performance.now() - t0);
  }
  ingest.sort((a, b) => a - b);
  console.log(`Live vitals (POST /api/cases/:id/observations → visible to a clinician and an observer, ${CLIENTS} clients in the room, 20 samples): p50 ${fmt(percentile(ingest, 0.5))} ms, p95 ${fmt(percentile(ingest, 0.95))} ms, max ${fmt(ingest.at(-1)!)} ms`);
  await Promise.all(sessions.map((s) => s.leave()));
} finally {
  await stop(child);
  await db.drop();
}
process.exit(0);
