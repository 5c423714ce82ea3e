/**
 * The capture VFS for sqlite-wasm, in memory (Node, Bun, Deno): the L0 files it ships hold exactly
 * the pages that changed between the images sqlite-wasm exports (read back by the independent
 * Python reader), a restore of the replica equals the exported image at every synced point,
 * rollbacks make nothing, a failing store delays nothing that commits, and a cold start or a
 * restart continues the chain.
 */
import { describe, it, expect } from "vitest";
import { openCapturedDatabase, type CapturedDatabase } from "../../lib/capture/vfs-database.ts";
import { installCaptureVfs, type SqliteWasmModule } from "../../lib/capture/wasm-vfs.ts";
import { MemoryVfsStorage, type VfsBatch, type VfsStorage } from "../../lib/capture/vfs-storage.ts";
import { memoryReplica, type Replica } from "../../lib/replica/replica.ts";
import { ManualClock } from "../../lib/replica/clock.ts";
import { listLevel, writeLtxFile } from "../../lib/replica/list.ts";
import { captureL0 } from "../../lib/capture/page-diff.ts";
import { restore } from "../../lib/replica/restore.ts";
import { compactLevel } from "../../lib/replica/compact.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { integrityCheck, type SqliteWasm } from "../../lib/replica/integrity.ts";
import { decodeLtx } from "../../lib/ltx/decoder.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
import { LtxError, isLtxError } from "../../lib/errors.ts";
import type { PutBody, PutOptions } from "../../lib/store/blob-store.ts";
import { mustHaveTool, skipWithout } from "../tools.ts";
import { changedPages, exportImage, pageHex, pyRead, sqlite, toHex } from "./vfs-helpers.ts";

const skipPython = skipWithout("python3", "capture VFS L0 files against the independent Python reader");
const PS = 4096;

async function restoreBytes(replica: Replica, txid?: bigint): Promise<Uint8Array> {
  const sink = new BytesSink();
  await restore(replica, { sink, ...(txid !== undefined ? { txid } : {}) });
  return sink.bytes();
}

async function l0Files(replica: Replica): Promise<{ txid: bigint; bytes: Uint8Array }[]> {
  const files = await listLevel(replica, 0);
  return Promise.all(files.map(async (f) => ({ txid: f.maxTXID, bytes: (await replica.store.get(f.key))! })));
}

/** Every stored page and record, as hex, to compare storage states. */
function dump(s: VfsStorage, keys: string[] = ["pos", "q/", "blob/"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let p = 1; p <= s.maxPage(); p++) {
    const b = s.getPage(p);
    if (b) out[`page ${p}`] = toHex(b);
  }
  for (const prefix of keys) for (const k of s.listRecords(prefix)) out[k] = toHex(s.getRecord(k)!);
  return out;
}

async function open(o: Parameters<typeof openCapturedDatabase>[1] = {}): Promise<CapturedDatabase> {
  return openCapturedDatabase(await sqlite(), { start: false, ...o });
}

/** A store that throws STORE_ERROR on puts while `failing`. */
class FlakyStore extends MemoryStore {
  failing = false;
  puts = 0;
  override async put(key: string, body: PutBody, opts?: PutOptions) {
    if (this.failing) throw new LtxError("STORE_ERROR", `put ${key}: injected 503`);
    this.puts++;
    return super.put(key, body, opts);
  }
}

