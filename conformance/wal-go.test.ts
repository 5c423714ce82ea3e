/**
 * L0 files ltxkit captures from a live database, checked against Go Litestream v0.5.16: they
 * restore with `litestream restore` to the same bytes as with ltxkit's restore, and their WAL
 * fields let `litestream replicate` continue incrementally where ltxkit stopped (and back).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultMetaPath, localReplica, openWalSource } from "../lib/adapters/wal-node.ts";
import type { L0Event } from "../lib/capture/wal-source.ts";
import { decodeHeader } from "../lib/ltx/header.ts";
import { verifyLtx } from "../lib/ltx/decoder.ts";
import { listLevel } from "../lib/replica/list.ts";
import { contentHash, restoreAndCheck } from "../test/capture/app.ts";
import { driver, openApp } from "../test/capture/driver.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";

const skip = skipWithoutGo("litestream-v0.5.16");
const ls = () => goTool("litestream-v0.5.16")!;

function goRestore(meta: string, out: string, txid?: bigint): Uint8Array {
  const args = ["restore", "-o", out, ...(txid === undefined ? [] : ["-txid", txid.toString(16).padStart(16, "0")]), `file://${meta}`];
  execFileSync(ls(), args, { stdio: "pipe", env: goEnv() });
  return new Uint8Array(readFileSync(out));
}

async function pagesOf(bytes: Uint8Array): Promise<number> {
  return (await verifyLtx(bytes)).pageCount;
}

describe.skipIf(skip)(`ltxkit's captured L0 files with Go Litestream v0.5.16 (${driver.name})`, () => {
  it("litestream restore writes the same bytes as ltxkit restore at every sync, through updates, deletes, overflow blobs, VACUUM and checkpoints", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-walgo-"));
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
    const events: L0Event[] = [];
    const s = await openWalSource(path, { minCheckpointPageCount: 60, onL0: (e) => events.push(e) });
    let n = 0;
    const steps: Array<() => void> = [
      () => { for (let i = 0; i < 200; i++, n++) app.query("INSERT INTO t (v, b) VALUES (?, ?)", [`v${n}`.repeat(1 + (n % 20)), n % 10 === 0 ? new Uint8Array(20_000).fill(n & 0xff) : null]); },
      () => app.query("UPDATE t SET v = v || '-u' WHERE id % 3 = 0"),
      () => app.query("DELETE FROM t WHERE id % 4 = 0"),
      () => app.exec("VACUUM"),
      () => app.query("PRAGMA wal_checkpoint(PASSIVE)"),
      () => { for (let i = 0; i < 50; i++, n++) app.query("INSERT INTO t (v) VALUES (?)", [`w${n}`]); },
    ];
    for (const [i, step] of steps.entries()) {
      step();
      const txid = await s.sync();
      const ours = await restoreAndCheck(s.local, txid);
      expect(ours.integrity).toBe("ok");
      expect(ours.hash, `step ${i}`).toBe(contentHash(app));
      const go = goRestore(defaultMetaPath(path), join(dir, `go-${i}.db`), txid);
      expect(Buffer.compare(go, ours.bytes), `step ${i}: go and ltxkit restores differ`).toBe(0);
    }
    expect(events.some((e, i) => i > 0 && e.header.walOffset === 32)).toBe(true); // a checkpoint restarted the WAL on the way
    await s.close();
    app.close();
  });

  it("litestream replicate -once continues incrementally from ltxkit's last L0 file, and ltxkit from Go's", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-walgo2-"));
    const path = join(dir, "app.db");
    const meta = defaultMetaPath(path);
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    for (let i = 0; i < 300; i++) app.query("INSERT INTO t (v) VALUES (?)", [`a${i}`.repeat(10)]);
    let s = await openWalSource(path, { minCheckpointPageCount: 100_000, checkpointInterval: 0 });
    expect(await s.sync()).toBe(1n);
    await s.close();
    for (let i = 0; i < 5; i++) app.query("INSERT INTO t (v) VALUES (?)", [`b${i}`]);
    execFileSync(ls(), ["replicate", "-once", path, `file://${join(dir, "remote")}`], { stdio: "pipe", env: goEnv() });
    const files = await listLevel(localReplica(meta), 0);
    expect(files.map((f) => f.maxTXID)).toEqual([1n, 2n]);
    const ours = decodeHeader(new Uint8Array(readFileSync(join(meta, files[0]!.key))));
    const goBytes = new Uint8Array(readFileSync(join(meta, files[1]!.key)));
    const go = decodeHeader(goBytes);
    expect(go.walOffset).toBe(ours.walOffset + ours.walSize); // Go resumed at ltxkit's WAL position ...
    expect([go.walSalt1, go.walSalt2]).toEqual([ours.walSalt1, ours.walSalt2]);
    expect(await pagesOf(goBytes)).toBeLessThan(go.commit); // ... with an incremental file, not a snapshot
    for (let i = 0; i < 5; i++) app.query("INSERT INTO t (v) VALUES (?)", [`c${i}`]);
    const events: L0Event[] = [];
    s = await openWalSource(path, { onL0: (e) => events.push(e), minCheckpointPageCount: 100_000 });
    expect(await s.sync()).toBe(3n);
    expect(events).toMatchObject([{ txid: 3n, snapshot: false }]);
    expect(events[0]!.header.walOffset).toBe(go.walOffset + go.walSize);
    const r = await restoreAndCheck(s.local);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    expect(Buffer.compare(goRestore(meta, join(dir, "go.db")), r.bytes)).toBe(0);
    await s.close();
    app.close();
  });
});
