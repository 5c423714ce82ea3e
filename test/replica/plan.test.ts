import { describe, it, expect } from "vitest";
import { planFromListings } from "../../lib/replica/plan.ts";
import type { FileInfo } from "../../lib/replica/file-info.ts";

const f = (level: number, min: number, max: number, t = 0): FileInfo => ({ level, minTXID: BigInt(min), maxTXID: BigInt(max), size: 100, createdAt: new Date(1_700_000_000_000 + (t || max) * 1000), key: `${level}/${min}-${max}` });
const levels = (...files: FileInfo[]) => {
  const l: FileInfo[][] = Array.from({ length: 10 }, () => []);
  for (const x of files) l[x.level]!.push(x);
  for (const x of l) x.sort((a, b) => (a.minTXID === b.minTXID ? Number(a.maxTXID - b.maxTXID) : Number(a.minTXID - b.minTXID)));
  return l;
};
const names = (p: FileInfo[]) => p.map((x) => `${x.level}:${x.minTXID}-${x.maxTXID}`);

describe("restore plan (Go's CalcRestorePlan)", () => {
  const replica = levels(
    f(9, 1, 10), f(9, 1, 20),
    f(1, 1, 5), f(1, 6, 12), f(1, 13, 18), f(1, 19, 24),
    f(0, 1, 1), f(0, 2, 2), f(0, 20, 20), f(0, 21, 21), f(0, 22, 22), f(0, 23, 23), f(0, 24, 24), f(0, 25, 25), f(0, 26, 26),
  );
  it("latest: newest snapshot, then the furthest-reaching files", () => {
    expect(names(planFromListings(replica))).toEqual(["9:1-20", "1:19-24", "0:25-25", "0:26-26"]);
  });
  it("a TXID must end exactly on a file boundary", () => {
    expect(names(planFromListings(replica, { txid: 18n }))).toEqual(["9:1-10", "1:6-12", "1:13-18"]);
    expect(names(planFromListings(replica, { txid: 20n }))).toEqual(["9:1-20"]);
    expect(names(planFromListings(replica, { txid: 2n }))).toEqual(["1:1-5"].slice(0, 0).concat(["0:1-1", "0:2-2"]));
    expect(() => planFromListings(replica, { txid: 15n })).toThrow(/transaction not available/);
    expect(() => planFromListings(replica, { txid: 99n })).toThrow(/transaction not available/);
  });
  it("a timestamp takes files created strictly before it", () => {
    const ts = new Date(1_700_000_000_000 + 22 * 1000);
    expect(names(planFromListings(replica, { timestamp: ts }))).toEqual(["9:1-20", "0:21-21"]);
  });
  it("prefers higher levels on ties and fails on gaps like Go", () => {
    expect(names(planFromListings(levels(f(0, 1, 3), f(2, 1, 3), f(1, 1, 3))))).toEqual(["2:1-3"]);
    expect(() => planFromListings(levels(f(0, 1, 1), f(0, 3, 3)))).toThrow("non-contiguous ltx files: have up to 0000000000000001 but next file starts at 0000000000000003");
    expect(() => planFromListings(levels())).toThrow(/transaction not available/);
    expect(() => planFromListings(levels(f(0, 1, 1)), { txid: 1n, timestamp: new Date() })).toThrow(/cannot specify both/);
  });
});
