import { describe, it, expect } from "vitest";
import { decodePageFrame, decodePageIndexFromTail, readPageIndex } from "../../lib/ltx/page-index.ts";
import { encodeLtxBytes } from "../../lib/ltx/encoder.ts";
import { MemoryStore } from "../../lib/store/memory.ts";
import { isLtxError } from "../../lib/errors.ts";
import { header, snapshotPages } from "./helpers.ts";

describe("random access through the page index", () => {
  for (const encoding of ["block", "frame"] as const) {
    it(`reads the index with ranged reads and decodes single pages (${encoding})`, async () => {
      // 5000 pages make an index larger than the 32 KiB first read, forcing the second read.
      const pages = snapshotPages(512, 5000, 3);
      const file = encodeLtxBytes(header({ pageSize: 512, commit: 5000, flags: 2 }), pages, { pageEncoding: encoding });
      const store = new MemoryStore();
      await store.put("f.ltx", file);
      const reads: [number, number][] = [];
      const read = async (offset: number, length: number) => {
        reads.push([offset, length]);
        return (await store.get("f.ltx", { offset, length }))!;
      };
      const index = await readPageIndex(read, file.length);
      expect(index.length).toBe(5000);
      expect(reads.length).toBe(2);
      expect(reads[0]![1]).toBe(32 * 1024);
      for (const pgno of [1, 2, 777, 5000]) {
        const e = index[pgno - 1]!;
        const frame = (await store.get("f.ltx", { offset: e.offset, length: e.size }))!;
        const p = decodePageFrame(frame, 512);
        expect(p.pgno).toBe(pgno);
        expect(p.data).toEqual(pages[pgno - 1]!.data);
      }
      // A small file needs one read.
      const small = encodeLtxBytes(header({ pageSize: 512, commit: 3, flags: 2 }), snapshotPages(512, 3, 4), { pageEncoding: encoding });
      const r = decodePageIndexFromTail(small, small.length);
      expect("entries" in r && r.entries.map((x) => x.pgno)).toEqual([1, 2, 3]);
    });
  }

  it("rejects corrupt indexes and frames with typed errors", () => {
    const file = encodeLtxBytes(header({ pageSize: 512, commit: 3, flags: 2 }), snapshotPages(512, 3, 5));
    const bad = file.slice();
    new DataView(bad.buffer).setBigUint64(bad.length - 24, 1n << 40n);
    expect(() => decodePageIndexFromTail(bad, bad.length)).toThrow(/out of bounds/);
    const r = decodePageIndexFromTail(file, file.length);
    if (!("entries" in r)) throw new Error("expected entries");
    const e = r.entries[0]!;
    const frame = file.slice(e.offset, e.offset + e.size);
    frame[9] ^= 0x01; // the size field no longer matches the range
    let err: unknown;
    try {
      decodePageFrame(frame, 512);
    } catch (x) {
      err = x;
    }
    expect(isLtxError(err)).toBe(true);
    expect(() => decodePageFrame(frame.subarray(0, 3), 512)).toThrow(/shorter than a page header/);
  });
});
