/**
 * The decisive proof for restore: real Go Litestream v0.5.16 replicates databases under a write
 * workload (file replica, and S3 on Ceph RGW), then for the latest point and for several TXIDs and
 * timestamps ltxkit's plan equals `litestream restore -dry-run -json` and ltxkit's restored database
 * is byte-identical to `litestream restore`'s. Listings equal `litestream ltx -level all -json`.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect, beforeAll } from "vitest";
import { main } from "../lib/cli/run.ts";
import { captureIO } from "../test/cli/capture-io.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv, runLitestreamReplicate, type ReplicateResult } from "./litestream/replicate.ts";
import { haveS3, requireS3, s3env } from "../test/store/s3-env.ts";

const skip = skipWithoutGo("litestream-v0.5.16");
const withS3 = haveS3 || requireS3;

interface GoPlanFile { level: number; name: string; min_txid: string; max_txid: string; size: number; timestamp: string }

function goJSON(args: string[]): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    const out = execFileSync(goTool("litestream-v0.5.16")!, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], env: goEnv() });
    return { ok: true, value: JSON.parse(out) };
  } catch (e) {
    const err = e as { stderr?: string; stdout?: string };
    return { ok: false, error: `${err.stderr ?? ""}${err.stdout ?? ""}` };
  }
}

async function ours(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const io = captureIO();
  const code = await main(args, io);
  return { code, stdout: io.stdout, stderr: io.stderr };
}

describe.skipIf(skip)("restore matches Go Litestream v0.5.16", () => {
  const dir = mkdtempSync(join(tmpdir(), "ltxkit-go-restore-"));
  const prefix = `go-replica-${Date.now().toString(36)}`;
  // Both replicas are registered; the S3 one skips visibly without a server (and fails under LTXKIT_REQUIRE_S3).
  const replicas: { name: string; url: string; skip: boolean }[] = [
    { name: "file", url: `file://${join(dir, "replica")}`, skip: false },
    { name: "s3", url: `s3://${s3env.bucket}/${prefix}?endpoint=${s3env.endpoint}&region=us-east-1&forcePathStyle=true`, skip: !withS3 },
  ];
  let run: ReplicateResult;

  beforeAll(async () => {
    if (requireS3 && !haveS3) throw new Error("LTXKIT_REQUIRE_S3=1 but no S3 server configured");
    run = await runLitestreamReplicate({
      litestream: goTool("litestream-v0.5.16")!,
      workDir: dir,
      targets: replicas.filter((r) => !r.skip).map((r) => ({ db: join(dir, `${r.name}.db`), url: r.url })),
    });
  }, 180_000);

  for (const r of replicas) {
    describe.skipIf(r.skip)(`${r.name} replica`, () => {
      let files: GoPlanFile[] = [];
      it("lists identically to litestream ltx -level all -json", async () => {
        const go = goJSON(["ltx", "-level", "all", "-json", r.url]);
        expect(go.ok, go.ok ? "" : go.error).toBe(true);
        const mine = await ours(["ls", "--level", "all", "--json", r.url]);
        expect(mine.code).toBe(0);
        const g = (go as { value: { level: number; min_txid: string; max_txid: string; size: number; timestamp: string }[] }).value;
        const m = JSON.parse(mine.stdout);
        expect(m).toEqual(g);
        const levels = new Set(g.map((x) => x.level));
        expect([...levels].sort(), "the workload produced L0, L1, L2 and snapshots").toEqual(expect.arrayContaining([0, 1, 2, 9]));
        files = g.map((x) => ({ ...x, name: `${x.min_txid}-${x.max_txid}.ltx` }));
      });

      it("plans like litestream restore -dry-run -json at 9 points (latest, 5 TXIDs, 3 timestamps); both refuse a TXID past the end", async () => {
        const maxes = [...new Set(files.map((f) => f.max_txid))].sort();
        const picks = [...new Set([maxes[0]!, maxes[Math.floor(maxes.length / 4)]!, maxes[Math.floor(maxes.length / 2)]!, maxes[maxes.length - 2]!, "0000000000000002"])];
        expect(picks.length, `five distinct file boundaries among ${maxes.join(",")}`).toBe(5);
        // Times inside the replica's time bounds (the first L0 file predates the workload, the last
        // L0 file follows the last step), to the millisecond.
        const times = [run.workload[2]!.time_ms, run.workload[Math.floor(run.workload.length / 2)]!.time_ms, run.workload[run.workload.length - 1]!.time_ms].map((t) => new Date(t).toISOString());
        expect(new Set(times).size).toBe(3);
        const targets: string[][] = [[], ...picks.map((t) => ["-txid", t]), ...times.map((t) => ["-timestamp", t])];
        const out = join(dir, "plan.db");
        let compared = 0;
        for (const t of targets) {
          const go = goJSON(["restore", "-dry-run", "-json", "-o", out, ...t, r.url]);
          expect(go.ok, `Go failed for ${t.join(" ") || "latest"}: ${go.ok ? "" : go.error}`).toBe(true);
          const mine = await ours(["restore", "-dry-run", "-json", "-o", out, ...t, r.url]);
          expect(mine.code, mine.stderr).toBe(0);
          expect(JSON.parse(mine.stdout), `plan for ${t.join(" ") || "latest"}`).toEqual((go as { value: unknown }).value);
          compared++;
        }
        expect(compared).toBe(9);
        // A TXID no file reaches: Go and ltxkit both refuse with the same message.
        const absent = "00000000000fffff";
        expect(BigInt(`0x${maxes[maxes.length - 1]!}`) < BigInt(`0x${absent}`)).toBe(true);
        const go = goJSON(["restore", "-dry-run", "-json", "-o", out, "-txid", absent, r.url]);
        expect(go.ok).toBe(false);
        expect((go as { error: string }).error).toContain("no matching backup files available");
        const mine = await ours(["restore", "-dry-run", "-json", "-o", out, "-txid", absent, r.url]);
        expect(mine.code).toBe(1);
        expect(mine.stderr).toContain("no matching backup files available");
      });

      it("restores byte-for-byte what litestream restore restores at 4 points (latest, 2 TXIDs, a timestamp)", async () => {
        const maxes = [...new Set(files.map((f) => f.max_txid))].sort();
        const targets: string[][] = [[], ["-txid", maxes[Math.floor(maxes.length / 3)]!], ["-txid", maxes[maxes.length - 2]!], ["-timestamp", new Date(run.workload[Math.floor(run.workload.length / 2)]!.time_ms).toISOString().replace(/\.\d+Z$/, "Z")]];
        expect(new Set(targets.map((t) => t.join(" "))).size).toBe(4);
        let compared = 0;
        for (const [i, t] of targets.entries()) {
          const goOut = join(dir, `${r.name}-go-${i}.db`), myOut = join(dir, `${r.name}-ours-${i}.db`);
          execFileSync(goTool("litestream-v0.5.16")!, ["restore", "-o", goOut, ...t, r.url], { stdio: "pipe", env: goEnv() });
          const mine = await ours(["restore", "-o", myOut, "-integrity-check", "quick", "-parallelism", "4", ...t, r.url]);
          expect(mine.code, mine.stderr).toBe(0);
          const a = readFileSync(goOut), b = readFileSync(myOut);
          expect(b.length, `size for ${t.join(" ") || "latest"}`).toBe(a.length);
          expect(Buffer.compare(a, b), `bytes for ${t.join(" ") || "latest"}`).toBe(0);
          compared++;
        }
        expect(compared).toBe(4);
      });
    });
  }
});
