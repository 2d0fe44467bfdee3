import type { DicomHeader } from '../domain/dicom.ts';

/**
 * Where a study's images come from: the PACS over DICOMweb, or Consilium's own
 * store of uploaded files. Both answer the same three questions; instances are
 * read one at a time from files (uploads as stored, archive instances streamed
 * to a cache file first), never a whole study.
 */
export interface ImagingSource {
  /** Patient and study attributes, one row per patient the source files this Study Instance UID under; empty when none. */
  study(caseId: string, studyUid: string): Promise<DicomHeader[]>;
  /** Series-level attributes (SeriesInstanceUID, Modality, SeriesDescription, SeriesNumber, count). */
  series(caseId: string, studyUid: string): Promise<DicomHeader[]>;
  /** Per-instance attributes of one series. */
  instances(caseId: string, studyUid: string, seriesUid: string): Promise<DicomHeader[]>;
}

/** The largest single instance served (a 512×512 CT slice is ~0.5 MB; a long multi-frame ultrasound clip can pass 100 MB). */
export const MAX_INSTANCE_BYTES = 128 * 1024 * 1024;

/**
 * The largest file an administrator uploads (one instance per request): 64 MiB holds an uncompressed
 * digital mammogram (~50 MB) or a short multi-frame clip; longer clips belong in the PACS. Smaller than
 * what the archive may serve, because every upload is parsed, while archive instances are parsed once when cached.
 */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;

/**
 * A study uploaded as one zip (a PACS export, a CD's contents): bounded before and while it is read.
 * The zip itself ≤ 1 GiB; at most 20,000 entries (a 2,000-slice study with its DICOMDIR and viewer files
 * fits ten times); every entry ≤ MAX_UPLOAD_BYTES, as a file uploaded alone; the entries' bytes together
 * ≤ 2 GiB, and ≤ 200 times the zip's own size plus 64 MiB — a zip bomb, which inflates ~1,000 times, is
 * refused before anything is inflated. The ratio is the whole zip's, not each entry's: CT and MR deflate
 * 2–10 times, but a segmentation or a synthetic phantom is mostly one value and deflates 100–1,000 times,
 * which is fine in a study that is mostly images. Sizes are judged as declared in the central directory
 * first, and yauzl holds each entry to its declared size while inflating.
 */
export const ZIP_LIMITS = {
  zipBytes: 1024 * 1024 * 1024,
  entries: 20_000,
  entryBytes: MAX_UPLOAD_BYTES,
  totalBytes: 2 * 1024 * 1024 * 1024,
  ratio: 200,
  ratioAllowanceBytes: 64 * 1024 * 1024,
} as const;
export type ZipLimits = { [K in keyof typeof ZIP_LIMITS]: number };

export class ImagingSourceError extends Error {
  constructor(message: string, public readonly code: 'IMAGING_SOURCE_ERROR' | 'IMAGING_NOT_FOUND' = 'IMAGING_SOURCE_ERROR') {
    super(message);
    this.name = 'ImagingSourceError';
  }
}

export type StudySource = 'dicomweb' | 'upload';
export interface AttachedStudy { studyUid: string; source: StudySource }

/** A study, series or instance that names another patient than the case's (what differs, never the values). */
export class PatientMismatch extends Error {
  constructor(
    public readonly differs: string[],
    of: 'study' | 'series' | 'instance' = 'study',
  ) {
    super(`the ${of}'s ${listed(differs)} ${differs.length === 1 ? 'differs' : 'differ'} from the case's patient`);
    this.name = 'PatientMismatch';
  }
}

/** "patient ID", "patient ID and name", "patient ID, name and birth date". */
function listed(items: readonly string[]): string {
  return items.length < 2 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}
