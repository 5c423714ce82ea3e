/**
 * Go Litestream v0.5.16 `litestream replicate -once` loses committed frames when the application's
 * own auto-checkpoint (SQLite's default `wal_autocheckpoint` of 1000 pages) checkpoints and
 * restarts the WAL between two runs: the point written by the run after the restart restores to a
 * corrupt database with `litestream restore -txid` (and with ltxkit's restore, which reads the
 * same replica to the same bytes). With the application's auto-checkpoint off, where Litestream is
 * the only checkpointer as it requires, every point restores exactly, so the harness does not flag
 * a sound replica.
 *
 * What Go logs at the bad run (-log-level debug): `verify saltMatch=false prevWALOffset=620448`,
 * `verify.2 lastPageMatch=true`, then `sync txid=2 offset=32` with "filling wal growth pages": it
 * takes the new WAL for a continuation of its own checkpoint and reads it from offset 32, so the
 * frames the application committed after Litestream's previous offset, and then checkpointed into
 * the database, reach no LTX file (only pages past the previous commit are filled in from the
 * database). The restarted WAL was shorter than that offset, so the stale frame there still
 * matched. Other parameters tried: with one row per transaction (2000 per step) or 1000-byte rows
 * (1000 per step) the WAL also restarts between runs, but the frame at Litestream's previous
 * offset no longer matches its last LTX file, so Go takes a full snapshot ("last page does not
 * exist in last ltx file, wal overwritten by another process") and every point is sound; page
 * size 4096 with 3000 rows per step loses from step 4, the first run after a restart.
 */
import { describe, it, expect } from "vitest";
import { goTool, requireGo, skipWithoutGo } from "./go-tools.ts";
import { goReplicateOnce, goRestoreAt } from "./litestream/replicate.ts";
import { replicate } from "../lib/adapters/replicate.ts";
import { betterSqlite3Unavailable, ltxkitRestoreAt, runOnceScenario, type OnceScenarioResult } from "./once-loss.ts";

const sqliteProblem = betterSqlite3Unavailable();
if (sqliteProblem && !requireGo) console.warn(`SKIP: better-sqlite3 cannot be loaded in this runtime (${sqliteProblem})`);
const skip = skipWithoutGo("litestream-v0.5.16") || (sqliteProblem !== null && !requireGo);
const goReplicate = () => goReplicateOnce(goTool("litestream-v0.5.16")!);
const goRestore = () => goRestoreAt(goTool("litestream-v0.5.16")!);

function table(r: OnceScenarioResult): string {
  return r.steps
    .map((s) => `step ${s.step} txid ${s.txid ?? "-"} rows ${s.rows}${s.walRestarted ? " (WAL restarted before this run)" : ""}: ${Object.entries(s.restores).map(([k, v]) => `${k} ${v.ok ? "ok" : v.problem!.replace(/\s*\n\s*/g, "; ").slice(0, 160)}`).join(", ")}`)
    .join("\n");
}

describe.skipIf(skip)("litestream replicate -once (v0.5.16) and the application's auto-checkpoint", () => {
  it("loses frames: the first point after the application restarted the WAL restores corrupt, with Go's restore and ltxkit's", async () => {
    const r = await runOnceScenario(goReplicate(), { steps: 6, insertsPerStep: 3000, rowSize: 100, pageSize: 1024, restorers: { litestream: goRestore(), ltxkit: ltxkitRestoreAt } });
    const report = table(r);
    console.log(`litestream replicate -once, wal_autocheckpoint 1000:\n${report}`);
    // Step 1 (589 WAL frames, no checkpoint yet) is sound.
    expect(r.steps[0]!.restores.litestream!.ok, report).toBe(true);
    expect(r.steps[0]!.restores.ltxkit!.ok, report).toBe(true);
    // Step 2 crosses 1000 WAL frames: the application's commit checkpoints and the next commit
    // restarts the WAL before Litestream runs again.
    const firstRestart = r.steps.find((s) => s.walRestarted);
    expect(firstRestart?.step, report).toBe(2);
    const firstBad = r.bad[0];
    expect(firstBad?.step, `the first bad point is the run right after the WAL restart\n${report}`).toBe(2);
    expect(firstBad!.restores.litestream!.ok).toBe(false);
    expect(firstBad!.restores.litestream!.integrity, report).not.toBe("ok");
    // Each step got its own point, so the loss is not a missing run.
    expect(new Set(r.steps.map((s) => s.txid)).size).toBe(r.steps.length);
    // ltxkit's restore of Go's replica yields the same (corrupt) content at every point.
    for (const s of r.steps) {
      expect(s.restores.ltxkit!.hash, `step ${s.step}`).toBe(s.restores.litestream!.hash);
      expect(s.restores.ltxkit!.integrity, `step ${s.step}`).toBe(s.restores.litestream!.integrity);
    }
  }, 300_000);

  it("keeps every point when Litestream is the only checkpointer (application wal_autocheckpoint 0)", async () => {
    const r = await runOnceScenario(goReplicate(), { steps: 6, insertsPerStep: 3000, rowSize: 100, pageSize: 1024, walAutocheckpoint: 0, restorers: { litestream: goRestore() } });
    const report = table(r);
    expect(r.steps.some((s) => s.walRestarted), report).toBe(false);
    expect(r.bad.map((s) => s.step), report).toEqual([]);
    expect(r.steps.map((s) => s.rows)).toEqual([3000, 6000, 9000, 12000, 15000, 18000]);
  }, 300_000);

  it("ltxkit, run once per step in the same scenario (a fresh replicate() per run), keeps every point: Go's and ltxkit's restores equal the application at each step", async () => {
    const ltxkitOnce = async (dbPath: string, replicaDir: string) => {
      const h = await replicate(dbPath, replicaDir);
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    };
    const r = await runOnceScenario(ltxkitOnce, { steps: 6, insertsPerStep: 3000, rowSize: 100, pageSize: 1024, restorers: { litestream: goRestore(), ltxkit: ltxkitRestoreAt } });
    const report = table(r);
    // The application did restart the WAL between runs, as in the scenario where Go loses frames.
    expect(r.steps.find((s) => s.walRestarted)?.step, report).toBe(2);
    expect(r.bad.map((s) => s.step), report).toEqual([]);
    expect(r.steps.map((s) => s.rows)).toEqual([3000, 6000, 9000, 12000, 15000, 18000]);
    expect(new Set(r.steps.map((s) => s.txid)).size).toBe(r.steps.length);
  }, 300_000);
});
