/**
 * The edge flow in headless Chromium: in a module Worker, sqlite-wasm writes through the capture VFS
 * on OpfsVfsStorage and replicates to an OpfsStore replica and to Ceph RGW over fetch (CORS). The
 * page is reloaded in the middle with a committed transaction not yet synced; the new worker
 * continues from the stored position and ships it. Then, in Node, the RGW replica restores with
 * `ltxkit restore` and with Go `litestream restore` v0.5.16 byte-identically to the image the browser
 * exported at every synced TXID, with integrity_check ok; the OPFS replica restores (in the browser)
 * to the last image.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { openReplicaFromEnv } from "../lib/adapters/replica-node.ts";
import { restore } from "../lib/replica/restore.ts";
import { listLevel } from "../lib/replica/list.ts";
import { BytesSink } from "../lib/replica/sinks.ts";
import { s3env, skipS3 } from "../test/store/s3-env.ts";
import { openBrowser, rpc, skipBrowser, unb64, type BrowserSession } from "./browser/harness.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";
import { putBucketCors } from "./s3/cors.ts";

const ROOT = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const skip = skipBrowser || skipS3 || skipWithoutGo("litestream-v0.5.16");
const WORKER = "/t/capture-worker.js";
/** better-sqlite3 (an independent SQLite, untyped), for integrity_check. */
type Conn = { pragma(sql: string, o: { simple: true }): unknown; close(): void };
const Database = createRequire(import.meta.url)("better-sqlite3") as new (path: string, o: { readonly: boolean }) => Conn;
/** SHA-256 of an image: compared instead of the bytes (deep equality of large arrays is slow). */
const digest = (b: Uint8Array) => `${b.length} bytes, sha256 ${createHash("sha256").update(b).digest("hex")}`;
const series = (n: number) => `WITH RECURSIVE c(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM c WHERE value < ${n})`;

