import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultMetaPath, localReplica, openWalSource } from "../../lib/adapters/wal-node.ts";
import type { L0Event } from "../../lib/capture/wal-source.ts";
import { decodeHeader } from "../../lib/ltx/header.ts";
import { listLevel } from "../../lib/replica/list.ts";
import { contentHash, restoreAndCheck } from "./app.ts";
import { driver, openApp } from "./driver.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "ltxkit-walsrc-"));

function insertRows(c: ReturnType<typeof openApp>, n: number, from: number) {
  for (let i = 0; i < n; i++) c.query("INSERT INTO t (v) VALUES (?)", [`row ${from + i} `.repeat(1 + ((from + i) % 7))]);
}

describe(`WalSource (${driver.name})`, () => {
  it("first sync writes TXID 1 as a full snapshot shaped as Go's, then incremental files with WAL ranges", async () => {
    const dir = tmp();
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    insertRows(app, 50, 0);
    const events: L0Event[] = [];
    const src = await openWalSource(path, { onL0: (e) => events.push(e), now: () => 1_700_000_000_123 });
    expect(await src.sync()).toBe(1n);
    expect(await src.sync()).toBe(1n); // nothing new: no file
    insertRows(app, 10, 50);
    expect(await src.sync()).toBe(2n);
    const files = await listLevel(src.local, 0);
    expect(files.map((f) => f.key)).toEqual(["ltx/0/0000000000000001-0000000000000001.ltx", "ltx/0/0000000000000002-0000000000000002.ltx"]);
    const meta = defaultMetaPath(path);
    expect(meta).toBe(join(dir, ".app.db-litestream"));
    const h1 = decodeHeader(new Uint8Array(readFileSync(join(meta, files[0]!.key))));
    const h2 = decodeHeader(new Uint8Array(readFileSync(join(meta, files[1]!.key))));
    const pageCount = Number(app.query("PRAGMA page_count")[0]!.page_count);
    expect(h1).toMatchObject({ flags: 2, pageSize: 4096, minTXID: 1n, maxTXID: 1n, walOffset: 32, preApplyChecksum: 0n, timestamp: 1_700_000_000_123 });
    expect(events[0]).toMatchObject({ snapshot: true, reason: "no position yet" });
    expect(events[0]!.pages).toBe(h1.commit);
    expect(events[1]).toMatchObject({ snapshot: false });
    // The second file starts where the first ended, in the same WAL generation.
    expect(h2.walOffset).toBe(h1.walOffset + h1.walSize);
    expect([h2.walSalt1, h2.walSalt2]).toEqual([h1.walSalt1, h1.walSalt2]);
    expect(h2.commit).toBe(pageCount);
    expect(h2.walOffset + h2.walSize).toBe(statSync(path + "-wal").size);
    // file mtime = LTX timestamp, as Go's file replica client sets it
    expect(Math.round(statSync(join(meta, files[1]!.key)).mtimeMs)).toBe(1_700_000_000_123);
    // the Litestream tables exist
    expect(app.query("SELECT name FROM sqlite_master WHERE name LIKE '_litestream_%' ORDER BY name").map((r) => r.name)).toEqual(["_litestream_lock", "_litestream_seq"]);
    const r = await restoreAndCheck(src.local);
    expect(r.integrity).toBe("ok");
    expect(r.hash).toBe(contentHash(app));
    await src.close();
    app.close();
  });

  it("a new WalSource resumes from the last local L0 header when the WAL generation is unchanged", async () => {
    const dir = tmp();
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    insertRows(app, 20, 0);
    let s = await openWalSource(path);
    await s.sync();
    await s.close();
    insertRows(app, 5, 20);
    const events: L0Event[] = [];
    s = await openWalSource(path, { onL0: (e) => events.push(e) });
    expect(s.txid).toBe(1n);
    expect(await s.sync()).toBe(2n);
    expect(events).toMatchObject([{ txid: 2n, snapshot: false }]);
    expect((await restoreAndCheck(s.local)).hash).toBe(contentHash(app));
    await s.close();
    app.close();
  });

  it("snapshots when the application restarted the WAL between two runs", async () => {
    const dir = tmp();
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    insertRows(app, 20, 0);
    let s = await openWalSource(path);
    await s.sync();
    await s.close();
    insertRows(app, 5, 20); // committed after the last sync ...
    app.query("PRAGMA wal_checkpoint(PASSIVE)"); // ... copied into the database ...
    insertRows(app, 1, 25); // ... and the WAL restarts with new salts over them
    const events: L0Event[] = [];
    s = await openWalSource(path, { onL0: (e) => events.push(e) });
    await s.sync();
    expect(events).toMatchObject([{ txid: 2n, snapshot: true, reason: expect.stringContaining("salts changed") }]);
    const r = await restoreAndCheck(s.local);
    expect(r.integrity).toBe("ok");
    expect(r.hash).toBe(contentHash(app));
    await s.close();
    app.close();
  });

  it("its own PASSIVE checkpoint restarts the WAL and continues incrementally from offset 32", async () => {
    const dir = tmp();
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 1024, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const events: L0Event[] = [];
    const s = await openWalSource(path, { minCheckpointPageCount: 50, onL0: (e) => events.push(e) });
    const hashes: [bigint, string][] = [];
    for (let step = 0; step < 6; step++) {
      insertRows(app, 40, step * 40);
      const txid = await s.sync();
      hashes.push([txid, contentHash(app)]);
    }
    const restarts = events.filter((e, i) => i > 0 && e.header.walOffset === 32);
    expect(restarts.length).toBeGreaterThan(0); // the WAL did restart ...
    expect(events.slice(1).every((e) => !e.snapshot)).toBe(true); // ... and never forced a snapshot
    for (const [txid, hash] of hashes) {
      const r = await restoreAndCheck(s.local, txid);
      expect(r.integrity).toBe("ok");
      expect(r.hash).toBe(hash);
    }
    await s.close();
    app.close();
    void localReplica;
  });
});
