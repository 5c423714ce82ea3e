/**
 * A BlobStore over a Cloudflare R2 bucket binding (Workers, Durable Objects; miniflare's
 * `getR2Bucket()` from Node). Typed as the subset of the binding's API it uses, so no Workers type
 * package is needed. Conditional puts use R2's `onlyIf` (`etagMatches`, `etagDoesNotMatch: "*"`),
 * which R2 applies atomically; a refused put comes back as `null` and becomes PRECONDITION_FAILED.
 * User metadata (`litestream-timestamp`) is R2 custom metadata, as S3 keeps it in `x-amz-meta-*`,
 * so a replica on R2 has S3's layout and is readable by Litestream through R2's S3 API.
 *
 * @module
 */
import { LtxError, isLtxError } from "../errors.ts";
import type { BlobInfo, BlobStore, ByteRange, DeleteOptions, GetOptions, ListOptions, PutBody, PutOptions } from "./blob-store.ts";
import { chunkSizeOf, clipRange, collectBody } from "./body.ts";
import { unquote } from "./memory.ts";

/** The part of an R2 object's description the store reads (R2Object). */
export interface R2ObjectLike {
  key: string;
  size: number;
  /** The ETag without quotes. */
  etag: string;
  uploaded: Date;
  customMetadata?: Record<string, string>;
}

/** An R2 object with its body (R2ObjectBody): what `get` returns. */
export interface R2ObjectBodyLike extends R2ObjectLike {
  readonly body: ReadableStream<Uint8Array>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** R2 conditions (R2Conditional) the store uses. */
export interface R2ConditionalLike {
  etagMatches?: string;
  etagDoesNotMatch?: string;
}

/** The subset of an R2 bucket binding (R2Bucket) the store calls. */
export interface R2BucketLike {
  head(key: string): Promise<R2ObjectLike | null>;
  get(key: string, options?: { range?: { offset: number; length?: number } }): Promise<R2ObjectBodyLike | null>;
  put(key: string, value: ArrayBuffer | ArrayBufferView | null, options?: { onlyIf?: R2ConditionalLike; customMetadata?: Record<string, string>; httpMetadata?: { contentType?: string } }): Promise<R2ObjectLike | null>;
  delete(keys: string | string[]): Promise<void>;
  list(options?: { prefix?: string; cursor?: string; startAfter?: string; limit?: number; include?: ("customMetadata" | "httpMetadata")[] }): Promise<{ objects: R2ObjectLike[]; truncated: boolean; cursor?: string }>;
}

/** Options of {@link R2Store}. */
export interface R2StoreOptions {
  /** Keys per list call (R2 allows at most 1000). */
  listLimit?: number;
  /** Keys per delete call (R2 allows at most 1000). */
  deleteBatch?: number;
}

/** Largest body the store collects for one put (R2's single-put limit is about 5 GB; LTX files are far smaller). */
const MAX_PUT = 4 * 1024 * 1024 * 1024;

/** A BlobStore over an R2 bucket binding. */
export class R2Store implements BlobStore {
  readonly kind = "r2";
  readonly #bucket: R2BucketLike;
  readonly #listLimit: number;
  readonly #deleteBatch: number;

  constructor(bucket: R2BucketLike, opts: R2StoreOptions = {}) {
    if (!bucket || typeof bucket.get !== "function" || typeof bucket.put !== "function") throw new LtxError("INVALID_ARGUMENT", "R2 store: a bucket binding (R2Bucket) is required");
    this.#bucket = bucket;
    this.#listLimit = Math.min(1000, Math.max(1, opts.listLimit ?? 1000));
    this.#deleteBatch = Math.min(1000, Math.max(1, opts.deleteBatch ?? 1000));
  }

  /** Reads an object or a range of it (clipped to the object; empty at or past its end). */
  async get(key: string, range?: ByteRange, opts: GetOptions = {}): Promise<Uint8Array | null> {
    checkAbort(opts.signal);
    const obj = await this.#getRange(key, range);
    if (obj === null) return null;
    if (obj === EMPTY) return new Uint8Array(0);
    return call("get", key, async () => new Uint8Array(await obj.arrayBuffer()));
  }

  /** Like get, as a stream; with `chunkSize`, chunks of at most that size. */
  async getStream(key: string, range?: ByteRange, opts: GetOptions = {}): Promise<ReadableStream<Uint8Array> | null> {
    checkAbort(opts.signal);
    const chunk = opts.chunkSize === undefined ? 0 : chunkSizeOf(opts);
    const obj = await this.#getRange(key, range);
    if (obj === null) return null;
    if (obj === EMPTY) return new ReadableStream<Uint8Array>({ start: (c) => c.close() });
    if (!chunk) return obj.body;
    return rechunk(obj.body, chunk);
  }

