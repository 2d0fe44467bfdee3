/**
 * `npm run bench:fhir`: real exports through the real server. For the two
 * Synthea patients and a 5,000-resource history built from Margie619's
 * Observations: HTTP import time, then a clinician's and an observer's join
 * time and bytes received — with the full case in the room state (what the
 * room loads today) — and the size of the room state the case-summary
 * selector would carry instead. Runs against a throwaway database on the
 * machine's PostgreSQL (DATABASE_URL or 127.0.0.1:5432), dropped at the end.
 */
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { ConsiliumClient } from '../client/src/sdk/index.ts';
import { createApp } from '../server/src/app.ts';
import { loadConfig } from '../server/src/config.ts';
import { selectCaseSummary } from '../server/src/domain/case-summary.ts';
import { entriesFor, preparedCase } from '../server/src/domain/case-view.ts';
import { importBundle } from '../server/src/domain/fhir-bundle.ts';
import { syntheaCarroll, syntheaMargie, type Bundle } from '../tests/fixtures/real-fhir.ts';
import { captureFrames, receivedBytes } from '../tests/support/frames.ts';
import { createTestDatabase } from '../tests/support/db.ts';

(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;
captureFrames();

function history(total: number): Bundle {
  const b = syntheaMargie();
  const obs = b.entry.filter((e) => e.resource['resourceType'] === 'Observation');
  for (let k = 0; b.entry.length < total; k++) {
    const src = obs[k % obs.length]!;
    b.entry.push({ fullUrl: `urn:uuid:bench-${k}`, resource: { ...src.resource, id: `bench-${k}`, effectiveDateTime: new Date(Date.UTC(2000, 0, 1) + k * 1.5 * 864e5).toISOString() } });
  }
  return b;
}

/** Bytes the room state holds for these resources with a clinician and an observer in it (identified and de-identified copies): JSON plus keys. */
function stateBytes(bundle: Bundle, summary: boolean): number {
  const r = importBundle(bundle, randomUUID);
  if (!r.ok) throw new Error('import failed');
  const all = [r.patient, ...r.resources];
  const c = preparedCase({ id: randomUUID(), patientId: r.patient.id, pseudonymKey: 'bench', resources: [r.patient] });
  const list = summary ? selectCaseSummary(all).resources : all;
  return list.flatMap((x) => entriesFor(c, x)).filter((e) => e.variant !== 'identity-withheld').reduce((a, e) => a + e.key.length + JSON.stringify(e.resource).length, 0);
}

const db = await createTestDatabase();
const app = await createApp(loadConfig({ NODE_ENV: 'test', PORT: '0', HOST: '127.0.0.1', DATABASE_URL: db.url, LOG_LEVEL: 'silent', HTTP_RATE_LIMIT_PER_MINUTE: '100000' }), { logger: pino({ level: 'silent' }) });
try {
  const admin = new ConsiliumClient(app.url);
  await admin.api.devLogin({ userId: 'bench.admin', name: 'Bench', admin: true });
  const rows: Record<string, string | number>[] = [];
  for (const [name, bundle] of [['Carroll471 (Synthea)', syntheaCarroll()], ['Margie619 (Synthea)', syntheaMargie()], ['5,000-resource history', history(5000)]] as const) {
    const bodyBytes = JSON.stringify(bundle).length;
    let t = performance.now();
    const report = await admin.api.importCase(bundle);
    const importMs = performance.now() - t;
    const room = await admin.api.createRoom({ title: name, kind: 'case-conference', caseId: report.caseId, participants: [{ userId: 'bench.cli', role: 'clinician' }, { userId: 'bench.obs', role: 'observer' }] });
    // The room carries the case summary (the rest is read on demand): joined when the summary has arrived
    // (the count stops changing), timed to the last change.
    const join = async (userId: string) => {
      const c = new ConsiliumClient(app.url);
      await c.api.devLogin({ userId, name: userId });
      const t0 = performance.now();
      const s = await c.join(room.id);
      await s.ready();
      let n = -1;
      let last = performance.now();
      for (;;) {
        const now = s.caseResources().length;
        if (now !== n) {
          n = now;
          last = performance.now();
        } else if (n > 0 && performance.now() - last > 250) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      return { s, ms: last - t0 };
    };
    const cli = await join('bench.cli');
    const obs = await join('bench.obs');
    await new Promise((r) => setTimeout(r, 300));
    rows.push({
      case: name,
      resources: report.resources,
      'bundle MB': +(bodyBytes / 1e6).toFixed(2),
      'import ms': Math.round(importMs),
      'clinician join ms': Math.round(cli.ms),
      'clinician KB': Math.round(receivedBytes(cli.s).length / 1024),
      'observer join ms': Math.round(obs.ms),
      'observer KB': Math.round(receivedBytes(obs.s).length / 1024),
      'full state KB': Math.round(stateBytes(bundle, false) / 1024),
      'summary state KB': Math.round(stateBytes(bundle, true) / 1024),
    });
    await Promise.all([cli.s.leave(), obs.s.leave()]);
    t = performance.now();
  }
  console.table(rows);
} finally {
  await app.close();
  await db.drop();
}
