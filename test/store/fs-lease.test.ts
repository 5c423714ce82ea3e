import { mkdtempSync, writeFileSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { FsStore } from "../../lib/adapters/fs-store.ts";
import { Leaser, decodeLease, probeConditionalWrites } from "../../lib/replica/lease.ts";
import { isLtxError } from "../../lib/errors.ts";

const fresh = () => new FsStore(mkdtempSync(join(tmpdir(), "ltxkit-fs-lease-")));

describe("FsStore: the conditional writes a lease needs", () => {
  it("passes the conditional-write probe and leaves nothing behind", async () => {
    const s = fresh();
    await probeConditionalWrites(s, "db/");
    const keys: string[] = [];
    for await (const o of s.list("")) keys.push(o.key);
    expect(keys).toEqual([]);
  });

  it("of ten leasers racing for a free lock, and then for the expired lock, exactly one wins each time", async () => {
    const s = fresh();
    let now = Date.UTC(2026, 0, 1);
    const clock = { now: () => now, sleep: async () => {} };
    const race = async () => {
      const rs = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => new Leaser(s, { clock, owner: `h:${i}`, ttl: 1000 }).acquire()));
      expect(rs.filter((r) => r.status === "rejected" && !isLtxError(r.reason, "LEASE_HELD"))).toEqual([]);
      return rs.filter((r) => r.status === "fulfilled").map((r) => (r as PromiseFulfilledResult<{ owner?: string }>).value.owner);
    };
    const w1 = await race();
    expect(w1).toHaveLength(1);
    expect(decodeLease((await s.get("lock.json"))!)).toMatchObject({ generation: 1, owner: w1[0] });
    now += 1001;
    const w2 = await race();
    expect(w2).toHaveLength(1);
    expect(decodeLease((await s.get("lock.json"))!)).toMatchObject({ generation: 2, owner: w2[0] });
  });

  it("a swap lock left by a process that died inside the swap is removed at once, not after 30 s", async () => {
    const s = fresh();
    const { etag } = await s.put("lock.json", new Uint8Array([1]));
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    writeFileSync(s.path("lock.json") + ".ltxkit-lock", `${hostname()}\n${dead}\n`);
    await s.put("lock.json", new Uint8Array([2]), { ifMatch: etag });
    expect(await s.get("lock.json")).toEqual(new Uint8Array([2]));
    expect(existsSync(s.path("lock.json") + ".ltxkit-lock")).toBe(false);
  });
});
