import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { nodeFileAccess } from "../../lib/adapters/fs-random.ts";
import { localReplica } from "../../lib/adapters/wal-node.ts";
import type { FileAccess } from "../../lib/capture/sqlite.ts";
import { WalSource } from "../../lib/capture/wal-source.ts";
import { l0Builds } from "../../lib/capture/build-gate.ts";
import { contentHash, restoreAndCheck } from "./app.ts";
import { appWithTable, driver, open } from "./driver.ts";

/**
 * nodeFileAccess counting opens and closes per path; `renamed` makes stat report another identity
 * for a path; `noIds` a file access that names no files (no `id` on handles or stats).
 */
function counting(o: { noIds?: boolean } = {}) {
  const opens = new Map<string, number>();
  const closes = new Map<string, number>();
  const renamed = new Set<string>();
  const files: FileAccess = {
    async open(path) {
      const f = await nodeFileAccess.open(path);
      if (!f) return f;
      opens.set(path, (opens.get(path) ?? 0) + 1);
      const id = o.noIds ? undefined : renamed.has(path) ? `${f.id}+other` : f.id;
      return { id, size: () => f.size(), read: (o, n) => f.read(o, n), close: async () => (closes.set(path, (closes.get(path) ?? 0) + 1), f.close()) };
    },
    async stat(path) {
      const st = await nodeFileAccess.stat(path);
      if (st && o.noIds) return { size: st.size, mtimeMs: st.mtimeMs };
      return st && renamed.has(path) ? { ...st, id: `${st.id}+other` } : st;
    },
  };
  return { files, opens, closes, renamed };
}

const setup = () => appWithTable("ltxkit-walfiles-", 7);

describe(`WalSource file handles (${driver.name})`, () => {
  /**
   * Six syncs of 7 rows each through `counting(o)`; then the opens and closes per file (WAL,
   * database) after the syncs and after close(), and a restore check of the last TXID.
   */
  async function sixSyncs(o: { noIds?: boolean }) {
    const { dir, path, app, write } = setup();
    const c = counting(o);
    const s = await WalSource.open({ path, open, files: c.files, local: localReplica(join(dir, "meta")), minCheckpointPageCount: 100_000 });
    let txid = 0n;
    for (let i = 0; i < 6; i++) {
      write(7);
      txid = await s.sync();
    }
    const counts = (m: Map<string, number>) => [m.get(path + "-wal") ?? 0, m.get(path) ?? 0];
    const opens = counts(c.opens);
    const closes = counts(c.closes);
    const r = await restoreAndCheck(s.local, txid);
    const restored = [r.integrity, r.hash, contentHash(app)];
    await s.close();
    app.close();
    return { txid, opens, closes, closesAfter: counts(c.closes), restored };
  }

  it("keeps the WAL and the database file open across syncs and closes them at close()", async () => {
    const r = await sixSyncs({});
    expect(r.txid).toBe(6n);
    expect([r.opens, r.closes, r.closesAfter]).toEqual([[1, 1], [0, 0], [1, 1]]);
    expect(r.restored[0]).toBe("ok");
    expect(r.restored[1]).toBe(r.restored[2]);
  });

  it("without file identities (a file access that names no files) each sync opens the WAL and the database file and closes them again", async () => {
    const r = await sixSyncs({ noIds: true });
    expect(r.txid).toBe(6n);
    // one WAL read and one L0 build per sync, none of their handles kept
    expect([r.opens, r.closes, r.closesAfter]).toEqual([[6, 6], [6, 6], [6, 6]]);
    expect(r.restored[0]).toBe("ok");
    expect(r.restored[1]).toBe(r.restored[2]);
  });

  it("opens the WAL and the database file again when their paths name other files", async () => {
    const { dir, path, app, write } = setup();
    const c = counting();
    const s = await WalSource.open({ path, open, files: c.files, local: localReplica(join(dir, "meta")), minCheckpointPageCount: 100_000 });
    write(5);
    await s.sync();
    c.renamed.add(path + "-wal").add(path);
    write(5);
    const txid = await s.sync();
    expect(txid).toBe(2n);
    // the old handles closed, new ones opened (their identity matches the stat again, so they are kept)
    expect([c.opens.get(path + "-wal"), c.opens.get(path)]).toEqual([2, 2]);
    expect([c.closes.get(path + "-wal"), c.closes.get(path)]).toEqual([1, 1]);
    write(5);
    expect(await s.sync()).toBe(3n);
    expect([c.opens.get(path + "-wal"), c.opens.get(path)]).toEqual([2, 2]);
    const r = await restoreAndCheck(s.local, 3n);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });
});

