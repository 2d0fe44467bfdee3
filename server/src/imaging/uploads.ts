import type { ImagingZipSkipReason, ImagingZipUploadResponse } from '../../../shared/src/imaging.ts';
import { patientMismatch } from '../domain/dicom-patient-match.ts';
import { str, type DicomHeader } from '../domain/dicom.ts';
import { indexDicomZip, type ZipEntryFile } from './dicom-off-thread.ts';
import type { ImagingService } from './imaging-service.ts';
import { SopTaken, type LocalImagingStore } from './local-store.ts';
import { PatientMismatch } from './source.ts';

const UID = /^[0-9]{1,40}(\.[0-9]{1,40}){0,30}$/;

/** The instance's Study, Series and SOP Instance UIDs, when all three are there and valid; null otherwise. */
export function instanceUids(h: DicomHeader): { studyUid: string; seriesUid: string; sopUid: string } | null {
  const [studyUid, seriesUid, sopUid] = [str(h, 'studyInstanceUid'), str(h, 'seriesInstanceUid'), str(h, 'sopInstanceUid')];
  if (!studyUid || !seriesUid || !sopUid || ![studyUid, seriesUid, sopUid].every((u) => UID.test(u) && u.length <= 64)) return null;
  return { studyUid, seriesUid, sopUid };
}

/** Two different files under one SOP Instance UID (in the zip, or already stored in the case). */
export class SopConflict extends Error {
  constructor(entry: string) {
    super(`“${entry}” has the SOP Instance UID of another file, in the zip or already stored in this case, with other bytes`);
    this.name = 'SopConflict';
  }
}

/** The zip held no DICOM image at all (what it held instead is in `skipped`). */
export class NoImages extends Error {
  constructor(readonly skipped: ImagingZipUploadResponse['skipped']) {
    super('the zip holds no DICOM Part 10 image');
    this.name = 'NoImages';
  }
}

/** A zip's patient mismatch names the first few entries that differ (the admin's own file names). */
export class ZipPatientMismatch extends PatientMismatch {
  constructor(differs: string[], readonly names: string[]) {
    super(differs);
    this.message = `${names.length === 1 ? `“${names[0]}”` : `${names.length} files (“${names[0]}”, …)`}: ${this.message}; nothing was stored`;
  }
}

/**
 * Store a study uploaded as a zip: read it off the event loop (indexDicomZip: bounded, entry by entry),
 * then hold every image to what a single upload is held to — valid UIDs, the case's patient, no second
 * file under a SOP Instance UID — and store them all, or none: one wrong-patient file refuses the zip
 * (a wrong-patient image in a conference is a safety event, and the admin should fix the export rather
 * than trust a partial study). Entries that are not DICOM images are skipped and counted.
 */
export async function storeZip(deps: { local: LocalImagingStore; imaging: ImagingService }, caseId: string, zip: string, by: string): Promise<ImagingZipUploadResponse> {
  const work = await deps.local.workDir();
  try {
    const read = await indexDicomZip(zip, work);
    const skipped = new Map<ImagingZipSkipReason, { count: number; names: string[] }>(read.skipped.map((s) => [s.reason, { count: s.count, names: s.names }]));
    const images: (ZipEntryFile & { uids: NonNullable<ReturnType<typeof instanceUids>> })[] = [];
    for (const e of read.entries) {
      const uids = instanceUids(e.index.header);
      if (uids) images.push({ ...e, uids });
      else {
        const s = skipped.get('no-uids') ?? { count: 0, names: [] };
        s.count++;
        if (s.names.length < 5) s.names.push(e.name);
        skipped.set('no-uids', s);
      }
    }
    const skippedList = [...skipped].map(([reason, s]) => ({ reason, ...s }));
    if (!images.length) throw new NoImages(skippedList);

    const patient = await deps.imaging.patient(caseId);
    const wrong = images.map((e) => ({ e, differs: patientMismatch(e.index.header, patient) })).filter((x) => x.differs.length);
    if (wrong.length) throw new ZipPatientMismatch([...new Set(wrong.flatMap((x) => x.differs))], wrong.slice(0, 5).map((x) => x.e.name));

    const bySop = new Map<string, (typeof images)[number]>();
    for (const e of images) {
      const seen = bySop.get(e.uids.sopUid);
      if (seen && seen.sha256 !== e.sha256) throw new SopConflict(e.name);
      if (!seen) bySop.set(e.uids.sopUid, e);
    }
    const stored = await deps.local.storedHashes(caseId, [...bySop.keys()]);
    for (const [sop, e] of bySop) if (stored.has(sop) && stored.get(sop) !== e.sha256) throw new SopConflict(e.name);

    const created = await deps.local.keepMany(caseId, [...bySop.values()].filter((e) => !stored.has(e.uids.sopUid)), by).catch((err: unknown) => {
      throw err instanceof SopTaken ? new SopConflict(bySop.get(err.sopUid)?.name ?? err.sopUid) : err;
    });
    const studies = new Map<string, { series: Set<string>; instances: number }>();
    for (const e of bySop.values()) {
      const s = studies.get(e.uids.studyUid) ?? { series: new Set(), instances: 0 };
      s.series.add(e.uids.seriesUid);
      s.instances++;
      studies.set(e.uids.studyUid, s);
    }
    for (const studyUid of studies.keys()) await deps.imaging.attach(caseId, studyUid, 'upload', by);
    return {
      studies: [...studies].map(([studyUid, s]) => ({ studyUid, series: s.series.size, instances: s.instances })),
      instances: bySop.size,
      created,
      skipped: skippedList,
    };
  } finally {
    await deps.local.discard(work);
  }
}
