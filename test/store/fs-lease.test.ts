import { mkdtempSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { FsStore } from "../../lib/adapters/fs-store.ts";
import { Leaser, decodeLease, probeConditionalWrites } from "../../lib/replica/lease.ts";
import { LeaseKeeper, fencedReplica } from "../../lib/replica/lease-keeper.ts";
import { memoryReplica } from "../../lib/replica/replica.ts";
import type { Clock } from "../../lib/replica/clock.ts";
import { LtxError, isLtxError } from "../../lib/errors.ts";

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

describe("FsStore under a lease fence", () => {
  it("a put whose lease expires by the clock while its body is written fails before the rename, though the expiry timer never ran; nothing lands, no temp file; with another writer's lock there after the expiry, a delete is LEASE_LOST and keeps its key", async () => {
    const root = mkdtempSync(join(tmpdir(), "ltxkit-fs-fence-"));
    const store = new FsStore(root);
    let now = Date.UTC(2026, 0, 1);
    // Sleeps never end: a process stopped past its lease and continued runs its pending I/O
    // callbacks before its timers, so the abort that the expiry timer would send comes too late.
    const clock: Clock = {
      now: () => now,
      sleep: (_ms, signal) => new Promise<void>((_, reject) => signal?.addEventListener("abort", () => reject(new LtxError("ABORTED", "sleep aborted")), { once: true })),
    };
    const replica = memoryReplica(store);
    const keeper = new LeaseKeeper(replica, { ttl: 30_000, owner: "h:1", clock }, () => {});
    await keeper.acquire();
    const fenced = fencedReplica(replica, keeper).store;
    await fenced.put("ltx/0/a.ltx", new Uint8Array([1, 2, 3]));
    const parts = [new Uint8Array([4]), new Uint8Array([5])];
    const body = new ReadableStream<Uint8Array>({
      pull(c) {
        const next = parts.shift();
        if (!next) return c.close();
        if (parts.length === 0) now += 30_001; // the lease runs out between guard and commit
        c.enqueue(next);
      },
    });
    const err = await fenced.put("ltx/0/b.ltx", body).catch((e: unknown) => e);
    // No other writer wrote lock.json: the keeper re-took the lease (same generation), and the put
    // is a failure to retry, not a loss.
    expect(isLtxError(err, "TIMEOUT"), String(err)).toBe(true);
    expect(existsSync(join(root, "ltx/0/b.ltx"))).toBe(false);
    expect(readdirSync(join(root, "ltx/0"))).toEqual(["a.ltx"]);
    expect(keeper.lost).toBeUndefined();
    expect(decodeLease((await store.get("lock.json"))!)).toMatchObject({ generation: 1, owner: "h:1" });
    now += 30_001;
    expect((await new Leaser(store, { owner: "h:2", clock }).acquire()).generation).toBe(2);
    const del = await fenced.delete(["ltx/0/a.ltx"]).catch((e: unknown) => e);
    expect(isLtxError(del, "LEASE_LOST"), String(del)).toBe(true);
    expect(readdirSync(join(root, "ltx/0"))).toEqual(["a.ltx"]);
  });
});
