/**
 * Local disk faults: the meta directory (`.<db>-litestream`) on a full file system, on one remounted
 * read-only, and a file where the directory should be; a restore onto a full file system. Each gives
 * an IO_ERROR naming the path and the errno code; once space (or write access) returns, replication
 * resumes, every acknowledged sync() restores to the content it acknowledged and the TXIDs have no
 * gap; a failed restore leaves no output and no temp file.
 *
 * Small tmpfs mounts make the faults (root only): without mount permission the suite is skipped
 * visibly, unless LTXKIT_REQUIRE_ALL=1.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, openSync, writeSync, closeSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { FileSink } from "../lib/adapters/fs-sink.ts";
import { FsStore } from "../lib/adapters/fs-store.ts";
import { replicate, type ReplicationHandle } from "../lib/adapters/replicate.ts";
import { isLtxError, type LtxError } from "../lib/errors.ts";
import { fileLayout } from "../lib/replica/layout.ts";
import { listAll } from "../lib/replica/list.ts";
import type { Replica } from "../lib/replica/replica.ts";
import { restore } from "../lib/replica/restore.ts";
import { contentHash, restoreAndCheck } from "../test/capture/app.ts";
import { openApp } from "../test/capture/driver.ts";
import type { SqliteConnection } from "../lib/capture/sqlite.ts";

const requireAll = process.env.LTXKIT_REQUIRE_ALL === "1";
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const mounts: string[] = [];

function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir], { stdio: "pipe" });
  mounts.push(dir);
}
function remount(dir: string, opts: string): void {
  execFileSync("mount", ["-o", `remount,${opts}`, dir], { stdio: "pipe" });
}
const canMount = (() => {
  const probe = mkdtempSync(join(tmpdir(), "ltxkit-mount-probe-"));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", probe], { stdio: "pipe" });
  if (r.status !== 0) return false;
  spawnSync("umount", [probe]);
  return true;
})();
if (!canMount) console.warn("SKIP: disk fault suites need permission to mount a tmpfs (root)");

afterAll(() => {
  for (const m of mounts.reverse()) spawnSync("umount", ["-l", m]);
});

const hex = (t: bigint) => t.toString(16).padStart(16, "0");
interface Ack {
  txid: bigint;
  hash: string;
}

/** Fills the file system holding `dir` with a file of zeros until it is full; returns the file. */
function fill(dir: string): string {
  const p = join(dir, "filler");
  const fd = openSync(p, "w");
  const chunk = new Uint8Array(16 * 1024);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    expect((e as { code?: string }).code).toBe("ENOSPC");
  } finally {
    closeSync(fd);
  }
  return p;
}

function fileReplica(dir: string): Replica {
  return { url: dir, kind: "file", store: new FsStore(dir), layout: fileLayout, timestampFromMetadata: false };
}

/** One application transaction: inserts with blobs of `blob` bytes, an update, a delete. */
function transaction(app: SqliteConnection, n: number, blob = 3000): void {
  app.exec("BEGIN IMMEDIATE");
  for (let i = 0; i < 5; i++) app.query("INSERT INTO t (v, b) VALUES (?, ?)", [`row ${n}.${i}`, new Uint8Array(blob).fill((n * 7 + i) & 0xff)]);
  app.query("UPDATE t SET v = v || '+' WHERE id % 7 = ?", [n % 7]);
  if (n % 3 === 0) app.query("DELETE FROM t WHERE id = (SELECT min(id) FROM t)");
  app.exec("COMMIT");
}

async function ackedSync(app: SqliteConnection, h: ReplicationHandle, acks: Ack[]): Promise<void> {
  const hash = contentHash(app);
  const txid = await h.sync({ timeout: 10_000 });
  const prev = acks[acks.length - 1];
  if (prev) expect(txid > prev.txid, `ACK ${hex(txid)} after ${hex(prev.txid)}`).toBe(true);
  acks.push({ txid, hash });
}