describe("capture VFS: L0 files and restores", () => {
  it.skipIf(skipPython)("each synced transaction is one L0 file holding exactly the pages that changed (Python reader), commit = the exported image's pages, TXID 1 a full snapshot, NoChecksum, WAL fields 32/0/0", async () => {
    mustHaveTool("python3");
    const sqlite3 = await sqlite();
    const replica = memoryReplica();
    const h = await open({ replica });
    const steps: { sql: string; exact: boolean }[] = [
      { sql: "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB)", exact: true },
      { sql: "INSERT INTO t(v) VALUES ('one')", exact: true },
      { sql: "INSERT INTO t(v, b) SELECT 'row' || x, randomblob(900) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200) SELECT x FROM c)", exact: true },
      { sql: "UPDATE t SET v = 'changed' WHERE id = 150", exact: true },
      { sql: "CREATE INDEX tv ON t(v)", exact: true },
      { sql: "DELETE FROM t WHERE id > 20", exact: true },
      { sql: "VACUUM", exact: false },
      { sql: "INSERT INTO t(v, b) VALUES ('big', randomblob(50000))", exact: true },
    ];
    let prev: Uint8Array | null = null;
    const images: Uint8Array[] = [];
    for (const [i, step] of steps.entries()) {
      h.db.exec(step.sql);
      const txid = await h.sync();
      expect(txid).toBe(BigInt(i + 1));
      const image = exportImage(sqlite3, h);
      images.push(image);
      const files = await l0Files(replica);
      expect(files.map((f) => f.txid)).toEqual(Array.from({ length: i + 1 }, (_, k) => BigInt(k + 1)));
      const [py] = pyRead([files[i]!.bytes]);
      const hdr = py!.header;
      expect([hdr.flags, hdr.page_size, hdr.commit, hdr.min_txid, hdr.max_txid, hdr.pre_apply, hdr.wal_offset, hdr.wal_size, hdr.wal_salt1, hdr.wal_salt2, py!.post_apply]).toEqual([2, PS, image.length / PS, i + 1, i + 1, 0, 32, 0, 0, 0, 0]);
      const pgnos = py!.pages.map((p) => p.pgno);
      const changed = changedPages(prev, image, PS);
      if (i === 0) expect(pgnos).toEqual(Array.from({ length: image.length / PS }, (_, k) => k + 1));
      if (step.exact) expect(pgnos, step.sql).toEqual(changed);
      else expect(pgnos.filter((p) => changed.includes(p)), step.sql).toEqual(changed);
      for (const p of py!.pages) expect(p.hex, `page ${p.pgno} after ${step.sql}`).toBe(pageHex(image, p.pgno, PS));
      prev = image;
    }
    // Every synced point restores to its exported image and passes integrity_check.
    for (const [i, image] of images.entries()) {
      const got = await restoreBytes(replica, BigInt(i + 1));
      expect(got.length, `TXID ${i + 1}`).toBe(image.length);
      expect(got.every((x, k) => x === image[k]), `TXID ${i + 1} restores byte-identical`).toBe(true);
      expect(await integrityCheck(got, "full", sqlite3 as unknown as SqliteWasm)).toEqual([]);
    }
    await h.close();
  });

  it("transactions between two syncs merge into one L0 file: the union of their pages, the newest contents, the last size", async () => {
    const sqlite3 = await sqlite();
    const replica = memoryReplica();
    const h = await open({ replica });
    h.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
    await h.sync();
    const before = exportImage(sqlite3, h);
    for (let i = 0; i < 30; i++) h.db.exec(`INSERT INTO t(b) VALUES (randomblob(${300 + i * 37}))`);
    h.db.exec("UPDATE t SET b = zeroblob(10) WHERE id = 3");
    expect(h.status().queue.commits).toBe(31);
    expect(await h.sync()).toBe(2n);
    const after = exportImage(sqlite3, h);
    const files = await l0Files(replica);
    expect(files.map((f) => f.txid)).toEqual([1n, 2n]);
    const d = await decodeLtx(files[1]!.bytes);
    expect(d.header.commit).toBe(after.length / PS);
    expect(d.pages.map((p) => p.pgno)).toEqual(changedPages(before, after, PS));
    for (const p of d.pages) expect(toHex(p.data)).toBe(pageHex(after, p.pgno, PS));
    expect(h.status().queue.commits).toBe(0);
    await h.close();
  });

  it("L0 files store their pages (literal-only LZ4 blocks) unless compressL0 is set; compaction writes level 1 compressed; both restore the same database", async () => {
    /** The frame sizes of a block-encoded file, walking its pages. */
    const frameSizes = (b: Uint8Array): number[] => {
      const v = new DataView(b.buffer, b.byteOffset, b.length);
      const out: number[] = [];
      for (let o = 100; v.getUint32(o) !== 0; o += 10 + v.getUint32(o + 6)) out.push(v.getUint32(o + 6));
      return out;
    };
    const sqlite3 = await sqlite();
    const images: Uint8Array[] = [];
    const sizes: number[][][] = [];
    const replicas: Replica[] = [];
    for (const compressL0 of [undefined, true]) {
      const replica = memoryReplica();
      const h = await open({ replica, ...(compressL0 ? { compressL0 } : {}) });
      h.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
      await h.sync();
      for (let i = 0; i < 3; i++) {
        h.db.exec(`INSERT INTO t(v) SELECT printf('row %d', x) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300) SELECT x FROM c)`);
        await h.sync();
      }
      images.push(exportImage(sqlite3, h));
      sizes.push((await l0Files(replica)).map((f) => frameSizes(f.bytes)));
      replicas.push(replica);
      await h.close();
    }
    // Default: every page of every L0 file is 4114 bytes (token, 16 length bytes, the page).
    expect(sizes[0]!.flat().length).toBeGreaterThan(10);
    expect(sizes[0]!.flat().every((n) => n === 4114)).toBe(true);
    // compressL0: these mostly-text pages compress.
    expect(sizes[1]!.flat().every((n) => n < 4114)).toBe(true);
    expect(images[0]!.length).toBe(images[1]!.length);
    const l1 = await compactLevel(replicas[0]!, 1, { force: true });
    expect(l1?.maxTXID).toBe(4n);
    const l1Bytes = (await replicas[0]!.store.get(l1!.key))!;
    expect(frameSizes(l1Bytes).every((n) => n < 4114)).toBe(true);
    for (const [i, r] of replicas.entries()) {
      const got = await restoreBytes(r);
      expect(toHex(got), `replica ${i}`).toBe(toHex(images[i]!));
    }
    // The level-1 file alone restores the stored database too.
    await replicas[0]!.store.delete((await listLevel(replicas[0]!, 0)).map((f) => f.key));
    expect(toHex(await restoreBytes(replicas[0]!))).toBe(toHex(images[0]!));
  });

  it("a sync with nothing committed since the last one writes no file", async () => {
    const replica = memoryReplica();
    const h = await open({ replica });
    h.db.exec("CREATE TABLE t(x)");
    expect(await h.sync()).toBe(1n);
    h.db.exec("SELECT * FROM t");
    expect(await h.sync()).toBe(1n);
    expect((await l0Files(replica)).map((f) => f.txid)).toEqual([1n]);
    await h.close();
  });
});