describe.skipIf(skip)("browser capture flow: sqlite-wasm + capture VFS on OPFS, replicas on OPFS and RGW, a reload in the middle", () => {
  let s: BrowserSession | undefined;
  const dir = mkdtempSync(join(tmpdir(), "ltxkit-browser-capture-"));
  afterAll(async () => {
    await s?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("restores with ltxkit and litestream v0.5.16 to the browser's image at every synced TXID, across the reload", async () => {
    await putBucketCors(s3env);
    s = await openBrowser();
    const prefix = `browser-capture-${Date.now().toString(36)}`;
    const s3url = `s3://${s3env.bucket}/${prefix}?endpoint=${encodeURIComponent(s3env.endpoint)}&region=${s3env.region}&forcePathStyle=true`;
    const config = { storagePath: "capture/db", opfsPath: "capture/replica", s3url, env: { AWS_ACCESS_KEY_ID: s3env.accessKeyId, AWS_SECRET_ACCESS_KEY: s3env.secretAccessKey }, syncInterval: 60_000 };
    const exec = (sql: string) => rpc(s!, "worker.exec", sql);
    const points: { txid: string; image: Uint8Array; phase: string }[] = [];
    const sync = async (phase: string) => {
      const r = (await rpc(s!, "worker.sync")) as { txid: string; image: string };
      points.push({ txid: r.txid, image: unb64(r.image), phase });
    };

    await rpc(s, "startWorker", WORKER);
    expect(await rpc(s, "worker.start", config)).toMatchObject({ resumed: false, restoredTXID: null });
    await exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT, b BLOB)");
    await sync("before reload");
    for (let i = 0; i < 4; i++) {
      await exec(`${series(20 + i * 15)} INSERT INTO t(v, b) SELECT 'row-${i}-' || value, randomblob(700) FROM c`);
      if (i === 2) await exec("UPDATE t SET v = v || '-updated' WHERE id % 3 = 0");
      await sync("before reload");
    }
    // Committed, never synced: the reload kills the worker with it queued in OPFS.
    const beforeReload = (await exec("INSERT INTO t(v, b) VALUES ('unsynced', randomblob(5000))")) as string;
    const queued = (await rpc(s, "worker.status")) as { position: string; queue: { commits: number } };
    expect(queued.queue.commits, "one commit queued, not yet in an L0 file, when the page reloads").toBe(1);
    await s.reload();
    await rpc(s, "startWorker", WORKER);
    const resumed = (await rpc(s, "worker.start", config)) as { resumed: boolean; restoredTXID: string | null; position: string };
    expect(resumed).toMatchObject({ resumed: true, restoredTXID: null });
    expect(resumed.position, "continues from its stored position").toBe(beforeReload);
    expect(await rpc(s, "worker.value", "SELECT count(*) FROM t WHERE v = 'unsynced'")).toBe(1);
    await sync("after reload");
    for (let i = 0; i < 3; i++) {
      await exec(i === 1 ? "DELETE FROM t WHERE id % 2 = 0" : `${series(30)} INSERT INTO t(v, b) SELECT 'late-${i}-' || value, randomblob(1500) FROM c`);
      await sync("after reload");
    }
    const fromOpfs = (await rpc(s, "worker.finish")) as { txid: string; image: string };
    const last = points[points.length - 1]!;
    expect(fromOpfs.txid).toBe(last.txid);
    expect(digest(unb64(fromOpfs.image)), "the OPFS replica restores to the last image").toBe(digest(last.image));

    // One L0 file per sync, except that the ladder's first snapshot (due at once on a new replica,
    // run in the background) merges the commits queued at that moment into a TXID of its own.
    const txids = points.map((p) => BigInt("0x" + p.txid));
    expect(txids.every((t, i) => i === 0 || t > txids[i - 1]!), txids.join(",")).toBe(true);
    expect(txids[txids.length - 1]! - txids[0]!, txids.join(",")).toBeLessThanOrEqual(9n);
    const firstAfter = points.findIndex((p) => p.phase === "after reload");
    expect(txids[firstAfter], "the commit queued at the reload ships as the next TXID").toBe(txids[firstAfter - 1]! + 1n);

    const env = { ...goEnv(), AWS_ACCESS_KEY_ID: s3env.accessKeyId, AWS_SECRET_ACCESS_KEY: s3env.secretAccessKey };
    const replica = openReplicaFromEnv(s3url);
    const l0 = (await listLevel(replica, 0)).map((f) => [f.minTXID, f.maxTXID]);
    expect(l0, "the S3 replica's L0 files: one per TXID from 1 to the last, no gap").toEqual(Array.from({ length: Number(txids[txids.length - 1]!) }, (_, i) => [BigInt(i + 1), BigInt(i + 1)]));
    for (const p of points) {
      // ltxkit: the library's restore at each point, the CLI (with its integrity check) at the last.
      const sink = new BytesSink();
      await restore(replica, { sink, txid: BigInt("0x" + p.txid) });
      expect(digest(sink.bytes()), `ltxkit restore at ${p.txid} (${p.phase})`).toBe(digest(p.image));
      if (p === last) {
        const ours = join(dir, `ltxkit-${p.txid}.db`);
        execFileSync(process.execPath, [join(ROOT, "dist", "cli", "main.js"), "restore", "-o", ours, "-txid", p.txid, "-integrity-check", "full", s3url], { env, stdio: "pipe" });
        expect(digest(readFileSync(ours)), `ltxkit restore (CLI) at ${p.txid}`).toBe(digest(p.image));
      }
      const go = join(dir, `go-${p.txid}.db`);
      execFileSync(goTool("litestream-v0.5.16")!, ["restore", "-o", go, "-txid", p.txid, s3url], { env, stdio: "pipe" });
      expect(digest(readFileSync(go)), `litestream restore at ${p.txid} (${p.phase})`).toBe(digest(p.image));
      const db = new Database(go, { readonly: true });
      expect(db.pragma("integrity_check", { simple: true }), `integrity_check at ${p.txid}`).toBe("ok");
      db.close();
    }
    expect(points.length).toBe(9);
  }, 300_000);
});
