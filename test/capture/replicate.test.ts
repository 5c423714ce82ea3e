import { copyFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FsStore } from "../../lib/adapters/fs-store.ts";
import { replicate } from "../../lib/adapters/replicate.ts";
import { fileLayout } from "../../lib/replica/layout.ts";
import { listAll } from "../../lib/replica/list.ts";
import type { Replica } from "../../lib/replica/url.ts";
import { contentHash, mixedWorkload, restoreAndCheck } from "./app.ts";
import { driver, openApp } from "./driver.ts";
import { s3env, skipS3 } from "../store/s3-env.ts";
import { openReplica } from "../../lib/replica/url.ts";

describe(`replicate() to a file replica (${driver.name})`, () => {
  it("after every sync() the replica restores to the application's content (inserts, updates, deletes, overflow blobs, VACUUM, an application checkpoint)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-replicate-"));
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t0 (x)");
    const url = join(dir, "replica");
    const h = await replicate(path, url, {
      monitorInterval: 50,
      syncInterval: 50,
      minCheckpointPageCount: 80,
      compaction: { levels: [300, 900], snapshotInterval: 1500, l0Retention: 3_600_000 }, // L0 kept: every TXID stays restorable
    });
    const errors: unknown[] = [];
    h.addEventListener("error", (e) => errors.push(e.detail.error));
    const replica: Replica = { url, kind: "file", store: new FsStore(url), layout: fileLayout, timestampFromMetadata: false };
    const points: [string, bigint, string][] = [];
    for (const step of mixedWorkload(app)) {
      step.run();
      const txid = await h.sync();
      const r = await restoreAndCheck(replica);
      expect(r.integrity, step.name).toBe("ok");
      expect(r.hash, step.name).toBe(contentHash(app));
      points.push([step.name, txid, r.hash]);
    }
    expect(h.status()).toMatchObject({ localTXID: points[points.length - 1]![1], replicas: [{ remoteTXID: points[points.length - 1]![1], failures: 0 }] });
    await h.close();
    // every point in time restores, whatever the compaction made of the files
    for (const [name, txid, hash] of points) expect((await restoreAndCheck(replica, txid)).hash, name).toBe(hash);
    const levels = new Set((await listAll(replica)).map((f) => f.level));
    expect(levels.has(0)).toBe(true); // (levels 1, 2 and 9 appear as their windows pass)
    expect(errors).toEqual([]);
    app.close();
  });

  it("a database restored on a fresh host continues the replica's numbering (Litestream issue #781)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-replicate-"));
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    const url = join(dir, "replica");
    const replica: Replica = { url, kind: "file", store: new FsStore(url), layout: fileLayout, timestampFromMetadata: false };
    let h = await replicate(path, url, { monitorInterval: 50, syncInterval: 50 });
    let last = 0n;
    for (let i = 0; i < 3; i++) {
      app.query("INSERT INTO t (v) VALUES (?)", [`first host ${i}`]);
      last = await h.sync();
    }
    await h.close();
    app.close();
    // a fresh host: the restored file, no local L0 directory
    const restored = await restoreAndCheck(replica);
    const host2 = join(mkdtempSync(join(tmpdir(), "ltxkit-host2-")), "app.db");
    copyFileSync(restored.path, host2);
    const app2 = openApp(host2, { autocheckpoint: 0 });
    app2.query("INSERT INTO t (v) VALUES (?)", ["second host"]);
    h = await replicate(host2, url, { monitorInterval: 50, syncInterval: 50 });
    const txid = await h.sync();
    expect(txid).toBe(last + 1n);
    const r = await restoreAndCheck(replica);
    expect([r.integrity, r.hash]).toEqual(["ok", contentHash(app2)]);
    expect((await restoreAndCheck(replica, last)).hash).toBe(restored.hash);
    await h.close();
    app2.close();
  });

  it("rejects a missing database with NOT_FOUND and opens nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-replicate-"));
    await expect(replicate(join(dir, "none.db"), join(dir, "r"))).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe.skipIf(skipS3)(`replicate() to an S3 replica (Ceph RGW, ${driver.name})`, () => {
  it("after every sync() the S3 replica restores to the application's content", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-replicate-s3-"));
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t0 (x)");
    const prefix = `capture-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const url = `s3://${s3env.bucket}/${prefix}?endpoint=${encodeURIComponent(s3env.endpoint)}&forcePathStyle=true&region=${s3env.region}`;
    const env = { AWS_ACCESS_KEY_ID: s3env.accessKeyId, AWS_SECRET_ACCESS_KEY: s3env.secretAccessKey };
    const h = await replicate(path, url, { env, monitorInterval: 50, syncInterval: 50, minCheckpointPageCount: 80 });
    const replica = openReplica(url, { env });
    try {
      for (const step of mixedWorkload(app).slice(0, 7)) {
        step.run();
        await h.sync();
        const r = await restoreAndCheck(replica);
        expect(r.integrity, step.name).toBe("ok");
        expect(r.hash, step.name).toBe(contentHash(app));
      }
    } finally {
      await h.close();
      app.close();
      const keys: string[] = [];
      for await (const b of replica.store.list(`${prefix}/`)) keys.push(b.key);
      await replica.store.delete(keys);
    }
  });
});
