/** Helpers shared by stores: collecting put bodies and clipping byte ranges. */
import { LtxError } from "../errors.ts";
import { concat } from "../util/bytes.ts";
import { iterateChunks } from "../util/chunks.ts";
import type { ByteRange, GetOptions, PutBody } from "./blob-store.ts";

/** Gathers a body into one array. `maxBytes` bounds bodies of unknown length. */
export async function collectBody(body: PutBody, maxBytes = Number.MAX_SAFE_INTEGER): Promise<Uint8Array> {
  if (body instanceof Uint8Array) return body.slice();
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of iterateChunks(body)) {
    n += chunk.length;
    if (n > maxBytes) throw new LtxError("LIMIT_EXCEEDED", `body exceeds ${maxBytes} bytes`);
    parts.push(chunk);
  }
  return concat(parts, n);
}

/** Validates a range and returns [start, end) clipped to size. */
export function clipRange(size: number, range?: ByteRange): [number, number] {
  if (!range) return [0, size];
  const { offset, length } = range;
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
    throw new LtxError("INVALID_ARGUMENT", `invalid byte range: offset ${offset}, length ${length}`);
  }
  const start = Math.min(offset, size);
  const end = length === undefined ? size : Math.min(size, offset + length);
  return [start, Math.max(start, end)];
}

export function sliceRange(data: Uint8Array, range?: ByteRange): Uint8Array {
  const [s, e] = clipRange(data.length, range);
  return data.subarray(s, e);
}

/** Default chunk size of streamed reads (GetOptions.chunkSize). */
export const STREAM_CHUNK = 1 << 20;

/** The chunk size a chunked getStream reads in: the caller's, within 4 KiB .. 16 MiB, or STREAM_CHUNK. */
export function chunkSizeOf(opts?: GetOptions): number {
  const n = opts?.chunkSize;
  if (n === undefined) return STREAM_CHUNK;
  if (!Number.isSafeInteger(n) || n <= 0) throw new LtxError("INVALID_ARGUMENT", `invalid chunk size: ${n}`);
  return Math.min(16 << 20, Math.max(4096, n));
}
