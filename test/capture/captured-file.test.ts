/**
 * The captured database file behind the capture VFS: its locks between connections (SQLite's
 * SHARED / RESERVED / PENDING / EXCLUSIVE rules, as its unix VFS keeps them) and its transaction
 * buffer. The codes expected are SQLite's (SQLITE_OK 0, SQLITE_BUSY 5, SQLITE_IOERR_LOCK 3850,
 * SQLITE_IOERR_SHORT_READ 522), not read from the code under test.
 */
import { describe, it, expect } from "vitest";
import { CapturedFile, type LockHolder } from "../../lib/capture/captured-file.ts";
import { CaptureLog } from "../../lib/capture/vfs-log.ts";
import { MemoryVfsStorage } from "../../lib/capture/vfs-storage.ts";
import { openCapturedDatabase } from "../../lib/capture/vfs-database.ts";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { exportImage, sqlite, toHex } from "./vfs-helpers.ts";

const [NONE, SHARED, RESERVED, PENDING, EXCLUSIVE] = [0, 1, 2, 3, 4];
const OK = 0, BUSY = 5, IOERR_LOCK = 3850, IOERR_SHORT_READ = 522;
const PS = 4096;

function file(): { f: CapturedFile; storage: MemoryVfsStorage; log: CaptureLog } {
  const storage = new MemoryVfsStorage();
  const log = new CaptureLog(storage);
  return { f: new CapturedFile(storage, log), storage, log };
}

/** Page 1 of a 4096-byte-page database with file change counter `counter`. */
function page1(counter: number): Uint8Array {
  const p = new Uint8Array(PS);
  p.set(new TextEncoder().encode("SQLite format 3\0"));
  p[16] = PS >> 8;
  p[17] = PS & 0xff;
  new DataView(p.buffer).setUint32(24, counter);
  return p;
}

describe("CapturedFile locks", () => {
  it("follow SQLite's rules: one RESERVED, PENDING keeps new readers out, EXCLUSIVE only once the other readers are gone", () => {
    const { f } = file();
    const a: LockHolder = { id: 1, level: NONE };
    const b: LockHolder = { id: 2, level: NONE };
    const c: LockHolder = { id: 3, level: NONE };
    expect(f.lock(a, RESERVED)).toBe(IOERR_LOCK); // RESERVED needs SHARED first
    expect(a.level).toBe(NONE);
    expect([f.lock(a, SHARED), f.lock(b, SHARED)]).toEqual([OK, OK]);
    expect(f.lock(a, RESERVED)).toBe(OK);
    expect([f.reservedByOther(b), f.reservedByOther(a)]).toEqual([true, false]);
    expect(f.lock(b, RESERVED)).toBe(BUSY); // one writer at a time
    expect(b.level).toBe(SHARED);
    expect(f.lock(a, EXCLUSIVE)).toBe(BUSY); // b still reads: a stops at PENDING
    expect(a.level).toBe(PENDING);
    expect(f.lock(c, SHARED)).toBe(BUSY); // PENDING admits no new reader
    expect(c.level).toBe(NONE);
    f.unlock(b, NONE);
    expect(f.lock(a, EXCLUSIVE)).toBe(OK);
    expect(a.level).toBe(EXCLUSIVE);
    expect(f.lock(c, SHARED)).toBe(BUSY);
    f.unlock(a, SHARED); // the write lock drops
    expect(a.level).toBe(SHARED);
    expect(f.reservedByOther(c)).toBe(false);
    expect([f.lock(c, SHARED), f.lock(c, RESERVED)]).toEqual([OK, OK]);
    expect(f.reservedByOther(a)).toBe(true);
    expect(f.lock(a, SHARED)).toBe(OK); // not above what it holds: nothing to do
  });

  it("two connections through the capture VFS: a COMMIT waits (SQLITE_BUSY) while the other reads, and goes through once it stops; the reader never sees the pending write", async () => {
    const sqlite3 = await sqlite();
    const replica = memoryReplica();
    const h = await openCapturedDatabase(sqlite3, { replica, start: false });
    try {
      h.db.exec("CREATE TABLE t(x)");
      expect(await h.sync()).toBe(1n);
      // deno-lint-ignore no-explicit-any
      const DB = (sqlite3.oo1 as any).DB;
      const reader = new DB({ filename: h.vfs.path, flags: "w", vfs: h.vfs.name });
      const late = new DB({ filename: h.vfs.path, flags: "r", vfs: h.vfs.name });
      try {
        reader.exec("BEGIN");
        expect(reader.selectValue("SELECT count(*) FROM t")).toBe(0); // holds SHARED from here
        h.db.exec("BEGIN IMMEDIATE; INSERT INTO t VALUES ('written while the other reads')");
        let code: unknown;
        try {
          h.db.exec("COMMIT");
        } catch (e) {
          code = (e as { resultCode?: number }).resultCode;
        }
        expect(code).toBe(BUSY);
        expect(reader.selectValue("SELECT count(*) FROM t")).toBe(0);
        // The writer holds PENDING now: a connection starting to read is turned away.
        let lateCode: unknown;
        try {
          late.selectValue("SELECT count(*) FROM t");
        } catch (e) {
          lateCode = (e as { resultCode?: number }).resultCode;
        }
        expect(lateCode).toBe(BUSY);
        reader.exec("COMMIT");
        h.db.exec("COMMIT");
        expect(reader.selectValue("SELECT x FROM t")).toBe("written while the other reads");
        expect(late.selectValue("SELECT count(*) FROM t")).toBe(1);
      } finally {
        reader.close();
        late.close();
      }
      expect(await h.sync()).toBe(2n); // the COMMIT that went through, and nothing of the one refused
      const sink = new BytesSink();
      await restore(replica, { sink });
      expect(toHex(sink.bytes())).toBe(toHex(exportImage(sqlite3, h)));
    } finally {
      await h.close();
    }
  });
});

