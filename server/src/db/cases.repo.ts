import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { FhirResource } from '../../../shared/src/fhir.ts';
import { withTransaction, type Pool } from './pool.ts';

export interface CaseRecord {
  id: string;
  patientId: string;
  dateShiftDays: number;
  pseudonymKey: string;
  /** The Patient first, then the other resources in arrival order. */
  resources: FhirResource[];
}

export class CasesRepo {
  constructor(private readonly pool: Pool) {}

  /**
   * Store an imported case with fresh secrets for its de-identified view: dates
   * move 30–365 days into the past (the same for every resource), and a
   * 256-bit key makes its pseudonyms.
   */
  async createImported(patient: FhirResource, resources: FhirResource[], createdBy: string): Promise<string> {
    const id = randomUUID();
    await this.create(
      { id, patientId: patient.id, dateShiftDays: -randomInt(30, 366), pseudonymKey: randomBytes(32).toString('base64url'), createdBy },
      [patient, ...resources],
    );
    return id;
  }

  async create(c: Omit<CaseRecord, 'resources'> & { createdBy: string }, resources: FhirResource[]): Promise<void> {
    await withTransaction(this.pool, async (tx) => {
      await tx.query(`INSERT INTO cases (id, patient_id, date_shift_days, pseudonym_key, created_by) VALUES ($1, $2, $3, $4, $5)`, [
        c.id,
        c.patientId,
        c.dateShiftDays,
        c.pseudonymKey,
        c.createdBy,
      ]);
      for (const r of resources) {
        await tx.query(`INSERT INTO case_resources (case_id, resource_type, resource_id, resource) VALUES ($1, $2, $3, $4)`, [c.id, r.resourceType, r.id, r]);
      }
    });
  }

  async get(id: string): Promise<CaseRecord | null> {
    const { rows } = await this.pool.query<{ id: string; patient_id: string; date_shift_days: number; pseudonym_key: string }>(
      `SELECT id, patient_id, date_shift_days, pseudonym_key FROM cases WHERE id = $1 AND deleted_at IS NULL`,
      [id],
    );
    const row = rows[0];
    if (!row) return null;
    const res = await this.pool.query<{ resource: FhirResource }>(
      `SELECT resource FROM case_resources WHERE case_id = $1 ORDER BY (resource_type = 'Patient') DESC, received_at, resource_id`,
      [id],
    );
    return { id: row.id, patientId: row.patient_id, dateShiftDays: row.date_shift_days, pseudonymKey: row.pseudonym_key, resources: res.rows.map((r) => r.resource) };
  }

  async addResource(caseId: string, resource: FhirResource): Promise<void> {
    await this.pool.query(`INSERT INTO case_resources (case_id, resource_type, resource_id, resource) VALUES ($1, $2, $3, $4)`, [
      caseId,
      resource.resourceType,
      resource.id,
      resource,
    ]);
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
