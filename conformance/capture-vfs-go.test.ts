/**
 * What the sqlite-wasm capture VFS ships, Go Litestream v0.5.16 (and `ltxkit restore`) restores: a file replica (and an
 * S3 one on Ceph RGW when configured) written by openCapturedDatabase through its L0 files,
 * compacted levels and snapshots (L0 files with stored pages, literal-only LZ4 blocks) restores with `litestream restore` to exactly the database image
 * sqlite-wasm exports at each synced TXID asked for, also after a cold start from that replica.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { openReplicaFromEnv } from "../lib/adapters/replica-node.ts";
import { main } from "../lib/cli/run.ts";
import { captureIO } from "../test/cli/capture-io.ts";
import { openCapturedDatabase } from "../lib/capture/vfs-database.ts";
import { MemoryVfsStorage } from "../lib/capture/vfs-storage.ts";
import { ManualClock } from "../lib/replica/clock.ts";
import { listLevel } from "../lib/replica/list.ts";
import { formatTXID } from "../lib/ltx/txid.ts";
import { haveS3, requireS3, s3env } from "../test/store/s3-env.ts";
import { exportImage, sqlite, toHex } from "../test/capture/vfs-helpers.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";

const skip = skipWithoutGo("litestream-v0.5.16");
const withS3 = haveS3 || requireS3;

describe.skipIf(skip)("capture VFS output restores with litestream restore v0.5.16", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltxkit-capture-vfs-go-"));
  const targets = [{ name: "file", url: `file://${join(dir, "replica")}` }];
  if (withS3) targets.push({ name: "s3", url: `s3://${s3env.bucket}/capture-vfs-go-${Date.now().toString(36)}?endpoint=${s3env.endpoint}&region=us-east-1&forcePathStyle=true` });

  for (const t of targets) {
    it(`${t.name} replica: every sampled TXID on L0, L1, L2 and snapshot boundaries, before and after a cold start`, async () => {
      if (t.name === "s3" && requireS3 && !haveS3) throw new Error("LTXKIT_REQUIRE_S3=1 but no S3 server configured");
      const sqlite3 = await sqlite();
      const remote = openReplicaFromEnv(t.url);
      // Start one second after a 5-minute boundary so the run crosses L1 and L2 windows.
      const clock = new ManualClock(Math.floor(Date.now() / 300_000) * 300_000 - 600_000 + 1000);
      const images = new Map<bigint, Uint8Array>();
      const run = async (steps: number, offset: number) => {
        const h = await openCapturedDatabase(sqlite3, { replica: remote, storage: new MemoryVfsStorage(), start: false, replicator: { clock } });
        if (offset === 0) h.db.exec("CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, b BLOB)");
        for (let i = offset; i < offset + steps; i++) {
          h.db.exec(`INSERT INTO t(n, b) VALUES (${i}, randomblob(${200 + ((i * 733) % 5000)}))`);
          if (i % 7 === 0) h.db.exec(`UPDATE t SET b = randomblob(300) WHERE id % 5 = ${i % 5}`);
          if (i % 17 === 16) h.db.exec(`DELETE FROM t WHERE id % 3 = 0; VACUUM`);
          await h.tick();
          images.set(h.status().position.txid, exportImage(sqlite3, h));
          clock.skip(5000);
        }
        const txid = await h.sync();
        await h.close();
        return txid;
      };
      const first = await run(70, 0);
      // A new process with an empty storage restores from the replica and continues.
      const last = await run(20, 70);
      expect(last).toBe(first + 20n);
      const levels = await Promise.all([0, 1, 2, 9].map((l) => listLevel(remote, l)));
      expect(levels.map((l) => l.length > 0)).toEqual([true, true, true, true]);
      // The L0 files hold stored pages (literal-only LZ4 blocks, the capture's default), so the
      // restores below read those through Go's LZ4 decoder.
      for (const f of levels[0]!) {
        const b = (await remote.store.get(f.key))!;
        expect(new DataView(b.buffer, b.byteOffset).getUint32(106), f.key).toBe(4114);
        expect(b[110], f.key).toBe(0xf0);
      }
      const points = [...new Set([...levels[1]!, ...levels[2]!, ...levels[3]!].map((f) => f.maxTXID))].filter((x) => images.has(x));
      expect(points.length).toBeGreaterThan(3);
      points.push(first, first + 1n, last - 1n);
      for (const txid of [undefined, ...points]) {
        const out = join(dir, `${t.name}-${txid ?? "latest"}.db`);
        execFileSync(goTool("litestream-v0.5.16")!, ["restore", "-o", out, ...(txid ? ["-txid", formatTXID(txid)] : []), t.url], { stdio: "pipe", env: goEnv() });
        expect(toHex(new Uint8Array(readFileSync(out))), `TXID ${txid ?? "latest"}`).toBe(toHex(images.get(txid ?? last)!));
        // `ltxkit restore` (the CLI's entry point) restores the same bytes.
        const ours = join(dir, `${t.name}-${txid ?? "latest"}-ltxkit.db`);
        const io = captureIO();
        const code = await main(["restore", "-o", ours, ...(txid ? ["-txid", formatTXID(txid)] : []), t.url], io);
        expect(code, io.stderr).toBe(0);
        expect(toHex(new Uint8Array(readFileSync(ours))), `ltxkit restore, TXID ${txid ?? "latest"}`).toBe(toHex(images.get(txid ?? last)!));
      }
    });
  }
});
