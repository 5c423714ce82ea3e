/**
 * `replicate(…, { worker: true })`: the replication in a worker thread. Runs the built module
 * (dist/, made by the global setup), since the worker thread loads `replicate-worker.js` beside it.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FsStore } from "../../lib/adapters/fs-store.ts";
import { Worker } from "node:worker_threads";
import { isLtxError, LtxError } from "../../lib/errors.ts";
import { statusFromWire, statusToWire } from "../../lib/adapters/replicate-wire.ts";
import { fileLayout } from "../../lib/replica/layout.ts";
import type { Replica } from "../../lib/replica/replica.ts";
import { contentHash, mixedWorkload, restoreAndCheck } from "./app.ts";
import { driver, openApp } from "./driver.ts";

const root = join(import.meta.dirname, "..", "..");
const { replicate } = (await import(join(root, "dist", "adapters", "node.js"))) as typeof import("../../lib/adapters/replicate.ts");

function setup(): { dir: string; path: string; url: string; replica: Replica } {
  const dir = mkdtempSync(join(tmpdir(), "ltxkit-wreplicate-"));
  const url = join(dir, "replica");
  return { dir, path: join(dir, "app.db"), url, replica: { url, kind: "file", store: new FsStore(url), layout: fileLayout, timestampFromMetadata: false } };
}

/** The newest MaxTXID among the replica's L0 files, read from their names. */
function newestL0(url: string): bigint {
  let max = 0n;
  let names: string[] = [];
  try {
    names = readdirSync(join(url, "ltx", "0"));
  } catch {
    return 0n;
  }
  for (const n of names) {
    const m = /^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$/.exec(n);
    if (m && BigInt("0x" + m[2]) > max) max = BigInt("0x" + m[2]);
  }
  return max;
}

