import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FsStore } from "../../lib/adapters/fs-store.ts";
import { openWalSource } from "../../lib/adapters/wal-node.ts";
import type { L0Event } from "../../lib/capture/wal-source.ts";
import { decodeHeader } from "../../lib/ltx/header.ts";
import { fileLayout } from "../../lib/replica/layout.ts";
import { listLevel, writeLtxFile } from "../../lib/replica/list.ts";
import { memoryReplica, type Replica } from "../../lib/replica/replica.ts";
import { contentHash, restoreAndCheck } from "./app.ts";
import { driver, open, openApp } from "./driver.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "ltxkit-walsrc2-"));

async function bodyBytes(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of s as unknown as AsyncIterable<Uint8Array>) parts.push(c);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function setup(pageSize = 1024) {
  const dir = tmp();
  const path = join(dir, "app.db");
  const app = openApp(path, { pageSize, autocheckpoint: 0 });
  app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
  let n = 0;
  const write = (k: number) => {
    for (let i = 0; i < k; i++, n++) app.query("INSERT INTO t (v, b) VALUES (?, ?)", [`r${n}`.repeat(1 + (n % 9)), n % 13 === 0 ? new Uint8Array(5000).fill(n & 0xff) : null]);
  };
  return { dir, path, app, write };
}

