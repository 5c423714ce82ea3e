import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodeWalFrameHeader,
  decodeWalHeader,
  encodeWalFrame,
  encodeWalHeader,
  verifyWalFrame,
  walChecksum,
  WAL_FRAME_HEADER_SIZE,
  WAL_HEADER_SIZE,
  WAL_MAGIC_BE,
  WAL_MAGIC_LE,
  type WalChecksum,
  type WalHeader,
} from "../../lib/capture/wal.ts";
import { driver, hasPython, openApp, python } from "./driver.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "ltxkit-wal-"));

/** A database whose rows live only in its WAL (autocheckpoint off): returns the db path and its WAL bytes. */
function sqliteWal(pageSize: number, txns: number) {
  const dir = tmp();
  const path = join(dir, "app.db");
  const db = openApp(path, { pageSize, autocheckpoint: 0 });
  db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  for (let i = 0; i < txns; i++) db.query("INSERT INTO t (v) VALUES (?)", [`row ${i} `.repeat(1 + (i % 50))]);
  const wal = new Uint8Array(readFileSync(path + "-wal"));
  const pageCount = Number(db.query("PRAGMA page_count")[0]!.page_count);
  // wal_checkpoint(PASSIVE) reports the frames in the WAL (column "log"): an oracle independent of our parser.
  const ck = db.query("PRAGMA wal_checkpoint(PASSIVE)")[0]!;
  const snapshotDb = join(dir, "stale.db");
  db.close();
  return { dir, path, wal, pageCount, logFrames: Number(ck.log), snapshotDb };
}

/** Walks a WAL with verifyWalFrame; returns the valid frames and commit count. */
function walk(wal: Uint8Array) {
  const h = decodeWalHeader(wal);
  let seed: WalChecksum = h.checksum;
  const frames: ReturnType<typeof decodeWalFrameHeader>[] = [];
  for (let off = WAL_HEADER_SIZE; off + WAL_FRAME_HEADER_SIZE + h.pageSize <= wal.length; off += WAL_FRAME_HEADER_SIZE + h.pageSize) {
    const f = verifyWalFrame(wal.subarray(off, off + WAL_FRAME_HEADER_SIZE + h.pageSize), h, seed);
    if (!f) break;
    frames.push(f);
    seed = f.checksum;
  }
  return { h, frames, commits: frames.filter((f) => f.commit !== 0) };
}

describe(`WAL codec on WAL files SQLite writes (${driver.name})`, () => {
  for (const pageSize of [1024, 4096, 65536]) {
    it(`verifies every frame SQLite wrote, page size ${pageSize}`, () => {
      const s = sqliteWal(pageSize, 40);
      const { h, frames, commits } = walk(s.wal);
      expect(h.pageSize).toBe(pageSize);
      expect(h.bigEndian).toBe(false); // x86-64 SQLite writes magic 0x377f0682
      expect(frames.length).toBe(s.logFrames);
      expect(frames.length).toBe((s.wal.length - WAL_HEADER_SIZE) / (WAL_FRAME_HEADER_SIZE + pageSize));
      // journal_mode switch + CREATE TABLE + 40 inserts, each one transaction
      expect(commits.length).toBeGreaterThanOrEqual(41);
      expect(commits[commits.length - 1]!.commit).toBe(s.pageCount);
      expect(frames.every((f) => f.salt1 === h.salt1 && f.salt2 === h.salt2)).toBe(true);
    });
  }

  it("re-encoding SQLite's header reproduces its bytes and checksum", () => {
    const s = sqliteWal(4096, 3);
    const h = decodeWalHeader(s.wal);
    expect(encodeWalHeader(h)).toEqual(s.wal.subarray(0, WAL_HEADER_SIZE));
    const first = s.wal.subarray(WAL_HEADER_SIZE, WAL_HEADER_SIZE + WAL_FRAME_HEADER_SIZE + 4096);
    const fh = decodeWalFrameHeader(first);
    expect(encodeWalFrame(h, fh.pgno, fh.commit, first.subarray(WAL_FRAME_HEADER_SIZE), h.checksum).frame).toEqual(first);
  });

  it("stops at a frame whose page, salt or chain is altered", () => {
    const s = sqliteWal(1024, 10);
    const { h, frames } = walk(s.wal);
    const fs = WAL_FRAME_HEADER_SIZE + 1024;
    const at = (i: number) => WAL_HEADER_SIZE + i * fs;
    const prevSeed = frames[4]!.checksum;
    const f5 = s.wal.slice(at(5), at(6));
    expect(verifyWalFrame(f5, h, prevSeed)).not.toBeNull();
    const page = f5.slice();
    page[WAL_FRAME_HEADER_SIZE + 500]! ^= 1;
    expect(verifyWalFrame(page, h, prevSeed)).toBeNull();
    const salt = f5.slice();
    salt[8]! ^= 1;
    expect(verifyWalFrame(salt, h, prevSeed)).toBeNull();
    expect(verifyWalFrame(f5, h, frames[3]!.checksum)).toBeNull(); // wrong seed: not the next frame
    expect(verifyWalFrame(f5, { ...h, bigEndian: true }, prevSeed)).toBeNull();
  });
});

