import { createHmac } from 'node:crypto';
import type { ImagingInstanceDto, ImagingSeriesResponse, ImagingVariant } from '../../../shared/src/imaging.ts';
import { num, nums, str, type DicomHeader } from './dicom.ts';

/**
 * What of a DICOM header each viewer gets. An allowlist, as in deidentify.ts:
 * only the attributes needed to draw and measure an image are copied, so
 * everything PS3.15 Annex E (Basic Application Level Confidentiality Profile)
 * removes — names, IDs, institution, operators, physicians, accession numbers,
 * descriptions, private tags, everything else — is absent simply by not being
 * copied. For de-identified viewers dates are reduced to the year and every UID
 * is replaced by a pseudonym (2.25.<HMAC of the UID under the case's key>),
 * the same one each time, so series and slices still line up.
 */
export function pseudonymUid(key: string, uid: string): string {
  const digest = createHmac('sha256', key).update(uid).digest();
  return `2.25.${BigInt(`0x${digest.subarray(0, 16).toString('hex')}`).toString()}`;
}

/** The UID a viewer sees. */
export function uidFor(variant: ImagingVariant, key: string, uid: string): string {
  return variant === 'deidentified' ? pseudonymUid(key, uid) : uid;
}

export function dateFor(variant: ImagingVariant, date: string | undefined): string | null {
  if (!date || !/^\d{8}$/.test(date)) return null;
  return variant === 'deidentified' ? date.slice(0, 4) : date;
}

/** SOP classes that are screenshots or documents rather than acquisitions. */
const SECONDARY_SOP = /^1\.2\.840\.10008\.5\.1\.4\.1\.1\.(7(\.\d+)?|104\.\d+|88\.\d+)$/;
/** Modalities whose images commonly carry text burned in by the device. */
const BURNED_IN_MODALITIES = new Set(['US', 'SC', 'OT', 'XC', 'DOC', 'SM', 'ES', 'GM']);

/** May this instance show identity in its pixels (Annex E: Burned In Annotation, secondary captures, screenshots, ultrasound)? */
export function mayCarryBurnedInIdentity(h: DicomHeader): boolean {
  if (str(h, 'burnedInAnnotation')?.toUpperCase() === 'YES') return true;
  const sop = str(h, 'sopClassUid');
  if (sop && SECONDARY_SOP.test(sop)) return true;
  const modality = str(h, 'modality');
  if (modality && BURNED_IN_MODALITIES.has(modality.toUpperCase())) return true;
  const type = h.imageType;
  return Array.isArray(type) && type.some((t) => String(t).toUpperCase() === 'SCREEN SHOT');
}

export function instanceView(variant: ImagingVariant, key: string, h: DicomHeader): ImagingInstanceDto {
  const spacing = nums(h, 'pixelSpacing');
  return {
    sopUid: uidFor(variant, key, str(h, 'sopInstanceUid') ?? ''),
    number: num(h, 'instanceNumber') ?? null,
    frames: num(h, 'numberOfFrames') ?? 1,
    rows: num(h, 'rows') ?? 0,
    columns: num(h, 'columns') ?? 0,
    pixelSpacing: spacing && spacing.length >= 2 ? [spacing[0]!, spacing[1]!] : null,
    sliceThickness: num(h, 'sliceThickness') ?? null,
    position: nums(h, 'imagePositionPatient') ?? null,
    orientation: nums(h, 'imageOrientationPatient') ?? null,
    windowCenter: num(h, 'windowCenter') ?? null,
    windowWidth: num(h, 'windowWidth') ?? null,
    rescaleSlope: num(h, 'rescaleSlope') ?? 1,
    rescaleIntercept: num(h, 'rescaleIntercept') ?? 0,
    bitsAllocated: num(h, 'bitsAllocated') ?? 16,
    bitsStored: num(h, 'bitsStored') ?? num(h, 'bitsAllocated') ?? 16,
    pixelRepresentation: num(h, 'pixelRepresentation') ?? 0,
    photometric: str(h, 'photometricInterpretation') ?? 'MONOCHROME2',
    samplesPerPixel: num(h, 'samplesPerPixel') ?? 1,
  };
}

/** A series for one viewer: identity only when identified, the year only when de-identified. */
export function seriesView(variant: ImagingVariant, key: string, study: DicomHeader, instances: DicomHeader[]): ImagingSeriesResponse {
  const first = instances[0] ?? {};
  const identified = variant === 'identified';
  const keep = variant !== 'deidentified';
  return {
    variant,
    studyUid: uidFor(variant, key, str(study, 'studyInstanceUid') ?? str(first, 'studyInstanceUid') ?? ''),
    seriesUid: uidFor(variant, key, str(first, 'seriesInstanceUid') ?? ''),
    key: pseudonymUid(key, str(first, 'seriesInstanceUid') ?? ''),
    modality: str(first, 'modality') ?? null,
    description: keep ? (str(first, 'seriesDescription') ?? null) : null,
    date: dateFor(variant, str(first, 'seriesDate') ?? str(study, 'studyDate') ?? str(first, 'studyDate')),
    patient: identified ? { name: str(study, 'patientName') ?? str(first, 'patientName') ?? null, id: str(study, 'patientId') ?? str(first, 'patientId') ?? null, birthDate: str(study, 'patientBirthDate') ?? str(first, 'patientBirthDate') ?? null } : null,
    institution: keep ? (str(first, 'institutionName') ?? null) : null,
    instances: sortSlices(instances).map((h) => instanceView(variant, key, h)),
  };
}

/** Along the slice normal when positions and orientation are known, else by instance number. */
export function sortSlices(instances: DicomHeader[]): DicomHeader[] {
  const o = nums(instances[0] ?? {}, 'imageOrientationPatient');
  const normal = o && o.length === 6 ? [o[1]! * o[5]! - o[2]! * o[4]!, o[2]! * o[3]! - o[0]! * o[5]!, o[0]! * o[4]! - o[1]! * o[3]!] : null;
  const depth = (h: DicomHeader) => {
    const p = nums(h, 'imagePositionPatient');
    return normal && p && p.length === 3 ? p[0]! * normal[0]! + p[1]! * normal[1]! + p[2]! * normal[2]! : null;
  };
  return [...instances].sort((a, b) => {
    const da = depth(a);
    const db = depth(b);
    if (da !== null && db !== null && da !== db) return da - db;
    return (num(a, 'instanceNumber') ?? 0) - (num(b, 'instanceNumber') ?? 0);
  });
}