describe("capture VFS: rollbacks", () => {
  const rollbacks: [string, (db: CapturedDatabase["db"]) => void][] = [
    ["ROLLBACK", (db) => db.exec("BEGIN; INSERT INTO t(b) VALUES (randomblob(3000)); UPDATE t SET b = NULL; ROLLBACK")],
    ["a ROLLBACK after the page cache spilled to the file", (db) => db.exec("PRAGMA cache_size=2; BEGIN; INSERT INTO t(b) SELECT randomblob(3000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 60) SELECT x FROM c); DELETE FROM t WHERE id < 5; ROLLBACK; PRAGMA cache_size=-2000")],
    ["a failed statement (constraint) in autocommit", (db) => expect(() => db.exec("INSERT INTO t(id, b) VALUES (1, 'dup')")).toThrow(/UNIQUE|constraint/i)],
    ["a failed multi-row statement after it wrote rows", (db) => expect(() => db.exec("INSERT INTO t(id, b) SELECT x + 100, randomblob(2000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40) SELECT x FROM c) UNION ALL SELECT 1, 'dup'")).toThrow(/UNIQUE|constraint/i)],
    ["a savepoint rolled back, then the transaction rolled back", (db) => db.exec("BEGIN; SAVEPOINT a; INSERT INTO t(b) VALUES ('x'); ROLLBACK TO a; INSERT INTO t(b) VALUES ('y'); ROLLBACK")],
  ];
  for (const [name, run] of rollbacks) {
    it(`${name}: no L0 file, storage unchanged, nothing queued`, async () => {
      const storage = new MemoryVfsStorage();
      const replica = memoryReplica();
      const h = await open({ replica, storage });
      h.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); INSERT INTO t(b) VALUES ('a'), ('b'), ('c')");
      expect(await h.sync()).toBe(1n);
      const state = dump(storage);
      run(h.db);
      expect(dump(storage)).toEqual(state);
      expect(h.status().queue.commits).toBe(0);
      expect(await h.sync()).toBe(1n);
      expect((await l0Files(replica)).map((f) => f.txid)).toEqual([1n]);
      expect(h.db.selectValue("SELECT group_concat(b) FROM t")).toBe("a,b,c");
      expect(h.db.selectValue("PRAGMA integrity_check")).toBe("ok");
      await h.close();
    });
  }

  it("a savepoint rolled back inside a committed transaction: the L0 file holds only what committed", async () => {
    const sqlite3 = await sqlite();
    const replica = memoryReplica();
    const h = await open({ replica });
    h.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); CREATE TABLE u(x)");
    await h.sync();
    const before = exportImage(sqlite3, h);
    h.db.exec("BEGIN; INSERT INTO u VALUES (1); SAVEPOINT a; INSERT INTO t(b) SELECT randomblob(3000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) SELECT x FROM c); ROLLBACK TO a; RELEASE a; COMMIT");
    await h.sync();
    const after = exportImage(sqlite3, h);
    const files = await l0Files(replica);
    const d = await decodeLtx(files[1]!.bytes);
    expect(d.pages.map((p) => p.pgno)).toEqual(changedPages(before, after, PS));
    expect(d.header.commit).toBe(after.length / PS);
    const got = await restoreBytes(replica);
    expect(toHex(got)).toBe(toHex(after));
    await h.close();
  });
});

