import type { ImagingZipSkipReason, ImagingZipUploadResponse } from '../../../shared/src/imaging.ts';
import type { ConsiliumApi } from '../sdk/api.ts';

/** A file the admin picked: DICOM Part 10 files one by one, or a zip of a study (a PACS export, a CD). */
export interface ImageFile {
  name: string;
  /** The browser's File (sent as it is, never copied into memory) or bytes. */
  data: Uint8Array | Blob;
}

export interface UploadSummary {
  /** Images read (each stored instance once), of which new (the rest were stored already). */
  instances: number;
  created: number;
  studies: Set<string>;
  skipped: Map<ImagingZipSkipReason, { count: number; names: string[] }>;
  /** Files refused whole, with why (a wrong patient, an unreadable or hostile zip, not DICOM). */
  refused: { name: string; why: string }[];
}

const SKIPPED: Record<ImagingZipSkipReason, (n: number) => string> = {
  'not-dicom': (n) => `${n} not DICOM`,
  'no-uids': (n) => `${n} DICOM without image identifiers (such as a DICOMDIR)`,
  unsupported: (n) => `${n} in a format Consilium does not show`,
  archive: (n) => `${n} ${n === 1 ? 'archive' : 'archives'} inside the zip (not opened)`,
  encrypted: (n) => `${n} encrypted`,
  compression: (n) => `${n} compressed in a way Consilium does not read`,
  'too-large': (n) => `${n} larger than a file may be`,
};

const isZip = (f: ImageFile) => /\.zip$/i.test(f.name) || (f.data instanceof Blob && /zip/i.test(f.data.type));

/**
 * Upload each picked file to the case — a zip as one study, any other file as one DICOM instance — and
 * sum up what was stored, skipped and refused. A refusal (another patient's image, a hostile zip) stops
 * only that file: the admin reads which, and why, in the summary.
 */
export async function uploadImages(
  api: Pick<ConsiliumApi, 'uploadDicom' | 'uploadDicomZip'>,
  caseId: string,
  files: ImageFile[],
  errorText: (err: unknown) => string,
  progress: (text: string) => void = () => {},
): Promise<UploadSummary> {
  const sum: UploadSummary = { instances: 0, created: 0, studies: new Set(), skipped: new Map(), refused: [] };
  for (const [i, f] of files.entries()) {
    progress(`Uploading ${files.length > 1 ? `${i + 1} of ${files.length}: ` : ''}${f.name}${isZip(f) ? ' (a zip is read and checked whole before anything is stored)' : ''}…`);
    try {
      if (isZip(f)) add(sum, await api.uploadDicomZip(caseId, f.data));
      else {
        const r = await api.uploadDicom(caseId, f.data);
        sum.instances++;
        if (r.created) sum.created++;
        sum.studies.add(r.studyUid);
      }
    } catch (err) {
      sum.refused.push({ name: f.name, why: errorText(err) });
    }
  }
  return sum;
}

function add(sum: UploadSummary, r: ImagingZipUploadResponse): void {
  sum.instances += r.instances;
  sum.created += r.created;
  for (const s of r.studies) sum.studies.add(s.studyUid);
  for (const s of r.skipped) {
    const had = sum.skipped.get(s.reason) ?? { count: 0, names: [] };
    sum.skipped.set(s.reason, { count: had.count + s.count, names: [...had.names, ...s.names].slice(0, 3) });
  }
}

/** The summary as lines for the page: what was stored, what was skipped, and each refusal (shown as an error). */
export function summaryLines(sum: UploadSummary): { kind: 'stored' | 'skipped' | 'refused'; text: string }[] {
  const lines: { kind: 'stored' | 'skipped' | 'refused'; text: string }[] = [];
  const studies = sum.studies.size;
  if (sum.instances) lines.push({ kind: 'stored', text: `Stored ${sum.instances} ${sum.instances === 1 ? 'image' : 'images'} (${sum.created} new) in ${studies} ${studies === 1 ? 'study' : 'studies'}.` });
  const skipped = [...sum.skipped].map(([reason, s]) => `${SKIPPED[reason](s.count)} (${s.names.join(', ')}${s.count > s.names.length ? ', …' : ''})`);
  if (skipped.length) lines.push({ kind: 'skipped', text: `Skipped ${skipped.join('; ')}.` });
  for (const r of sum.refused) lines.push({ kind: 'refused', text: `Refused ${r.name}: ${r.why}${/[.!?]$/.test(r.why) ? '' : '.'}` });
  return lines.length ? lines : [{ kind: 'stored', text: 'Nothing was uploaded.' }];
}
