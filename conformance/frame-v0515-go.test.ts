/**
 * Frame-encoded replicas for old readers: a staged replica (frame-encoded L0 files, then L1–L3 and
 * snapshots written by `ltxkit compact --page-encoding frame`) restores with Go `litestream restore`
 * v0.5.15, which rejects any non-zero page flag and so reads only frame pages, at TXIDs whose plans read
 * every level it wrote (and once more with snapshots and L3 removed, so L1 and L2 are read) and at
 * the latest point, byte-identical to ltxkit's restore and to the source image. File replica and S3
 * (Ceph RGW).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, it, expect, afterAll } from "vitest";
import { main } from "../lib/cli/run.ts";
import { openReplicaFromEnv } from "../lib/adapters/replica-node.ts";
import { formatTXID } from "../lib/ltx/txid.ts";
import { listLevel } from "../lib/replica/list.ts";
import { captureIO } from "../test/cli/capture-io.ts";
import { haveS3, requireS3, s3env } from "../test/store/s3-env.ts";
import { writeStagedReplica, type CompactStep } from "../test/replica/fixtures.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";

const run = promisify(execFile);
const skip = skipWithoutGo("litestream-v0.5.15");
const withS3 = haveS3 || requireS3;

/** One level compacted by the CLI, forced, frame pages, no retention. */
const cliCompact = (url: string): CompactStep => async (_replica, level) => {
  const io = captureIO();
  const code = await main(["compact", "--force", "--no-retention", "--page-encoding", "frame", "--level", String(level), "--json", url], io);
  if (code !== 0) throw new Error(`ltxkit compact --level ${level}: ${io.stderr}`);
  if (JSON.parse(io.stdout).written.length !== 1) throw new Error(`ltxkit compact --level ${level} wrote ${io.stdout}`);
};

describe.skipIf(skip)("frame-encoded replicas restore with Go Litestream v0.5.15", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltxkit-frame-0515-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const replicas = [{ name: "file", url: `file://${join(dir, "replica")}` }];
  if (withS3) replicas.push({ name: "s3", url: `s3://${s3env.bucket}/frame-0515-${Date.now().toString(36)}?endpoint=${s3env.endpoint}&region=us-east-1&forcePathStyle=true` });

  for (const r of replicas) {
    it(`${r.name} replica: points read through L0, L1, L2, L3 and snapshots, Go v0.5.15 = ltxkit = source`, async () => {
      if (r.name === "s3" && !haveS3) throw new Error("LTXKIT_REQUIRE_S3=1 but no S3 server configured");
      const steps = await writeStagedReplica(openReplicaFromEnv(r.url), { start: Date.now() - 3 * 3600_000, interval: 60_000, pageEncoding: "frame", compact: cliCompact(r.url) });
      const replica = openReplicaFromEnv(r.url);
      const go = goTool("litestream-v0.5.15")!;
      /** Restores each target with Go v0.5.15 and ltxkit; returns the levels Go's plans read. */
      const check = async (pass: string, targets: (bigint | undefined)[]): Promise<number[]> => {
        const used = new Set<number>();
        for (const txid of targets) {
          const t = txid === undefined ? [] : ["-txid", formatTXID(txid)];
          const label = `${pass}, ${txid === undefined ? "latest" : `TXID ${txid}`}`;
          const plan = JSON.parse((await run(go, ["restore", "-dry-run", "-json", "-o", join(dir, "plan.db"), ...t, r.url], { env: goEnv() })).stdout);
          for (const f of plan.files as { level: number }[]) used.add(f.level);
          const goOut = join(dir, `${r.name}-${pass}-go-${txid ?? "latest"}.db`), myOut = join(dir, `${r.name}-${pass}-ltxkit-${txid ?? "latest"}.db`);
          await run(go, ["restore", "-o", goOut, ...t, r.url], { env: goEnv() }).catch((e: { stderr?: string }) => {
            throw new Error(`litestream v0.5.15 restore ${label}: ${e.stderr}`);
          });
          const io = captureIO();
          expect(await main(["restore", "-o", myOut, ...t, r.url], io), io.stderr).toBe(0);
          const a = new Uint8Array(readFileSync(goOut));
          expect(a, `${label}: Go v0.5.15 = source`).toEqual(steps[Number(txid ?? 40n) - 1]!.db);
          expect(new Uint8Array(readFileSync(myOut)), `${label}: ltxkit = Go v0.5.15`).toEqual(a);
        }
        return [...used].sort();
      };
      // Whole replica: the plans read snapshots, L3 and L0.
      expect(await check("all", [8n, 12n, 15n, 22n, 30n, 33n, 40n, undefined])).toEqual([0, 3, 9]);
      // Without snapshots and L3, the same points go through L1 and L2 (e.g. 22 = L2 1-15 + L1
      // 16-22, 30 = L2 1-15 + L2 16-30).
      const l9 = [...(await listLevel(replica, 9)), ...(await listLevel(replica, 3))];
      await replica.store.delete(l9.map((f) => f.key));
      expect(await check("no-l3-l9", [8n, 15n, 22n, 27n, 30n, 36n, 40n, undefined])).toEqual([0, 1, 2]);
    }, 300_000);
  }
});