describe("capture VFS: refused settings", () => {
  for (const sql of ["PRAGMA journal_mode=WAL", "PRAGMA journal_mode=OFF", "PRAGMA locking_mode=EXCLUSIVE"]) {
    it(`${sql} fails and the database stays in journal_mode=MEMORY`, async () => {
      const h = await open();
      expect(() => h.db.exec(sql)).toThrow(/capture VFS/);
      expect(h.db.selectValue("PRAGMA journal_mode")).toBe("memory");
      h.db.exec("CREATE TABLE t(x)");
      expect(await h.sync()).toBe(1n);
      await h.close();
    });
  }
});

describe("capture VFS: failures, cold start, restart", () => {
  it("a store failing for a while: commits go on, sync() rejects with STORE_ERROR and the data stays queued, then the queue drains with no TXID gap", async () => {
    const sqlite3 = await sqlite();
    const store = new FlakyStore();
    const replica = memoryReplica(store);
    const h = await open({ replica, replicator: { retries: { initialDelay: 5, maxDelay: 10 }, syncTimeout: 60 } });
    const errors: string[] = [];
    h.addEventListener("error", (e) => errors.push(`${e.detail.url} ${e.detail.error.code}`));
    h.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
    expect(await h.sync()).toBe(1n);
    store.failing = true;
    const images = new Map<bigint, Uint8Array>();
    for (let i = 0; i < 4; i++) {
      h.db.exec(`INSERT INTO t(b) VALUES (randomblob(${1000 * (i + 1)}))`);
      const err = await h.sync().catch((e) => e);
      expect(isLtxError(err, "STORE_ERROR"), String(err)).toBe(true);
      images.set(BigInt(i + 2), exportImage(sqlite3, h));
    }
    const st = h.status();
    expect(st.localTXID).toBe(5n);
    expect(st.replicas[0]!.remoteTXID).toBe(1n);
    expect(isLtxError(st.lastError, "STORE_ERROR")).toBe(true);
    expect(st.queue.files).toBe(5); // TXIDs 1 (the newest shipped one is kept) to 5
    expect(st.queue.bytes).toBeGreaterThan(4 * 1000);
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(["memory:// STORE_ERROR"]));
    store.failing = false;
    expect(await h.sync()).toBe(5n);
    expect((await l0Files(replica)).map((f) => f.txid)).toEqual([1n, 2n, 3n, 4n, 5n]);
    for (const [txid, image] of images) expect(toHex(await restoreBytes(replica, txid)), `TXID ${txid}`).toBe(toHex(image));
    expect(h.status().queue.files).toBe(1);
    expect(h.status().lastError).toBeUndefined();
    await h.close();
  });

  it("cold start: an empty storage is restored from the replica and capture continues at the next TXID with an incremental file", async () => {
    const sqlite3 = await sqlite();
    const replica = memoryReplica();
    const a = await open({ replica });
    a.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); INSERT INTO t(b) SELECT randomblob(500) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100) SELECT x FROM c)");
    await a.sync();
    a.db.exec("INSERT INTO t(b) VALUES ('second')");
    expect(await a.sync()).toBe(2n);
    const last = exportImage(sqlite3, a);
    await a.close();

    const b = await open({ replica });
    expect(b.restoredTXID).toBe(2n);
    expect(toHex(exportImage(sqlite3, b))).toBe(toHex(last));
    b.db.exec("INSERT INTO t(b) VALUES ('third')");
    expect(await b.sync()).toBe(3n);
    const image = exportImage(sqlite3, b);
    const files = await l0Files(replica);
    expect(files.map((f) => f.txid)).toEqual([1n, 2n, 3n]);
    const d = await decodeLtx(files[2]!.bytes);
    expect(d.header.preApplyChecksum).toBe(0n);
    expect(d.pages.map((p) => p.pgno)).toEqual(changedPages(last, image, PS));
    expect(toHex(await restoreBytes(replica))).toBe(toHex(image));
    await b.close();
  });

  it("cold start from a replica whose database is in WAL mode (header 2/2, as Litestream restores it): opened in rollback mode, and that page-1 change is the next L0 file", async () => {
    const sqlite3 = await sqlite();
    const a = await open();
    a.db.exec("CREATE TABLE t(x); INSERT INTO t VALUES ('wal')");
    const image = exportImage(sqlite3, a);
    await a.close();
    image[18] = 2;
    image[19] = 2;
    const replica = memoryReplica();
    await writeLtxFile(replica, 0, 1n, 1n, captureL0(null, image, { txid: 1n, timestamp: 1_760_000_000_000 })!, 1_760_000_000_000);
    const b = await open({ replica });
    expect(b.restoredTXID).toBe(1n);
    expect(b.db.selectValue("SELECT x FROM t")).toBe("wal");
    expect(b.db.selectValue("PRAGMA journal_mode")).toBe("memory");
    expect(await b.sync()).toBe(2n);
    const files = await l0Files(replica);
    const d = await decodeLtx(files[1]!.bytes);
    expect(d.pages.map((p) => p.pgno)).toEqual([1]);
    expect([d.pages[0]!.data[18], d.pages[0]!.data[19]]).toEqual([1, 1]);
    const now = exportImage(sqlite3, b);
    expect(toHex(await restoreBytes(replica))).toBe(toHex(now));
    expect(toHex(now.subarray(100))).toBe(toHex(image.subarray(100)));
    await b.close();
  });

  it("restart with a durable storage: committed but unsynced transactions and unshipped L0 files are shipped by the next process, no TXID gap", async () => {
    const sqlite3 = await sqlite();
    const storage = new MemoryVfsStorage();
    const store = new FlakyStore();
    const replica = memoryReplica(store);
    const a = await open({ replica, storage, replicator: { retries: { initialDelay: 5, maxDelay: 10 }, syncTimeout: 30 } });
    a.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)");
    await a.sync();
    store.failing = true;
    a.db.exec("INSERT INTO t(b) VALUES ('made into an L0 file, not shipped')");
    await a.sync().catch(() => {});
    a.db.exec("INSERT INTO t(b) VALUES ('committed, not synced')");
    const image = exportImage(sqlite3, a);
    expect(a.status().queue).toEqual({ commits: 1, files: 2, bytes: expect.any(Number) });
    // The process dies: no close(), nothing flushed.
    a.db.close();
    a.vfs.unregister();

    store.failing = false;
    const b = await open({ replica, storage });
    expect(b.restoredTXID).toBeUndefined();
    expect(toHex(exportImage(sqlite3, b))).toBe(toHex(image));
    expect(await b.sync()).toBe(3n);
    expect((await l0Files(replica)).map((f) => f.txid)).toEqual([1n, 2n, 3n]);
    expect(toHex(await restoreBytes(replica))).toBe(toHex(image));
    await b.close();
  });

  it("page buffers and the storage's arrays: a storage that keeps them (exchange), one that copies, and one whose apply keeps them but returns nothing all end with the exported image, over many rewrites of the same pages", async () => {
    class Copying extends MemoryVfsStorage {
      override apply(batch: VfsBatch): Uint8Array[] | void {
        return super.apply({ ...batch, exchange: false });
      }
    }
    class Silent extends MemoryVfsStorage {
      override apply(batch: VfsBatch): void {
        super.apply(batch);
      }
    }
    const sqlite3 = await sqlite();
    for (const storage of [new MemoryVfsStorage(), new Copying(), new Silent()]) {
      const replica = memoryReplica();
      const h = await open({ replica, storage });
      h.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, b BLOB)");
      h.db.exec("INSERT INTO t(n, b) SELECT 0, randomblob(500) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200) SELECT x FROM c)");
      for (let i = 0; i < 300; i++) {
        h.db.exec(`UPDATE t SET n = n + 1 WHERE id = ${1 + ((i * 37) % 200)}; INSERT INTO t(n, b) VALUES (${i}, randomblob(${50 + (i % 7) * 30}))`);
        if (i % 50 === 49) await h.sync();
      }
      const image = exportImage(sqlite3, h);
      // The stored pages are the image (a reused buffer still held by the storage would differ).
      const stored = new Uint8Array(storage.maxPage() * PS);
      for (let p = 1; p <= storage.maxPage(); p++) stored.set(storage.getPage(p)!, (p - 1) * PS);
      expect(toHex(stored), storage.constructor.name).toBe(toHex(image));
      expect(h.db.selectValue("SELECT sum(n) FROM t")).toBe(300 + (299 * 300) / 2);
      await h.sync();
      expect(toHex(await restoreBytes(replica)), storage.constructor.name).toBe(toHex(image));
      await h.close();
    }
  });

  it("a storage whose apply fails makes the commit fail with an I/O error and leaves database and queue as they were", async () => {
    class Failing extends MemoryVfsStorage {
      fail = false;
      override apply(batch: VfsBatch): void {
        if (this.fail && batch.pages?.size) throw new Error("disk full");
        super.apply(batch);
      }
    }
    const storage = new Failing();
    const h = await open({ storage });
    h.db.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)");
    await h.sync();
    const state = dump(storage);
    storage.fail = true;
    expect(() => h.db.exec("INSERT INTO t VALUES (2)")).toThrow(/I\/O|disk/i);
    expect(dump(storage)).toEqual(state);
    expect(h.status().vfsError?.message).toMatch(/disk full/);
    storage.fail = false;
    expect(h.db.selectValue("SELECT group_concat(x) FROM t")).toBe("1");
    h.db.exec("INSERT INTO t VALUES (3)");
    expect(h.db.selectValue("SELECT group_concat(x) FROM t")).toBe("1,3");
    expect(await h.sync()).toBe(2n);
    await h.close();
  });
});

