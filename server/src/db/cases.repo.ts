import { randomBytes, randomUUID } from 'node:crypto';
import type { FhirResource, R4ResourceType } from '../../../shared/src/fhir.ts';
import { clinicalTime, primaryCode } from '../domain/case-summary.ts';
import type { CaseRecord } from '../domain/storage.ts';
import { withTransaction, type Pool, type PoolClient } from './pool.ts';

export type { CaseRecord };

export interface ResourceQuery {
  types: readonly R4ResourceType[];
  code?: string;
  /** Only resources dated strictly before this instant. */
  before?: Date;
  limit: number;
  offset?: number;
}

/** Rows per INSERT: big bundles go in a few statements, not thousands. */
const CHUNK = 500;

export class CasesRepo {
  constructor(private readonly pool: Pool) {}

  /** Store an imported case with a fresh 256-bit key for the pseudonyms of its de-identified view. */
  async createImported(patient: FhirResource, resources: FhirResource[], createdBy: string, opts: { sourceIds?: ReadonlyMap<string, string>; fhirPatientId?: string } = {}): Promise<string> {
    const id = randomUUID();
    await withTransaction(this.pool, async (tx) => {
      // date_shift_days stays in the table (NOT NULL) but nothing reads it: de-identified dates keep only the year.
      await tx.query(`INSERT INTO cases (id, patient_id, date_shift_days, pseudonym_key, created_by, fhir_patient_id) VALUES ($1, $2, 0, $3, $4, $5)`, [
        id,
        patient.id,
        randomBytes(32).toString('base64url'),
        createdBy,
        opts.fhirPatientId ?? null,
      ]);
      await insertResources(tx, id, [patient, ...resources], opts.sourceIds);
    });
    return id;
  }

  async get(id: string): Promise<CaseRecord | null> {
    const row = await this.head(id);
    if (!row) return null;
    const res = await this.pool.query<{ resource: FhirResource }>(
      `SELECT resource FROM case_resources WHERE case_id = $1 ORDER BY (resource_type = 'Patient') DESC, received_at, resource_id`,
      [id],
    );
    return { ...row, resources: res.rows.map((r) => r.resource) };
  }

  /** The case's keys without its resources. */
  async head(id: string): Promise<Omit<CaseRecord, 'resources'> & { fhirPatientId: string | null } | null> {
    const { rows } = await this.pool.query<{ id: string; patient_id: string; pseudonym_key: string; fhir_patient_id: string | null }>(
      `SELECT id, patient_id, pseudonym_key, fhir_patient_id FROM cases WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    const row = rows[0];
    return row ? { id: row.id, patientId: row.patient_id, pseudonymKey: row.pseudonym_key, fhirPatientId: row.fhir_patient_id } : null;
  }

  /** Resources of the given types, newest clinical date first (undated last), optionally by code and before a date. */
  async listResources(caseId: string, q: ResourceQuery): Promise<FhirResource[]> {
    if (q.types.length === 0) return [];
    const { rows } = await this.pool.query<{ resource: FhirResource }>(
      `SELECT resource FROM case_resources
        WHERE case_id = $1 AND resource_type = ANY($2) AND ($3::text IS NULL OR code = $3) AND ($4::timestamptz IS NULL OR clinical_at < $4)
        ORDER BY clinical_at DESC NULLS LAST, resource_type, resource_id LIMIT $5 OFFSET $6`,
      [caseId, q.types, q.code ?? null, q.before ?? null, q.limit, q.offset ?? 0],
    );
    return rows.map((r) => r.resource);
  }

  /** Store one more resource; false when a resource with the same source id is already there. */
  async addResource(caseId: string, resource: FhirResource, sourceId?: string): Promise<boolean> {
    const res = await this.pool.query(
      `INSERT INTO case_resources (case_id, resource_type, resource_id, resource, source_id, code, clinical_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (case_id, source_id) WHERE source_id IS NOT NULL DO NOTHING`,
      [caseId, resource.resourceType, resource.id, resource, sourceId ?? null, primaryCode(resource), toDate(clinicalTime(resource))],
    );
    return (res.rowCount ?? 0) > 0;
  }

  /** Source id → server id of what this case already holds (refresh and polling keep those ids and skip those resources). */
  async sourceIdMap(caseId: string): Promise<Map<string, string>> {
    const { rows } = await this.pool.query<{ source_id: string; resource_id: string }>(`SELECT source_id, resource_id FROM case_resources WHERE case_id = $1 AND source_id IS NOT NULL`, [caseId]);
    return new Map(rows.map((r) => [r.source_id, r.resource_id]));
  }

  /** Cases pulled from the FHIR server (the poller's work list), least recently polled first, with the time to poll from. */
  async pulledCases(): Promise<{ id: string; patientId: string; fhirPatientId: string; since: Date }[]> {
    const { rows } = await this.pool.query<{ id: string; patient_id: string; fhir_patient_id: string; since: Date }>(
      `SELECT id, patient_id, fhir_patient_id, COALESCE(fhir_polled_at, created_at) AS since FROM cases
        WHERE fhir_patient_id IS NOT NULL AND deleted_at IS NULL ORDER BY fhir_polled_at NULLS FIRST`,
    );
    return rows.map((r) => ({ id: r.id, patientId: r.patient_id, fhirPatientId: r.fhir_patient_id, since: r.since }));
  }

  async markPolled(caseId: string, at: Date): Promise<void> {
    await this.pool.query(`UPDATE cases SET fhir_polled_at = $2 WHERE id = $1`, [caseId, at]);
  }

  /** The case's patient, without loading its resources (live ingest is a hot path); null if absent or deleted. */
  async patientOf(caseId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ patient_id: string }>(`SELECT patient_id FROM cases WHERE id = $1 AND deleted_at IS NULL`, [caseId]);
    return rows[0]?.patient_id ?? null;
  }

  /** Delete the patient data; the case row stays (marked deleted) so audit rows keep their referent. */
  async delete(caseId: string): Promise<boolean> {
    return withTransaction(this.pool, async (tx) => {
      const res = await tx.query(`UPDATE cases SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [caseId]);
      await tx.query(`DELETE FROM case_resources WHERE case_id = $1`, [caseId]);
      return (res.rowCount ?? 0) > 0;
    });
  }
}

const toDate = (t: number | null) => (t === null ? null : new Date(t));

async function insertResources(tx: PoolClient, caseId: string, resources: FhirResource[], sourceIds?: ReadonlyMap<string, string>): Promise<void> {
  for (let i = 0; i < resources.length; i += CHUNK) {
    const chunk = resources.slice(i, i + CHUNK);
    await tx.query(
      `INSERT INTO case_resources (case_id, resource_type, resource_id, resource, source_id, code, clinical_at)
       SELECT $1, t, id::uuid, r, s, c, d FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::timestamptz[]) AS x(t, id, r, s, c, d)`,
      [
        caseId,
        chunk.map((r) => r.resourceType),
        chunk.map((r) => r.id),
        chunk.map((r) => JSON.stringify(r)),
        chunk.map((r) => sourceIds?.get(r.id) ?? null),
        chunk.map(primaryCode),
        chunk.map((r) => toDate(clinicalTime(r))),
      ],
    );
  }
}