/** Asserts a rejection is IO_ERROR naming a path under `under` and the errno code. */
function expectIoError(e: unknown, under: string, codes: string[]): LtxError {
  expect(isLtxError(e), `not an LtxError: ${e}`).toBe(true);
  const err = e as LtxError;
  expect(err.code, err.message).toBe("IO_ERROR");
  expect(err.message, "the message names the path").toContain(under);
  expect(codes, err.message).toContain(err.details?.errno);
  expect(err.message).toContain(String(err.details?.errno));
  expect(String(err.details?.path ?? "")).toContain(under);
  return err;
}

/** Every ACK restores to its content; the levels have no gap; no temp file is left in `meta`. */
async function verify(replica: Replica, acks: Ack[]): Promise<void> {
  const files = await listAll(replica);
  const l0 = files.filter((f) => f.level === 0);
  expect(l0[0]?.minTXID).toBe(1n);
  for (let i = 1; i < l0.length; i++) expect(l0[i]!.minTXID, `${l0[i - 1]!.key} then ${l0[i]!.key}`).toBe(l0[i - 1]!.maxTXID + 1n);
  for (const a of acks) {
    const got = await restoreAndCheck(replica, a.txid);
    expect([got.integrity, got.hash], `ACK ${hex(a.txid)}`).toEqual(["ok", a.hash]);
  }
}

const listTmp = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.includes(".ltxkit-tmp-")) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
};

const OPTS = { monitorInterval: 50, syncInterval: 50, checkpointInterval: 500, minCheckpointPageCount: 40, compaction: { levels: [], l0Retention: 3_600_000 }, retries: { initialDelay: 50, maxDelay: 200 } };

