import type { ImagingSeriesResponse, ImagingVariant } from '../../../shared/src/imaging.ts';
import { patientMismatch } from '../domain/dicom-patient-match.ts';
import { mayCarryBurnedInIdentity, pseudonymUid, seriesView } from '../domain/dicom-view.ts';
import { str, type DicomHeader, type InstanceIndex } from '../domain/dicom.ts';
import { PatientMismatch, type AttachedStudy } from './source.ts';

/** Where one instance's frames are read from: its file, and its header and frame positions from that file. */
export interface FrameSource {
  file: string;
  index: InstanceIndex;
}

/**
 * One series as the routes serve it, built once per case imaging revision (ImagingService.checkedSeries):
 * its study and every instance checked against the case's patient, whether it may show identity burned
 * into its pixels and whether every such instance was marked clean, and — filled as they are first asked
 * for — each instance's frame source (its own file header checked too) and each viewer class's series
 * view and pseudonym map. A frame request then needs no query and no parse: only the reader's access,
 * which is decided on every request and never kept here.
 */
export class CheckedSeries {
  readonly bySop: ReadonlyMap<string, DicomHeader>;
  readonly burnedInRisk: boolean;
  private readonly frames = new Map<string, Promise<FrameSource>>();
  private readonly pseudonyms = new Map<string, Map<string, string>>();
  private readonly views = new Map<string, ImagingSeriesResponse>();

  constructor(
    readonly study: AttachedStudy,
    readonly seriesUid: string,
    readonly studyHeader: DicomHeader,
    readonly instances: DicomHeader[],
    private readonly patient: Record<string, unknown>,
    /** Some instance that may carry identity lacks an administrator's clean mark. */
    readonly unreviewedBurnedIn: boolean,
    /** The file and index of one of this series' instances (from the store, or the archive's cache). */
    private readonly locate: (sopUid: string) => Promise<FrameSource>,
  ) {
    this.bySop = new Map(instances.flatMap((h) => (str(h, 'sopInstanceUid') ? [[str(h, 'sopInstanceUid')!, h] as const] : [])));
    this.burnedInRisk = instances.some(mayCarryBurnedInIdentity);
  }

  /** The real SOP Instance UID behind the one a viewer names (a pseudonym for de-identified viewers). */
  sopFor(variant: ImagingVariant, key: string, shown: string): string | undefined {
    if (variant !== 'deidentified') return this.bySop.has(shown) ? shown : undefined;
    let map = this.pseudonyms.get(key);
    if (!map) {
      map = new Map([...this.bySop.keys()].map((sop) => [pseudonymUid(key, sop), sop]));
      this.pseudonyms.set(key, map);
    }
    return map.get(shown);
  }

  /** The series as this viewer class sees it (the same object for every viewer of that class). */
  view(variant: ImagingVariant, key: string): ImagingSeriesResponse {
    const k = `${variant}|${key}`;
    let v = this.views.get(k);
    if (!v) {
      v = seriesView(variant, key, this.studyHeader, this.instances);
      this.views.set(k, v);
    }
    return v;
  }

  /**
   * The instance's frame source, its file checked once: it must be the instance the index says (another
   * study's or series' bytes are never served under this one) and name the case's patient itself (the
   * archive's metadata and the file it serves can disagree). A mismatch is kept as the answer.
   */
  frameSource(sopUid: string): Promise<FrameSource> {
    let source = this.frames.get(sopUid);
    if (!source) {
      source = this.locate(sopUid).then((found) => {
        const h = found.index.header;
        if (str(h, 'studyInstanceUid') !== this.study.studyUid || str(h, 'seriesInstanceUid') !== this.seriesUid || str(h, 'sopInstanceUid') !== sopUid) throw new WrongFile();
        const differs = patientMismatch(h, this.patient);
        if (differs.length) throw new PatientMismatch(differs, 'instance');
        return found;
      });
      this.frames.set(sopUid, source);
      source.catch((err: unknown) => {
        if (!(err instanceof PatientMismatch) && !(err instanceof WrongFile)) this.frames.delete(sopUid);
      });
    }
    return source;
  }
}

/** The file holds another instance than its index row or the archive said. */
export class WrongFile extends Error {
  constructor() {
    super('the stored file is not the instance it is filed as');
    this.name = 'WrongFile';
  }
}
