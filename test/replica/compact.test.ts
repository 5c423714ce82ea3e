import { describe, it, expect } from "vitest";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { compactLevel, compactReplica } from "../../lib/replica/compact.ts";
import { enforceL0Retention, enforceSnapshotRetention } from "../../lib/replica/retention.ts";
import { windowStart } from "../../lib/replica/schedule.ts";
import { listLevel, writeLtxFile } from "../../lib/replica/list.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { calcRestorePlan } from "../../lib/replica/plan.ts";
import { writeL0Chain, writeStagedReplica } from "./fixtures.ts";
import type { FileInfo } from "../../lib/replica/file-info.ts";
import type { Replica } from "../../lib/replica/replica.ts";

const START = 1_760_000_000_000;

describe("level compaction", () => {
  it("merges L0 into L1, L1 into L2 and builds a snapshot; latest and every TXID (1..10) stay restorable", async () => {
    const r = memoryReplica();
    const steps = await writeL0Chain(r, 10, { start: START, pageSize: 1024 });
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
    for (const target of [undefined, ...steps.map((s) => s.txid)]) {
      const sink = new BytesSink();
      await restore(r, { txid: target, sink });
      expect(sink.bytes(), `TXID ${target ?? "latest"}`).toEqual(steps[Number(target ?? 10n) - 1]!.db);
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

/** "level:min-max" of each file, in the order given. */
function names(files: FileInfo[]): string[] {
  return files.map((f) => `${f.level}:${f.minTXID}-${f.maxTXID}`);
}

async function listing(r: Replica): Promise<string[]> {
  const out: string[] = [];
  for (const level of [1, 2, 3, 9]) out.push(...names(await listLevel(r, level)));
  return out;
}

describe("snapshot retention and the snapshot floor (staged replica: five snapshots, L1–L3)", () => {
  const MIN = 60_000;
  // TXID t is written at ts(t); snapshot 1-k is as old as TXID k (the timestamp of its last input).
  const ts = (t: number) => START + t * MIN;
  const build = async () => {
    const r = memoryReplica();
    const steps = await writeStagedReplica(r, { start: START, interval: MIN });
    expect(await listing(r)).toEqual(["1:1-8", "1:9-15", "1:16-22", "1:23-30", "1:31-36", "1:37-40", "2:1-15", "2:16-30", "2:31-40", "3:1-15", "9:1-8", "9:1-22", "9:1-30", "9:1-36", "9:1-40"]);
    return { r, steps };
  };

  it("retention cut between the 1-30 and 1-36 snapshots: floor 30 deletes three snapshots, L1 up to 16-22, L2 1-15; keeps 23-30 (MaxTXID = floor)", async () => {
    const { r, steps } = await build();
    const del = await enforceSnapshotRetention(r, { now: new Date(ts(40)), config: { snapshotRetention: 7 * MIN } });
    expect(names(del)).toEqual(["9:1-8", "9:1-22", "9:1-30", "1:1-8", "1:9-15", "1:16-22", "2:1-15"]);
    expect(await listing(r)).toEqual(["1:23-30", "1:31-36", "1:37-40", "2:16-30", "2:31-40", "3:1-15", "9:1-36", "9:1-40"]);
    expect((await listLevel(r, 0)).length).toBe(40); // L0 is L0 retention's business
    for (const txid of [15n, 30n, 36n, 40n]) {
      const sink = new BytesSink();
      await restore(r, { txid, sink });
      expect(sink.bytes(), `TXID ${txid}`).toEqual(steps[Number(txid) - 1]!.db);
    }
  });

  it("every snapshot past retention: the newest is kept, floor 36; L3's only file 1-15 is below the floor but kept as the level's last", async () => {
    const { r } = await build();
    const del = await enforceSnapshotRetention(r, { now: new Date(ts(40) + 400 * 86400_000) });
    expect(names(del)).toEqual(["9:1-8", "9:1-22", "9:1-30", "9:1-36", "1:1-8", "1:9-15", "1:16-22", "1:23-30", "2:1-15", "2:16-30"]);
    expect(await listing(r)).toEqual(["1:31-36", "1:37-40", "2:31-40", "3:1-15", "9:1-40"]);
  });

  it("only the oldest snapshot past retention: floor 8 deletes nothing below it (L1 1-8 has MaxTXID = floor)", async () => {
    const { r } = await build();
    const del = await enforceSnapshotRetention(r, { now: new Date(ts(40)), config: { snapshotRetention: ts(40) - ts(10) } });
    expect(names(del)).toEqual(["9:1-8"]);
    expect(await listing(r)).toEqual(["1:1-8", "1:9-15", "1:16-22", "1:23-30", "1:31-36", "1:37-40", "2:1-15", "2:16-30", "2:31-40", "3:1-15", "9:1-22", "9:1-30", "9:1-36", "9:1-40"]);
  });

  it("nothing past retention, or retention disabled: nothing is deleted", async () => {
    const { r } = await build();
    expect(await enforceSnapshotRetention(r, { now: new Date(ts(40)), config: { snapshotRetention: ts(40) - ts(7) } })).toEqual([]);
    expect(await enforceSnapshotRetention(r, { now: new Date(ts(40) + 400 * 86400_000), config: { retention: false } })).toEqual([]);
    expect((await listing(r)).length).toBe(15);
  });
});
