/** Test helpers for streamed restores: random replicas and a store that instruments its streams. */
import type { BlobStore, ByteRange, GetOptions } from "../../lib/store/blob-store.ts";
import { LtxError } from "../../lib/errors.ts";
import { encodeLtxBytes, type Page } from "../../lib/ltx/encoder.ts";
import { newHeader } from "../../lib/ltx/header.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import type { Replica } from "../../lib/replica/replica.ts";
import { prng } from "../ltx/helpers.ts";

export function randomBytes(n: number, seed: number): Uint8Array {
  const r = prng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const x = r();
    b[i] = x >>> 24;
    b[i + 1] = x >>> 16;
    b[i + 2] = x >>> 8;
    b[i + 3] = x;
  }
  return b;
}

export function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function join2(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
}

/** A replica of `files` L0 files of incompressible 4 KiB pages (each several parts long); returns the database. */
export async function writeBigChain(r: Replica, files: number, pages: number): Promise<Uint8Array> {
  const ps = 4096;
  const db = new Uint8Array(pages * ps);
  for (let t = 1; t <= files; t++) {
    const list: Page[] = [];
    for (let p = 1; p <= pages; p++) {
      if (t > 1 && (p * 7 + t) % 3 !== 0) continue;
      const data = randomBytes(ps, t * 100003 + p);
      db.set(data, (p - 1) * ps);
      list.push({ pgno: p, data });
    }
    const ts = 1_760_000_000_000 + t * 1000;
    const bytes = encodeLtxBytes(newHeader({ flags: 2, pageSize: ps, commit: pages, minTXID: BigInt(t), maxTXID: BigInt(t), timestamp: ts, walOffset: 32 }), list);
    await writeLtxFile(r, 0, BigInt(t), BigInt(t), bytes, ts);
  }
  return db;
}

/** How a stream should misbehave: after `after` bytes, error or end early. */
export interface Cut {
  after: number;
  how: "error" | "end";
}

/**
 * A store that wraps another one and instruments its streams: every getStream is recorded, bodies
 * are pulled only on demand (no queue of their own), so `pulled` counts exactly the bytes read from
 * the store, and `open` the bodies neither finished nor cancelled. `cut` makes chosen streams fail.
 */
export class InstrumentedStore implements BlobStore {
  readonly kind: string;
  readonly inner: BlobStore;
  readonly streams: { key: string; offset: number; length: number | undefined }[] = [];
  pulled = 0;
  open = 0;
  maxOpen = 0;
  cancelled = 0;
  cut: (key: string, offset: number, nth: number) => Cut | null = () => null;
  constructor(inner: BlobStore, kind = "memory") {
    this.inner = inner;
    this.kind = kind;
  }
  async getStream(key: string, range?: ByteRange, opts?: GetOptions): Promise<ReadableStream<Uint8Array> | null> {
    const offset = range?.offset ?? 0;
    this.streams.push({ key, offset, length: range?.length });
    const cut = this.cut(key, offset, this.streams.filter((s) => s.key === key).length);
    const s = await this.inner.getStream(key, range, opts);
    if (!s) return null;
    const reader = s.getReader();
    this.open++;
    this.maxOpen = Math.max(this.maxOpen, this.open);
    let sent = 0;
    let live = true;
    const done = () => {
      if (live) this.open--;
      live = false;
    };
    return new ReadableStream<Uint8Array>(
      {
        pull: async (c) => {
          if (cut && sent >= cut.after) {
            done();
            await reader.cancel();
            if (cut.how === "error") c.error(new TypeError("connection reset"));
            else c.close();
            return;
          }
          const r = await reader.read();
          if (r.done) {
            done();
            return c.close();
          }
          const v = cut && sent + r.value.length > cut.after ? r.value.subarray(0, cut.after - sent) : r.value;
          sent += v.length;
          this.pulled += v.length;
          c.enqueue(v);
        },
        cancel: async (why) => {
          if (live) this.cancelled++;
          done();
          await reader.cancel(why);
        },
      },
      { highWaterMark: 0 },
    );
  }
  get: BlobStore["get"] = (...a) => this.inner.get(...a);
  put: BlobStore["put"] = (...a) => this.inner.put(...a);
  list: BlobStore["list"] = (...a) => this.inner.list(...a);
  delete: BlobStore["delete"] = (...a) => this.inner.delete(...a);
  head: BlobStore["head"] = (...a) => this.inner.head(...a);
}

/** How a request should fail, or null to pass it through. */
export type Fault = (op: "get" | "getStream" | "put" | "list" | "delete" | "head", key: string) => Error | null;

/** An S3-like 5xx error and a network error, as the stores report them. */
export const http503 = () => new LtxError("STORE_ERROR", "PUT failed: HTTP 503 Slow Down", { details: { status: 503 } });
export const netError = () => new TypeError("fetch failed: connection reset");

/** Counts every request per operation (`puts` also by key) and fails the ones `fault` picks. */
export class CountingStore implements BlobStore {
  readonly kind: string;
  readonly inMemory?: boolean;
  readonly inner: BlobStore;
  counts = { get: 0, getStream: 0, put: 0, list: 0, delete: 0, head: 0 };
  puts: string[] = [];
  deletes: string[] = [];
  lists: string[] = [];
  fault: Fault = () => null;
  /** Fail only after a macrotask turn (as a slow server does), so requests of other stores finish first. */
  slowFaults = false;
  constructor(inner: BlobStore) {
    this.inner = inner;
    this.kind = inner.kind;
    if (inner.inMemory !== undefined) this.inMemory = inner.inMemory;
  }
  async #check(op: keyof CountingStore["counts"], key: string): Promise<void> {
    this.counts[op]++;
    const e = this.fault(op, key);
    if (e && this.slowFaults) await new Promise((r) => setTimeout(r, 0));
    if (e) throw e;
  }
  reset(): void {
    this.counts = { get: 0, getStream: 0, put: 0, list: 0, delete: 0, head: 0 };
    this.puts = [];
    this.deletes = [];
    this.lists = [];
  }
  get: BlobStore["get"] = async (key, ...a) => (await this.#check("get", key), this.inner.get(key, ...a));
  getStream: BlobStore["getStream"] = async (key, ...a) => (await this.#check("getStream", key), this.inner.getStream(key, ...a));
  put: BlobStore["put"] = async (key, ...a) => {
    await this.#check("put", key);
    const r = await this.inner.put(key, ...a);
    this.puts.push(key);
    return r;
  };
  list: BlobStore["list"] = (prefix, opts) => {
    const self = this;
    return (async function* () {
      self.lists.push(prefix);
      await self.#check("list", prefix);
      yield* self.inner.list(prefix, opts);
    })();
  };
  delete: BlobStore["delete"] = async (keys, opts) => {
    await this.#check("delete", keys[0] ?? "");
    await this.inner.delete(keys, opts);
    this.deletes.push(...keys);
  };
  head: BlobStore["head"] = async (key, ...a) => (await this.#check("head", key), this.inner.head(key, ...a));
}
