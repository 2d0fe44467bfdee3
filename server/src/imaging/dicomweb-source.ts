import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

  /**
   * One instance as a Part 10 file at `dest`, streamed to disk within the bound (never held in memory:
   * a multi-frame instance may be 100 MB). The multipart answer is written whole, then its one part is
   * copied out by position: its start after the first part's headers, its end before the closing boundary.
   */
  async instanceToFile(studyUid: string, seriesUid: string, sopUid: string, dest: string): Promise<void> {
    // transfer-syntax=* asks for the instance as stored: Consilium decides what it can show, and says so plainly.
    const res = await this.get(`/studies/${uid(studyUid)}/series/${uid(seriesUid)}/instances/${uid(sopUid)}`, 'multipart/related; type="application/dicom"; transfer-syntax=*');
    const limit = MAX_INSTANCE_BYTES + 64 * 1024;
    const raw = `${dest}.multipart`;
    try {
      if (Number(res.headers.get('content-length') ?? NaN) > limit) throw new ImagingSourceError(`the archive's answer is larger than ${limit} bytes`);
      if (!res.body) throw new ImagingSourceError('the archive answered without a body');
      let bytes = 0;
      await pipeline(
        Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            bytes += chunk.length;
            if (bytes > limit) throw new ImagingSourceError(`the archive's answer is larger than ${limit} bytes`);
            yield chunk;
          }
        },
        createWriteStream(raw, { mode: 0o600 }),
      ).catch((err: unknown) => {
        throw err instanceof ImagingSourceError ? err : new ImagingSourceError('the archive stopped answering');
      });
      const part = await firstPartRange(raw, bytes, res.headers.get('content-type') ?? '');
      await pipeline(createReadStream(raw, { start: part.start, end: part.end - 1 }), createWriteStream(dest, { mode: 0o600 }));
    } finally {
      await rm(raw, { force: true });
    }
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

/** Where the first body part of a multipart/related answer stored in `file` lies ([start, end)); the whole file when it is not multipart. */
export async function firstPartRange(file: string, size: number, contentType: string): Promise<{ start: number; end: number }> {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!/^multipart\//i.test(contentType) || !m) return { start: 0, end: size }; // some archives answer application/dicom directly
  const fh = await open(file, 'r');
  try {
    const headLength = Math.min(size, 16 * 1024);
    const head = Buffer.alloc(headLength);
    await fh.read(head, 0, headLength, 0);
    const delimiter = Buffer.from(`--${m[1]}`);
    const first = head.indexOf(delimiter);
    if (first < 0) throw new ImagingSourceError('the archive answered a multipart body without its boundary');
    const headersEnd = head.indexOf('\r\n\r\n', first);
    if (headersEnd < 0) throw new ImagingSourceError('the archive answered a malformed multipart body');
    const start = headersEnd + 4;
    const tailLength = Math.min(size - start, 16 * 1024);
    const tail = Buffer.alloc(tailLength);
    await fh.read(tail, 0, tailLength, size - tailLength);
    const close = tail.lastIndexOf(Buffer.from(`\r\n--${m[1]}`));
    return { start, end: close < 0 ? size : size - tailLength + close };
  } finally {
    await fh.close();
  }
}
