import { describe, expect, it } from 'vitest';
import { clinicalTime, primaryCode } from '../../server/src/domain/case-summary.ts';
import { importBundle, type ImportedCase } from '../../server/src/domain/fhir-bundle.ts';
import { prepareImport, rowChunks } from '../../server/src/domain/import-rows.ts';
import { syntheaCarroll } from '../fixtures/real-fhir.ts';

let n = 0;
const ids = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
const decode = (chunks: Uint8Array[]) => chunks.map((c) => JSON.parse(new TextDecoder().decode(c)) as unknown[][]);

function carroll(): ImportedCase {
  const r = importBundle(syntheaCarroll(), ids);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r;
}

describe('import rows (what the worker hands the event loop)', () => {
  it('every resource once, in order, as [type, id, resource, sourceId, code, clinicalAt], in chunks near the size asked for', () => {
    const r = carroll();
    const all = [r.patient, ...r.resources];
    const chunks = rowChunks(all, r.sourceIds, 16 * 1024);
    expect(chunks.length).toBeGreaterThan(5);
    const rows = decode(chunks).flat();
    expect(rows).toEqual(all.map((x) => [x.resourceType, x.id, x, r.sourceIds.get(x.id) ?? null, primaryCode(x), clinicalTime(x)]));
    const biggestRow = Math.max(...rows.map((row) => JSON.stringify(row).length));
    for (const c of chunks) expect(c.byteLength).toBeLessThanOrEqual(16 * 1024 + biggestRow + 2);
    expect(rows.filter((row) => row[5] !== null).length).toBeGreaterThan(rows.length / 2);
  });

  it('a new case: the Patient and every resource, with the report; a refresh: only what the case does not hold yet', () => {
    const r = carroll();
    const whole = prepareImport(r);
    expect([whole.patientId, whole.count, whole.unchanged]).toEqual([r.patient.id, r.resources.length + 1, 0]);
    expect(decode(whole.chunks).flat()[0]![0]).toBe('Patient');

    const held = new Set([r.patient.id, ...r.resources.slice(0, 10).map((x) => x.id)]);
    const refresh = prepareImport(r, held);
    expect([refresh.count, refresh.unchanged]).toEqual([r.resources.length - 10, 10]);
    expect(decode(refresh.chunks).flat().map((row) => row[1])).toEqual(r.resources.slice(10).map((x) => x.id));
    expect(prepareImport(r, new Set([r.patient.id, ...r.resources.map((x) => x.id)])).chunks).toEqual([]);
  });
});
