import type { AuditLog } from '../audit/audit-log.ts';
import type { FhirServerConfig } from '../config.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import type { Logger } from '../logger.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';
import type { CaseImporter } from './case-importer.ts';
import { CasePuller } from './case-puller.ts';
import { FhirClient } from './fhir-client.ts';
import { SmartBackendAuth } from './smart-backend.ts';

/** Wire the FHIR server client (with SMART Backend Services when a client is configured) and the case puller. */
export function createCasePuller(cfg: FhirServerConfig, deps: { cases: CasesRepo; audit: AuditLog; live: LiveRooms; logger: Logger; importer: CaseImporter }): { puller: CasePuller; auth: SmartBackendAuth | null } {
  const auth = cfg.auth ? new SmartBackendAuth({ baseUrl: cfg.baseUrl, ...cfg.auth }) : null;
  if (!auth) deps.logger.warn('FHIR_BASE_URL without FHIR_CLIENT_ID/FHIR_PRIVATE_KEY: the FHIR server is called without authorization (test servers only)');
  const client = new FhirClient(cfg.baseUrl, auth);
  return { puller: new CasePuller({ client, ...deps, pollSeconds: cfg.pollSeconds }), auth };
}
