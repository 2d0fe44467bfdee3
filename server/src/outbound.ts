/**
 * Response bodies of our own outgoing requests (FHIR server, token endpoints,
 * JWKS). Read as a stream and abandoned the moment they pass `limit` bytes
 * (decoded bytes, so compression does not hide the size); a declared
 * Content-Length over the limit is refused before reading. The header is only
 * a shortcut: it may be absent (chunked) or lie, and the count is what holds.
 */
export class ResponseTooLarge extends Error {
  constructor(public readonly limit: number) {
    super(`response larger than ${limit} bytes`);
    this.name = 'ResponseTooLarge';
  }
}

/** Bytes read (and handed to `onChunk`) between turns of the event loop. */
const TURN_BYTES = 512 * 1024;

/** `onChunk` sees each piece of the body as it is stored. */
export async function readBoundedResponse(res: Response, limit: number, onChunk?: (chunk: Uint8Array) => void): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await res.body?.cancel().catch(() => {});
    throw new ResponseTooLarge(limit);
  }
  if (!res.body) return Buffer.alloc(0);
  // One buffer that grows in place up to the limit (memory is committed as it grows): no list of chunks, no copy to join them.
  const store = new GrowableArrayBuffer(0, { maxByteLength: limit });
  const reader = res.body.getReader();
  let sinceTurn = 0;
  for (;;) {
    // A read the stream has buffered already resolves as a microtask, so a fast sender's 10 MB would be stored
    // (and skimmed) in one turn of the event loop, 20 ms of it in the import bench: let the rooms in between.
    if (sinceTurn >= TURN_BYTES) {
      sinceTurn = 0;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const { done, value } = await reader.read();
    if (done) break;
    sinceTurn += value.byteLength;
    const at = store.byteLength;
    if (at + value.byteLength > limit) {
      // Cancelling closes the connection: the rest is never received.
      await reader.cancel().catch(() => {});
      throw new ResponseTooLarge(limit);
    }
    store.resize(at + value.byteLength);
    new Uint8Array(store, at).set(value);
    onChunk?.(value);
  }
  return Buffer.from(store);
}

/** ES2024 resizable ArrayBuffer (Node ≥ 20), which the ES2023 library types do not declare. */
export const GrowableArrayBuffer = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & { resize(length: number): void };

/** A redirect answer to a request made with `redirect: 'manual'` (never followed: it could carry credentials or data elsewhere). */
export const isRedirect = (res: Response): boolean => res.status >= 300 && res.status < 400;