describe(`WalSource checkpoints, snapshots and positions (${driver.name})`, () => {
  it("checkpoint(TRUNCATE) empties the WAL and writes a checkpoint boundary snapshot", async () => {
    const { path, app, write } = setup();
    const events: L0Event[] = [];
    const s = await openWalSource(path, { minCheckpointPageCount: 100_000, onL0: (e) => events.push(e) });
    write(30);
    await s.sync();
    const walBefore = statSync(path + "-wal").size;
    expect(await s.checkpoint("TRUNCATE")).toBe(true);
    expect(events[events.length - 1]).toMatchObject({ snapshot: true, reason: "checkpoint boundary snapshot" });
    expect(events[events.length - 1]!.header.walOffset).toBe(32);
    // the WAL was truncated and holds only the forced frame since
    expect(statSync(path + "-wal").size).toBe(32 + 1048);
    expect(walBefore).toBeGreaterThan(30 * 1048);
    write(5);
    const txid = await s.sync();
    expect(events[events.length - 1]).toMatchObject({ txid, snapshot: false });
    const r = await restoreAndCheck(s.local, txid);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });

  it("a write barrier that times out busy (the application holds the write lock) fails that checkpoint only: the next one runs", async () => {
    const { path, app, write } = setup();
    const s = await openWalSource(path, { minCheckpointPageCount: 100_000, busyTimeout: 50 });
    write(30);
    await s.sync();
    app.exec("BEGIN IMMEDIATE");
    await expect(s.checkpoint("PASSIVE")).rejects.toThrow(/locked|busy/i);
    app.exec("COMMIT");
    write(5);
    expect(await s.checkpoint("PASSIVE")).toBe(true);
    write(5);
    const txid = await s.sync();
    const r = await restoreAndCheck(s.local, txid);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });

  it("checkpointInterval: a PASSIVE checkpoint once the database file is older than the interval", async () => {
    const { path, app, write } = setup();
    let now = Date.now();
    const s = await openWalSource(path, { checkpointInterval: 60_000, minCheckpointPageCount: 100_000, now: () => now });
    write(5);
    await s.sync();
    const walBefore = readFileSync(path + "-wal").subarray(0, 32);
    expect(Buffer.compare(readFileSync(path + "-wal").subarray(0, 32), walBefore)).toBe(0);
    write(1);
    now += 61_000;
    await s.sync(); // interval passed: checkpoint, restart, seq bump, incremental from 32
    expect(Buffer.compare(readFileSync(path + "-wal").subarray(0, 32), walBefore)).not.toBe(0);
    const r = await restoreAndCheck(s.local);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });

  it("max-sync-wal-bytes cuts one sync into several L0 files at commits", async () => {
    const { path, app, write } = setup();
    write(200);
    const events: L0Event[] = [];
    const s = await openWalSource(path, { maxSyncWalBytes: 20 * 1048, minCheckpointPageCount: 100_000, onL0: (e) => events.push(e) });
    await s.sync(); // the first file is a snapshot read to the end
    write(200);
    const txid = await s.sync();
    expect(events.length).toBeGreaterThan(3);
    for (let i = 2; i < events.length; i++) expect(events[i]!.header.walOffset).toBe(events[i - 1]!.header.walOffset + events[i - 1]!.header.walSize);
    expect(events.slice(1).every((e) => !e.snapshot)).toBe(true);
    const r = await restoreAndCheck(s.local, txid);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });

  it("an application PASSIVE checkpoint while the source runs cannot restart the WAL past it", async () => {
    const { path, app, write } = setup();
    const events: L0Event[] = [];
    const s = await openWalSource(path, { minCheckpointPageCount: 100_000, onL0: (e) => events.push(e) });
    const points: [bigint, string][] = [];
    for (let i = 0; i < 5; i++) {
      write(40);
      app.query("PRAGMA wal_checkpoint(PASSIVE)");
      write(3);
      points.push([await s.sync(), contentHash(app)]);
    }
    expect(events.slice(1).every((e) => !e.snapshot)).toBe(true);
    for (const [txid, hash] of points) expect((await restoreAndCheck(s.local, txid)).hash).toBe(hash);
    await s.close();
    app.close();
  });

  it("snapshot() streams MinTXID 1 .. position with every page; it restores alone to the database", async () => {
    const { path, app, write } = setup(4096);
    const s = await openWalSource(path, { now: () => 1_800_000_000_000, checkpointInterval: 0, minCheckpointPageCount: 100_000 });
    write(100);
    await s.sync();
    app.query("UPDATE t SET v = 'changed' WHERE id % 3 = 0");
    app.query("DELETE FROM t WHERE id % 5 = 0");
    const txid = await s.sync();
    const snap = await s.snapshot();
    expect(snap.txid).toBe(txid);
    const bytes = await bodyBytes(snap.body);
    const h = decodeHeader(bytes);
    expect(h).toMatchObject({ flags: 2, minTXID: 1n, maxTXID: txid, timestamp: 1_800_000_000_000, commit: Number(app.query("PRAGMA page_count")[0]!.page_count) });
    expect(h.walOffset + h.walSize).toBe(statSync(path + "-wal").size);
    expect(h.walSize).toBe(4096 + 24);
    const rep: Replica = memoryReplica();
    await writeLtxFile(rep, 9, 1n, txid, bytes, h.timestamp);
    const r = await restoreAndCheck(rep);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    // checkpoints run again once the body is consumed
    expect(await s.checkpoint("PASSIVE")).toBe(true);
    await s.close();
    app.close();
  });

  it("adoptRemote() makes a remote L0 file the position; numbering continues after it with a snapshot", async () => {
    const { path, app, write } = setup();
    write(10);
    const s = await openWalSource(path);
    await s.sync();
    // a remote L0 file at TXID 41 (from another host)
    const other = setup();
    other.write(3);
    const o = await openWalSource(other.path);
    await o.sync();
    const remote = new Uint8Array(readFileSync(join(other.dir, ".app.db-litestream", "ltx/0/0000000000000001-0000000000000001.ltx")));
    const hh = decodeHeader(remote);
    const moved = new Uint8Array(remote); // same bytes under another name stand for "the remote's newest L0"
    void hh;
    await o.close();
    other.app.close();
    await expect(s.adoptRemote(41n, moved)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await s.adoptRemote(1n, moved);
    expect(s.txid).toBe(1n);
    write(2);
    const events: L0Event[] = [];
    const s2 = await openWalSource(path, { onL0: (e) => events.push(e) });
    await s.close();
    expect(await s2.sync()).toBe(2n);
    expect(events).toMatchObject([{ txid: 2n, snapshot: true }]);
    expect((await listLevel(s2.local, 0)).map((f) => f.maxTXID)).toEqual([1n, 2n]);
    await s2.close();
    app.close();
  });

  it("commits landing between every sync and the checkpoint barrier void the seal after three tries: the restarted WAL is snapshotted", async () => {
    const { path, app, write } = setup();
    write(20);
    let armed = false;
    let landed = 0;
    // Another writer commits right before each barrier's BEGIN (as another process could): the
    // checkpoint syncs again twice, then goes ahead without a seal.
    let opened = 0;
    const opener = (p: string) => {
      const c = open(p);
      const writer = opened++ === 0; // the source opens its write connection first, then the reader
      return {
        ...c,
        exec(sql: string) {
          if (armed && writer && sql === "BEGIN") {
            landed++;
            app.query("INSERT INTO t (v) VALUES ('landed before the barrier')");
          }
          c.exec(sql);
        },
        query: c.query.bind(c),
        close: c.close.bind(c),
      };
    };
    const events: L0Event[] = [];
    const s = await openWalSource(path, { open: opener, minCheckpointPageCount: 100_000, onL0: (e) => events.push(e) });
    await s.sync();
    armed = true;
    expect(await s.checkpoint("PASSIVE")).toBe(true);
    armed = false;
    expect(landed).toBe(3);
    expect(events[events.length - 1]).toMatchObject({ snapshot: true, reason: expect.stringContaining("salts changed") });
    const r = await restoreAndCheck(s.local);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });

  it("compressL0: false writes every L0 page stored (a literal-only LZ4 block of 1029 bytes at page size 1024); the files restore", async () => {
    const sizes = async (compressL0: boolean | undefined) => {
      const { path, app, write } = setup();
      const s = await openWalSource(path, compressL0 === undefined ? {} : { compressL0 });
      write(40);
      await s.sync();
      write(40);
      const txid = await s.sync();
      const out: number[] = [];
      for (const f of await listLevel(s.local, 0)) {
        const b = (await s.local.store.get(f.key))!;
        const v = new DataView(b.buffer, b.byteOffset, b.length);
        // 100-byte header, then per page: pgno u32, flags u16, size u32, the block; pgno 0 ends the pages.
        for (let o = 100; v.getUint32(o) !== 0; ) {
          expect(v.getUint16(o + 4)).toBe(1);
          const n = v.getUint32(o + 6);
          out.push(n);
          o += 10 + n;
        }
      }
      const r = await restoreAndCheck(s.local, txid);
      expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
      await s.close();
      app.close();
      return out;
    };
    const stored = await sizes(false);
    expect(stored.length).toBeGreaterThan(2);
    expect(new Set(stored)).toEqual(new Set([1029])); // token 0xF0, 255 255 255 244 (1024 - 15), the page
    const compressed = await sizes(undefined);
    expect(Math.min(...compressed)).toBeLessThan(1029);
  });

  it("watch() reports a commit to the WAL", async () => {
    const { path, app, write } = setup();
    const s = await openWalSource(path);
    await s.sync();
    let seen = 0;
    const fired = new Promise<void>((resolve) => {
      const stop = s.watch(() => {
        seen++;
        stop();
        resolve();
      });
    });
    write(1);
    await fired;
    expect(seen).toBe(1);
    expect(await s.sync()).toBe(2n);
    await s.close();
    app.close();
  });

  it("typed errors: a missing database, a corrupt local L0 header", async () => {
    const dir = tmp();
    await expect(openWalSource(join(dir, "none.db"))).rejects.toMatchObject({ code: "NOT_FOUND" });
    const { path, app, write } = setup();
    write(3);
    const s = await openWalSource(path);
    await s.sync();
    await s.close();
    const f = join(path.replace(/app\.db$/, ".app.db-litestream"), "ltx/0/0000000000000001-0000000000000001.ltx");
    const b = readFileSync(f);
    b[0] = 0;
    writeFileSync(f, b);
    await expect(openWalSource(path)).rejects.toMatchObject({ code: "INVALID_LTX_FILE" });
    app.close();
    void FsStore;
    void fileLayout;
  });
});
