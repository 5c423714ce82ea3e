import { describe, expect, it } from "vitest";
import { checkpointPolicy, DEFAULT_CHECKPOINT, type CheckpointHost } from "../../lib/capture/checkpoint-policy.ts";
import { walSizeOf } from "../../lib/capture/wal.ts";

function host(o: Partial<Omit<CheckpointHost, "checkpoint">> & { restarts?: boolean; after?: number } = {}) {
  const calls: string[] = [];
  let end = o.syncedEnd?.() ?? 32;
  const h: CheckpointHost = {
    pageSize: 4096,
    hasPosition: () => true,
    syncedSinceCheckpoint: () => true,
    walFileSize: async () => 32,
    dbMtime: async () => 0,
    now: () => 1000,
    ...o,
    syncedEnd: () => end,
    checkpoint: async (mode) => {
      calls.push(mode);
      if (o.after !== undefined) end = o.after;
      return o.restarts ?? true;
    },
  };
  return { h, calls };
}

describe("checkpointPolicy() (Litestream's priorities)", () => {
  const c = DEFAULT_CHECKPOINT;
  it("defaults are Litestream's: 1000 pages, 1 min, 121359 pages", () => {
    expect(c).toEqual({ minCheckpointPageCount: 1000, checkpointInterval: 60_000, truncatePageN: 121_359 });
  });
  it("WAL at truncate-page-n: PASSIVE, then TRUNCATE unless the PASSIVE one restarted the WAL", async () => {
    const big = walSizeOf(4096, 121_359);
    let t = host({ walFileSize: async () => big, syncedEnd: () => big, restarts: false });
    expect(await checkpointPolicy(t.h, c)).toBe("TRUNCATE");
    expect(t.calls).toEqual(["PASSIVE", "TRUNCATE"]);
    t = host({ walFileSize: async () => big, syncedEnd: () => big, restarts: true, after: 32 + 4120 });
    expect(await checkpointPolicy(t.h, c)).toBe("PASSIVE");
    expect(t.calls).toEqual(["PASSIVE"]);
    t = host({ walFileSize: async () => big - 1, syncedEnd: () => big - 1 });
    expect(await checkpointPolicy(t.h, c)).toBe("PASSIVE"); // below: the min-page rule applies
    t = host({ walFileSize: async () => walSizeOf(4096, 10), syncedEnd: () => walSizeOf(4096, 10) });
    expect(await checkpointPolicy(t.h, { ...c, truncatePageN: 10 })).toBe("TRUNCATE");
  });
  it("synced WAL at min-checkpoint-page-count: PASSIVE", async () => {
    let t = host({ syncedEnd: () => walSizeOf(4096, 1000), walFileSize: async () => walSizeOf(4096, 1000) });
    expect(await checkpointPolicy(t.h, c)).toBe("PASSIVE");
    t = host({ syncedEnd: () => walSizeOf(4096, 999), dbMtime: async () => 999 });
    expect(await checkpointPolicy(t.h, c)).toBe(null);
  });
  it("checkpoint-interval since the database file changed, only after something was synced", async () => {
    const mid = walSizeOf(4096, 5);
    expect(await checkpointPolicy(host({ syncedEnd: () => mid, now: () => 60_001, dbMtime: async () => 0 }).h, c)).toBe("PASSIVE");
    expect(await checkpointPolicy(host({ syncedEnd: () => mid, now: () => 60_000, dbMtime: async () => 0 }).h, c)).toBe(null);
    expect(await checkpointPolicy(host({ syncedEnd: () => mid, now: () => 99_999, syncedSinceCheckpoint: () => false }).h, c)).toBe(null);
    expect(await checkpointPolicy(host({ syncedEnd: () => walSizeOf(4096, 1), now: () => 99_999 }).h, c)).toBe(null); // one frame only
    expect(await checkpointPolicy(host({ syncedEnd: () => mid, now: () => 99_999 }).h, { ...c, checkpointInterval: 0 })).toBe(null);
    expect(await checkpointPolicy(host({ syncedEnd: () => mid, now: () => 99_999, hasPosition: () => false }).h, c)).toBe(null);
  });
});
