/**
 * Why ltxkit snapshots after a WAL restart it cannot prove was its own: Go Litestream v0.5.16
 * `replicate -once`, run after each step of an application that keeps its default
 * auto-checkpoint (1000 pages, page size 1024), loses commits: the application's checkpoint
 * restarts the WAL between two runs, Go continues from offset 32 of the new WAL, and the commits
 * copied into the database before the restart are in no LTX file. The same workload through
 * ltxkit's WalSource (the same workload, onceWorkloadStep) is test/capture/once-runs.test.ts,
 * where every point restores.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { defaultMetaPath, localReplica } from "../lib/adapters/wal-node.ts";
import { contentHash, ONCE_STEPS, onceWorkloadStep, restoreAndCheck } from "../test/capture/app.ts";
import { openApp } from "../test/capture/driver.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";

describe.skipIf(skipWithoutGo("litestream-v0.5.16"))("Go Litestream v0.5.16 replicate -once between application auto-checkpoints", () => {
  it("loses commits (the reference behaviour ltxkit departs from)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-oncego-"));
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 1024 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
    const points: { step: number; hash: string }[] = [];
    const state = { n: 0 };
    for (let step = 0; step < ONCE_STEPS; step++) {
      onceWorkloadStep(app, step, state);
      execFileSync(goTool("litestream-v0.5.16")!, ["replicate", "-once", path, `file://${join(dir, "remote")}`], { stdio: "pipe", env: goEnv() });
      points.push({ step, hash: contentHash(app) });
    }
    const local = localReplica(defaultMetaPath(path));
    const bad: number[] = [];
    for (const [i, p] of points.entries()) {
      const r = await restoreAndCheck(local, BigInt(i + 1)).catch(() => null);
      if (!r || r.integrity !== "ok" || r.hash !== p.hash) bad.push(p.step);
    }
    expect(bad.length).toBeGreaterThan(0);
    app.close();
  });
});
