/**
 * Worker thread: read an uploaded zip of DICOM Part 10 files one entry at a time (yauzl, from the file:
 * the zip is never held in memory), write each entry to its own file in `outDir`, then parse and index it
 * (domain/dicom.ts) as a file uploaded alone is. The zip is refused whole when reading it could harm the
 * server (see ZIP_LIMITS); entries that are simply not DICOM images are skipped and reported.
 * Plain, erasable TypeScript: Node runs it without a loader.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parentPort, workerData } from 'node:worker_threads';
import yauzl from 'yauzl';
import { NotDicom, parsePart10, pixelIndex, str, UnsupportedImage, unsupportedSyntax } from '../domain/dicom.ts';
import type { ZipAnswer, ZipEntryFile, ZipJob, ZipSkipReason } from './dicom-off-thread.ts';
import { lowerThisThread } from '../thread-priority.ts';

lowerThisThread();

const { zip, outDir, limits } = workerData as ZipJob;

class Refused extends Error {}
const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/** Entry names as reported back: printable, short (they are the admin's own file names, never logged). */
const shown = (name: string) => name.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 120);

async function run(): Promise<ZipAnswer> {
  let file: yauzl.ZipFile;
  try {
    // strictFileNames off: Windows tools write "\" as the separator; yauzl turns it into "/" and still refuses absolute and ".." names.
    file = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(zip, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: false }, (err, f) => (err ? reject(err) : resolve(f))));
  } catch (err) {
    throw new Refused(`not a readable zip file (${(err as Error).message})`);
  }
  try {
    if (file.entryCount > limits.entries) throw new Refused(`the zip holds ${file.entryCount} entries; at most ${limits.entries} are read`);
    const skipped = new Map<ZipSkipReason, { count: number; names: string[] }>();
    const skip = (reason: ZipSkipReason, name: string) => {
      const s = skipped.get(reason) ?? { count: 0, names: [] };
      s.count++;
      if (s.names.length < 5) s.names.push(shown(name));
      skipped.set(reason, s);
    };
    // First the central directory, whole: every name and declared size is judged before one byte is inflated.
    const todo: yauzl.Entry[] = [];
    let declared = 0;
    for await (const entry of eachEntry(file)) {
      const name = entry.fileName;
      if (name.endsWith('/')) continue; // a folder
      if (entry.isEncrypted()) skip('encrypted', name);
      else if (!entry.canDecodeFileData()) skip('compression', name);
      else if (/\.(zip|7z|rar|tar|tgz|gz)$/i.test(name)) skip('archive', name); // not opened: one level of archive only
      else if (entry.uncompressedSize > limits.entryBytes) skip('too-large', name);
      else {
        declared += entry.uncompressedSize;
        if (declared > limits.totalBytes) throw new Refused(`the entries hold more than ${limits.totalBytes} bytes together`);
        todo.push(entry);
      }
    }
    const zipBytes = (await stat(zip)).size;
    if (declared > limits.ratio * zipBytes + limits.ratioAllowanceBytes) {
      throw new Refused(`its entries inflate to ${Math.round(declared / zipBytes)} times the zip's size (at most ${limits.ratio}): a zip bomb is not read`);
    }
    // Then each entry to its own file, one at a time, and judged.
    const entries: ZipEntryFile[] = [];
    for (const [i, entry] of todo.entries()) {
      const out = path.join(outDir, `${i + 1}.dcm`);
      const { bytes, sha256 } = await extract(file, entry, out);
      const judged = await judge(out, entry.fileName, bytes, sha256);
      if (typeof judged === 'object') entries.push(judged);
      else {
        skip(judged, entry.fileName);
        await rm(out, { force: true });
      }
    }
    return { ok: true, entries, skipped: [...skipped].map(([reason, s]) => ({ reason, ...s })) };
  } finally {
    file.close();
  }
}

/** Entries one by one (lazyEntries): the next is read only when this one is done. */
async function* eachEntry(file: yauzl.ZipFile): AsyncGenerator<yauzl.Entry> {
  for (;;) {
    const next = new Promise<yauzl.Entry | null>((resolve, reject) => {
      const cleanup = () => {
        file.removeListener('entry', onEntry);
        file.removeListener('end', onEnd);
        file.removeListener('error', onError);
      };
      const onEntry = (e: yauzl.Entry) => (cleanup(), resolve(e));
      const onEnd = () => (cleanup(), resolve(null));
      const onError = (err: Error) => (cleanup(), reject(new Refused(`the zip is malformed or names a file outside it (${err.message})`)));
      file.once('entry', onEntry);
      file.once('end', onEnd);
      file.once('error', onError);
    });
    file.readEntry();
    const entry = await next;
    if (!entry) return;
    yield entry;
  }
}

/** Inflate one entry to `out`, counting and hashing what is written (yauzl also holds it to its declared size). */
async function extract(file: yauzl.ZipFile, entry: yauzl.Entry, out: string): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const stream = await new Promise<Readable>((resolve, reject) => file.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))));
    await pipeline(
      stream,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          bytes += chunk.length;
          if (bytes > entry.uncompressedSize || bytes > limits.entryBytes) throw new Error('more bytes than declared');
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(out, { mode: 0o600 }),
    );
  } catch (err) {
    throw new Refused(`an entry's data is corrupt or larger than declared (${(err as Error).message})`);
  }
  return { bytes, sha256: hash.digest('hex') };
}

/** A DICOM image instance kept for the upload's checks, or why it is skipped. */
async function judge(out: string, name: string, bytes: number, sha256: string): Promise<ZipEntryFile | ZipSkipReason> {
  const head = Buffer.alloc(132);
  const fh = await open(out, 'r');
  try {
    await fh.read(head, 0, 132, 0);
  } finally {
    await fh.close();
  }
  if (head.subarray(0, 4).equals(ZIP_MAGIC)) return 'archive';
  if (bytes < 132 || head.subarray(128, 132).toString('latin1') !== 'DICM') return 'not-dicom';
  try {
    const parsed = parsePart10(new Uint8Array(await readFile(out)));
    if (unsupportedSyntax(str(parsed.header, 'transferSyntaxUid'))) return 'unsupported';
    return { name: shown(name), file: out, bytes, sha256, index: { header: parsed.header, pixels: pixelIndex(parsed) } };
  } catch (err) {
    if (err instanceof UnsupportedImage) return 'unsupported';
    if (err instanceof NotDicom) return 'not-dicom';
    throw err;
  }
}

try {
  parentPort!.postMessage(await run());
} catch (err) {
  parentPort!.postMessage({ ok: false, refused: err instanceof Refused, message: err instanceof Error ? err.message : 'the zip could not be read' } satisfies ZipAnswer);
}
