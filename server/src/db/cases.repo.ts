import { randomBytes, randomUUID } from 'node:crypto';
import type { FhirResource, R4ResourceType } from '../../../shared/src/fhir.ts';
import { clinicalTime, primaryCode } from '../domain/case-summary.ts';
import { rowChunks, type PreparedImport } from '../domain/import-rows.ts';
import type { CaseRecord } from '../domain/storage.ts';
import { withTransaction, type Pool } from './pool.ts';

export type { CaseRecord };

export interface ResourceQuery {
  types: readonly R4ResourceType[];
  code?: string;
  /** Only resources dated strictly before this instant. */
  before?: Date;
  limit: number;
  offset?: number;
}

export class CasesRepo {
  constructor(private readonly pool: Pool) {}

  /** Store an imported case with a fresh 256-bit key for the pseudonyms of its de-identified view. */
  async createImported(patient: FhirResource, resources: FhirResource[], createdBy: string, opts: { sourceIds?: ReadonlyMap<string, string>; fhirPatientId?: string } = {}): Promise<string> {
    return this.createPrepared({ patientId: patient.id, chunks: rowChunks([patient, ...resources], opts.sourceIds) }, createdBy, opts);
  }

  /**
   * Store an import prepared off the event loop (domain/import-rows.ts): each chunk goes to
   * PostgreSQL as the bytes it is, one INSERT per chunk, all in one transaction (nothing is stored
   * unless everything is).
   */
  async createPrepared(prepared: Pick<PreparedImport, 'patientId' | 'chunks'>, createdBy: string, opts: { fhirPatientId?: string } = {}): Promise<string> {
    const id = randomUUID();
    await withTransaction(this.pool, async (tx) => {
      // date_shift_days stays in the table (NOT NULL) but nothing reads it: de-identified dates keep only the year.
      await tx.query(`INSERT INTO cases (id, patient_id, date_shift_days, pseudonym_key, created_by, fhir_patient_id) VALUES ($1, $2, 0, $3, $4, $5)`, [
        id,
        prepared.patientId,
        randomBytes(32).toString('base64url'),
        createdBy,
        opts.fhirPatientId ?? null,
      ]);
      for (const chunk of prepared.chunks) await tx.query(`INSERT INTO case_resources ${ROWS_FROM_CHUNK}`, [id, chunk]);
    });
    return id;
  }

  /** Add prepared rows to a case; those whose source id it already holds are skipped. Answers the resources added. */
  async addPrepared(caseId: string, chunks: readonly Uint8Array[]): Promise<FhirResource[]> {
    const added: FhirResource[] = [];
    for (const chunk of chunks) {
      const { rows } = await this.pool.query<{ resource: FhirResource }>(
        `INSERT INTO case_resources ${ROWS_FROM_CHUNK} ON CONFLICT (case_id, source_id) WHERE source_id IS NOT NULL DO NOTHING RETURNING resource`,
        [caseId, chunk],
      );
      for (const r of rows) added.push(r.resource);
    }
    return added;
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

  /** The case's keys without its resources; `imagingRev` changes whenever its images or what decides them do (migration case_imaging_rev). */
  async head(id: string): Promise<Omit<CaseRecord, 'resources'> & { fhirPatientId: string | null; imagingRev: number } | null> {
    const { rows } = await this.pool.query<{ id: string; patient_id: string; pseudonym_key: string; fhir_patient_id: string | null; imaging_rev: string }>(
      `SELECT id, patient_id, pseudonym_key, fhir_patient_id, imaging_rev FROM cases WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    const row = rows[0];
    return row ? { id: row.id, patientId: row.patient_id, pseudonymKey: row.pseudonym_key, fhirPatientId: row.fhir_patient_id, imagingRev: Number(row.imaging_rev) } : null;
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

  /**
   * Per type, its newest resources from `offset` on, at most `limit` of each, in the order
   * `listResources` gives one type (one query: each type is read on the date index on its own).
   */
  async listResourcesPerType(caseId: string, types: readonly R4ResourceType[], page: { limit: number; offset: number }): Promise<Map<R4ResourceType, FhirResource[]>> {
    const out = new Map<R4ResourceType, FhirResource[]>(types.map((t) => [t, []]));
    if (types.length === 0) return out;
    const { rows } = await this.pool.query<{ type: R4ResourceType; resource: FhirResource }>(
      `SELECT t.type, r.resource FROM unnest($2::text[]) WITH ORDINALITY AS t(type, ord)
        CROSS JOIN LATERAL (
          SELECT resource, clinical_at, resource_id FROM case_resources
           WHERE case_id = $1 AND resource_type = t.type
           ORDER BY clinical_at DESC NULLS LAST, resource_id LIMIT $3 OFFSET $4) r
        ORDER BY t.ord, r.clinical_at DESC NULLS LAST, r.resource_id`,
      [caseId, types, page.limit, page.offset],
    );
    for (const { type, resource } of rows) out.get(type)?.push(resource);
    return out;
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

  /**
   * Source id → server id of what this case already holds (refresh and polling keep those ids and
   * skip those resources), as `source<TAB>server` lines in one text: the import worker reads it
   * (fhir/import.worker.ts), so a big case costs the event loop one string, not a row per resource.
   */
  async heldSourceIds(caseId: string): Promise<string> {
    const { rows } = await this.pool.query<{ held: string | null }>(
      `SELECT string_agg(source_id || E'\\t' || resource_id, E'\\n') AS held FROM case_resources WHERE case_id = $1 AND source_id IS NOT NULL`,
      [caseId],
    );
    return rows[0]?.held ?? '';
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

/** Columns and rows of one prepared chunk ($2: UTF-8 JSON bytes, rows as domain/import-rows.ts writes them) for case $1. */
const ROWS_FROM_CHUNK = `(case_id, resource_type, resource_id, resource, source_id, code, clinical_at)
  SELECT $1, r->>0, (r->>1)::uuid, r->2, r->>3, r->>4, timestamptz 'epoch' + (r->>5)::bigint * interval '1 millisecond'
    FROM jsonb_array_elements(convert_from($2::bytea, 'UTF8')::jsonb) AS r`;
