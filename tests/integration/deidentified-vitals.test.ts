import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { observationRows, type ObservationRow } from '../../client/src/app/clinical/format.ts';
import { LiveArrivals } from '../../client/src/app/clinical/live-arrivals.ts';
import { newestFirst, trendRows } from '../../client/src/app/clinical/summary-model.ts';
import { yearTrend } from '../../client/src/app/clinical/year-trend.ts';
import type { CaseImportResponse } from '../../shared/src/index.ts';
import { liveObservation } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

captureFrames();

/**
 * A monitored patient as a student sees them: every reading this year, de-identified to the year
 * alone, then a live reading. The student's chart must end on the reading that just came (it ties
 * with the whole year), and nothing in what the student's socket receives may date any reading.
 */
let server: TestServer;
let admin: ConsiliumClient;
let report: CaseImportResponse;
const HR = [88, 96, 110, 124]; // oldest → newest
let times: string[] = [];

/** Readings minutes apart, all in the current UTC year (just after New Year they start at its first hour). */
function readingTimes(): string[] {
  const now = Date.now();
  const yearStart = Date.UTC(new Date(now).getUTCFullYear(), 0, 1);
  const newest = Math.max(now - 60_000, yearStart + 3_600_000);
  return HR.map((_, i) => new Date(newest - (HR.length - 1 - i) * 17 * 60_000 - 7_000).toISOString());
}

beforeAll(async () => {
  server = await startTestServer();
  admin = await server.as('root', { admin: true });
  times = readingTimes();
  const patient = 'urn:uuid:vitals-patient';
  report = await admin.api.importCase({
    resourceType: 'Bundle',
    type: 'collection',
    entry: [
      { fullUrl: patient, resource: { resourceType: 'Patient', name: [{ family: 'Zqxfamily', given: ['Zqxgiven'] }], gender: 'female', birthDate: '1961-03-14' } },
      ...HR.map((value, i) => ({
        resource: {
          resourceType: 'Observation', status: 'final', category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
          code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] }, subject: { reference: patient },
          effectiveDateTime: times[i], valueQuantity: { value, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
        },
      })),
    ],
  } as never);
});
afterAll(async () => {
  await server?.stop();
});

/** Follows the state as the case panel does (one observation per patch). */
function follow(session: ClinicSession): LiveArrivals {
  const arrivals = new LiveArrivals();
  const observe = () => {
    const entries: { key: string; resourceType: string; ofType: number }[] = [];
    session.state.caseEntries.forEach((e) => void entries.push(e));
    arrivals.observe(entries);
  };
  observe();
  session.room.onStateChange(observe);
  return arrivals;
}

const heartRates = (session: ClinicSession, arrivals?: LiveArrivals): ObservationRow[] =>
  newestFirst(session.caseResources('Observation') as never[], arrivals ? (r: Record<string, unknown>) => arrivals.rank('Observation', String(r['id'])) : undefined)
    .flatMap(observationRows)
    .filter((r) => r.code === '8867-4');
/** The newest value as the de-identified chart draws it (the last point of the series). */
const yearLatest = (rows: ObservationRow[]) => yearTrend(rows, 'all').sort((a, b) => a.at - b.at).at(-1)?.row.numeric;
const clockLatest = (rows: ObservationRow[]) => trendRows(rows, 'all').sort((a, b) => a.when!.ms - b.when!.ms).at(-1)?.numeric;

describe('a de-identified student watching live vital signs', () => {
  it('the chart ends on the reading that just arrived, as the clinician’s does; no reading’s date or time reaches the student', async () => {
    const room = await admin.api.createRoom({ title: 'Monitored', kind: 'training', caseId: report.caseId, participants: [{ userId: 'cli', role: 'clinician' }, { userId: 'stu', role: 'observer' }] });
    const cli = await server.join('cli', room.id);
    const stu = await server.join('stu', room.id);
    const arrivals = follow(stu);
    await eventually(() => heartRates(stu).length === HR.length && heartRates(cli).length === HR.length, 10_000);
    expect(stu.deidentified).toBe(true);
    expect(heartRates(stu).every((r) => r.when?.precision === 'year')).toBe(true);
    expect(yearLatest(heartRates(stu, arrivals))).toBe(124);
    expect(yearTrend(heartRates(stu, arrivals), 'all').sort((a, b) => a.at - b.at).map((p) => p.row.numeric)).toEqual(HR);

    const live = liveObservation(report.patientId, 'Zqxlivenote', 131);
    await admin.api.ingestObservation(report.caseId, live);
    await eventually(() => heartRates(stu).length === HR.length + 1 && heartRates(cli).length === HR.length + 1, 10_000);
    const liveId = () => String(stu.caseResources('Observation').find((o) => (o['valueQuantity'] as { value: number }).value === 131)?.['id']);
    await eventually(() => arrivals.rank('Observation', liveId()) > 0, 5000);
    expect(clockLatest(heartRates(cli))).toBe(131); // the clinician's truth
    expect(yearLatest(heartRates(stu, arrivals))).toBe(131);
    expect(yearLatest(heartRates(stu))).not.toBe(131); // the state's own order alone would have hidden it

    // The attacker's view: every byte the student's socket received. No date or time of any reading (loaded or live)
    // in any form the record wrote it, nor the patient's; nothing but bare years in the copies.
    const bytes = receivedBytes(stu).toString('latin1');
    expect(bytes).toContain('8867-4'); // the capture sees the readings
    const forbidden = [...times, live.effectiveDateTime].flatMap((t) => [t, t.slice(0, 10), t.slice(0, 16), t.slice(11, 19), t.slice(11, 16), `"${t.slice(0, 7)}`]);
    for (const f of [...forbidden, '1961-03-14', 'Zqxfamily', 'Zqxlivenote']) expect(bytes.includes(f), f).toBe(false);
    expect(bytes).not.toMatch(/\d{4}-\d{2}-\d{2}/);
    const strings: string[] = [];
    const walk = (v: unknown): void => void (Array.isArray(v) ? v.forEach(walk) : v && typeof v === 'object' ? Object.values(v).forEach(walk) : typeof v === 'string' && strings.push(v));
    walk(stu.caseResources());
    expect(strings.filter((v) => /^\d{4}-\d{2}|\d{2}:\d{2}/.test(v))).toEqual([]);
    for (const o of stu.caseResources('Observation')) expect(o['effectiveDateTime']).toMatch(/^\d{4}$/);
    // …while the same capture on the clinician's socket does see them (the check can find what it looks for).
    expect(receivedBytes(cli).toString('latin1')).toContain(times[0]!.slice(0, 19));
    await Promise.all([cli.leave(), stu.leave()]);
  });
});
