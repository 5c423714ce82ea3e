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

describe("MemoryVfsStorage: ownership and record listing", () => {
  it("apply keeps a copy of each page: the caller's array is free to reuse once apply returns (new and overwritten pages)", () => {
    const s = new MemoryVfsStorage();
    const buf = page(1);
    s.apply({ pages: new Map([[1, buf]]) });
    buf.fill(7);
    expect(s.getPage(1)).toEqual(page(1));
    s.apply({ pages: new Map([[1, buf]]) });
    buf.fill(8);
    expect(s.getPage(1)).toEqual(page(7));
  });

  it("a batch offering an exchange is stored as given and the replaced arrays come back; a new page replaces nothing; without it, apply copies and returns nothing", () => {
    const s = new MemoryVfsStorage();
    const a = page(1), b = page(2), c = page(3);
    expect(s.apply({ pages: new Map([[1, a]]) })).toBeUndefined();
    const stored1 = s.getPage(1)!;
    expect(stored1).not.toBe(a);
    const back = s.apply({ pages: new Map([[1, b], [2, c]]), exchange: true });
    expect(s.getPage(1)).toBe(b);
    expect(s.getPage(2)).toBe(c);
    expect(back).toHaveLength(1);
    expect(back![0]).toBe(stored1);
    expect(s.maxPage()).toBe(2);
    // A dropped page is not handed back (it is gone, not replaced).
    expect(s.apply({ pages: new Map([[2, null]]), exchange: true })).toEqual([]);
    expect(s.maxPage()).toBe(1);
  });

  it("a batch that transfers its pages is stored as given", () => {
    const s = new MemoryVfsStorage();
    s.apply({ pages: new Map([[1, page(3)], [2, page(4)]]), transfer: true });
    expect([s.getPage(1), s.getPage(2), s.maxPage()]).toEqual([page(3), page(4), 2]);
  });

  it("listRecords matches a filtered, sorted model over random batches of puts and deletes (out of order, deleted and put again, in one batch and across batches)", () => {
    const s = new MemoryVfsStorage();
    const model = new Map<string, Uint8Array>();
    const universe = ["pos", "q/", "q/0", "q/00", "q/01", "q/0a", "q/1", "q0", "qq", "blob/ltx/0/01", "blob/ltx/0/02", "blob/ltx/0/10", "blob/", "blob", "r", "p", ""];
    const prefixes = ["", "q/", "q/0", "q", "blob/", "blob/ltx/0/", "blob/ltx/0/0", "pos", "z"];
    let x = 12345;
    const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8) % n;
    for (let round = 0; round < 400; round++) {
      const batch = new Map<string, Uint8Array | null>();
      const n = 1 + rnd(5);
      for (let i = 0; i < n; i++) batch.set(universe[rnd(universe.length)]!, rnd(3) === 0 ? null : page(round & 0xff));
      s.apply({ records: batch });
      for (const [k, v] of batch) v === null ? model.delete(k) : model.set(k, v);
      if (rnd(2) === 0) continue; // list only every other round, so changes pile up between listings
      for (const prefix of prefixes) {
        const want = [...model.keys()].filter((k) => k.startsWith(prefix)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        expect(s.listRecords(prefix), `round ${round}, prefix ${JSON.stringify(prefix)}`).toEqual(want);
      }
    }
    for (const k of universe) expect(s.getRecord(k)).toEqual(model.get(k));
  });
});

describe("capture position record", () => {
  it("is the JSON text of {txid (16 hex), commit, full}, byte for byte, and what a sync stores parses back to the position", async () => {
    const { encodePosition, CaptureLog } = await import("../../lib/capture/vfs-log.ts");
    const { formatTXID } = await import("../../lib/ltx/txid.ts");
    for (const [txid, commit, full] of [[0n, 0, false], [1n, 1, true], [0xfedcba9876543210n, 4294967295, false], [255n, 123456, true]] as const) {
      const want = new TextEncoder().encode(JSON.stringify({ txid: formatTXID(txid), commit, full }));
      expect(encodePosition({ txid, commit, full })).toEqual(want);
    }
    expect(() => encodePosition({ txid: 1n, commit: 1.5, full: false })).toThrow(/not a page count/);
    const s = new MemoryVfsStorage();
    const p1 = new Uint8Array(4096);
    p1.set(new TextEncoder().encode("SQLite format 3\0"));
    p1[16] = 0x10;
    p1[17] = 0;
    s.apply({ pages: new Map([[1, p1]]) });
    const log = new CaptureLog(s);
    log.commit({ pages: new Map([[1, p1]]), commit: 1, low: 1 });
    expect(log.sync()).toBe(1n);
    expect(JSON.parse(new TextDecoder().decode(s.getRecord("pos")!))).toEqual({ txid: "0000000000000001", commit: 1, full: false });
    expect(new CaptureLog(s).position).toEqual({ txid: 1n, commit: 1, full: false });
  });
});

describe("capture queue record", () => {
  it("a commit's q/ record is be32 commit, be32 low, then the numbers of its stored pages only (dropped pages left out)", async () => {
    const { CaptureLog } = await import("../../lib/capture/vfs-log.ts");
    const s = new MemoryVfsStorage();
    const pg = () => {
      const b = new Uint8Array(4096);
      b[16] = 0x10;
      return b;
    };
    s.apply({ pages: new Map(Array.from({ length: 6 }, (_, i) => [i + 1, pg()] as [number, Uint8Array])) });
    const log = new CaptureLog(s);
    log.commit({ pages: new Map<number, Uint8Array | null>([[1, pg()], [5, null], [2, pg()], [6, null]]), commit: 4, low: 4 });
    const keys = s.listRecords("q/");
    expect(keys).toEqual(["q/0000000000000000"]);
    expect([...s.getRecord(keys[0]!)!]).toEqual([0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 2]);
    log.commit({ pages: new Map([[3, pg()]]), commit: 4, low: 4 });
    expect([...s.getRecord("q/0000000000000001")!]).toEqual([0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 3]);
  });
});

describe("MemoryVfsStorage: record listing under many deletes and re-adds", () => {
  it("lists exactly the live keys of a prefix, ascending, after random puts and deletes (checked against a sort of the live keys)", () => {
    const s = new MemoryVfsStorage();
    const live = new Set<string>();
    let x = 7;
    const rnd = (n: number) => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x % n);
    const prefixes = ["q/", "blob/ltx/0/", "pos", "b"];
    const keyOf = () => {
      const p = prefixes[rnd(prefixes.length)]!;
      return p === "pos" ? p : p + rnd(64).toString(16).padStart(4, "0");
    };
    for (let step = 0; step < 4000; step++) {
      const records = new Map<string, Uint8Array | null>();
      for (let i = rnd(6); i >= 0; i--) {
        const k = keyOf();
        const del = rnd(3) === 0;
        records.set(k, del ? null : page(step & 255));
      }
      for (const [k, v] of records) if (v) live.add(k);
      else live.delete(k);
      s.apply({ records });
      const p = prefixes[rnd(prefixes.length)]!;
      if (rnd(4) === 0) expect(s.listRecords(p)).toEqual([...live].filter((k) => k.startsWith(p)).sort());
    }
    for (const p of [...prefixes, ""]) expect(s.listRecords(p)).toEqual([...live].filter((k) => k.startsWith(p)).sort());
  });
});