describe("CapturedFile transaction buffer", () => {
  it("reads its own writes, commits at a sync whose page 1 moved the change counter, and discards what is left when the write lock drops", () => {
    const { f, storage, log } = file();
    const w: LockHolder = { id: 1, level: NONE };
    f.lock(w, SHARED);
    f.lock(w, RESERVED);
    const p2 = new Uint8Array(PS).fill(7);
    f.write(page1(1), 0, PS, 0);
    f.write(p2, 0, PS, PS);
    expect(f.size()).toBe(2 * PS);
    expect(storage.maxPage()).toBe(0); // nothing reaches the storage before the commit
    const out = new Uint8Array(PS + 8);
    expect(f.read(out, 8, PS, PS)).toBe(OK);
    expect(out.subarray(8)).toEqual(p2);
    f.sync();
    expect(storage.maxPage()).toBe(2);
    expect(log.queueStatus().commits).toBe(1);
    f.unlock(w, SHARED);

    // A sync whose page 1 carries the stored counter is a rollback's playback: not a commit.
    f.lock(w, RESERVED);
    f.write(page1(1), 0, PS, 0);
    f.write(new Uint8Array(PS).fill(9), 0, PS, 2 * PS);
    f.sync();
    expect(storage.maxPage()).toBe(2);
    expect(log.queueStatus().commits).toBe(1);
    f.unlock(w, SHARED); // the write lock drops: the buffer is discarded
    expect(f.size()).toBe(2 * PS);
    const back = new Uint8Array(PS);
    expect(f.read(back, 0, PS, PS)).toBe(OK);
    expect(back).toEqual(p2);

    // A read past the end is zero-filled and short.
    const tail = new Uint8Array(2 * PS).fill(1);
    expect(f.read(tail, 0, 2 * PS, PS)).toBe(IOERR_SHORT_READ);
    expect(tail.subarray(0, PS)).toEqual(p2);
    expect(tail.subarray(PS).every((x) => x === 0)).toBe(true);
  });

  it("a truncation commits at COMMIT_PHASETWO: the pages above the new size are gone from the storage", () => {
    const { f, storage, log } = file();
    const w: LockHolder = { id: 1, level: NONE };
    f.lock(w, SHARED);
    f.lock(w, RESERVED);
    f.write(page1(1), 0, PS, 0);
    for (let p = 2; p <= 4; p++) f.write(new Uint8Array(PS).fill(p), 0, PS, (p - 1) * PS);
    f.sync();
    expect(storage.maxPage()).toBe(4);
    f.write(page1(2), 0, PS, 0);
    f.sync();
    f.truncate(2 * PS); // after phase one's sync, as VACUUM does
    expect(f.size()).toBe(2 * PS);
    expect(storage.maxPage()).toBe(4);
    f.commitPhaseTwo();
    expect(storage.maxPage()).toBe(2);
    expect(storage.getPage(3)).toBeUndefined();
    expect(log.queueStatus().commits).toBe(3);
    expect(() => f.truncate(PS + 1)).toThrow(/not a whole number of 4096-byte pages/);
    expect(() => f.write(new Uint8Array(100), 0, 100, 0)).toThrow(/not one 4096-byte page/);
  });
});