describe("capture VFS: snapshots and connections", () => {
  it("a snapshot body read while transactions commit holds the pages of its position (copy on write)", async () => {
    const sqlite3 = await sqlite();
    const h = await open();
    h.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); INSERT INTO t(b) SELECT randomblob(2000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50) SELECT x FROM c)");
    const at = exportImage(sqlite3, h);
    const snap = await h.replicator.source.snapshot();
    h.db.exec("UPDATE t SET b = randomblob(2500); DELETE FROM t WHERE id > 10; VACUUM");
    const parts: Uint8Array[] = [];
    for await (const c of snap.body as unknown as AsyncIterable<Uint8Array>) parts.push(c);
    const bytes = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) (bytes.set(p, o), (o += p.length));
    const d = await decodeLtx(bytes);
    expect([d.header.minTXID, d.header.maxTXID, d.header.commit]).toEqual([1n, snap.txid, at.length / PS]);
    const img = new Uint8Array(at.length);
    for (const p of d.pages) img.set(p.data, (p.pgno - 1) * PS);
    expect(toHex(img)).toBe(toHex(at));
    await h.close();
  });

  it("a snapshot page handed to the encoder is a copy: a commit between the page read and its encoding (a microtask) does not reach the snapshot", async () => {
    const sqlite3 = await sqlite();
    const h = await open();
    h.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB); INSERT INTO t(b) SELECT randomblob(1500) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20) SELECT x FROM c)");
    const at = exportImage(sqlite3, h);
    const snap = await h.replicator.source.snapshot();
    const reader = snap.body.getReader();
    const parts: Uint8Array[] = [];
    const head = await reader.read(); // the header: the next read takes page 1 from the storage
    parts.push(head.value!);
    // Queued before the read, so it runs after the encoder took page 1 and before it encodes it:
    // the commit rewrites page 1 (its change counter) in the memory storage, in place.
    queueMicrotask(() => h.db.exec("UPDATE t SET b = randomblob(1500) WHERE id = 1"));
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      parts.push(r.value);
    }
    const bytes = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) (bytes.set(p, o), (o += p.length));
    const d = await decodeLtx(bytes);
    const img = new Uint8Array(at.length);
    for (const p of d.pages) img.set(p.data, (p.pgno - 1) * PS);
    expect(toHex(img.subarray(0, PS))).toBe(toHex(at.subarray(0, PS)));
    expect(toHex(img)).toBe(toHex(at));
    expect(toHex(exportImage(sqlite3, h).subarray(0, PS))).not.toBe(toHex(at.subarray(0, PS))); // the commit did change page 1
    await h.close();
  });

  it("a second connection on the same VFS reads committed data and its own commits are captured", async () => {
    const sqlite3 = await sqlite();
    const replica = memoryReplica();
    const h = await open({ replica });
    h.db.exec("CREATE TABLE t(x)");
    await h.sync();
    // deno-lint-ignore no-explicit-any
    const DB = (sqlite3.oo1 as any).DB;
    const other = new DB({ filename: h.vfs.path, flags: "w", vfs: h.vfs.name });
    other.exec("INSERT INTO t VALUES ('from the other connection')");
    expect(h.db.selectValue("SELECT x FROM t")).toBe("from the other connection");
    other.close();
    expect(await h.sync()).toBe(2n);
    expect(toHex(await restoreBytes(replica))).toBe(toHex(exportImage(sqlite3, h)));
    await h.close();
  });
});

