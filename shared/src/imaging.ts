import { z } from 'zod';

/**
 * Imaging over HTTP (read through a room, like the case): the series of a
 * case's DICOM studies, one series' instances, and their frames
 * (GET .../frames/:n answers the stored pixel data: raw little-endian samples
 * as application/octet-stream, or a JPEG baseline bitstream as image/jpeg).
 * UIDs are pseudonyms (2.25.…) for de-identified viewers; dates are then years.
 */
export const ImagingVariant = z.enum(['identified', 'identity-withheld', 'deidentified']);
export type ImagingVariant = z.infer<typeof ImagingVariant>;

/** A DICOM UID: dotted decimal components, at most 64 characters (PS3.5 9.1). */
export const DICOM_UID = /^[0-9]{1,40}(\.[0-9]{1,40}){0,30}$/;
/** Instances one mark may name: more than any series an upload or a PACS study of ours holds. */
export const MAX_MARKED_INSTANCES = 10_000;
/**
 * Marking a series clean (`POST /api/cases/:id/imaging/series/:seriesUid/clean`): the SOP Instance
 * UIDs the administrator looked at. Only those are marked — an instance that reached the series
 * after they looked (an upload in between) stays withheld until someone looks at it.
 */
export const MarkCleanBody = z.strictObject({
  instances: z
    .array(z.string().max(64).regex(DICOM_UID, 'not a DICOM UID'))
    .min(1)
    .max(MAX_MARKED_INSTANCES)
    .refine((list) => new Set(list).size === list.length, 'each instance may appear once')
    .meta({ uniqueItems: true, description: 'SOP Instance UIDs of the series as the administrator reviewed them (identified UIDs)' }),
});
export type MarkCleanBody = z.input<typeof MarkCleanBody>;

export const ImagingSeriesDto = z.strictObject({
  seriesUid: z.string(),
  /** The series' name in the room (viewer state, slice annotations): its pseudonymous UID, the same for every viewer. */
  key: z.string(),
  modality: z.string().nullable(),
  /** null for de-identified viewers (descriptions are free text). */
  description: z.string().nullable(),
  number: z.number().nullable(),
  instances: z.number().int(),
  /** 'burned-in': may show identity in its pixels; withheld from this viewer until an administrator marks it clean. */
  withheld: z.literal('burned-in').nullable(),
});
export type ImagingSeriesDto = z.infer<typeof ImagingSeriesDto>;

export const ImagingStudyDto = z.strictObject({
  studyUid: z.string(),
  /** YYYYMMDD, or YYYY for de-identified viewers. */
  date: z.string().nullable(),
  description: z.string().nullable(),
  source: z.enum(['dicomweb', 'upload']),
  series: z.array(ImagingSeriesDto),
});
export type ImagingStudyDto = z.infer<typeof ImagingStudyDto>;

export const ImagingListResponse = z.strictObject({
  variant: ImagingVariant,
  studies: z.array(ImagingStudyDto),
  /** Studies, or single series (seriesUid set), that could not be shown, with the reason (e.g. IMAGING_PATIENT_MISMATCH, IMAGING_SOURCE_ERROR). */
  refused: z.array(z.strictObject({ studyUid: z.string(), seriesUid: z.string().optional(), code: z.string(), message: z.string() })),
});
export type ImagingListResponse = z.infer<typeof ImagingListResponse>;

export const ImagingInstanceDto = z.strictObject({
  sopUid: z.string(),
  number: z.number().nullable(),
  frames: z.number().int(),
  rows: z.number().int(),
  columns: z.number().int(),
  /** Row and column spacing in mm (PixelSpacing), for measurements. */
  pixelSpacing: z.tuple([z.number(), z.number()]).nullable(),
  sliceThickness: z.number().nullable(),
  position: z.array(z.number()).nullable(),
  orientation: z.array(z.number()).nullable(),
  windowCenter: z.number().nullable(),
  windowWidth: z.number().nullable(),
  rescaleSlope: z.number(),
  rescaleIntercept: z.number(),
  bitsAllocated: z.number().int(),
  bitsStored: z.number().int(),
  pixelRepresentation: z.number().int(),
  photometric: z.string(),
  samplesPerPixel: z.number().int(),
});
export type ImagingInstanceDto = z.infer<typeof ImagingInstanceDto>;

