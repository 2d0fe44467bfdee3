import path from 'node:path';
import type { DicomWebConfig } from '../config.ts';
import type { CasesRepo } from '../db/cases.repo.ts';
import type { Pool } from '../db/pool.ts';
import type { SmartBackendAuth } from '../fhir/smart-backend.ts';
import { DicomWebSource } from './dicomweb-source.ts';
import { ImagingService } from './imaging-service.ts';
import { LocalImagingStore } from './local-store.ts';

/** The store of uploads (DATA_DIR/imaging), and the service over it and the PACS (its cache: DATA_DIR/imaging-cache/<case>/). */
export function createImaging(deps: { pool: Pool; cases: CasesRepo; dataDir: string; dicomweb: DicomWebSource | null }): { local: LocalImagingStore; service: ImagingService } {
  const local = new LocalImagingStore(deps.pool, deps.dataDir);
  return { local, service: new ImagingService({ pool: deps.pool, cases: deps.cases, local, dicomweb: deps.dicomweb, cacheDir: path.join(deps.dataDir, 'imaging-cache') }) };
}

/** The PACS client with its authorization: per-site basic, or the SMART Backend Services token Consilium already holds for FHIR. */
export function createDicomWebSource(cfg: DicomWebConfig, smart: SmartBackendAuth | null): DicomWebSource {
  const auth = cfg.auth;
  const authorization = async (): Promise<string | null> => {
    if (auth.kind === 'basic') return `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
    if (auth.kind === 'smart') return smart ? `Bearer ${await smart.accessToken()}` : null;
    return null;
  };
  return new DicomWebSource({ baseUrl: cfg.baseUrl, authorization });
}
