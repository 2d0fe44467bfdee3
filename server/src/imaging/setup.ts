import type { DicomWebConfig } from '../config.ts';
import type { SmartBackendAuth } from '../fhir/smart-backend.ts';
import { DicomWebSource } from './dicomweb-source.ts';

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
