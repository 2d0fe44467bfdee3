import { crc32, deflateRawSync } from 'node:zlib';

/**
 * A minimal zip writer (PKWARE APPNOTE 4.3: local headers, central directory, end record; stored or
 * deflated; no zip64) for tests: the real DICOM fixtures zipped at test time, and hostile zips no
 * archiver would write — names outside the archive, sizes that lie, an "encrypted" flag, a bomb.
 */
export interface ZipInput {
  name: string;
  data: Uint8Array;
  method?: 'store' | 'deflate';
  /** Declare this uncompressed size instead of the real one (a lying header). */
  declaredSize?: number;
  /** Set the encryption flag (the data is not actually encrypted). */
  encrypted?: boolean;
}

/** The same data deflated once (a bomb repeats one entry). */
const deflated = new WeakMap<Uint8Array, Buffer>();

export function zip(entries: ZipInput[]): Uint8Array {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const method = e.method === 'store' ? 0 : 8;
    let body = method === 8 ? deflated.get(e.data) : Buffer.from(e.data);
    if (!body) deflated.set(e.data, (body = deflateRawSync(e.data)));
    const crc = crc32(e.data);
    const size = e.declaredSize ?? e.data.length;
    const flags = 0x0800 | (e.encrypted ? 1 : 0); // UTF-8 names
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(0, 10); // time, date
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(flags, 8);
    dir.writeUInt16LE(method, 10);
    dir.writeUInt32LE(0, 12);
    dir.writeUInt32LE(crc, 16);
    dir.writeUInt32LE(body.length, 20);
    dir.writeUInt32LE(size, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    central.push(dir, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, end]));
}
