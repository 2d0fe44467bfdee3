import type { DicomHeader } from '../domain/dicom.ts';

/**
 * Where a study's images come from: the PACS over DICOMweb, or Consilium's own
 * store of uploaded files. Both answer the same four questions, and both hand
 * out one instance at a time (bounded), never a whole study.
 */
export interface ImagingSource {
  /** Patient and study attributes, one row per patient the source files this Study Instance UID under; empty when none. */
  study(caseId: string, studyUid: string): Promise<DicomHeader[]>;
  /** Series-level attributes (SeriesInstanceUID, Modality, SeriesDescription, SeriesNumber, count). */
  series(caseId: string, studyUid: string): Promise<DicomHeader[]>;
  /** Per-instance attributes of one series. */
  instances(caseId: string, studyUid: string, seriesUid: string): Promise<DicomHeader[]>;
  /** One instance as a DICOM Part 10 file (at most MAX_INSTANCE_BYTES). */
  instance(caseId: string, studyUid: string, seriesUid: string, sopUid: string): Promise<Uint8Array>;
}

/** The largest single instance served (a 512×512 CT slice is ~0.5 MB; a long multi-frame ultrasound clip can pass 100 MB). */
export const MAX_INSTANCE_BYTES = 128 * 1024 * 1024;

/**
 * The largest file an administrator uploads (one instance per request): 64 MiB holds an uncompressed
 * digital mammogram (~50 MB) or a short multi-frame clip; longer clips belong in the PACS. Smaller than
 * what the archive may serve, because every upload is parsed, while archive instances are parsed once when cached.
 */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

export class ImagingSourceError extends Error {
  constructor(message: string, public readonly code: 'IMAGING_SOURCE_ERROR' | 'IMAGING_NOT_FOUND' = 'IMAGING_SOURCE_ERROR') {
    super(message);
    this.name = 'ImagingSourceError';
  }
}