describe(`WalSource checkpoint flush and written callback (${driver.name})`, () => {
  /** Logs, in order, each flush of a path and each wal_checkpoint the source's connections run. */
  function logged() {
    const log: string[] = [];
    const files: FileAccess = {
      open: (p) => nodeFileAccess.open(p),
      stat: (p) => nodeFileAccess.stat(p),
      flush: async (p) => {
        await nodeFileAccess.flush!(p);
        log.push(`flush ${p}`);
      },
    };
    const opener: typeof open = (p) => {
      const c = open(p);
      return {
        exec: (sql) => c.exec(sql),
        query: (sql, params) => {
          const m = /wal_checkpoint\((\w+)\)/.exec(sql);
          if (m) log.push(`checkpoint ${m[1]}`);
          return c.query(sql, params);
        },
        close: () => c.close(),
      };
    };
    return { log, files, opener };
  }

  it("flushes the WAL through FileAccess.flush after its last sync and before every checkpoint", async () => {
    const { dir, path, app, write } = setup();
    const { log, files, opener } = logged();
    const s = await WalSource.open({ path, open: opener, files, local: localReplica(join(dir, "meta")), minCheckpointPageCount: 20, onL0: (e) => log.push(`l0 ${e.txid}`) });
    write(60); // past 20 pages of 1024 bytes: the sync checkpoints (PASSIVE)
    expect(await s.sync()).toBe(2n);
    // TXID 1, then the checkpoint (its sync finds nothing new), then the restarted WAL's first frame
    const wal = `flush ${path}-wal`;
    expect(log).toEqual(["l0 1", wal, wal, "checkpoint PASSIVE", "l0 2"]);
    log.length = 0;
    write(5);
    expect(await s.checkpoint("TRUNCATE")).toBe(true);
    // the second flush comes after the checkpoint's sync (TXID 3); the boundary snapshot follows
    expect(log).toEqual([wal, "l0 3", wal, "checkpoint TRUNCATE", "l0 4"]);
    const r = await restoreAndCheck(s.local, s.txid);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });

  it("sync(written) waits for the promise written() returns for the capture's own files before the checkpoint, not for the checkpoint's", async () => {
    const { dir, path, app, write } = setup();
    const { log, files, opener } = logged();
    const s = await WalSource.open({ path, open: opener, files, local: localReplica(join(dir, "meta")), minCheckpointPageCount: 20, onL0: (e) => log.push(`l0 ${e.txid}`) });
    const written = (t: bigint) => {
      log.push(`written ${t}`);
      return new Promise<void>((r) => setTimeout(() => (log.push(`uploaded ${t}`), r()), 5));
    };
    write(3);
    expect(await s.sync(written)).toBe(1n);
    expect(log).toEqual(["l0 1", "written 1", "uploaded 1"]);
    log.length = 0;
    write(60); // past the threshold: TXID 2, the checkpoint, TXID 3 of the restarted WAL
    expect(await s.sync(written)).toBe(3n);
    const wal = `flush ${path}-wal`;
    expect(log).toEqual(["l0 2", "written 2", "uploaded 2", wal, wal, "checkpoint PASSIVE", "l0 3", "written 3"]);
    await new Promise((r) => setTimeout(r, 20));
    expect(log.at(-1)).toBe("uploaded 3");
    const r = await restoreAndCheck(s.local, 3n);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });

  it("sync(written) goes on when the promise written() returns never settles (a hung upload holds up the capture for a bounded time)", async () => {
    const { dir, path, app, write } = setup();
    const s = await WalSource.open({ path, open, files: nodeFileAccess, local: localReplica(join(dir, "meta")), minCheckpointPageCount: 20 });
    const hung = () => new Promise<void>(() => {});
    write(3);
    expect(await s.sync(hung)).toBe(1n);
    write(60); // past the threshold: the checkpoint still runs after the bounded wait
    expect(await s.sync(hung)).toBe(3n);
    const r = await restoreAndCheck(s.local, 3n);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });

  it("sync(written) reports every L0 file it writes, the checkpoint's included, each once it is in the local replica", async () => {
    const { dir, path, app, write } = setup();
    const s = await WalSource.open({ path, open, files: nodeFileAccess, local: localReplica(join(dir, "meta")), minCheckpointPageCount: 20 });
    const seen: [bigint, boolean][] = [];
    const onWritten = (txid: bigint) => {
      // the file must be in place when reported (checked synchronously: the path exists)
      seen.push([txid, existsSync(join(dir, "meta", s.local.layout.key(0, txid, txid)))]);
    };
    write(3);
    expect(await s.sync(onWritten)).toBe(1n);
    expect(seen).toEqual([[1n, true]]);
    write(60); // the sync writes TXID 2, checkpoints, and captures the restarted WAL's first frame as TXID 3
    expect(await s.sync(onWritten)).toBe(3n);
    expect(seen).toEqual([[1n, true], [2n, true], [3n, true]]);
    expect(await s.sync(onWritten)).toBe(3n); // nothing new: nothing reported
    expect(seen.length).toBe(3);
    const r = await restoreAndCheck(s.local, 3n);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });
});

