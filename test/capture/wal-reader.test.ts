import { describe, expect, it } from "vitest";
import type { RandomAccessReader } from "../../lib/capture/sqlite.ts";
import { encodeWalFrame, encodeWalHeader, WAL_FRAME_HEADER_SIZE, WAL_HEADER_SIZE, decodeWalHeader, type WalChecksum } from "../../lib/capture/wal.ts";
import { planSync, readFramePage, scanWal, seedAt } from "../../lib/capture/wal-reader.ts";

const PS = 512;
const FS = WAL_FRAME_HEADER_SIZE + PS;

function mem(b: Uint8Array): RandomAccessReader {
  return {
    size: async () => b.length,
    read: async (o, n) => b.slice(Math.min(o, b.length), Math.min(o + n, b.length)),
    close: async () => {},
  };
}

const page = (tag: number) => new Uint8Array(PS).fill(tag);

/** A WAL of frames [pgno, commit, tag]; returns its bytes and the checksum after each frame. */
function wal(frames: [number, number, number][], salts: [number, number] = [11, 22], bigEndian = false) {
  const hb = encodeWalHeader({ bigEndian, pageSize: PS, checkpointSeq: 0, salt1: salts[0], salt2: salts[1] });
  const h = decodeWalHeader(hb);
  const parts = [hb];
  const sums: WalChecksum[] = [];
  let seed = h.checksum;
  for (const [pgno, commit, tag] of frames) {
    const e = encodeWalFrame(h, pgno, commit, page(tag), seed);
    parts.push(e.frame);
    sums.push((seed = e.checksum));
  }
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return { bytes: out, h, sums };
}
const at = (i: number) => WAL_HEADER_SIZE + i * FS;

