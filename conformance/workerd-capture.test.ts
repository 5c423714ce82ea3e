/**
 * The edge flow in workerd (miniflare): a worker writes through sqlite-wasm with the capture VFS and
 * replicates to an R2 bucket and to S3 (Ceph RGW, fetched from the worker); it is restarted cold and
 * continues from the replica. Every synced point restores byte-identically (the exported image of
 * that moment): the R2 replica with ltxkit's restore, the S3 one with `ltxkit restore` (the CLI) and
 * Go `litestream restore` v0.5.16, each passing integrity_check. A Durable Object does the same on
 * its own storage and is killed (miniflare disposed) between a commit and its upload: after the
 * restart the queue ships and nothing committed is lost.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Miniflare as MiniflareT } from "miniflare";
import { bundleWorker, root, skipWithoutWorkerd, wasmModules } from "./workerd/harness.ts";
import { r2Replica } from "../lib/adapters/workerd.ts";
import type { R2BucketLike } from "../lib/store/r2.ts";
import { restore } from "../lib/replica/restore.ts";
import type { Replica } from "../lib/replica/replica.ts";
import { MemoryStore } from "../lib/store/memory.ts";
import { BytesSink } from "../lib/replica/sinks.ts";
import { integrityCheck, type SqliteWasm } from "../lib/replica/integrity.ts";
import { loadSqliteWasm } from "../lib/adapters/sqlite-wasm.ts";
import { formatTXID } from "../lib/ltx/txid.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";
import { haveS3, requireS3, s3env } from "../test/store/s3-env.ts";

const skip = skipWithoutWorkerd();
const withS3 = haveS3 || requireS3;
const noGo = skipWithoutGo("litestream-v0.5.16");

interface Point {
  txid: bigint;
  image: Uint8Array;
}

const STEPS = [
  "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB)",
  "INSERT INTO t(v, b) VALUES ('one', randomblob(10))",
  "INSERT INTO t(v, b) SELECT 'row' || x, randomblob(700) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 150) SELECT x FROM c)",
  "UPDATE t SET v = 'changed' WHERE id % 7 = 0",
  "CREATE INDEX tv ON t(v)",
  "DELETE FROM t WHERE id > 100",
  "INSERT INTO t(v, b) VALUES ('big', randomblob(30000))",
];

async function makeMf(dir: string): Promise<MiniflareT> {
  const { Miniflare } = await import("miniflare");
  const code = await bundleWorker(join(root, "conformance", "workerd", "capture-worker.ts"));
  return new Miniflare({
    modules: [{ type: "ESModule", path: "worker.mjs", contents: code }, ...wasmModules()],
    compatibilityDate: "2026-07-01",
    r2Buckets: ["BUCKET"],
    r2Persist: join(dir, "r2"),
    durableObjects: { DBO: { className: "CaptureDO", useSQLite: true } },
    durableObjectsPersist: join(dir, "do"),
    bindings: withS3 ? { S3_ENDPOINT: s3env.endpoint, S3_BUCKET: s3env.bucket, S3_KEY: s3env.accessKeyId, S3_SECRET: s3env.secretAccessKey } : {},
  });
}

async function call(mf: MiniflareT, path: string, body?: string): Promise<Record<string, unknown>> {
  log(`call ${path}`);
  const r = await mf.dispatchFetch(`http://worker${path}`, body === undefined ? {} : { method: "POST", body });
  const t = await r.text();
  if (r.status !== 200) throw new Error(`${path}: ${r.status} ${t}`);
  return JSON.parse(t);
}

const bytesOf = (s: unknown) => new Uint8Array(Buffer.from(String(s), "base64"));
const same = (a: Uint8Array, b: Uint8Array) => {
  if (a.length === b.length && a.every((x, i) => x === b[i])) return true;
  const diff: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length) && diff.length < 20; i++) if (a[i] !== b[i]) diff.push(i);
  console.log(`differ: lengths ${a.length} ${b.length}, offsets ${diff.join(",")}`);
  return false;
};

const t0 = Date.now();
const log = (m: string) => process.env.LTXKIT_DEBUG && console.log(`${((Date.now() - t0) / 1000).toFixed(1)}s ${m}`);

async function checkR2(mf: MiniflareT, prefix: string, points: Point[]): Promise<void> {
  const sqlite3 = (await loadSqliteWasm()) as unknown as SqliteWasm;
  // Everything under the prefix, read once through R2Store (miniflare's bucket proxy is slow per
  // call), then restored at each point from that copy with the same layout.
  const r2 = r2Replica((await mf.getR2Bucket("BUCKET")) as unknown as R2BucketLike, prefix);
  const copy = new MemoryStore();
  for await (const b of r2.store.list(prefix + "/")) await copy.put(b.key, (await r2.store.get(b.key))!);
  log("r2 copied");
  const replica: Replica = { ...r2, store: copy };
  for (const p of points) {
    log(`r2 restore ${p.txid}`);
    const sink = new BytesSink();
    const r = await restore(replica, { txid: p.txid, sink });
    expect(r.txid).toBe(p.txid);
    expect(same(sink.bytes(), p.image), `R2 TXID ${p.txid} restores byte-identical`).toBe(true);
    expect(await integrityCheck(sink.bytes(), "full", sqlite3)).toEqual([]);
  }
}

function checkS3(dir: string, prefix: string, points: Point[]): void {
  const url = `s3://${s3env.bucket}/${prefix}?endpoint=${s3env.endpoint}&region=us-east-1&forcePathStyle=true`;
  for (const p of points) {
    log(`s3 restore ${p.txid}`);
    const out = join(dir, `ltxkit-${p.txid}.db`);
    execFileSync(process.execPath, [join(root, "dist", "cli", "main.js"), "restore", "-o", out, "-txid", formatTXID(p.txid), url], { stdio: "pipe", env: { ...process.env, AWS_ACCESS_KEY_ID: s3env.accessKeyId, AWS_SECRET_ACCESS_KEY: s3env.secretAccessKey } });
    expect(same(new Uint8Array(readFileSync(out)), p.image), `ltxkit restore of S3 at TXID ${p.txid}`).toBe(true);
    if (!noGo) {
      const go = join(dir, `go-${p.txid}.db`);
      execFileSync(goTool("litestream-v0.5.16")!, ["restore", "-o", go, "-txid", formatTXID(p.txid), url], { stdio: "pipe", env: goEnv() });
      expect(same(new Uint8Array(readFileSync(go)), p.image), `litestream restore of S3 at TXID ${p.txid}`).toBe(true);
    }
  }
}

describe.skipIf(skip)("capture in workerd: worker + R2 + S3, cold restart; Durable Object killed between commit and upload", () => {
  it.skipIf(!withS3)("a worker replicates to R2 and S3, restarts cold from the replica and continues; every synced point restores byte-identically (ltxkit: R2 and S3; litestream v0.5.16: S3) with integrity_check ok", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-workerd-"));
    const prefix = `workerd-capture-${Date.now().toString(36)}`;
    const points: Point[] = [];
    const collect = (r: Record<string, unknown>) => {
      for (const p of r.points as { txid: string; image: string; replicas: string[] }[]) {
        expect(p.replicas, `both replicas hold TXID ${p.txid}`).toEqual([p.txid, p.txid]);
        points.push({ txid: BigInt(p.txid), image: bytesOf(p.image) });
      }
    };
    let mf = await makeMf(dir);
    try {
      const first = await call(mf, "/w/session", JSON.stringify({ prefix, s3: true, steps: STEPS.slice(0, 5) }));
      expect(first.restoredTXID).toBeNull();
      collect(first);
      expect(points.map((p) => p.txid)).toEqual([1n, 2n, 3n, 4n, 5n]);
      // Cold restart: a new workerd; the worker has no local state and restores from the R2 replica.
      await mf.dispose();
      mf = await makeMf(dir);
      const second = await call(mf, "/w/session", JSON.stringify({ prefix, s3: true, steps: ["SELECT count(*) FROM t", ...STEPS.slice(5)] }));
      expect(second.restoredTXID).toBe("5");
      expect(second.counts).toEqual([151]);
      collect(second);
      expect(points.map((p) => p.txid)).toEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n]);
      // The restored database is the one synced last before the restart.
      await checkR2(mf, prefix, points);
      checkS3(dir, prefix, points);
    } finally {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`a Durable Object keeps pages and queue in its storage: killed after a commit before its upload, it ships that commit after the restart; every point restores from R2${withS3 ? " and from S3 (ltxkit and litestream v0.5.16)" : ""}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-workerd-do-"));
    const prefix = `workerd-do-${Date.now().toString(36)}`;
    const q = `?prefix=${prefix}&name=${prefix}${withS3 ? "&s3=1" : ""}`;
    const points: Point[] = [];
    let mf = await makeMf(dir);
    try {
      expect(await call(mf, `/do/open${q}`)).toMatchObject({ restoredTXID: null, localTXID: "0" });
      for (const sql of STEPS.slice(0, 3)) {
        await call(mf, `/do/exec${q}`, sql);
        const s = await call(mf, `/do/sync${q}`);
        points.push({ txid: BigInt(s.txid as string), image: bytesOf(s.image) });
      }
      // Committed (the response says so) but not uploaded: the next sync would ship it.
      const c = await call(mf, `/do/exec${q}`, STEPS[3]!);
      // One committed transaction waits in the object's storage; the newest L0 file (TXID 3) stays kept.
      expect([c.localTXID, (c.queue as { commits: number }).commits]).toEqual(["3", 1]);
      const committed = bytesOf(c.image);
      await mf.dispose(); // killed between commit and upload
      mf = await makeMf(dir);
      // The replica has only what was synced.
      const sink = new BytesSink();
      const latest = await restore(r2Replica((await mf.getR2Bucket("BUCKET")) as unknown as R2BucketLike, prefix), { sink });
      expect(latest.txid).toBe(3n);
      // The object reopens its own storage (no restore from the replica) and ships the queued commit.
      expect(await call(mf, `/do/open${q}`)).toMatchObject({ restoredTXID: null, localTXID: "3" });
      const s4 = await call(mf, `/do/sync${q}`);
      expect(s4.txid).toBe("4");
      expect(same(bytesOf(s4.image), committed)).toBe(true);
      points.push({ txid: 4n, image: committed });
      await call(mf, `/do/exec${q}`, STEPS[4]!);
      const s5 = await call(mf, `/do/sync${q}`);
      points.push({ txid: BigInt(s5.txid as string), image: bytesOf(s5.image) });
      expect(points.map((p) => p.txid)).toEqual([1n, 2n, 3n, 4n, 5n]);
      await call(mf, `/do/close${q}`);
      await checkR2(mf, prefix, points);
      if (withS3) checkS3(dir, prefix, points);
    } finally {
      await mf.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
