import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClinicSession, ConsiliumClient } from '../../client/src/sdk/index.ts';
import { observationRows, type ObservationRow } from '../../client/src/app/clinical/format.ts';
import { newestFirst, roomOrder, trendRows } from '../../client/src/app/clinical/summary-model.ts';
import { yearTrend } from '../../client/src/app/clinical/year-trend.ts';
import type { CaseImportResponse } from '../../shared/src/index.ts';
import { liveObservation } from '../fixtures/case-bundle.ts';
import { eventually } from '../support/eventually.ts';
import { captureFrames, receivedBytes } from '../support/frames.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

captureFrames();

/**
 * A monitored patient as a student sees them: every reading this year, de-identified to the year
 * alone, then live readings. The student's chart must end on the newest reading (it ties with the
 * whole year), whenever they joined, and nothing their socket receives may date any reading.
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

/** Heart-rate rows newest first, as the case panel orders them for this participant. */
function heartRates(session: ClinicSession, useRoomOrder = true): ObservationRow[] {
  const entries: { key: string; order: number }[] = [];
  session.state.caseEntries.forEach((e) => void entries.push(e));
  const order = useRoomOrder && session.deidentified ? roomOrder(entries) : undefined;
  return newestFirst(session.caseResources('Observation') as unknown as Record<string, unknown>[], order)
    .flatMap(observationRows)
    .filter((r) => r.code === '8867-4');
}
/** The series oldest → newest as the de-identified chart draws it (the last point is "latest"). */
const yearSeries = (rows: ObservationRow[]) => yearTrend(rows, 'all').sort((a, b) => a.at - b.at).map((p) => p.row.numeric);
const clockSeries = (rows: ObservationRow[]) => trendRows(rows, 'all').sort((a, b) => a.when!.ms - b.when!.ms).map((r) => r.numeric);

describe('a de-identified student watching live vital signs', () => {
  it('the chart ends on the newest reading, as the clinician’s does, for those present and those who join later; no reading’s date or time reaches the student', async () => {
    const room = await admin.api.createRoom({
      title: 'Monitored', kind: 'training', caseId: report.caseId,
      participants: [{ userId: 'cli', role: 'clinician' }, { userId: 'stu', role: 'observer' }, { userId: 'late', role: 'observer' }],
    });
    const cli = await server.join('cli', room.id);
    const stu = await server.join('stu', room.id);
    await eventually(() => heartRates(stu).length === HR.length && heartRates(cli).length === HR.length, 10_000);
    expect(stu.deidentified).toBe(true);
    expect(heartRates(stu).every((r) => r.when?.precision === 'year')).toBe(true);
    expect(yearSeries(heartRates(stu))).toEqual(HR);

    // A reading taken now arrives live; then one taken earlier (between the 2nd and 3rd) is filed late.
    const live = liveObservation(report.patientId, 'Zqxlivenote', 131);
    await admin.api.ingestObservation(report.caseId, live);
    const lateFiled = { ...liveObservation(report.patientId, 'Zqxlatenote', 100), effectiveDateTime: new Date(Date.parse(times[1]!) + 60_000).toISOString() };
    await admin.api.ingestObservation(report.caseId, lateFiled);
    const expected = [88, 96, 100, 110, 124, 131];
    await eventually(() => heartRates(cli).length === expected.length && heartRates(stu).length === expected.length, 10_000);
    expect(clockSeries(heartRates(cli))).toEqual(expected); // the clinician's truth
    await eventually(() => expect(yearSeries(heartRates(stu))).toEqual(expected), 5000);
    expect(yearSeries(heartRates(stu, false)).at(-1)).not.toBe(131); // the state's own order alone would have hidden the newest

    // Joining after both: the same order, with no arrival to watch.
    const late = await server.join('late', room.id);
    await eventually(() => heartRates(late).length === expected.length, 10_000);
    expect(yearSeries(heartRates(late))).toEqual(expected);

    // The attacker's view: every byte the students' sockets received. No date or time of any reading (loaded or live)
    // in any form the record wrote it, nor the patient's; nothing but bare years in the copies.
    const written = [...times, live.effectiveDateTime, lateFiled.effectiveDateTime];
    const forbidden = [...written.flatMap((t) => [t, t.slice(0, 10), t.slice(0, 16), t.slice(11, 19), t.slice(11, 16), `"${t.slice(0, 7)}`]), '1961-03-14', 'Zqxfamily', 'Zqxlivenote'];
    for (const session of [stu, late]) {
      const bytes = receivedBytes(session).toString('latin1');
      expect(bytes).toContain('8867-4'); // the capture sees the readings
      expect(forbidden.filter((f) => bytes.includes(f))).toEqual([]);
      expect(bytes).not.toMatch(/\d{4}-\d{2}-\d{2}/);
      const strings: string[] = [];
      const walk = (v: unknown): void => void (Array.isArray(v) ? v.forEach(walk) : v && typeof v === 'object' ? Object.values(v).forEach(walk) : typeof v === 'string' && strings.push(v));
      walk(session.caseResources());
      expect(strings.filter((v) => /^\d{4}-\d{2}|\d{2}:\d{2}/.test(v))).toEqual([]);
      for (const o of session.caseResources('Observation')) expect(o['effectiveDateTime']).toMatch(/^\d{4}$/);
    }
    // …while the same capture on the clinician's socket does see them (the check can find what it looks for).
    expect(receivedBytes(cli).toString('latin1')).toContain(times[0]!.slice(0, 19));
    await Promise.all([cli.leave(), stu.leave(), late.leave()]);
  });
});
