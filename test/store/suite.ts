/**
 * One store conformance suite, run against every BlobStore: memory, file (Node, Bun, Deno) and S3 on
 * Ceph RGW.
 */
import { describe, it, expect, beforeAll } from "vitest";
import type { BlobStore } from "../../lib/store/blob-store.ts";
import { isLtxError } from "../../lib/errors.ts";

export interface SuiteOptions {
  /** Multipart threshold the store was built with (bytes), if it does multipart. */
  partSize?: number;
  /** Whether the store keeps user metadata. */
  metadata?: boolean;
  /** Extra cases (e.g. auth errors) may be added by the caller. */
  bigListing?: boolean;
  /** Whether getStream honours GetOptions.chunkSize (stores that read in chunks). */
  chunked?: boolean;
  /** Register the suite but skip it (e.g. no S3 server configured). */
  skip?: boolean;
  /** The store's request counters (S3Store `stats`), to prove multipart uploads as such. */
  stats?: Record<string, number>;
  /** False for stores reached through a proxy (a browser page) that cannot carry a callback option. */
  callbacks?: boolean;
}

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

export function storeSuite(name: string, make: () => Promise<BlobStore> | BlobStore, opts: SuiteOptions = {}): void {
  describe.skipIf(opts.skip ?? false)(`BlobStore conformance: ${name}`, () => {
    let store: BlobStore;
    let p: string;
    beforeAll(async () => {
      store = await make();
      p = `suite-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}/`;
    });

    it("returns null for missing keys and deletes them without error", async () => {
      expect(await store.get(p + "missing")).toBeNull();
      expect(await store.getStream(p + "missing")).toBeNull();
      expect(await store.head(p + "missing")).toBeNull();
      await store.delete([p + "missing", p + "also/missing"]);
    });

    it("round-trips bytes and reports size and etag", async () => {
      const r = await store.put(p + "a/one.bin", bytes("hello world"));
      expect(r.size).toBe(11);
      expect(r.etag).not.toBe("");
      expect(text(await store.get(p + "a/one.bin"))).toBe("hello world");
      const h = await store.head(p + "a/one.bin");
      expect(h?.size).toBe(11);
      expect(h?.etag).toBe(r.etag);
      const r2 = await store.put(p + "a/one.bin", bytes("hello again"));
      expect(r2.etag).not.toBe(r.etag);
    });

    it("serves ranges inside, at and past the end", async () => {
      await store.put(p + "r.bin", bytes("0123456789"));
      expect(text(await store.get(p + "r.bin", { offset: 2, length: 3 }))).toBe("234");
      expect(text(await store.get(p + "r.bin", { offset: 7 }))).toBe("789");
      expect(text(await store.get(p + "r.bin", { offset: 8, length: 100 }))).toBe("89");
      expect(await store.get(p + "r.bin", { offset: 10 })).toEqual(new Uint8Array(0));
      expect(await store.get(p + "r.bin", { offset: 50, length: 5 })).toEqual(new Uint8Array(0));
      const s = await store.getStream(p + "r.bin", { offset: 1, length: 4 });
      const parts = await collect(s as unknown as AsyncIterable<Uint8Array>);
      expect(text(concat(parts))).toBe("1234");
    });

    it("getStream() with chunkSize streams the range whole, in chunks of at most that size where the store reads in chunks", async () => {
      const data = new Uint8Array(10_000).map((_, i) => (i * 31) & 0xff);
      await store.put(p + "chunks.bin", data);
      const s = await store.getStream(p + "chunks.bin", { offset: 100, length: 9_000 }, { chunkSize: 4096 });
      const parts = await collect(s as unknown as AsyncIterable<Uint8Array>);
      expect(concat(parts)).toEqual(data.slice(100, 9_100));
      if (opts.chunked) expect(parts.map((x) => x.length)).toEqual([4096, 4096, 808]);
    });

    it("stores empty objects", async () => {
      const r = await store.put(p + "empty", new Uint8Array(0));
      expect(r.size).toBe(0);
      expect(await store.get(p + "empty")).toEqual(new Uint8Array(0));
      expect(await store.get(p + "empty", { offset: 0, length: 10 })).toEqual(new Uint8Array(0));
      expect((await store.head(p + "empty"))?.size).toBe(0);
    });

    it("accepts streamed bodies", async () => {
      const chunks = [bytes("ab"), bytes("cd"), bytes("ef")];
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          for (const ch of chunks) c.enqueue(ch);
          c.close();
        },
      });
      const r = await store.put(p + "streamed", body);
      expect(r.size).toBe(6);
      expect(text(await store.get(p + "streamed"))).toBe("abcdef");
    });

    it("handles keys with spaces and unicode", async () => {
      const k = p + "dir with space/ünïcode ✓ 日本.ltx";
      await store.put(k, bytes("u"));
      expect(text(await store.get(k))).toBe("u");
      const listed = (await collect(store.list(p + "dir with space/"))).map((b) => b.key);
      expect(listed).toEqual([k]);
      await store.delete([k]);
      expect(await store.get(k)).toBeNull();
    });

    it("lists in lexicographic order with startAfter", async () => {
      const keys = ["l/b", "l/a", "l/c/d", "l/ab", "l/0"].map((k) => p + k);
      for (const k of keys) await store.put(k, bytes(k));
      const all = (await collect(store.list(p + "l/"))).map((b) => b.key);
      expect(all).toEqual([...keys].sort());
      const after = (await collect(store.list(p + "l/", { startAfter: p + "l/ab" }))).map((b) => b.key);
      expect(after).toEqual([p + "l/b", p + "l/c/d"]);
      const info = (await collect(store.list(p + "l/a")))[0]!;
      expect(info.size).toBe((p + "l/a").length);
      expect(info.lastModified).toBeInstanceOf(Date);
    });

    it("sets the modification time when asked", async () => {
      const when = new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678));
      await store.put(p + "mt", bytes("x"), { mtime: when, metadata: { "litestream-timestamp": when.toISOString() } });
      const h = await store.head(p + "mt");
      if (store.kind === "s3" || store.kind === "r2") expect(h?.metadata?.["litestream-timestamp"]).toBe(when.toISOString());
      else expect(h?.lastModified.getTime()).toBe(when.getTime());
    });

    it.skipIf(!opts.metadata)("round-trips user metadata", async () => {
      await store.put(p + "meta", bytes("m"), { metadata: { "litestream-timestamp": "2026-01-02T03:04:05.5Z", other: "v" } });
      const h = await store.head(p + "meta");
      expect(h?.metadata).toMatchObject({ "litestream-timestamp": "2026-01-02T03:04:05.5Z", other: "v" });
    });

    it("deletes in batches, idempotently", async () => {
      const n = opts.bigListing ? 1105 : 40;
      const keys = Array.from({ length: n }, (_, i) => `${p}del/${i.toString().padStart(5, "0")}`);
      await runLimited(keys, 16, (k) => store.put(k, bytes("d")));
      const listed = await collect(store.list(p + "del/"));
      expect(listed.length).toBe(n);
      expect(listed.map((b) => b.key)).toEqual(keys);
      await store.delete([...keys, p + "del/not-there"]);
      expect((await collect(store.list(p + "del/"))).length).toBe(0);
    });

    it("lets exactly one of many concurrent create-if-absent writes win", async () => {
      const k = p + "race/lock.json";
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.put(k, bytes(`w${i}`), { ifNoneMatch: "*" })));
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
      expect(won.length).toBe(1);
      expect(lost.length).toBe(7);
      for (const l of lost) expect(isLtxError(l.reason, "PRECONDITION_FAILED")).toBe(true);
    });

    it("honours If-Match on put and delete", async () => {
      const k = p + "cas";
      const v1 = await store.put(k, bytes("v1"));
      const v2 = await store.put(k, bytes("v2"), { ifMatch: v1.etag });
      await expect(store.put(k, bytes("v3"), { ifMatch: v1.etag })).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });
      expect(text(await store.get(k))).toBe("v2");
      await expect(store.put(p + "cas-missing", bytes("x"), { ifMatch: v1.etag })).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });
      await expect(store.delete([k], { ifMatch: v1.etag })).rejects.toMatchObject({ code: "PRECONDITION_FAILED" });
      await store.delete([k], { ifMatch: `"${v2.etag}"` });
      expect(await store.get(k)).toBeNull();
    });

    it.skipIf(opts.callbacks === false)("runs beforeCommit once, after the whole body is taken, before a put lands; what it throws is what put rejects with, and the old value stays", async () => {
      const k = p + "fence";
      await store.put(k, bytes("old"));
      let drained = false;
      const body = (parts: string[]) =>
        new ReadableStream<Uint8Array>({
          pull(c) {
            const next = parts.shift();
            if (next === undefined) {
              drained = true;
              c.close();
            } else c.enqueue(bytes(next));
          },
        });
      const seen: boolean[] = [];
      const refusal = new Error("fence closed");
      await expect(store.put(k, body(["ne", "w1"]), { beforeCommit: () => (seen.push(drained), (() => { throw refusal; })()) })).rejects.toBe(refusal);
      expect(seen, "called once, after the body's end").toEqual([true]);
      expect(text(await store.get(k))).toBe("old");
      await expect(store.put(k, bytes("new2"), { ifMatch: (await store.head(k))!.etag, beforeCommit: () => { throw refusal; } })).rejects.toBe(refusal);
      expect(text(await store.get(k))).toBe("old");
      await expect(store.put(p + "fence-new", bytes("x"), { ifNoneMatch: "*", beforeCommit: () => { throw refusal; } })).rejects.toBe(refusal);
      expect(await store.head(p + "fence-new")).toBeNull();
      drained = false;
      let calls = 0;
      await store.put(k, body(["ne", "w3"]), { beforeCommit: () => void calls++ });
      expect(calls).toBe(1);
      expect(text(await store.get(k))).toBe("new3");
    });

    it.skipIf(opts.callbacks === false)("keeps the keys of a delete, plain or conditional, whose beforeCommit throws", async () => {
      const k = p + "fence-del";
      const { etag } = await store.put(k, bytes("keep"));
      const refusal = new Error("fence closed");
      await expect(store.delete([k, p + "fence-del-missing"], { beforeCommit: () => { throw refusal; } })).rejects.toBe(refusal);
      await expect(store.delete([k], { ifMatch: etag, beforeCommit: () => { throw refusal; } })).rejects.toBe(refusal);
      expect(text(await store.get(k))).toBe("keep");
      let calls = 0;
      await store.delete([k], { beforeCommit: () => void calls++ });
      expect(calls).toBe(1);
      expect(await store.get(k)).toBeNull();
    });

    it("lets exactly one of two compare-and-swap writers win", async () => {
      const k = p + "cas2";
      const v1 = await store.put(k, bytes("base"));
      const results = await Promise.allSettled([store.put(k, bytes("A"), { ifMatch: v1.etag }), store.put(k, bytes("B"), { ifMatch: v1.etag })]);
      expect(results.filter((r) => r.status === "fulfilled").length).toBe(1);
      const loser = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      expect(isLtxError(loser.reason, "PRECONDITION_FAILED")).toBe(true);
    });

    it.skipIf(!opts.partSize)("uploads above the part size as a multipart upload of 3 parts (3 UploadPart requests, server ETag -3) and reads it back", async () => {
      const size = opts.partSize! * 2 + 12345;
      const big = new Uint8Array(size);
      for (let i = 0; i < size; i += 4096) big[i] = (i / 4096) & 0xff;
      const before = { ...opts.stats };
      const r = await store.put(p + "big.bin", big);
      expect(r.size).toBe(size);
      // The server marks a completed multipart upload's ETag with its part count.
      expect(r.etag).toMatch(/-3$/);
      if (opts.stats) {
        const delta = (m: string) => (opts.stats![m] ?? 0) - (before[m] ?? 0);
        expect({ PUT: delta("PUT"), POST: delta("POST") }, "3 UploadPart PUTs, CreateMultipartUpload + CompleteMultipartUpload POSTs").toEqual({ PUT: 3, POST: 2 });
      }
      const back = await store.get(p + "big.bin");
      expect(back?.length).toBe(size);
      expect(back!.every((b, i) => b === big[i])).toBe(true);
      const mid = await store.get(p + "big.bin", { offset: opts.partSize! - 10, length: 20 });
      expect(mid).toEqual(big.subarray(opts.partSize! - 10, opts.partSize! + 10));
    });
  });
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

async function runLimited<T>(items: T[], limit: number, fn: (x: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (i < items.length) await fn(items[i++]!);
  }));
}
