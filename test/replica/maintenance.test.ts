import { describe, it, expect } from "vitest";
import { memoryReplica } from "../../lib/replica/replica.ts";
import { runMaintenance } from "../../lib/replica/maintenance.ts";
import { listLevel } from "../../lib/replica/list.ts";
import { restore } from "../../lib/replica/restore.ts";
import { BytesSink } from "../../lib/replica/sinks.ts";
import { writeL0Chain } from "./fixtures.ts";
import type { FileInfo } from "../../lib/replica/file-info.ts";

const START = 1_760_000_000_000;
const names = (files: FileInfo[]) => files.map((f) => `${f.level}:${f.minTXID}-${f.maxTXID}`);
/** A clock that reads 0, step, 2*step, ... on successive calls. */
const ticking = (step: number) => {
  let t = -step;
  return () => (t += step);
};
const l0 = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => `0:${a + i}-${a + i}`);

describe("runMaintenance (compaction from a scheduled handler or alarm)", () => {
  it("runs levels 1-3, the snapshot, L0 and snapshot retention in Go's order when all are due", async () => {
    const r = memoryReplica();
    const steps = await writeL0Chain(r, 10, { start: START, pageSize: 1024 });
    const now = new Date(START + 3600_000);
    const rep = await runMaintenance(r, { now });
    expect(rep.steps.map((s) => [s.task, names(s.written), names(s.deleted)])).toEqual([
      ["compact-L1", ["1:1-10"], []],
      ["compact-L2", ["2:1-10"], []],
      ["compact-L3", ["3:1-10"], []],
      ["snapshot", ["9:1-10"], []],
      // L0 files older than 5 min and covered by L1, never the newest
      ["l0-retention", [], l0(1, 9)],
      ["snapshot-retention", [], []],
    ]);
    expect(names(rep.written)).toEqual(["1:1-10", "2:1-10", "3:1-10", "9:1-10"]);
    expect(names(rep.deleted)).toEqual(l0(1, 9));
    expect(rep.pending).toEqual([]);
    // The 30 s window is the first to end after now.
    expect(rep.nextWindowAt).toBe(Math.floor(now.getTime() / 30_000) * 30_000 + 30_000);
    expect(names(await listLevel(r, 0))).toEqual(["0:10-10"]);
    const sink = new BytesSink();
    await restore(r, { sink });
    expect(sink.bytes()).toEqual(steps[9]!.db);
  });

  it("starts no pass once the budget is spent and reports the rest as pending; the next call finishes them", async () => {
    const r = memoryReplica();
    await writeL0Chain(r, 10, { start: START, pageSize: 1024 });
    const now = new Date(START + 3600_000);
    // The clock reads 0 at the start, then 10, 20, 30 before each pass: L1 and L2 run, L3 would start at 30 >= 25.
    const first = await runMaintenance(r, { now, budgetMs: 25, elapsedClock: ticking(10) });
    expect(first.steps.map((s) => s.task)).toEqual(["compact-L1", "compact-L2"]);
    expect(names(first.written)).toEqual(["1:1-10", "2:1-10"]);
    expect(first.pending).toEqual(["compact-L3", "snapshot", "l0-retention", "snapshot-retention"]);
    expect(names(await listLevel(r, 3))).toEqual([]);
    const second = await runMaintenance(r, { now });
    expect(second.steps.map((s) => [s.task, names(s.written), s.deleted.length])).toEqual([
      ["compact-L1", [], 0], // nothing new in L0
      ["compact-L2", [], 0],
      ["compact-L3", ["3:1-10"], 0],
      ["snapshot", ["9:1-10"], 0],
      ["l0-retention", [], 9],
      ["snapshot-retention", [], 0],
    ]);
    expect(second.pending).toEqual([]);
  });

  it("with a zero budget runs nothing; without retention it never deletes", async () => {
    const r = memoryReplica();
    await writeL0Chain(r, 4, { start: START });
    const now = new Date(START + 3600_000);
    const none = await runMaintenance(r, { now, budgetMs: 0, elapsedClock: () => 0 });
    expect(none.steps).toEqual([]);
    expect(none.pending).toEqual(["compact-L1", "compact-L2", "compact-L3", "snapshot", "l0-retention", "snapshot-retention"]);
    const keep = await runMaintenance(r, { now, retention: false });
    expect(keep.steps.map((s) => s.task)).toEqual(["compact-L1", "compact-L2", "compact-L3", "snapshot"]);
    expect(names(await listLevel(r, 0))).toEqual(l0(1, 4));
  });

  it("rejects a negative budget with INVALID_ARGUMENT", async () => {
    await expect(runMaintenance(memoryReplica(), { budgetMs: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
