import { describe, it, expect } from "vitest";
import { MemoryVfsStorage } from "../../lib/capture/vfs-storage.ts";

const page = (n: number) => new Uint8Array(16).fill(n);

describe("MemoryVfsStorage", () => {
  it("a batch dropping several pages drops every one of them and maxPage follows", () => {
    const s = new MemoryVfsStorage();
    s.apply({ pages: new Map(Array.from({ length: 10 }, (_, i) => [i + 1, page(i + 1)] as [number, Uint8Array])) });
    expect(s.maxPage()).toBe(10);
    s.apply({ pages: new Map([[4, null], [5, null], [6, null], [7, null], [8, null], [9, null], [10, null]]) });
    expect(s.maxPage()).toBe(3);
    expect([4, 5, 6, 7, 8, 9, 10].map((p) => s.getPage(p))).toEqual(Array(7).fill(undefined));
    expect(s.getPage(3)).toEqual(page(3));
  });

  it("records: put, list by prefix in ascending order, delete", () => {
    const s = new MemoryVfsStorage();
    s.apply({ records: new Map([["q/02", page(2)], ["q/01", page(1)], ["pos", page(9)]]) });
    expect(s.listRecords("q/")).toEqual(["q/01", "q/02"]);
    s.apply({ records: new Map([["q/01", null]]) });
    expect(s.listRecords("q/")).toEqual(["q/02"]);
    expect(s.getRecord("pos")).toEqual(page(9));
  });
});