export const ImagingSeriesResponse = z.strictObject({
  variant: ImagingVariant,
  studyUid: z.string(),
  seriesUid: z.string(),
  /** As ImagingSeriesDto.key. */
  key: z.string(),
  modality: z.string().nullable(),
  description: z.string().nullable(),
  date: z.string().nullable(),
  /** Identified viewers only. */
  patient: z.strictObject({ name: z.string().nullable(), id: z.string().nullable(), birthDate: z.string().nullable() }).nullable(),
  institution: z.string().nullable(),
  /** Sorted along the slice direction (position), else by instance number. */
  instances: z.array(ImagingInstanceDto),
});
export type ImagingSeriesResponse = z.infer<typeof ImagingSeriesResponse>;

export const ImagingUploadResponse = z.strictObject({
  studyUid: z.string(),
  seriesUid: z.string(),
  sopUid: z.string(),
  /** false when this instance was already stored (same SOP Instance UID and bytes). */
  created: z.boolean(),
});
export type ImagingUploadResponse = z.infer<typeof ImagingUploadResponse>;

/**
 * Why an entry of an uploaded zip was not stored. Skipped, not refused: a PACS export or a CD holds a
 * DICOMDIR, a viewer and text files beside the images. not-dicom: not a DICOM Part 10 file (or one too
 * malformed to read); no-uids: DICOM without Study, Series and SOP Instance UIDs (a DICOMDIR); unsupported:
 * a transfer syntax Consilium does not show; archive: a zip inside the zip (not opened); encrypted;
 * compression: a zip method other than stored or deflate; too-large: one entry over the per-file limit.
 */
export const ImagingZipSkipReason = z.enum(['not-dicom', 'no-uids', 'unsupported', 'archive', 'encrypted', 'compression', 'too-large']);
export type ImagingZipSkipReason = z.infer<typeof ImagingZipSkipReason>;

export const ImagingZipUploadResponse = z.strictObject({
  /** Each study the zip held, with its series and instance counts. */
  studies: z.array(z.strictObject({ studyUid: z.string(), series: z.number().int(), instances: z.number().int() })),
  /** DICOM image instances read from the zip (duplicates once). */
  instances: z.number().int(),
  /** Of those, newly stored (the rest were stored already, with the same bytes). */
  created: z.number().int(),
  /** Entries not stored, per reason: how many, and the first few names. */
  skipped: z.array(z.strictObject({ reason: ImagingZipSkipReason, count: z.number().int(), names: z.array(z.string()) })),
});
export type ImagingZipUploadResponse = z.infer<typeof ImagingZipUploadResponse>;

/** Window presets (centre/width in Hounsfield units) a radiologist expects. */
export const WINDOW_PRESETS = {
  'soft-tissue': { center: 40, width: 400 },
  lung: { center: -600, width: 1500 },
  bone: { center: 400, width: 1800 },
  brain: { center: 40, width: 80 },
} as const;
export type WindowPreset = keyof typeof WINDOW_PRESETS;

/**
 * How the open series lies on the table in the 3D view (part of the shared view: it follows the presenter):
 * three reformatted planes (MPR), a maximum intensity projection, or a composited volume rendering whose
 * transfer function is the current window (below the window transparent, through it ever more opaque).
 */
export const VOLUME_MODES = ['planes', 'mip', 'volume'] as const;
export type VolumeMode = (typeof VOLUME_MODES)[number];
export const isVolumeMode = (m: string): m is VolumeMode => (VOLUME_MODES as readonly string[]).includes(m);
