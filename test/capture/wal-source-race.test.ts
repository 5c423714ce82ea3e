import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openWalSource } from "../../lib/adapters/wal-node.ts";
import type { L0Event } from "../../lib/capture/wal-source.ts";
import { contentHash, restoreAndCheck } from "./app.ts";
import { driver, openApp } from "./driver.ts";

describe(`WalSource checkpoint with a commit between its sync and its barrier (${driver.name})`, () => {
  it("syncs again under the barrier, so the restart is sealed and continues incrementally instead of a full snapshot", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-walrace-"));
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 1024, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    let n = 0;
    const write = (k: number) => {
      for (let i = 0; i < k; i++, n++) app.query("INSERT INTO t (v) VALUES (?)", [`row ${n} `.repeat(1 + (n % 5))]);
    };
    const events: L0Event[] = [];
    let commitOnNextL0 = false;
    const s = await openWalSource(path, {
      minCheckpointPageCount: 100_000,
      onL0: (e) => {
        events.push(e);
        // The application commits right after the checkpoint's own sync wrote its file (in this
        // thread, as an application does during any await of the replication).
        if (commitOnNextL0) {
          commitOnNextL0 = false;
          write(3);
        }
      },
    });
    write(20);
    await s.sync();
    write(10);
    commitOnNextL0 = true;
    expect(await s.checkpoint("PASSIVE")).toBe(true);
    expect(commitOnNextL0).toBe(false);
    // every file after the first is a continuation: the 3 commits were captured before the checkpoint copied them
    expect(events.slice(1).map((e) => e.snapshot)).toEqual(events.slice(1).map(() => false));
    const last = events[events.length - 1]!;
    expect(last.header.walOffset).toBe(32); // the first file of the restarted WAL
    write(4);
    const txid = await s.sync();
    const r = await restoreAndCheck(s.local, txid);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });

  it("puts off the policy's PASSIVE checkpoint while every sync sees new commits (no unsealed restart, no full snapshot), and checkpoints sealed once they stop", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-walrace-"));
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 1024, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    let n = 0;
    const write = (k: number) => {
      for (let i = 0; i < k; i++, n++) app.query("INSERT INTO t (v) VALUES (?)", [`row ${n} `.repeat(1 + (n % 5))]);
    };
    const events: L0Event[] = [];
    let bursting = false;
    const s = await openWalSource(path, {
      minCheckpointPageCount: 20,
      onL0: (e) => {
        events.push(e);
        if (bursting) write(2); // the application commits during every await of the replication
      },
    });
    write(5);
    await s.sync(); // TXID 1, below the threshold
    bursting = true;
    write(60); // past 20 pages: the policy checkpoints, but every sync before the barrier sees new commits
    await s.sync();
    const salts = (e: L0Event) => `${e.header.walSalt1}:${e.header.walSalt2}`;
    // TXID 1, the sync's file, then the checkpoint's three syncs, each with new commits; no checkpoint ran
    expect(events.length).toBe(5);
    expect(events.map(salts)).toEqual(events.map(() => salts(events[0]!)));
    expect(events.slice(1).map((e) => e.snapshot)).toEqual([false, false, false, false]);
    bursting = false;
    write(3);
    const before = events.length;
    await s.sync(); // the commits stopped: the checkpoint is sealed and the restart continues
    const after = events.slice(before);
    expect(after.map((e) => e.snapshot)).toEqual(after.map(() => false));
    expect(salts(after[after.length - 1]!)).not.toBe(salts(events[0]!));
    expect(after[after.length - 1]!.header.walOffset).toBe(32); // the first file of the restarted WAL
    write(4);
    const txid = await s.sync();
    const r = await restoreAndCheck(s.local, txid);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });
});
