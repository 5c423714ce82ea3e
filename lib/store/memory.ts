/**
 * An in-memory BlobStore for tests, browsers and workers. ETags are a per-store counter, so every
 * write gets a new one; conditional writes are atomic because JavaScript runs them to completion.
 */
import { LtxError } from "../errors.ts";
import type { BlobInfo, BlobStore, ByteRange, DeleteOptions, GetOptions, ListOptions, PutBody, PutOptions } from "./blob-store.ts";
import { chunkSizeOf, collectBody, sliceRange } from "./body.ts";

interface Entry {
  data: Uint8Array;
  etag: string;
  lastModified: Date;
  metadata: Record<string, string>;
}

/** A BlobStore in memory (tests, workers, browsers), with the same semantics as the other stores. */
export class MemoryStore implements BlobStore {
  readonly kind = "memory";
  /** Objects live in memory: a whole get is a copy, no I/O. */
  readonly inMemory = true;
  #objects = new Map<string, Entry>();
  #seq = 0;

  async get(key: string, range?: ByteRange, _opts?: GetOptions): Promise<Uint8Array | null> {
    const e = this.#objects.get(key);
    if (!e) return null;
    return sliceRange(e.data, range).slice();
  }

  /** The stored bytes of `key` without a copy (never written to: a put replaces them). */
  getShared(key: string): Uint8Array | null {
    return this.#objects.get(key)?.data ?? null;
  }

  async getStream(key: string, range?: ByteRange, opts?: GetOptions): Promise<ReadableStream<Uint8Array> | null> {
    const e = this.#objects.get(key);
    if (!e) return null;
    const src = sliceRange(e.data, range);
    const chunk = chunkSizeOf(opts);
    let pos = 0;
    // Copies one chunk per pull, so a consumer never sees (or holds) more than it asked for.
    return new ReadableStream<Uint8Array>({
      pull(c) {
        if (pos >= src.length) return c.close();
        c.enqueue(src.slice(pos, pos + chunk));
        pos += chunk;
      },
    }, { highWaterMark: 0 });
  }

  async put(key: string, body: PutBody, opts: PutOptions = {}): Promise<{ etag: string; size: number }> {
    checkKey(key);
    const data = opts.transfer && body instanceof Uint8Array ? body : await collectBody(body);
    const cur = this.#objects.get(key);
    if (opts.ifNoneMatch === "*" && cur) throw precondition("put", key, "object exists");
    if (opts.ifMatch !== undefined && (!cur || cur.etag !== unquote(opts.ifMatch))) throw precondition("put", key, "etag does not match");
    opts.beforeCommit?.();
    const etag = `m${(++this.#seq).toString(16).padStart(8, "0")}`;
    this.#objects.set(key, { data, etag, lastModified: opts.mtime ?? new Date(), metadata: { ...(opts.metadata ?? {}) } });
    return { etag, size: data.length };
  }

  async *list(prefix: string, opts: ListOptions = {}): AsyncIterable<BlobInfo> {
    const keys = [...this.#objects.keys()].filter((k) => k.startsWith(prefix) && (opts.startAfter === undefined || k > opts.startAfter));
    keys.sort(compareKeys);
    for (const k of keys) {
      const e = this.#objects.get(k);
      if (e) yield { key: k, size: e.data.length, etag: e.etag, lastModified: e.lastModified };
    }
  }

  async delete(keys: readonly string[], opts: DeleteOptions = {}): Promise<void> {
    if (opts.ifMatch !== undefined) {
      if (keys.length !== 1) throw new LtxError("INVALID_ARGUMENT", "conditional delete takes exactly one key");
      const cur = this.#objects.get(keys[0]!);
      if (!cur) return;
      if (cur.etag !== unquote(opts.ifMatch)) throw precondition("delete", keys[0]!, "etag does not match");
    }
    opts.beforeCommit?.();
    for (const k of keys) this.#objects.delete(k);
  }

  async head(key: string, _opts?: GetOptions): Promise<BlobInfo | null> {
    const e = this.#objects.get(key);
    return e ? { key, size: e.data.length, etag: e.etag, lastModified: e.lastModified, metadata: { ...e.metadata } } : null;
  }
}

/** Byte-order comparison of keys (UTF-8 order equals code point order). */
export function compareKeys(a: string, b: string): number {
  const ea = new TextEncoder().encode(a), eb = new TextEncoder().encode(b);
  const n = Math.min(ea.length, eb.length);
  for (let i = 0; i < n; i++) if (ea[i] !== eb[i]) return ea[i]! - eb[i]!;
  return ea.length - eb.length;
}

export function unquote(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

function precondition(method: string, key: string, why: string): LtxError {
  return new LtxError("PRECONDITION_FAILED", `${method} ${JSON.stringify(key)}: precondition failed: ${why}`, { details: { method, key } });
}

function checkKey(key: string): void {
  if (!key || key.includes("\0")) throw new LtxError("INVALID_ARGUMENT", `invalid key: ${JSON.stringify(key)}`);
}
