import { isRedirect, readBoundedResponse, ResponseTooLarge } from '../outbound.ts';
import { fromDicomJson, type DicomHeader } from '../domain/dicom.ts';
import { ImagingSourceError, MAX_INSTANCE_BYTES, type ImagingSource } from './source.ts';

/** QIDO-RS and metadata answers: a 2,000-slice series' metadata is a few MB. */
const JSON_BYTES = 32 * 1024 * 1024;
const UID = /^[0-9]+(\.[0-9]+)*$/;

export interface DicomWebOptions {
  baseUrl: string;
  /** The Authorization header value for each request, or null (test archives). */
  authorization: () => Promise<string | null>;
  fetch?: typeof fetch;
}

/**
 * A PACS over DICOMweb: QIDO-RS to find studies and series, WADO-RS for
 * metadata and instances. Like the FHIR client it never follows a redirect
 * (credentials and patient data must not travel elsewhere) and reads every
 * answer within a bound, abandoning it past the limit.
 */
export class DicomWebSource implements ImagingSource {
  private readonly fetchImpl: typeof fetch;

  constructor(private readonly opts: DicomWebOptions) {
    this.fetchImpl = opts.fetch ?? fetch;
  }

  async study(_caseId: string, studyUid: string): Promise<DicomHeader[]> {
    return (await this.json(`/studies?StudyInstanceUID=${uid(studyUid)}&includefield=00100030`)).map(fromDicomJson);
  }

  async series(_caseId: string, studyUid: string): Promise<DicomHeader[]> {
    return (await this.json(`/studies/${uid(studyUid)}/series`)).map(fromDicomJson);
  }

  async instances(_caseId: string, studyUid: string, seriesUid: string): Promise<DicomHeader[]> {
    return (await this.json(`/studies/${uid(studyUid)}/series/${uid(seriesUid)}/metadata`)).map(fromDicomJson);
  }

  async instance(_caseId: string, studyUid: string, seriesUid: string, sopUid: string): Promise<Uint8Array> {
    // transfer-syntax=* asks for the instance as stored: Consilium decides what it can show, and says so plainly.
    const res = await this.get(`/studies/${uid(studyUid)}/series/${uid(seriesUid)}/instances/${uid(sopUid)}`, 'multipart/related; type="application/dicom"; transfer-syntax=*');
    const body = await this.read(res, MAX_INSTANCE_BYTES + 64 * 1024);
    return firstPart(body, res.headers.get('content-type') ?? '');
  }

  private async json(path: string): Promise<unknown[]> {
    const res = await this.get(path, 'application/dicom+json');
    if (res.status === 204) return [];
    const body = await this.read(res, JSON_BYTES);
    try {
      const parsed: unknown = JSON.parse(body.toString('utf8'));
      return Array.isArray(parsed) ? parsed : [];
    } catch {
      throw new ImagingSourceError('the archive answered with invalid JSON');
    }
  }

  private async get(path: string, accept: string): Promise<Response> {
    const auth = await this.opts.authorization();
    let res: Response;
    try {
      res = await this.fetchImpl(`${this.opts.baseUrl}${path}`, { headers: { Accept: accept, ...(auth ? { Authorization: auth } : {}) }, redirect: 'manual', signal: AbortSignal.timeout(30_000) });
    } catch (err) {
      throw new ImagingSourceError(`the archive is unreachable (${(err as Error).name})`);
    }
    if (isRedirect(res)) {
      await res.body?.cancel().catch(() => {});
      throw new ImagingSourceError(`the archive answered with a redirect (${res.status}), which is not followed: configure the final address`);
    }
    if (res.status === 404) {
      await res.body?.cancel().catch(() => {});
      throw new ImagingSourceError('the archive has no such study, series or instance', 'IMAGING_NOT_FOUND');
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new ImagingSourceError(`the archive answered ${res.status}`);
    }
    return res;
  }

  private async read(res: Response, limit: number): Promise<Buffer> {
    try {
      return await readBoundedResponse(res, limit);
    } catch (err) {
      throw new ImagingSourceError(err instanceof ResponseTooLarge ? `the archive's answer is larger than ${limit} bytes` : 'the archive stopped answering');
    }
  }
}

function uid(value: string): string {
  if (!UID.test(value) || value.length > 64) throw new ImagingSourceError('not a DICOM UID', 'IMAGING_NOT_FOUND');
  return value;
}

/** The first body part of a multipart/related answer (one instance was asked for). */
export function firstPart(body: Buffer, contentType: string): Uint8Array {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!/^multipart\//i.test(contentType) || !m) return body; // some archives answer application/dicom directly
  const delimiter = Buffer.from(`--${m[1]}`);
  const start = body.indexOf(delimiter);
  if (start < 0) throw new ImagingSourceError('the archive answered a multipart body without its boundary');
  const headersEnd = body.indexOf('\r\n\r\n', start);
  if (headersEnd < 0) throw new ImagingSourceError('the archive answered a malformed multipart body');
  const end = body.indexOf(Buffer.from(`\r\n--${m[1]}`), headersEnd + 4);
  return body.subarray(headersEnd + 4, end < 0 ? body.length : end);
}
