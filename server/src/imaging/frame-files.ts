import { open, type FileHandle } from 'node:fs/promises';
import { ImagingSourceError } from './source.ts';

/**
 * Open files frames are read from, kept open (at most `max`, least recently used closed first): a reader
 * scrolling at 20 slices a second would otherwise open, stat and close a file for every frame. A frame
 * is then one positioned read. The files never change once written (uploads are named by their hash,
 * archive instances by their UIDs), so a kept handle reads what a fresh one would; a file removed while
 * open (a purged case) stays readable through its handle only until it is closed — and nothing reaches
 * it meanwhile, since the case's reads are refused first. `closeAll()` lets its space go at once.
 */
export class FrameFiles {
  private readonly handles = new Map<string, Kept>();

  constructor(private readonly max = 128) {}

  /** One frame's bytes: the [position, length] parts of the file, in order, in one buffer. */
  async read(file: string, parts: [number, number][]): Promise<Buffer> {
    const entry = this.acquire(file);
    try {
      const fh = await entry.fh;
      const out = Buffer.allocUnsafe(parts.reduce((n, [, len]) => n + len, 0));
      let at = 0;
      for (const [position, length] of parts) {
        let got = 0;
        while (got < length) {
          const { bytesRead } = await fh.read(out, at + got, length - got, position + got);
          if (bytesRead === 0) throw new ImagingSourceError('the stored file is shorter than its index says');
          got += bytesRead;
        }
        at += length;
      }
      return out;
    } finally {
      this.release(entry);
    }
  }

  /** Close every kept handle (after a purge); reads in progress finish first. */
  closeAll(): void {
    for (const [file, entry] of [...this.handles]) this.evict(file, entry);
  }

  private acquire(file: string): Kept {
    let entry = this.handles.get(file);
    if (entry) {
      this.handles.delete(file); // most recently used last
      this.handles.set(file, entry);
    } else {
      const fh = open(file, 'r').catch((err: NodeJS.ErrnoException) => {
        throw err.code === 'ENOENT' ? new ImagingSourceError('the stored file is missing', 'IMAGING_NOT_FOUND') : err;
      });
      entry = { fh, reading: 0, evicted: false };
      this.handles.set(file, entry);
      fh.catch(() => this.handles.get(file) === entry && this.handles.delete(file));
      while (this.handles.size > this.max) {
        const [oldest, old] = this.handles.entries().next().value!;
        this.evict(oldest, old);
      }
    }
    entry.reading++;
    return entry;
  }

  private release(entry: Kept): void {
    entry.reading--;
    if (entry.evicted && entry.reading === 0) close(entry);
  }

  private evict(file: string, entry: Kept): void {
    if (this.handles.get(file) === entry) this.handles.delete(file);
    entry.evicted = true;
    if (entry.reading === 0) close(entry);
  }
}

interface Kept {
  fh: Promise<FileHandle>;
  /** Reads in progress: a handle evicted meanwhile is closed when the last one ends. */
  reading: number;
  evicted: boolean;
}

const close = (entry: Kept) => void entry.fh.then((fh) => fh.close()).catch(() => {});
