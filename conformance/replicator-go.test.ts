/**
 * What the Replicator ships, Go Litestream v0.5.16 restores: L0 uploads, compacted levels and
 * snapshots written by ltxkit's write path (file replica, and S3 on Ceph RGW) restore with
 * `litestream restore` to exactly the database image of every synced TXID asked for.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { openReplicaFromEnv } from "../lib/adapters/replica-node.ts";
import { ManualClock } from "../lib/replica/clock.ts";
import { listLevel } from "../lib/replica/list.ts";
import { Replicator } from "../lib/replica/replicator.ts";
import { formatTXID } from "../lib/ltx/txid.ts";
import { FakeSource } from "../test/replica/fake-source.ts";
import { haveS3, requireS3, s3env } from "../test/store/s3-env.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";

const skip = skipWithoutGo("litestream-v0.5.16");
const withS3 = haveS3 || requireS3;

describe.skipIf(skip)("Replicator output restores with litestream restore v0.5.16", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltxkit-replicator-go-"));
  const targets = [{ name: "file", url: `file://${join(dir, "replica")}` }];
  if (withS3) targets.push({ name: "s3", url: `s3://${s3env.bucket}/replicator-go-${Date.now().toString(36)}?endpoint=${s3env.endpoint}&region=us-east-1&forcePathStyle=true` });

  for (const t of targets) {
    it(`${t.name} replica: latest and TXIDs on L0, L1, L2 and snapshot boundaries`, async () => {
      if (t.name === "s3" && requireS3 && !haveS3) throw new Error("LTXKIT_REQUIRE_S3=1 but no S3 server configured");
      const remote = openReplicaFromEnv(t.url);
      // Start one second after a 5-minute boundary so the run crosses L1 and L2 windows.
      const start = Math.floor(Date.now() / 300_000) * 300_000 - 600_000 + 1000;
      const clock = new ManualClock(start);
      const src = new FakeSource(openReplicaFromEnv(join(dir, `${t.name}-local`)), clock);
      const rep = new Replicator(src, [remote], { clock });
      for (let i = 0; i < 90; i++) {
        src.commit(i % 15 === 0 ? 1 : 0);
        await rep.tick();
        clock.skip(5000);
      }
      await rep.close();
      const levels = await Promise.all([0, 1, 2, 9].map((l) => listLevel(remote, l)));
      expect(levels.map((l) => l.length > 0)).toEqual([true, true, true, true]);
      const points = [...new Set([...levels[1]!, ...levels[2]!, ...levels[3]!].map((f) => f.maxTXID))].filter((x) => x < 90n);
      points.push(89n); // an L0 file past the last compaction
      for (const txid of [undefined, ...points]) {
        const out = join(dir, `${t.name}-${txid ?? "latest"}.db`);
        execFileSync(goTool("litestream-v0.5.16")!, ["restore", "-o", out, ...(txid ? ["-txid", formatTXID(txid)] : []), t.url], { stdio: "pipe", env: goEnv() });
        expect(new Uint8Array(readFileSync(out)), `TXID ${txid ?? "latest"}`).toEqual(src.images.get(txid ?? 90n));
      }
    });
  }
});
