/**
 * Imaging over HTTP (read through a room, like the case): the series of a
 * case's DICOM studies, one series' instances, and their frames
 * (GET .../frames/:n answers the stored pixel data: raw little-endian samples
 * as application/octet-stream, or a JPEG baseline bitstream as image/jpeg).
 * UIDs are pseudonyms (2.25.…) for de-identified viewers; dates are then years.
 */
export type ImagingVariant = 'identified' | 'identity-withheld' | 'deidentified';

export interface ImagingSeriesDto {
  seriesUid: string;
  /** The series' name in the room (viewer state, slice annotations): its pseudonymous UID, the same for every viewer. */
  key: string;
  modality: string | null;
  /** null for de-identified viewers (descriptions are free text). */
  description: string | null;
  number: number | null;
  instances: number;
  /** 'burned-in': may show identity in its pixels; withheld from this viewer until an administrator marks it clean. */
  withheld: 'burned-in' | null;
}

export interface ImagingStudyDto {
  studyUid: string;
  /** YYYYMMDD, or YYYY for de-identified viewers. */
  date: string | null;
  description: string | null;
  source: 'dicomweb' | 'upload';
  series: ImagingSeriesDto[];
}

export interface ImagingListResponse {
  variant: ImagingVariant;
  studies: ImagingStudyDto[];
  /** Studies that could not be shown, with the reason (e.g. IMAGING_PATIENT_MISMATCH, IMAGING_SOURCE_ERROR). */
  refused: { studyUid: string; code: string; message: string }[];
}

export interface ImagingInstanceDto {
  sopUid: string;
  number: number | null;
  frames: number;
  rows: number;
  columns: number;
  /** Row and column spacing in mm (PixelSpacing), for measurements. */
  pixelSpacing: [number, number] | null;
  sliceThickness: number | null;
  position: number[] | null;
  orientation: number[] | null;
  windowCenter: number | null;
  windowWidth: number | null;
  rescaleSlope: number;
  rescaleIntercept: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: number;
  photometric: string;
  samplesPerPixel: number;
}

export interface ImagingSeriesResponse {
  variant: ImagingVariant;
  studyUid: string;
  seriesUid: string;
  /** As ImagingSeriesDto.key. */
  key: string;
  modality: string | null;
  description: string | null;
  date: string | null;
  /** Identified viewers only. */
  patient: { name: string | null; id: string | null; birthDate: string | null } | null;
  institution: string | null;
  /** Sorted along the slice direction (position), else by instance number. */
  instances: ImagingInstanceDto[];
}

export interface ImagingUploadResponse {
  studyUid: string;
  seriesUid: string;
  sopUid: string;
  /** false when this instance was already stored (same SOP Instance UID and bytes). */
  created: boolean;
}

/** Window presets (centre/width in Hounsfield units) a radiologist expects. */
export const WINDOW_PRESETS = {
  'soft-tissue': { center: 40, width: 400 },
  lung: { center: -600, width: 1500 },
  bone: { center: 400, width: 1800 },
  brain: { center: 40, width: 80 },
} as const;
export type WindowPreset = keyof typeof WINDOW_PRESETS;