describe(`replicate() with worker: true (${driver.name})`, () => {
  it("after every sync() the replica restores to the application's content; events and status() cross the thread with bigint TXIDs", async () => {
    const { path, url, replica } = setup();
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t0 (x)");
    const h = await replicate(path, url, { worker: true, monitorInterval: 50, syncInterval: 50, minCheckpointPageCount: 80, compaction: { levels: [300, 900], snapshotInterval: 1500, l0Retention: 3_600_000 } });
    const synced: bigint[] = [];
    const errors: unknown[] = [];
    h.addEventListener("sync", (e) => {
      expect(e.detail.minTXID).toBeTypeOf("bigint");
      for (let t = e.detail.minTXID; t <= e.detail.maxTXID; t++) synced.push(t);
    });
    h.addEventListener("error", (e) => errors.push(e.detail.error));
    let txid = 0n;
    for (const step of mixedWorkload(app)) {
      step.run();
      txid = await h.sync();
      // the status the sync's reply carried (read before any later message: a checkpoint after
      // this sync may capture a _litestream_seq write in the background while the restore runs)
      expect(h.status(), step.name).toMatchObject({ localTXID: txid, replicas: [{ url, remoteTXID: txid, failures: 0, stopped: false }], lagMs: 0 });
      const r = await restoreAndCheck(replica);
      expect(r.integrity, step.name).toBe("ok");
      expect(r.hash, step.name).toBe(contentHash(app));
    }
    await h.close();
    // every TXID the worker captured was reported once, in order, up to the last sync's
    expect(synced).toEqual(Array.from({ length: Number(txid) }, (_, i) => BigInt(i + 1)));
    expect(errors).toEqual([]);
    await expect(h.sync()).rejects.toMatchObject({ name: "LtxError", code: "INVALID_STATE" });
    app.close();
  });

  it("the worker ships a commit while the application's thread is blocked (an in-thread replication could not)", async () => {
    const { path, url } = setup();
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (v)");
    const h = await replicate(path, url, { worker: true, eventDriven: true, monitorInterval: 100, syncInterval: 100 });
    const before = await h.sync();
    app.query("INSERT INTO t (v) VALUES (?)", ["while blocked"]);
    // Block this thread for up to 10 s, polling the replica synchronously: no event loop turn runs.
    const wait = new Int32Array(new SharedArrayBuffer(4));
    const t0 = Date.now();
    let seen = 0n;
    while (Date.now() - t0 < 10_000 && (seen = newestL0(url)) <= before) Atomics.wait(wait, 0, 0, 20);
    expect(seen).toBe(before + 1n);
    expect(await h.sync()).toBe(before + 1n);
    await h.close();
    app.close();
  });

  it("with no listener the worker sends no events, yet status() follows its progress; a listener added later hears the events from then on", async () => {
    const { path, url } = setup();
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (v)");
    const h = await replicate(path, url, { worker: true, monitorInterval: 50, syncInterval: 50 });
    // every event message the worker sends is dispatched on the handle: record them
    const dispatched: string[] = [];
    const target = h as unknown as EventTarget;
    const dispatch = target.dispatchEvent.bind(target);
    target.dispatchEvent = (e: Event) => (dispatched.push(e.type), dispatch(e));
    const first = await h.sync();
    await new Promise((r) => setTimeout(r, 100)); // the worker has been told: nothing is listened for
    dispatched.length = 0;
    /** Waits (up to 10 s) until `f` holds, without calling into the handle beyond status(). */
    const until = async (f: () => boolean) => {
      for (const t0 = Date.now(); !f() && Date.now() - t0 < 10_000; ) await new Promise((r) => setTimeout(r, 20));
      return f();
    };
    app.query("INSERT INTO t (v) VALUES (?)", ["a"]);
    expect(await until(() => newestL0(url) === first + 1n)).toBe(true);
    // status() learns the upload from a status message, not from an event or a reply
    expect(await until(() => h.status().replicas[0]!.remoteTXID === first + 1n)).toBe(true);
    expect(h.status()).toMatchObject({ localTXID: first + 1n, lagMs: 0 });
    expect(dispatched).toEqual([]);
    const uploads: bigint[] = [];
    h.addEventListener("upload", (e) => uploads.push(e.detail.maxTXID));
    await new Promise((r) => setTimeout(r, 100)); // the new type reaches the worker
    app.query("INSERT INTO t (v) VALUES (?)", ["b"]);
    expect(await until(() => uploads.length > 0)).toBe(true);
    expect(uploads).toEqual([first + 2n]);
    expect(dispatched).toEqual(["upload"]);
    await h.close();
    app.close();
  });

  it("errors cross as LtxErrors with their codes: a missing database (NOT_FOUND from the worker), a store object, a function option or one structured cloning refuses (INVALID_ARGUMENT)", async () => {
    const { dir, path, url, replica } = setup();
    const missing = await replicate(join(dir, "missing.db"), url, { worker: true }).catch((e: unknown) => e);
    expect(isLtxError(missing, "NOT_FOUND")).toBe(true);
    expect((missing as Error).message).toContain("missing.db");
    expect(missing).toBeInstanceOf(Error);
    const app = openApp(path, {});
    app.exec("CREATE TABLE t (v)");
    await expect(replicate(path, replica, { worker: true })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("replica URLs") });
    await expect(replicate(path, url, { worker: true, open: () => { throw new Error("unused"); } })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("driver") });
    await expect(replicate(path, url, { worker: true, compaction: { levels: [Symbol("not cloneable") as unknown as number] } })).rejects.toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("cannot cross") });
    // nothing was started by the refused calls: no local L0 directory, no replica
    expect(readdirSync(dir).sort()).toEqual(["app.db", "app.db-shm", "app.db-wal"]);
    app.close();
  });

  it("a worker that dies fails every later call with IO_ERROR, shows it as status().lastError and dispatches one error event", async () => {
    const { path, url } = setup();
    const app = openApp(path, {});
    app.exec("CREATE TABLE t (v)");
    // The handle's worker, caught as the handle posts to it.
    const workers = new Set<Worker>();
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, ...a: Parameters<Worker["postMessage"]>) {
      workers.add(this);
      return post.apply(this, a);
    };
    let h: Awaited<ReturnType<typeof replicate>>;
    try {
      h = await replicate(path, url, { worker: true, monitorInterval: 50, syncInterval: 50 });
      await h.sync();
    } finally {
      Worker.prototype.postMessage = post;
    }
    const errors: unknown[] = [];
    const died = new Promise<void>((r) => h.addEventListener("error", (e) => (errors.push(e.detail.error), r())));
    expect(workers.size).toBe(1);
    await [...workers][0]!.terminate();
    await died; // the exit reaches the handle
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ name: "LtxError", code: "IO_ERROR", message: expect.stringContaining("replication worker exited") });
    await expect(h.sync()).rejects.toBe(errors[0]);
    await expect(h.tick()).rejects.toBe(errors[0]);
    expect(h.status().lastError).toBe(errors[0]);
    await expect(h.close()).rejects.toBe(errors[0]);
    expect(errors).toHaveLength(1);
    app.close();
  });
});

describe("replicate({ worker: true }) status on the wire", () => {
  it("a status read later has its lag grown by the time since it was sent; a lag of 0 stays 0; errors come back as LtxErrors", () => {
    const base = { localTXID: 5n, replicas: [{ url: "file:///r", remoteTXID: 3n, failures: 1, stopped: false, lastError: new LtxError("STORE_ERROR", "put failed") }] };
    const w = statusToWire({ ...base, lagMs: 400 } as never);
    const later = statusFromWire(w, w.at + 250);
    expect(later.lagMs).toBe(650);
    expect(later.localTXID).toBe(5n);
    expect(later.replicas[0]!.lastError).toBeInstanceOf(LtxError);
    expect(later.replicas[0]!.lastError).toMatchObject({ code: "STORE_ERROR", message: "put failed" });
    expect(statusFromWire(w, w.at - 100).lagMs).toBe(400); // a clock behind the sender's does not shrink it
    expect(statusFromWire(statusToWire({ ...base, lagMs: 0 } as never), w.at + 10_000).lagMs).toBe(0);
  });
});
