/**
 * The HTTP pieces of the S3 store that hold no state: request headers from options, `Retry-After`,
 * a body guard that types stalls and short bodies, and the part reader of multipart uploads.
 */
import { LtxError } from "../errors.ts";
import type { ByteRange, PutOptions } from "./blob-store.ts";
import { concat } from "../util/bytes.ts";
import { unquote } from "./memory.ts";

/**
 * Milliseconds a `Retry-After` value asks to wait: delta-seconds or an HTTP date (RFC 9110 §10.2.3);
 * 0 when absent or malformed.
 */
export function parseRetryAfter(v: string | null, now: number): number {
  if (!v) return 0;
  const t = v.trim();
  if (/^\d{1,10}$/.test(t)) return Number(t) * 1000;
  const d = Date.parse(t);
  return Number.isNaN(d) || !/[a-z]/i.test(t) ? 0 : Math.max(0, d - now);
}

/**
 * A streamed body whose failures are typed: TIMEOUT when a read waits more than `ms` for the next
 * chunk (a server that stalls mid-body; the wait counts only while the consumer reads), STORE_ERROR
 * when the connection breaks or the body ends short of its Content-Length (`expected`).
 */
export function guardBody(body: ReadableStream<Uint8Array>, ms: number, what: string, expected: number | undefined): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let got = 0;
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new LtxError("TIMEOUT", `${what}: no body bytes for ${ms} ms (at byte ${got})`)), ms);
        });
        try {
          const r = await Promise.race([reader.read(), stalled]);
          if (r.done) {
            if (expected !== undefined && got !== expected) throw new LtxError("STORE_ERROR", `${what}: body ended at byte ${got} of ${expected} (Content-Length)`);
            c.close();
          } else {
            got += r.value.length;
            c.enqueue(r.value);
          }
        } catch (e) {
          reader.cancel(e).catch(() => {});
          if (e instanceof LtxError) throw e;
          throw new LtxError("STORE_ERROR", `${what}: reading body at byte ${got}: ${(e as Error)?.message ?? String(e)}`, { cause: e });
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}

/** The Range header of a byte range (none for a whole object); INVALID_ARGUMENT for a bad range. */
export function rangeHeader(range?: ByteRange): Record<string, string> {
  if (!range) return {};
  if (!Number.isSafeInteger(range.offset) || range.offset < 0 || (range.length !== undefined && (!Number.isSafeInteger(range.length) || range.length < 0))) {
    throw new LtxError("INVALID_ARGUMENT", `invalid byte range: offset ${range.offset}, length ${range.length}`);
  }
  return { range: range.length === undefined ? `bytes=${range.offset}-` : `bytes=${range.offset}-${range.offset + range.length - 1}` };
}

/** x-amz-meta-* and content-type headers of a put. */
export function metaHeaders(opts: PutOptions): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, v] of Object.entries(opts.metadata ?? {})) h[`x-amz-meta-${k.toLowerCase()}`] = v;
  if (opts.contentType) h["content-type"] = opts.contentType;
  return h;
}

/** The headers of a put: metadata plus its conditions (If-None-Match, If-Match). */
export function writeHeaders(opts: PutOptions): Record<string, string> {
  const h = metaHeaders(opts);
  if (opts.ifNoneMatch) h["if-none-match"] = "*";
  // Ceph RGW matches If-Match only against the unquoted ETag; AWS accepts it unquoted too.
  if (opts.ifMatch !== undefined) h["if-match"] = unquote(opts.ifMatch);
  return h;
}

/** A stream that ends at once. */
export function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}

async function* chunksOfGen(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let o = 0; o < data.length; o += size) yield data.subarray(o, o + size);
}
/** An iterator over `data` in `size`-byte chunks. */
export function chunksOf(data: Uint8Array, size: number): AsyncIterator<Uint8Array> {
  return chunksOfGen(data, size);
}

const leftovers = new WeakMap<AsyncIterator<Uint8Array>, Uint8Array>();

/** Reads exactly `size` bytes (fewer at the end) from an iterator of chunks. */
export async function readPart(it: AsyncIterator<Uint8Array>, size: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  const left = leftovers.get(it);
  if (left) {
    leftovers.delete(it);
    parts.push(left);
    n = left.length;
  }
  while (n < size) {
    const r = await it.next();
    if (r.done) break;
    parts.push(r.value);
    n += r.value.length;
  }
  const all = concat(parts, n);
  if (all.length > size) {
    leftovers.set(it, all.slice(size));
    return all.subarray(0, size);
  }
  return all;
}

/** A signal that aborts when any of `signals` does (AbortSignal.any where the runtime has it). */
export function anySignal(signals: AbortSignal[]): AbortSignal {
  const any = (AbortSignal as unknown as { any?: (s: AbortSignal[]) => AbortSignal }).any;
  if (any) return any(signals);
  const c = new AbortController();
  for (const s of signals) s.addEventListener("abort", () => c.abort(s.reason), { once: true });
  return c.signal;
}
