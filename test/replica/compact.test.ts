import { describe, it, expect } from "vitest";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { compactLevel, compactReplica } from "../../lib/replica/compact.ts";
import { enforceL0Retention, enforceSnapshotRetention } from "../../lib/replica/retention.ts";
import { windowStart } from "../../lib/replica/schedule.ts";
import { listLevel, writeLtxFile } from "../../lib/replica/list.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { calcRestorePlan } from "../../lib/replica/plan.ts";
import { writeL0Chain } from "./fixtures.ts";

const START = 1_760_000_000_000;

describe("level compaction", () => {
  it("merges L0 into L1, L1 into L2 and builds a snapshot; every point stays restorable", async () => {
    const r = memoryReplica();
    const steps = await writeL0Chain(r, 10, { start: START });
    const now = new Date(START + 3600_000);
    const l1 = await compactLevel(r, 1, { now });
    expect([l1!.minTXID, l1!.maxTXID]).toEqual([1n, 10n]);
    expect(l1!.createdAt.getTime()).toBe(steps[9]!.timestamp); // the last input's timestamp, as Go
    expect(await compactLevel(r, 1, { now })).toBeNull(); // nothing new
    const more = await writeL0Chain(r, 0);
    expect(more).toEqual([]);
    const l2 = await compactLevel(r, 2, { now });
    expect([l2!.minTXID, l2!.maxTXID]).toEqual([1n, 10n]);
    const rep = await compactReplica(r, { now, force: true, retention: false });
    expect(rep.written.map((f) => f.level)).toEqual([3, 9]);
    for (const target of [undefined, 4n, 10n]) {
      const sink = new BytesSink();
      await restore(r, { txid: target, sink });
      expect(sink.bytes()).toEqual(steps[Number(target ?? 10n) - 1]!.db);
    }
    const plan = await calcRestorePlan(r);
    expect(plan.map((f) => f.level)).toEqual([9]);
  });

  it("respects the epoch-aligned window like Go's ErrCompactionTooEarly", async () => {
    expect(windowStart(95_000, 30_000)).toBe(90_000);
    const r = memoryReplica();
    await writeL0Chain(r, 3, { start: 1_000_000 });
    // The last L0 is at 1_003_000; an L1 written now carries that timestamp.
    expect(await compactLevel(r, 1, { now: new Date(1_003_500) })).not.toBeNull();
    await writeLtxFile(r, 0, 4n, 4n, (await r.store.get("ltx/0/0000000000000003-0000000000000003.ltx"))!, 1_004_000);
    // Newest L1 created at 1_003_000 > window start 990_000 of now=1_010_000 with 30 s windows: too early.
    expect(await compactLevel(r, 1, { now: new Date(1_010_000) })).toBeNull();
    expect(await compactLevel(r, 1, { now: new Date(1_040_000) })).not.toBeNull();
  });
});

describe("retention", () => {
  it("deletes L0 covered by L1 and old enough, never the newest, stopping at the first recent file", async () => {
    const r = memoryReplica();
    await writeL0Chain(r, 8, { start: START });
    await compactLevel(r, 1, { now: new Date(START + 60_000), force: true });
    const del = await enforceL0Retention(r, { now: new Date(START + 5_500), config: { l0Retention: 0.5 } });
    // threshold = START + 5500 − 0.5: files 1..5 are old enough, 6 is too recent.
    expect(del.map((f) => Number(f.maxTXID))).toEqual([1, 2, 3, 4, 5]);
    const all = await enforceL0Retention(r, { now: new Date(START + 3600_000) });
    expect(all.map((f) => Number(f.maxTXID))).toEqual([6, 7]);
    expect((await listLevel(r, 0)).map((f) => Number(f.maxTXID))).toEqual([8]);
  });

  it("drops old snapshots and lower-level files below the snapshot floor", async () => {
    const r = memoryReplica();
    await writeL0Chain(r, 6, { start: START });
    await compactReplica(r, { now: new Date(START + 10_000), force: true, retention: false });
    await writeL0Chain(r, 0);
    const snaps = await listLevel(r, 9);
    expect(snaps.length).toBe(1);
    const kept = await enforceSnapshotRetention(r, { now: new Date(START + 400 * 86400_000) });
    expect(kept).toEqual([]); // the newest snapshot is always kept, so no floor
  });
});