  /** R2 get of a range that may reach past the end: null when absent, EMPTY for an empty range. */
  async #getRange(key: string, range?: ByteRange): Promise<R2ObjectBodyLike | null | typeof EMPTY> {
    checkKey(key);
    if (range) clipRange(Number.MAX_SAFE_INTEGER, range); // validates
    if (!range || (range.offset === 0 && range.length === undefined)) return call("get", key, () => this.#bucket.get(key));
    // R2 refuses ranges past the end; clip against the object's size.
    const info = await call("head", key, () => this.#bucket.head(key));
    if (!info) return null;
    const [s, e] = clipRange(info.size, range);
    if (e <= s) return EMPTY;
    return call("get", key, () => this.#bucket.get(key, { range: { offset: s, length: e - s } }));
  }

  /** Writes an object; `ifNoneMatch: "*"` / `ifMatch` map to R2 `onlyIf`, a refusal to PRECONDITION_FAILED. */
  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<{ etag: string; size: number }> {
    checkKey(key);
    checkAbort(opts.signal);
    const data = await collectBody(body, MAX_PUT);
    const onlyIf: R2ConditionalLike = {};
    if (opts.ifNoneMatch === "*") onlyIf.etagDoesNotMatch = "*";
    if (opts.ifMatch !== undefined) onlyIf.etagMatches = unquote(opts.ifMatch);
    const conditional = opts.ifNoneMatch === "*" || opts.ifMatch !== undefined;
    opts.beforeCommit?.();
    const res = await call("put", key, () =>
      this.#bucket.put(key, data, {
        ...(conditional ? { onlyIf } : {}),
        ...(opts.metadata ? { customMetadata: { ...opts.metadata } } : {}),
        ...(opts.contentType ? { httpMetadata: { contentType: opts.contentType } } : {}),
      }),
    );
    if (res === null) throw new LtxError("PRECONDITION_FAILED", `put ${JSON.stringify(key)}: precondition failed: ${opts.ifNoneMatch === "*" ? "object exists" : "etag does not match"}`, { details: { method: "put", key } });
    return { etag: unquote(res.etag), size: data.length };
  }

  /** Lists keys under `prefix` in byte order, page by page (R2 lists in UTF-8 byte order). */
  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<BlobInfo> {
    let cursor: string | undefined;
    for (;;) {
      checkAbort(opts.signal);
      const page = await call("list", prefix, () =>
        this.#bucket.list({ prefix, limit: this.#listLimit, ...(cursor !== undefined ? { cursor } : opts.startAfter !== undefined ? { startAfter: opts.startAfter } : {}) }),
      );
      for (const o of page.objects) {
        if (opts.startAfter !== undefined && !(o.key > opts.startAfter)) continue;
        yield info(o, false);
      }
      if (!page.truncated || !page.cursor) return;
      cursor = page.cursor;
    }
  }

  /**
   * Deletes keys in batches of up to 1000. With `ifMatch` (one key) the ETag is checked by a head
   * first: R2 has no conditional delete, so this check is not atomic against a concurrent writer.
   */
  async delete(keys: readonly string[], opts: DeleteOptions = {}): Promise<void> {
    checkAbort(opts.signal);
    for (const k of keys) checkKey(k);
    if (opts.ifMatch !== undefined) {
      if (keys.length !== 1) throw new LtxError("INVALID_ARGUMENT", "conditional delete takes exactly one key");
      const key = keys[0]!;
      const cur = await call("head", key, () => this.#bucket.head(key));
      if (!cur) return;
      if (unquote(cur.etag) !== unquote(opts.ifMatch)) throw new LtxError("PRECONDITION_FAILED", `delete ${JSON.stringify(key)}: precondition failed: etag does not match`, { details: { method: "delete", key } });
    }
    for (let i = 0; i < keys.length; i += this.#deleteBatch) {
      const batch = keys.slice(i, i + this.#deleteBatch);
      opts.beforeCommit?.();
      await call("delete", batch[0]!, () => this.#bucket.delete(batch));
    }
  }

  /** Size, ETag, custom metadata and upload time of one object, or null. */
  async head(key: string, opts: GetOptions = {}): Promise<BlobInfo | null> {
    checkKey(key);
    checkAbort(opts.signal);
    const o = await call("head", key, () => this.#bucket.head(key));
    return o ? info(o, true) : null;
  }
}

const EMPTY = Symbol("empty");

function info(o: R2ObjectLike, withMetadata: boolean): BlobInfo {
  const out: BlobInfo = { key: o.key, size: o.size, etag: unquote(o.etag), lastModified: new Date(o.uploaded) };
  if (withMetadata) out.metadata = { ...(o.customMetadata ?? {}) };
  return out;
}

/** Runs one binding call; anything it throws becomes STORE_ERROR naming the method and key. */
async function call<T>(method: string, key: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (isLtxError(e)) throw e;
    const msg = e instanceof Error ? e.message : String(e);
    throw new LtxError("STORE_ERROR", `r2 ${method} ${JSON.stringify(key)} failed: ${msg}`, { cause: e, details: { method, key } });
  }
}

function checkKey(key: string): void {
  if (typeof key !== "string" || !key || key.includes("\0") || key.length > 1024) throw new LtxError("INVALID_ARGUMENT", `invalid key: ${JSON.stringify(key)}`);
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new LtxError("ABORTED", "r2 request aborted", { cause: signal.reason });
}

/** Re-chunks a byte stream into pieces of at most `size` bytes. */
function rechunk(src: ReadableStream<Uint8Array>, size: number): ReadableStream<Uint8Array> {
  const reader = src.getReader();
  let pending: Uint8Array | null = null;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      if (!pending || pending.length === 0) {
        const r = await reader.read();
        if (r.done) return c.close();
        pending = r.value;
      }
      c.enqueue(pending.slice(0, size));
      pending = pending.subarray(size);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