describe("capture VFS: commit paths and misuse", () => {
  for (const sync of ["OFF", "NORMAL", "FULL"]) {
    it(`synchronous=${sync}: commits (with growth, a shrink by VACUUM, a spill) restore to the exported image`, async () => {
      const sqlite3 = await sqlite();
      const replica = memoryReplica();
      const h = await open({ replica });
      h.db.exec(`PRAGMA synchronous=${sync}; CREATE TABLE t(id INTEGER PRIMARY KEY, b BLOB)`);
      const steps = [
        "INSERT INTO t(b) SELECT randomblob(2000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 80) SELECT x FROM c)",
        "DELETE FROM t WHERE id > 10; VACUUM",
        "PRAGMA cache_size=3; INSERT INTO t(b) SELECT randomblob(3000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 40) SELECT x FROM c)",
      ];
      for (const sql of steps) {
        h.db.exec(sql);
        const txid = await h.sync();
        const image = exportImage(sqlite3, h);
        expect(toHex(await restoreBytes(replica, txid)), sql).toBe(toHex(image));
        expect(h.db.selectValue("PRAGMA integrity_check")).toBe("ok");
      }
      await h.close();
    });
  }

  it("misuse is a typed error: no sqlite-wasm module, another path through the VFS, unregister with open files", async () => {
    const sqlite3 = await sqlite();
    let err: unknown;
    try {
      installCaptureVfs({} as SqliteWasmModule, new MemoryVfsStorage());
    } catch (e) {
      err = e;
    }
    expect(isLtxError(err, "INVALID_ARGUMENT"), String(err)).toBe(true);
    const h = await open();
    // deno-lint-ignore no-explicit-any
    const DB = (sqlite3.oo1 as any).DB;
    expect(() => new DB({ filename: "/other.db", flags: "c", vfs: h.vfs.name })).toThrow(/unable to open/);
    expect(h.vfs.lastError?.error.message).toMatch(/holds \/main\.db, not \/other\.db/);
    err = undefined;
    try {
      h.vfs.unregister();
    } catch (e) {
      err = e;
    }
    expect(isLtxError(err, "INVALID_STATE"), String(err)).toBe(true);
    await h.close();
  });
});