describe(`WalSource flush ahead (${driver.name})`, () => {
  /** nodeFileAccess logging when each flush starts and ends; `gate`, when set, holds a flush until it resolves. */
  function flushLog() {
    const log: string[] = [];
    const st: { gate: Promise<void> | null } = { gate: null };
    const files: FileAccess = {
      open: (p) => nodeFileAccess.open(p),
      stat: (p) => nodeFileAccess.stat(p),
      flush: async (p) => {
        log.push(`start ${p}`);
        if (st.gate) await st.gate;
        await nodeFileAccess.flush!(p);
        log.push(`end ${p}`);
      },
    };
    return { log, files, st };
  }
  /** Rows of `mib` MiB of overflow pages (1024-byte pages: about 1.03 MiB of WAL a MiB). */
  const big = (app: ReturnType<typeof setup>["app"], mib: number) => {
    for (let i = 0; i < mib; i++) app.query("INSERT INTO t (v) VALUES (?)", ["b".repeat(1 << 20)]);
  };

  it("a sync starts a background flush of the WAL once 16 MiB more of it were captured since the last one began; close() waits for it", async () => {
    const { dir, path, app, write } = setup();
    const { log, files } = flushLog();
    const s = await WalSource.open({ path, open, files, local: localReplica(join(dir, "meta")), minCheckpointPageCount: 100_000, checkpointInterval: 0 });
    write(3);
    await s.sync();
    big(app, 12); // about 12.4 MiB of WAL since the start: under 16
    await s.sync();
    expect(log).toEqual([]);
    big(app, 4); // past 16 MiB
    await s.sync();
    const wal = `${path}-wal`;
    expect(log).toEqual([`start ${wal}`]);
    big(app, 12); // 12.4 MiB since that flush began
    await s.sync();
    expect(log.filter((l) => l.startsWith("start"))).toEqual([`start ${wal}`]);
    big(app, 4);
    await s.sync();
    expect(log.filter((l) => l.startsWith("start"))).toEqual([`start ${wal}`, `start ${wal}`]);
    await s.close(); // waits for the flush in flight
    expect(log.at(-1)).toBe(`end ${wal}`);
    expect(log.filter((l) => l.startsWith("end")).length).toBe(2);
    const r = await restoreAndCheck(s.local, s.txid);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    app.close();
  });

  it("a checkpoint waits for the background flush in flight before its own flush and the wal_checkpoint", async () => {
    const { dir, path, app } = setup();
    const { log, files, st } = flushLog();
    const s = await WalSource.open({ path, open, files, local: localReplica(join(dir, "meta")), minCheckpointPageCount: 100_000, checkpointInterval: 0 });
    let release!: () => void;
    st.gate = new Promise<void>((r) => (release = r));
    big(app, 17);
    expect(await s.sync()).toBe(1n); // returns while its flush is held
    const wal = `${path}-wal`;
    expect(log).toEqual([`start ${wal}`]);
    const ck = s.checkpoint("PASSIVE");
    await new Promise((r) => setTimeout(r, 30));
    expect(log, "the checkpoint has not started its own flush").toEqual([`start ${wal}`]);
    st.gate = null;
    release();
    expect(await ck).toBe(true);
    expect(log.slice(0, 3)).toEqual([`start ${wal}`, `end ${wal}`, `start ${wal}`]);
    const r = await restoreAndCheck(s.local, s.txid);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app)]);
    await s.close();
    app.close();
  });
});

describe(`WalSource L0 builds across databases (${driver.name})`, () => {
  it("ten databases syncing at once: their snapshots are built four at a time (4 MiB each of the 16 MiB budget) while the others wait, their small incremental syncs without waiting; each restores to its application's content", async () => {
    let waited = 0;
    let held = 0;
    const files: FileAccess = {
      async open(path) {
        const f = await nodeFileAccess.open(path);
        if (!f) return f;
        return {
          id: f.id,
          size: () => f.size(),
          async read(o, n) {
            waited = Math.max(waited, l0Builds.waiting);
            held = Math.max(held, l0Builds.used);
            // A read that takes a while, so that the builds overlap.
            await new Promise((r) => setTimeout(r, 2));
            return f.read(o, n);
          },
          close: () => f.close(),
        };
      },
      stat: (path) => nodeFileAccess.stat(path),
    };
    const apps = Array.from({ length: 10 }, () => setup());
    for (const a of apps) a.write(40);
    const sources = await Promise.all(apps.map((a) => WalSource.open({ path: a.path, open, files, local: localReplica(join(a.dir, "meta")), minCheckpointPageCount: 100_000 })));
    expect(await Promise.all(sources.map((s) => s.sync())), "the first sync of each is its snapshot").toEqual(sources.map(() => 1n));
    expect(held, "four snapshot builds of 4 MiB hold the whole budget").toBe(16 << 20);
    expect(waited, "while others wait").toBeGreaterThan(0);
    waited = held = 0;
    for (const a of apps) a.write(3);
    const txids = await Promise.all(sources.map((s) => s.sync()));
    expect(txids).toEqual(sources.map(() => 2n));
    expect(waited, "no incremental build waits").toBe(0);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(1 << 20);
    for (let i = 0; i < apps.length; i++) {
      const r = await restoreAndCheck(sources[i]!.local, txids[i]!);
      expect([r.integrity, r.hash]).toEqual(["ok", contentHash(apps[i]!.app)]);
      await sources[i]!.close();
      apps[i]!.app.close();
    }
  });
});