/** Re-checksums a WAL in the other byte order (the same frames, as a big-endian machine writes them). */
function rechecksum(wal: Uint8Array, bigEndian: boolean, breakAt = -1): Uint8Array {
  const h = decodeWalHeader(wal);
  const nh: Omit<WalHeader, "checksum"> = { bigEndian, pageSize: h.pageSize, checkpointSeq: h.checkpointSeq, salt1: h.salt1, salt2: h.salt2 };
  const hb = encodeWalHeader(nh);
  const out = new Uint8Array(wal.length);
  out.set(hb);
  let seed = decodeWalHeader(hb).checksum;
  const fs = WAL_FRAME_HEADER_SIZE + h.pageSize;
  for (let i = 0, off = WAL_HEADER_SIZE; off + fs <= wal.length; off += fs, i++) {
    const fh = decodeWalFrameHeader(wal.subarray(off));
    const e = encodeWalFrame(nh, fh.pgno, fh.commit, wal.subarray(off + WAL_FRAME_HEADER_SIZE, off + fs), seed);
    if (i === breakAt) e.frame[e.frame.length - 1]! ^= 0xff;
    out.set(e.frame, off);
    seed = e.checksum;
  }
  return out;
}

describe.skipIf(!hasPython)("WAL codec, big-endian checksums (checked by Python's sqlite3)", () => {
  const count = `import sqlite3,sys\nc=sqlite3.connect(sys.argv[1])\nprint(c.execute("select count(*), coalesce(sum(length(v)),0) from t").fetchone())`;

  it("a WAL re-checksummed big-endian is recovered by SQLite with every row", () => {
    const dir = tmp();
    const path = join(dir, "app.db");
    const db = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    db.exec("CREATE TABLE seed (x)");
    db.query("PRAGMA wal_checkpoint(TRUNCATE)"); // the db file now holds the schema header; rows go to the WAL only
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (let i = 0; i < 30; i++) db.query("INSERT INTO t (v) VALUES (?)", [`v${i}`.repeat(20)]);
    const want = db.query("SELECT count(*) AS n, coalesce(sum(length(v)),0) AS s FROM t")[0]!;
    const wal = new Uint8Array(readFileSync(path + "-wal"));
    const dbCopy = new Uint8Array(readFileSync(path));
    db.close();
    const be = rechecksum(wal, true);
    expect(new DataView(be.buffer).getUint32(0)).toBe(WAL_MAGIC_BE);
    expect(walk(be).frames.length).toBe(walk(wal).frames.length);
    const d2 = tmp();
    writeFileSync(join(d2, "x.db"), dbCopy);
    writeFileSync(join(d2, "x.db-wal"), be);
    expect(python(count, join(d2, "x.db")).trim()).toBe(`(${want.n}, ${want.s})`);

    // Control: the same WAL with one frame's checksum broken loses the rows after it, so SQLite
    // really checked the big-endian chain.
    const d3 = tmp();
    writeFileSync(join(d3, "x.db"), dbCopy);
    writeFileSync(join(d3, "x.db-wal"), rechecksum(wal, true, 5));
    expect(python(count, join(d3, "x.db")).trim()).not.toBe(`(${want.n}, ${want.s})`);
    // And back to little-endian gives SQLite's own bytes.
    expect(rechecksum(be, false)).toEqual(wal);
    void copyFileSync;
  });
});

