import { existsSync, mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { LtxError } from "../../lib/errors.ts";
import { Budget, fetchFile, PartPool, Semaphore } from "../../lib/replica/fetch.ts";
import { BytesSink, restore } from "../../lib/replica/restore.ts";
import { memoryReplica } from "../../lib/replica/url.ts";
import { FileSink } from "../../lib/adapters/fs-sink.ts";
import type { BlobStore, ByteRange, GetOptions } from "../../lib/store/blob-store.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
import { encodeLtxBytes, type Page } from "../../lib/ltx/encoder.ts";
import { writeLtxFile } from "../../lib/replica/list.ts";
import type { Replica } from "../../lib/replica/url.ts";
import { prng } from "../ltx/helpers.ts";
import { writeL0Chain } from "./fixtures.ts";

const PART = 64 * 1024;

function randomBytes(n: number, seed: number): Uint8Array {
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

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A replica of `files` L0 files of incompressible 4 KiB pages (each several parts long); returns the database. */
async function writeBigChain(r: Replica, files: number, pages: number): Promise<Uint8Array> {
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
    const bytes = encodeLtxBytes({ flags: 2, pageSize: ps, commit: pages, minTXID: BigInt(t), maxTXID: BigInt(t), timestamp: ts, preApplyChecksum: 0n, walOffset: 32, walSize: 0, walSalt1: 0, walSalt2: 0, nodeID: 0n }, list);
    await writeLtxFile(r, 0, BigInt(t), BigInt(t), bytes, ts);
  }
  return db;
}

/** A store that records every ranged get and can fail chosen ones. */
class RecordingStore implements BlobStore {
  readonly kind = "memory";
  readonly inner: BlobStore;
  readonly gets: { key: string; offset: number; into: Uint8Array | undefined }[] = [];
  fail: (key: string, offset: number, attempt: number) => LtxError | null = () => null;
  constructor(inner: BlobStore) {
    this.inner = inner;
  }
  async get(key: string, range?: ByteRange, opts?: GetOptions): Promise<Uint8Array | null> {
    const offset = range?.offset ?? 0;
    this.gets.push({ key, offset, into: opts?.into });
    const attempt = this.gets.filter((g) => g.key === key && g.offset === offset).length;
    const e = this.fail(key, offset, attempt);
    if (e) throw e;
    return this.inner.get(key, range, opts);
  }
  getStream: BlobStore["getStream"] = (...a) => this.inner.getStream(...a);
  put: BlobStore["put"] = (...a) => this.inner.put(...a);
  list: BlobStore["list"] = (...a) => this.inner.list(...a);
  delete: BlobStore["delete"] = (...a) => this.inner.delete(...a);
  head: BlobStore["head"] = (...a) => this.inner.head(...a);
}

describe("fetchFile", () => {
  it("fetchFile() with a PartPool allocates only the parts in use and keeps each part intact while the next is pulled", async () => {
    const store = new MemoryStore();
    const data = randomBytes(40 * PART + 123, 7);
    await store.put("f", data);
    const pool = new PartPool(PART);
    const got: Uint8Array[] = [];
    let prev: { view: Uint8Array; copy: Uint8Array } | null = null;
    for await (const part of fetchFile(store, "f", data.length, new Semaphore(4), { partSize: PART, ahead: 4 }, new Budget(2 * PART), pool)) {
      // The previous part is still what it was after the next one arrived.
      if (prev) expect(same(prev.view, prev.copy)).toBe(true);
      prev = { view: part, copy: part.slice() };
      got.push(prev.copy);
    }
    const all = new Uint8Array(data.length);
    let o = 0;
    for (const g of got) (all.set(g, o), (o += g.length));
    expect(same(all, data)).toBe(true);
    expect(got.length).toBe(41);
    // Read-ahead within the budget (2 parts), the part waited for, the part held and the one before.
    expect(pool.allocated).toBeLessThanOrEqual(5);
  });

  it("fetchFile() retries a failed part and resumes there, not at the start", async () => {
    const mem = new MemoryStore();
    const data = randomBytes(6 * PART, 3);
    await mem.put("f", data);
    const store = new RecordingStore(mem);
    store.fail = (_k, offset, attempt) => (offset === 3 * PART && attempt === 1 ? new LtxError("STORE_ERROR", "injected failure") : null);
    const parts: Uint8Array[] = [];
    for await (const p of fetchFile(store, "f", data.length, new Semaphore(1), { partSize: PART, ahead: 1 }, new Budget(0), new PartPool(PART))) parts.push(p.slice());
    expect(parts.map((p) => p.length)).toEqual(new Array(6).fill(PART));
    expect(store.gets.map((g) => g.offset / PART)).toEqual([0, 1, 2, 3, 3, 4, 5]);
  });

  it("fetchFile() rejects a pool whose buffers are not the part size", async () => {
    const it = fetchFile(new MemoryStore(), "f", 10, new Semaphore(1), { partSize: PART }, new Budget(0), new PartPool(PART * 2));
    await expect(it.next()).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});

describe("restore with pooled parts", () => {
  it("restore() reads parts into a few reused buffers and restores byte for byte", async () => {
    const store = new RecordingStore(new MemoryStore());
    const r = memoryReplica(store);
    const db = await writeBigChain(r, 4, 800);
    store.gets.length = 0;
    const sink = new BytesSink();
    await restore(r, { sink, partSize: PART, parallelism: 3, memoryBudget: 2 * PART });
    expect(same(sink.bytes(), db)).toBe(true);
    const ranged = store.gets.filter((g) => g.into);
    expect(ranged.length).toBeGreaterThan(80);
    // Buffers are reused: at most three per file plus the read-ahead budget, whatever the file sizes.
    const distinct = new Set(ranged.map((g) => g.into!.buffer)).size;
    expect(distinct).toBeLessThanOrEqual(4 * 3 + 2);
  });

  it("restore() leaves no output when a part fails for good mid-restore", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-fetch-"));
    const store = new RecordingStore(new MemoryStore());
    const r = memoryReplica(store);
    await writeL0Chain(r, 8, { pageSize: 65536 });
    store.fail = (key, offset) => (key.includes("0000000000000001-0000000000000001") && offset >= 2 * PART ? new LtxError("STORE_AUTH", "injected failure") : null);
    const out = join(dir, "out.db");
    await expect(restore(r, { sink: new FileSink(out), partSize: PART })).rejects.toMatchObject({ code: "STORE_AUTH" });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
