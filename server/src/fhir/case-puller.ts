import type { CaseRefreshResponse } from '../../../shared/src/http.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AuditLog } from '../audit/audit-log.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import type { PreparedImport } from '../domain/import-rows.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';
import type { CaseImporter, ImportJob } from './case-importer.ts';
import { FhirServerError, type FhirClient, type SearchResult } from './fhir-client.ts';
import { SmartAuthError } from './smart-backend.ts';

/** What a refresh or poll added to an existing case. */
/** What a refresh merged: the API's answer (shared/src/http.ts). */
export type MergeReport = CaseRefreshResponse;

export interface CasePullerDeps {
  client: FhirClient;
  cases: CasesRepo;
  audit: AuditLog;
  live: LiveRooms;
  logger: Logger;
  /** The record is parsed, checked and turned into rows on its worker thread. */
  importer: CaseImporter;
  pollSeconds: number;
}

/**
 * Feeds cases from the hospital's FHIR server: pull a patient's record
 * (`$everything`, every page) into a new case, refresh it, and poll for new
 * Observations, which reach live rooms the way `POST /api/cases/:id/observations`
 * does (LiveRooms.callShowingCase → addCaseResource). Resources already held
 * (same source id) keep their server ids and are not added twice.
 */
export class CasePuller {
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;

  constructor(private readonly deps: CasePullerDeps) {}

  /** Resolve the patient (id or identifier search) and fetch the whole record, ready to store as a new case. */
  async fetchPatient(target: { patientId: string } | { identifier: string }): Promise<{ fhirPatientId: string; prepared: PreparedImport }> {
    const fhirPatientId = 'patientId' in target ? target.patientId : await this.resolveIdentifier(target.identifier);
    const everything = await this.upstream(() => this.deps.client.everything(fhirPatientId));
    return { fhirPatientId, prepared: await this.prepare({ kind: 'pages', pages: everything.bodies }) };
  }

  /** Fetch `$everything` again and add what is new. */
  async refresh(caseId: string, actor: string): Promise<MergeReport> {
    const head = await this.deps.cases.head(caseId);
    if (!head) throw new AppError('CASE_NOT_FOUND');
    if (!head.fhirPatientId) throw new AppError('CASE_NOT_PULLED');
    const everything = await this.upstream(() => this.deps.client.everything(head.fhirPatientId!));
    const report = await this.merge(caseId, head.patientId, head.fhirPatientId, everything);
    await this.deps.audit.record({ actor, action: 'case.import', caseId, patientId: head.patientId, details: { refresh: true, counts: report.added, unchanged: report.unchanged, refused: report.refused.length } });
    return report;
  }

  /** One polling round over every pulled case: new Observations since the last round. */
  async pollOnce(): Promise<number> {
    let added = 0;
    for (const c of await this.deps.cases.pulledCases()) {
      const startedAt = new Date();
      try {
        // Overlap a minute to tolerate clock skew; duplicates are recognised by their source id.
        const found = await this.deps.client.observationsSince(c.fhirPatientId, new Date(c.since.getTime() - 60_000));
        const report = await this.merge(c.id, c.patientId, c.fhirPatientId, found);
        const n = Object.values(report.added).reduce((a, b) => a + b, 0);
        if (n > 0) {
          added += n;
          await this.deps.audit.record({ actor: 'fhir-poller', action: 'observation.ingest', caseId: c.id, patientId: c.patientId, details: { source: 'fhir-server', counts: report.added, refused: report.refused.length } });
        }
        await this.deps.cases.markPolled(c.id, startedAt);
      } catch (err) {
        // Never the response body or the patient: the status or error class only.
        this.deps.logger.warn({ caseId: c.id, status: err instanceof FhirServerError ? err.status : null, error: (err as Error).name }, 'polling the FHIR server failed');
      }
    }
    return added;
  }

  start(): void {
    if (this.deps.pollSeconds <= 0 || this.timer) return;
    this.timer = setInterval(() => {
      this.polling ??= this.pollOnce()
        .then(() => {})
        .catch(() => {})
        .finally(() => (this.polling = null));
    }, this.deps.pollSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
  }

  private async merge(caseId: string, patientId: string, fhirPatientId: string, found: SearchResult): Promise<MergeReport> {
    if (found.entries === 0) return { caseId, added: {}, unchanged: 0, refused: [], skipped: [], deliveredToRooms: 0 };
    // What the case holds keeps its ids; the case's Patient anchors references (a poll returns Observations only).
    const held = `${await this.deps.cases.heldSourceIds(caseId)}\nPatient/${fhirPatientId}\t${patientId}`;
    const anchor = { resource: { resourceType: 'Patient', id: fhirPatientId } };
    const prepared = await this.prepare({ kind: 'pages', pages: found.bodies, anchor, held });
    const delivered = await this.deps.cases.addPrepared(caseId, prepared.chunks);
    const added: Record<string, number> = {};
    let deliveredToRooms = 0;
    for (const r of delivered) {
      added[r.resourceType] = (added[r.resourceType] ?? 0) + 1;
      deliveredToRooms = Math.max(deliveredToRooms, await this.deps.live.callShowingCase(caseId, 'addCaseResource', r));
      // A room not showing the case answers without I/O: let the loop breathe between resources all the same.
      await nextTurn();
    }
    return { caseId, added, unchanged: prepared.unchanged, refused: prepared.refused, skipped: prepared.skipped, deliveredToRooms };
  }

  /** The record's pages → rows, on the import worker; a record that cannot be imported is the FHIR server's error. */
  private async prepare(job: ImportJob): Promise<PreparedImport> {
    const answer = await this.deps.importer.run(job);
    if (answer.ok) return answer.prepared;
    if (answer.reason === 'json') throw new AppError('FHIR_SERVER_ERROR', 'The FHIR server answered with something that is not FHIR JSON');
    throw new AppError('FHIR_SERVER_ERROR', "The FHIR server's record could not be imported", answer.problems);
  }

  private async resolveIdentifier(identifier: string): Promise<string> {
    const ids = await this.upstream(() => this.deps.client.patientsByIdentifier(identifier));
    const unique = [...new Set(ids)];
    if (unique.length === 0) throw new AppError('FHIR_PATIENT_NOT_FOUND');
    if (unique.length > 1) throw new AppError('FHIR_PATIENT_AMBIGUOUS');
    return unique[0]!;
  }

  private async upstream<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AppError) throw err;
      if (err instanceof FhirServerError && err.status === 404) throw new AppError('FHIR_PATIENT_NOT_FOUND');
      // Our own messages only (status, OAuth error code): other errors may quote URLs that carry identifiers.
      const ours = err instanceof FhirServerError || err instanceof SmartAuthError ? err : null;
      const reason = ours ? ours.message.slice(0, 160) : (err as Error).name;
      const code = ours ? ours.code : 'FHIR_SERVER_ERROR';
      this.deps.logger.warn({ status: err instanceof FhirServerError ? err.status : null, code, reason }, 'FHIR server request failed');
      throw new AppError(code, `The FHIR server request failed: ${reason}`);
    }
  }
}
