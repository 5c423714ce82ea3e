/**
 * The case Go Litestream v0.5.16 `replicate -once` loses: the application's own auto-checkpoint
 * (wal_autocheckpoint=1000, page size 1024) restarts the WAL between two runs, so the frames
 * committed after one run and before the restart are in the database file but in no WAL. Each
 * run here is a fresh WalSource (as a `-once` process); every run's point must restore to the
 * application's content. conformance/once-go.test.ts shows Go losing commits on the same workload.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { openWalSource } from "../../lib/adapters/wal-node.ts";
import type { L0Event } from "../../lib/capture/wal-source.ts";
import { contentHash, ONCE_STEPS, onceWorkloadStep, restoreAndCheck } from "./app.ts";
import { driver, openApp } from "./driver.ts";

describe(`one-shot runs between application auto-checkpoints (${driver.name})`, () => {
  it("every run's point restores to the application's content although the WAL restarted in between", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-once-"));
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 1024 }); // default wal_autocheckpoint (1000 pages)
    expect(Number(app.query("PRAGMA wal_autocheckpoint")[0]!.wal_autocheckpoint)).toBe(1000);
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
    const points: { txid: bigint; hash: string }[] = [];
    const events: L0Event[] = [];
    const state = { n: 0 };
    for (let step = 0; step < ONCE_STEPS; step++) {
      onceWorkloadStep(app, step, state);
      const s = await openWalSource(path, { onL0: (e) => events.push(e) });
      const txid = await s.sync();
      await s.close();
      points.push({ txid, hash: contentHash(app) });
    }
    // The scenario happened: runs after the first saw a restarted WAL and had to snapshot.
    expect(events.slice(1).filter((e) => e.snapshot).length).toBeGreaterThan(0);
    expect(points.map((p) => p.txid)).toEqual(points.map((_, i) => BigInt(i + 1)));
    const s = await openWalSource(path);
    for (const p of points) {
      const r = await restoreAndCheck(s.local, p.txid);
      expect(r.integrity).toBe("ok");
      expect(r.hash, `txid ${p.txid}`).toBe(p.hash);
    }
    await s.close();
    app.close();
  });
});