describe("capture VFS: background replication", () => {
  it("with the loops started, commits reach the replica without sync(), merged per sync interval, and close() ships the rest", async () => {
    const sqlite3 = await sqlite();
    const replica = memoryReplica();
    const h = await openCapturedDatabase(sqlite3, { replica, syncInterval: 20 });
    h.db.exec("CREATE TABLE t(x)");
    for (let i = 0; i < 200 && (await listLevel(replica, 0)).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect((await l0Files(replica)).map((f) => f.txid)).toEqual([1n]);
    for (let i = 0; i < 5; i++) h.db.exec(`INSERT INTO t VALUES (${i})`);
    const image = exportImage(sqlite3, h);
    await h.close();
    const files = await l0Files(replica);
    expect(files[files.length - 1]!.txid).toBeLessThanOrEqual(6n);
    expect(files.map((f) => f.txid)).toEqual(Array.from({ length: files.length }, (_, i) => BigInt(i + 1)));
    expect(toHex(await restoreBytes(replica))).toBe(toHex(image));
  });
});

describe("capture VFS: lag", () => {
  it("status() reports the lag of the oldest unshipped commit and the queue while the store fails, and no lag once it drained", async () => {
    const store = new FlakyStore();
    const clock = new ManualClock(1_760_000_000_000);
    const h = await open({ replica: memoryReplica(store), replicator: { clock, retries: { initialDelay: 1000, maxDelay: 1000 } } });
    h.db.exec("CREATE TABLE t(x)");
    await h.tick();
    expect(h.status().lagMs).toBe(0);
    store.failing = true;
    h.db.exec("INSERT INTO t VALUES (1)");
    await h.tick();
    clock.skip(7000);
    const st = h.status();
    expect([st.localTXID, st.replicas[0]!.remoteTXID, st.lagMs, st.queue.files]).toEqual([2n, 1n, 7000, 2]);
    store.failing = false;
    await h.tick();
    // both L0 files stay local after the upload: the next level-1 compaction reads the local copies
    expect([h.status().lagMs, h.status().replicas[0]!.remoteTXID, h.status().queue.files]).toEqual([0, 2n, 2]);
    await h.close();
  });
});

describe("capture VFS: the single-writer lease", () => {
  it("a second captured database on the same replica waits, naming the holder, and uploads nothing; it takes over once the first closes", async () => {
    const store = new MemoryStore();
    const clock = new ManualClock(1_760_000_000_000);
    const a = await open({ replica: memoryReplica(store), replicator: { clock, lease: { owner: "edge-a:1" } } });
    a.db.exec("CREATE TABLE t(x); INSERT INTO t VALUES (1)");
    expect(await a.sync()).toBe(1n);
    expect(a.status().replicas[0]!.lease).toMatchObject({ held: true, owner: "edge-a:1", holder: "edge-a:1", generation: 1 });
    const keysOf = async () => {
      const out: string[] = [];
      for await (const b of store.list("")) out.push(b.key);
      return out.filter((k) => k.endsWith(".ltx"));
    };
    const before = await keysOf();
    const b = await open({ replica: memoryReplica(store), replicator: { clock, lease: { owner: "edge-b:1" } } });
    b.db.exec("CREATE TABLE u(y); INSERT INTO u VALUES (2)");
    // a tick while another writer holds the lease reports it, and writes nothing
    const err = await b.tick().then(() => null, (e: unknown) => e);
    expect(isLtxError(err, "LEASE_HELD"), String(err)).toBe(true);
    expect(b.status().replicas[0]!.lease).toMatchObject({ held: false, owner: "edge-b:1", holder: "edge-a:1" });
    expect(await keysOf()).toEqual(before);
    await a.close();
    clock.skip(10_000);
    await b.tick();
    expect(b.status().replicas[0]!.lease).toMatchObject({ held: true, holder: "edge-b:1" });
    await b.close();
  });
});