describe("WAL codec rejects malformed input with typed errors", () => {
  const good = encodeWalHeader({ bigEndian: false, pageSize: 4096, checkpointSeq: 7, salt1: 1, salt2: 2 });
  const mutate = (i: number, v: number, fix = true) => {
    const b = good.slice();
    new DataView(b.buffer).setUint32(i, v);
    if (fix) {
      const c = walChecksum(false, b.subarray(0, 24));
      new DataView(b.buffer).setUint32(24, c[0]);
      new DataView(b.buffer).setUint32(28, c[1]);
    }
    return b;
  };
  it("decodeWalHeader() codes", () => {
    expect(decodeWalHeader(good)).toMatchObject({ pageSize: 4096, checkpointSeq: 7, salt1: 1, salt2: 2, bigEndian: false });
    expect(new DataView(good.buffer).getUint32(0)).toBe(WAL_MAGIC_LE);
    expect(() => decodeWalHeader(good.subarray(0, 31))).toThrow(expect.objectContaining({ code: "UNEXPECTED_EOF" }));
    expect(() => decodeWalHeader(mutate(0, 0x377f0684))).toThrow(expect.objectContaining({ code: "INVALID_WAL", message: expect.stringContaining("magic") }));
    expect(() => decodeWalHeader(mutate(4, 3007001))).toThrow(expect.objectContaining({ code: "INVALID_WAL", message: expect.stringContaining("version") }));
    for (const ps of [0, 256, 1000, 131072]) expect(() => decodeWalHeader(mutate(8, ps))).toThrow(expect.objectContaining({ code: "INVALID_WAL", message: expect.stringContaining("page size") }));
    expect(() => decodeWalHeader(mutate(16, 99, false))).toThrow(expect.objectContaining({ code: "INVALID_WAL", message: expect.stringContaining("checksum") }));
  });
  it("walChecksum() known value and input bounds", () => {
    // s1 = 1 + 0 + 0 = 1; s2 = 2 + 1 = 3; then s1 = 1 + 3 + 3 = 7, s2 = 3 + 4 + 7 = 14 (little-endian words 1,2,3,4)
    const b = new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0]);
    expect(walChecksum(false, b)).toEqual([7, 14]);
    expect(walChecksum(true, new Uint8Array([0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4]))).toEqual([7, 14]);
    expect(walChecksum(false, new Uint8Array(8).fill(0xff), [0xffffffff, 0xffffffff])).toEqual([0xfffffffd, 0xfffffffb]);
    expect(() => walChecksum(false, new Uint8Array(12))).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
  it("verifyWalFrame() and decodeWalFrameHeader() bound their input", () => {
    const h = decodeWalHeader(good);
    expect(() => verifyWalFrame(new Uint8Array(100), h, h.checksum)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => decodeWalFrameHeader(new Uint8Array(23))).toThrow(expect.objectContaining({ code: "UNEXPECTED_EOF" }));
    const zero = encodeWalFrame(h, 1, 1, new Uint8Array(4096), h.checksum).frame;
    new DataView(zero.buffer).setUint32(0, 0);
    expect(verifyWalFrame(zero, h, h.checksum)).toBeNull(); // pgno 0 is never a frame
  });
});