describe("scanWal()", () => {
  it("maps only committed frames, newest version wins, pages above the final commit dropped", async () => {
    // txn A: pages 1,2,3 (commit 3); txn B: 2, 5 (commit 5); txn C: 1, 4 (commit 4, shrink); then an uncommitted 2
    const w = wal([[1, 0, 1], [2, 0, 2], [3, 3, 3], [2, 0, 4], [5, 5, 5], [1, 0, 6], [4, 4, 7], [2, 0, 8]]);
    const s = await scanWal(mem(w.bytes), w.h, { offset: 32, seed: w.h.checksum });
    expect(s.commit).toBe(4);
    expect(s.end).toBe(at(7));
    expect(s.limited).toBe(false);
    expect(s.checksum).toEqual(w.sums[6]);
    expect([...s.pages.entries()].sort((a, b) => a[0] - b[0])).toEqual([[1, at(5)], [2, at(3)], [3, at(2)], [4, at(6)]]);
    expect((await readFramePage(mem(w.bytes), w.h, at(3), 2))[0]).toBe(4);
  });

  for (const txns of ["one commit per frame", "one transaction over every chunk"]) {
    it(`keeps the verified page bytes of the last 4 chunks read (${txns})`, async () => {
      // 1 MiB chunks hold 1956 frames of 536 bytes; 6 chunks of frames over pages 1..8000.
      const per = Math.floor((1 << 20) / FS);
      const n = per * 6;
      const frames: [number, number, number][] = [];
      for (let i = 0; i < n; i++) frames.push([(i % 8000) + 1, txns === "one commit per frame" || i === n - 1 ? 8000 : 0, i & 0xff]);
      const w = wal(frames);
      const s = await scanWal(mem(w.bytes), w.h, { offset: 32, seed: w.h.checksum, maxBytes: Infinity });
      expect([s.commit, s.end, s.pages.size]).toEqual([8000, at(n), 8000]);
      let inData = 0;
      for (let p = 1; p <= 8000; p++) {
        const newest = n - 1 - ((n - p) % 8000);
        expect(s.pages.get(p)).toBe(at(newest));
        const d = s.data.get(p);
        if (Math.floor(newest / per) < 2) {
          expect(d).toBeUndefined(); // its chunk was let go: read from the WAL
          continue;
        }
        inData++;
        expect(d!.length).toBe(PS);
        expect(d!.every((b) => b === (newest & 0xff))).toBe(true);
      }
      expect(inData).toBe(n - 2 * per);
    });
  }

  it("stops at a commit once maxBytes is reached and resumes from its checksum", async () => {
    const w = wal([[1, 1, 1], [2, 0, 2], [3, 3, 3], [4, 4, 4]]);
    const s = await scanWal(mem(w.bytes), w.h, { offset: 32, seed: w.h.checksum, maxBytes: FS + 1 });
    expect([s.commit, s.end, s.limited]).toEqual([3, at(3), true]);
    const t = await scanWal(mem(w.bytes), w.h, { offset: s.end, seed: s.checksum });
    expect([t.commit, t.end, t.limited, [...t.pages.keys()]]).toEqual([4, at(4), false, [4]]);
    expect(await seedAt(mem(w.bytes), w.h, s.end)).toEqual(s.checksum);
  });

  it("stops at a frame from another generation or a broken chain, and at endOffset", async () => {
    const w = wal([[1, 1, 1], [2, 2, 2], [3, 3, 3]]);
    const b = w.bytes.slice();
    b[at(1) + WAL_FRAME_HEADER_SIZE + 7]! ^= 1; // frame 2 page altered: chain breaks there
    const s = await scanWal(mem(b), w.h, { offset: 32, seed: w.h.checksum });
    expect([s.commit, s.end]).toEqual([1, at(1)]);
    const other = wal([[1, 1, 1], [2, 2, 2], [3, 3, 3]], [12, 99]);
    const mixed = w.bytes.slice();
    mixed.set(other.bytes.subarray(at(2), at(3)), at(2));
    expect((await scanWal(mem(mixed), w.h, { offset: 32, seed: w.h.checksum })).commit).toBe(2);
    expect((await scanWal(mem(w.bytes), w.h, { offset: 32, seed: w.h.checksum, endOffset: at(2) })).end).toBe(at(2));
    await expect(scanWal(mem(w.bytes), w.h, { offset: 33, seed: w.h.checksum })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(readFramePage(mem(mixed), w.h, at(2), 3)).rejects.toMatchObject({ code: "INVALID_STATE" });
  });

  it("with endOffset, asks the file for no byte past it (a sync of a few frames reads a few frames, not a 1 MiB chunk)", async () => {
    const w = wal([[1, 0, 1], [2, 2, 2], [3, 3, 3]]);
    const asked: [number, number][] = [];
    const f = mem(w.bytes);
    const counting: RandomAccessReader = { ...f, read: (o, n) => (asked.push([o, n]), f.read(o, n)) };
    const s = await scanWal(counting, w.h, { offset: at(2), seed: w.sums[1]!, endOffset: w.bytes.length });
    expect([s.start, s.end, s.commit]).toEqual([at(2), at(3), 3]);
    expect([...s.pages]).toEqual([[3, at(2)]]);
    expect(asked).toEqual([[at(2), FS]]);
    // At the end already: nothing is read.
    asked.length = 0;
    expect((await scanWal(counting, w.h, { offset: at(3), seed: w.sums[2]!, endOffset: w.bytes.length })).commit).toBe(0);
    expect(asked).toEqual([]);
  });

  it("reads big-endian checksummed WALs the same way", async () => {
    const w = wal([[1, 0, 1], [2, 2, 2]], [5, 6], true);
    const s = await scanWal(mem(w.bytes), w.h, { offset: 32, seed: w.h.checksum });
    expect([s.commit, s.end, w.h.bigEndian]).toEqual([2, at(2), true]);
  });
});

describe("planSync()", () => {
  const w = wal([[1, 1, 1], [2, 2, 2], [3, 3, 3]], [100, 200]);
  const base = { header: w.h, walSize: w.bytes.length, pageSize: PS, sealed: null };
  const pos = { offset: at(2), salt1: 100, salt2: 200, commit: 2 };
  const f = mem(w.bytes);

  it("continues from the position in the same generation with the stored checksum as seed", async () => {
    expect(await planSync(f, { ...base, pos })).toEqual({ mode: "incremental", offset: at(2), seed: w.sums[1], prevCommit: 2 });
    expect(await planSync(f, { ...base, pos: { ...pos, offset: 32, commit: 0 } })).toEqual({ mode: "incremental", offset: 32, seed: w.h.checksum, prevCommit: 0 });
  });

  it("snapshots without a position, on another page size, when the WAL shrank or the frame before the position is foreign", async () => {
    expect(await planSync(f, { ...base, pos: null })).toMatchObject({ mode: "snapshot", reason: "no position yet" });
    expect(await planSync(f, { ...base, pos, pageSize: 1024 })).toMatchObject({ mode: "snapshot", reason: expect.stringContaining("page size") });
    expect(await planSync(f, { ...base, pos, walSize: at(1) })).toMatchObject({ mode: "snapshot", reason: expect.stringContaining("shrank") });
    const other = wal([[1, 1, 1], [2, 2, 2]], [101, 7]);
    const mixed = w.bytes.slice();
    mixed.set(other.bytes.subarray(at(1), at(2)), at(1));
    expect(await planSync(mem(mixed), { ...base, pos })).toMatchObject({ mode: "snapshot", reason: expect.stringContaining("overwritten") });
    expect(await planSync(f, { ...base, pos: { ...pos, offset: at(2) + 4 } })).toMatchObject({ mode: "snapshot" });
  });

  it("after a salt change continues from offset 32 only after one restart of a generation sealed in-process", async () => {
    const restarted = wal([[1, 1, 9]], [101, 5]);
    const r = { ...base, header: restarted.h, walSize: restarted.bytes.length };
    const g = mem(restarted.bytes);
    expect(await planSync(g, { ...r, pos })).toMatchObject({ mode: "snapshot", reason: expect.stringContaining("salts changed") });
    expect(await planSync(g, { ...r, pos, sealed: { salt1: 100, salt2: 200 } })).toEqual({ mode: "incremental", offset: 32, seed: restarted.h.checksum, prevCommit: 2 });
    // two restarts since the seal (salt1 + 2): the first new generation may have held unseen commits
    const twice = wal([[1, 1, 9]], [102, 5]);
    expect(await planSync(mem(twice.bytes), { ...r, header: twice.h, pos, sealed: { salt1: 100, salt2: 200 } })).toMatchObject({ mode: "snapshot" });
    // a seal of another generation than the position's proves nothing
    expect(await planSync(g, { ...r, pos, sealed: { salt1: 100, salt2: 201 } })).toMatchObject({ mode: "snapshot" });
    // salt1 wraps modulo 2^32
    const wrap = wal([[1, 1, 9]], [0, 5]);
    expect(await planSync(mem(wrap.bytes), { ...r, header: wrap.h, pos: { ...pos, salt1: 0xffffffff }, sealed: { salt1: 0xffffffff, salt2: 200 } })).toMatchObject({ mode: "incremental", offset: 32 });
  });
});