describe.skipIf(!canMount && !requireAll)("disk faults on the local side (tmpfs mounts)", () => {
  it("a full meta directory: sync() rejects with IO_ERROR (path, ENOSPC); once space returns replication resumes and every ACK restores", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-disk-full-"));
    const meta = join(dir, "meta");
    mountTmpfs(meta, "2m");
    const db = join(dir, "app.db");
    const replica = fileReplica(join(dir, "replica"));
    const app = openApp(db, { autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
    const h = await replicate(db, replica, { ...OPTS, metaPath: meta });
    const acks: Ack[] = [];
    const errors: LtxError[] = [];
    h.addEventListener("error", (e) => void errors.push(e.detail.error));
    try {
      for (let n = 0; n < 5; n++) {
        transaction(app, n);
        await ackedSync(app, h, acks);
      }
      const filler = fill(meta);
      for (let n = 5; n < 10; n++) {
        transaction(app, n, 20_000);
        const e = await h.sync({ timeout: 2000 }).then(
          () => null,
          (err) => err,
        );
        expectIoError(e, meta, ["ENOSPC"]);
      }
      expect(h.status().lastError?.code).toBe("IO_ERROR");
      expect(listTmp(meta), "temp files left on the full disk").toEqual([]);
      unlinkSync(filler);
      for (let n = 10; n < 16; n++) {
        transaction(app, n);
        await ackedSync(app, h, acks);
      }
      expect(h.status().lastError).toBeUndefined();
    } finally {
      await h.close();
      app.close();
    }
    expect(errors.length).toBeGreaterThan(0);
    await verify(replica, acks);
    // the commits written while the disk was full are in the replica too
    expect(acks[acks.length - 1]!.txid).toBeGreaterThan(acks[4]!.txid + 1n);
  }, 120_000);

  it("a meta directory remounted read-only: IO_ERROR (path, EROFS); writable again, replication resumes and every ACK restores", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-disk-ro-"));
    const meta = join(dir, "meta");
    mountTmpfs(meta, "16m");
    const db = join(dir, "app.db");
    const replica = fileReplica(join(dir, "replica"));
    const app = openApp(db, { autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
    const h = await replicate(db, replica, { ...OPTS, metaPath: meta });
    const acks: Ack[] = [];
    try {
      for (let n = 0; n < 4; n++) {
        transaction(app, n);
        await ackedSync(app, h, acks);
      }
      remount(meta, "ro");
      for (let n = 4; n < 7; n++) {
        transaction(app, n);
        const e = await h.sync({ timeout: 2000 }).then(
          () => null,
          (err) => err,
        );
        expectIoError(e, meta, ["EROFS"]);
      }
      remount(meta, "rw");
      for (let n = 7; n < 12; n++) {
        transaction(app, n);
        await ackedSync(app, h, acks);
      }
    } finally {
      await h.close();
      app.close();
    }
    await verify(replica, acks);
  }, 120_000);

  it("a file where the meta directory should be: IO_ERROR (path, ENOTDIR or EEXIST); once it is a directory, replication starts and every ACK restores", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-disk-notdir-"));
    const meta = join(dir, "meta");
    writeFileSync(meta, "not a directory");
    const db = join(dir, "app.db");
    const replica = fileReplica(join(dir, "replica"));
    const app = openApp(db, { autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
    const acks: Ack[] = [];
    let h: ReplicationHandle | undefined;
    try {
      transaction(app, 0);
      const started = await replicate(db, replica, { ...OPTS, metaPath: meta }).then(
        (x) => x,
        (err) => err,
      );
      if (isLtxError(started)) expectIoError(started, meta, ["ENOTDIR", "EEXIST"]);
      else {
        h = started as ReplicationHandle;
        const e = await h.sync({ timeout: 2000 }).then(
          () => null,
          (err) => err,
        );
        expectIoError(e, meta, ["ENOTDIR", "EEXIST"]);
        // close() reports that its final capture failed, and still closes
        const closed = await h.close().then(
          () => null,
          (err) => err,
        );
        if (closed) expectIoError(closed, meta, ["ENOTDIR", "EEXIST"]);
        h = undefined;
      }
      rmSync(meta);
      h = await replicate(db, replica, { ...OPTS, metaPath: meta });
      for (let n = 1; n < 6; n++) {
        transaction(app, n);
        await ackedSync(app, h, acks);
      }
    } finally {
      await h?.close();
      app.close();
    }
    await verify(replica, acks);
  }, 120_000);

  it("a restore onto a full disk fails with IO_ERROR (path, ENOSPC) and leaves nothing; with space it restores byte-identically", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-disk-restore-"));
    const db = join(dir, "app.db");
    const replica = fileReplica(join(dir, "replica"));
    const app = openApp(db, { autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
    const h = await replicate(db, replica, OPTS);
    let ack: Ack;
    try {
      for (let n = 0; n < 10; n++) transaction(app, n, 80_000); // about 4 MiB
      const hash = contentHash(app);
      ack = { txid: await h.sync({ timeout: 10_000 }), hash };
    } finally {
      await h.close();
      app.close();
    }
    const outDir = join(dir, "out");
    mountTmpfs(outDir, "2m");
    const out = join(outDir, "restored.db");
    const e = await restore(replica, { sink: new FileSink(out), txid: ack.txid }).then(
      () => null,
      (err) => err,
    );
    expectIoError(e, outDir, ["ENOSPC"]);
    expect(readdirSync(outDir), "a failed restore left output").toEqual([]);
    // the CLI (dist/, built by the global setup): exit 1, the path and the errno code, nothing left
    const cli = spawnSync(process.execPath, [join(ROOT, "dist", "cli", "main.js"), "restore", "-o", out, `file://${replica.url}`], { encoding: "utf8" });
    expect([cli.status, cli.stdout], cli.stderr).toEqual([1, ""]);
    expect(cli.stderr).toContain(`${outDir}/.restored.db.ltxkit-tmp-`);
    expect(cli.stderr).toMatch(/ENOSPC.*\[IO_ERROR\]\n$/);
    expect(readdirSync(outDir), "a failed CLI restore left output").toEqual([]);
    remount(outDir, "size=16m");
    await restore(replica, { sink: new FileSink(out), txid: ack.txid });
    const expected = await restoreAndCheck(replica, ack.txid);
    expect([expected.integrity, expected.hash]).toEqual(["ok", ack.hash]);
    const { readFileSync } = await import("node:fs");
    expect(Buffer.compare(readFileSync(out), Buffer.from(expected.bytes))).toBe(0);
    expect(readdirSync(outDir)).toEqual(["restored.db"]);
  }, 120_000);
});
