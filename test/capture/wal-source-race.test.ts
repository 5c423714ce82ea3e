import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nodeFileAccess } from "../../lib/adapters/fs-random.ts";
import { localReplica, openWalSource } from "../../lib/adapters/wal-node.ts";
import type { FileAccess } from "../../lib/capture/sqlite.ts";
import { WalSource } from "../../lib/capture/wal-source.ts";
import type { L0Event } from "../../lib/capture/wal-source.ts";
import { contentHash, restoreAndCheck } from "./app.ts";
import { appWithTable, driver, open } from "./driver.ts";

describe(`WalSource checkpoint with a commit between its sync and its barrier (${driver.name})`, () => {
  it("syncs again under the barrier, so the restart is sealed and continues incrementally instead of a full snapshot", async () => {
    const { path, app, write } = appWithTable("ltxkit-walrace-", 5);
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

  /** An application table, and a WalSource whose L0 files and WAL flushes can make the application commit. */
  async function bursting(on: "l0" | "flush") {
    const { dir, path, app, write } = appWithTable("ltxkit-walrace-", 5);
    const events: L0Event[] = [];
    const st = { on: false };
    const files: FileAccess = {
      open: (p) => nodeFileAccess.open(p),
      stat: (p) => nodeFileAccess.stat(p),
      flush: async (p) => {
        await nodeFileAccess.flush!(p);
        if (st.on && on === "flush") write(2); // commits during the checkpoint's awaits only
      },
    };
    const s = await WalSource.open({
      path,
      open,
      files,
      local: localReplica(join(dir, "meta")),
      minCheckpointPageCount: 20,
      onL0: (e) => {
        events.push(e);
        if (st.on && on === "l0") write(2); // commits during every await of the replication
      },
    });
    return { app, write, events, s, st };
  }
  const salts = (e: L0Event) => `${e.header.walSalt1}:${e.header.walSalt2}`;

  /** The commits stopped: the next sync checkpoints sealed, the restart continues, and the replica restores. */
  async function thenSealed(b: Awaited<ReturnType<typeof bursting>>) {
    const { app, write, events, s, st } = b;
    st.on = false;
    write(3);
    const before = events.length;
    await s.sync();
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
  }

  it("puts off the policy's PASSIVE checkpoint at once when commits landed during the sync (no checkpoint syncs, no unsealed restart), and checkpoints sealed once they stop", async () => {
    const b = await bursting("l0");
    b.write(5);
    await b.s.sync(); // TXID 1, below the threshold
    b.st.on = true;
    b.write(60); // past 20 pages: the policy would checkpoint
    await b.s.sync();
    // TXID 1 and the sync's own file: the checkpoint neither synced again nor ran
    expect(b.events.map((e) => [e.txid, e.snapshot, salts(e)])).toEqual([
      [1n, true, salts(b.events[0]!)],
      [2n, false, salts(b.events[0]!)],
    ]);
    await thenSealed(b);
  });

  it("puts off the policy's PASSIVE checkpoint when every sync before its barrier sees new commits (no unsealed restart, no full snapshot), and checkpoints sealed once they stop", async () => {
    const b = await bursting("flush");
    b.write(5);
    await b.s.sync();
    b.st.on = true;
    b.write(60);
    await b.s.sync();
    // TXID 1, the sync's file, then the checkpoint's three syncs, each finding the commits of the flush before it; no checkpoint ran
    expect(b.events.length).toBe(5);
    expect(b.events.map(salts)).toEqual(b.events.map(() => salts(b.events[0]!)));
    expect(b.events.slice(1).map((e) => e.snapshot)).toEqual([false, false, false, false]);
    await thenSealed(b);
  });
});
