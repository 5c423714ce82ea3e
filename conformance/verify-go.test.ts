/**
 * verifyReplica on real replicas with the sqlite-wasm integrity check: the committed replica Go
 * `litestream replicate` v0.5.16 wrote; replicas it writes live (file and S3 on Ceph RGW) under a
 * write workload with short compaction intervals; and a replica ltxkit's replicate() writes from a
 * real SQLite database with its compaction ladder running. All verify with no finding, every
 * compacted file equal to the merge of its inputs (Go's compactions and snapshots included) and the
 * latest restore's integrity_check ok. A replica whose pages are not SQLite yields INTEGRITY_FAILED
 * and nothing else.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openReplicaFromEnv } from "../lib/adapters/replica-node.ts";
import { replicate } from "../lib/adapters/replicate.ts";
import { loadSqliteWasm } from "../lib/adapters/sqlite-wasm.ts";
import { compactReplica } from "../lib/replica/compact.ts";
import { memoryReplica } from "../lib/replica/replica.ts";
import { verifyReplica, type VerifyReport } from "../lib/replica/verify.ts";
import { mixedWorkload } from "../test/capture/app.ts";
import { driver, openApp } from "../test/capture/driver.ts";
import { writeStagedReplica } from "../test/replica/fixtures.ts";
import { haveS3, s3env, skipS3 } from "../test/store/s3-env.ts";
import { mustGoTool, skipWithoutGo } from "./go-tools.ts";
import { loadReplicaFixture } from "./litestream/fixture.ts";
import { runLitestreamReplicate } from "./litestream/replicate.ts";

const sqlite3 = await loadSqliteWasm();

function expectSound(rep: VerifyReport, label: string): void {
  expect(rep.findings, label).toEqual([]);
  expect(rep.ok, label).toBe(true);
  expect(rep.compactions.compared, label).toBe(rep.compactions.comparable);
  expect(rep.latestRestore.status, label).toBe("ok");
  expect(rep.latestRestore.integrity, label).toBe("full");
  expect(rep.latestRestore.txid, label).toBe(rep.maxTXID);
}

describe("verifyReplica on the committed Go-written replica (Litestream v0.5.16)", () => {
  it("no findings; all 14 compacted files (L1-L3 and Go's snapshots) equal the merge of their inputs; integrity_check ok", async () => {
    const rep = await verifyReplica(openReplicaFromEnv(`file://${loadReplicaFixture()}`), { full: true, sqlite3 });
    expectSound(rep, "fixture");
    expect(rep.compactions).toEqual({ comparable: 14, compared: 14, uncomparable: 0 });
    expect(rep.maxTXID).toBe(14n);
  });
});

describe.skipIf(skipWithoutGo("litestream-v0.5.16"))("verifyReplica on replicas Go litestream replicate v0.5.16 writes live", () => {
  it("a file replica and (with RGW) an S3 replica written at once verify with no findings", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-verify-go-"));
    const fileUrl = `file://${join(dir, "replica")}`;
    const targets = [{ db: join(dir, "a.db"), url: fileUrl }];
    const prefix = `verify-go-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const s3Url = `s3://${s3env.bucket}/${prefix}?endpoint=${encodeURIComponent(s3env.endpoint)}&forcePathStyle=true`;
    if (!skipS3) {
      expect(haveS3, "LTXKIT_S3_ENDPOINT/LTXKIT_S3_BUCKET/AWS_* must be set").toBe(true);
      targets.push({ db: join(dir, "b.db"), url: s3Url });
    }
    await runLitestreamReplicate({ litestream: mustGoTool("litestream-v0.5.16"), targets, workDir: dir, steps: 16, settle: 8 });
    for (const t of targets) {
      const replica = openReplicaFromEnv(t.url);
      const rep = await verifyReplica(replica, { full: true, sqlite3 });
      expectSound(rep, t.url);
      // The ladder ran: compacted levels and snapshots exist and were compared.
      expect(rep.levels.map((l) => l.level), t.url).toEqual(expect.arrayContaining([0, 1, 9]));
      expect(rep.compactions.compared, t.url).toBeGreaterThan(0);
      if (t.url === s3Url) {
        const keys: string[] = [];
        for await (const o of replica.store.list(`${prefix}/`)) keys.push(o.key);
        await replica.store.delete(keys);
      }
    }
  });
});

describe(`verifyReplica on a replica replicate() writes (${driver.name})`, () => {
  it("an application's workload with the compaction ladder running, then a forced pass: no findings, integrity_check ok", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ltxkit-verify-ours-"));
    const path = join(dir, "app.db");
    const app = openApp(path, { pageSize: 4096, autocheckpoint: 0 });
    app.exec("CREATE TABLE t0 (x)");
    const url = `file://${join(dir, "replica")}`;
    const h = await replicate(path, url, { monitorInterval: 50, syncInterval: 50, minCheckpointPageCount: 80, compaction: { levels: [200, 600], snapshotInterval: 1000, l0Retention: 3_600_000 } });
    try {
      for (const step of mixedWorkload(app)) {
        step.run();
        await h.sync();
      }
    } finally {
      await h.close();
      app.close();
    }
    const replica = openReplicaFromEnv(url);
    await compactReplica(replica, { force: true, retention: false, config: { levels: [200, 600], snapshotInterval: 1000 } });
    const rep = await verifyReplica(replica, { full: true, sqlite3 });
    expectSound(rep, url);
    expect(rep.levels.map((l) => l.level)).toEqual([0, 1, 2, 9]);
    expect(rep.compactions.compared).toBeGreaterThan(1);
  });
});

describe("verifyReplica: the integrity check of the latest restore", () => {
  it("a replica consistent in itself whose pages are not a SQLite database: INTEGRITY_FAILED and nothing else", async () => {
    const r = memoryReplica();
    await writeStagedReplica(r, { start: 1_760_000_000_000, interval: 60_000 });
    const rep = await verifyReplica(r, { full: true, sqlite3, now: new Date(1_760_000_000_000 + 3600_000) });
    expect(rep.findings.map((f) => [f.kind, f.severity, f.key])).toEqual([["INTEGRITY_FAILED", "error", ""]]);
    expect(rep.latestRestore).toMatchObject({ status: "failed", integrity: "full", txid: 40n });
    // Without sqlite-wasm the same replica is sound: the restore itself succeeds.
    expect((await verifyReplica(r, { full: true, now: new Date(1_760_000_000_000 + 3600_000) })).ok).toBe(true);
  });
});
