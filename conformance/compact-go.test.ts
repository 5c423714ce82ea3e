/**
 * Replicas compacted by ltxkit restore byte-for-byte with Go `litestream restore` v0.5.16, at the
 * latest point and at compacted-file boundaries, in both page encodings.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it, expect } from "vitest";
import { main } from "../lib/cli/run.ts";
import { openReplicaFromEnv } from "../lib/adapters/replica-node.ts";
import { listAll } from "../lib/replica/list.ts";
import { formatTXID } from "../lib/ltx/txid.ts";
import { captureIO } from "../test/cli/capture-io.ts";
import { writeL0Chain } from "../test/replica/fixtures.ts";
import { goTool, skipWithoutGo } from "./go-tools.ts";
import { goEnv } from "./litestream/replicate.ts";

describe.skipIf(skipWithoutGo("litestream-v0.5.16"))("ltxkit compaction is restorable by Go Litestream", () => {
  for (const enc of ["block", "frame"]) {
    it(`${enc} pages`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "ltxkit-compact-go-"));
      const url = join(dir, "replica");
      const r = openReplicaFromEnv(url);
      const steps = await writeL0Chain(r, 30, { start: Date.now() - 3600_000 });
      const io = captureIO();
      expect(await main(["compact", "--force", "--no-retention", "--page-encoding", enc, "--json", url], io), io.stderr).toBe(0);
      const rep = JSON.parse(io.stdout);
      expect(rep.written.map((f: { level: number }) => f.level)).toEqual([1, 2, 3, 9]);
      const files = await listAll(r);
      expect(new Set(files.map((f) => f.level))).toEqual(new Set([0, 1, 2, 3, 9]));
      for (const txid of [undefined, 30n, 17n]) {
        const out = join(dir, `go-${txid ?? "latest"}.db`);
        execFileSync(goTool("litestream-v0.5.16")!, ["restore", "-o", out, ...(txid ? ["-txid", formatTXID(txid)] : []), `file://${url}`], { stdio: "pipe", env: goEnv() });
        expect(new Uint8Array(readFileSync(out))).toEqual(steps[Number(txid ?? 30n) - 1]!.db);
      }
      const plan = JSON.parse(execFileSync(goTool("litestream-v0.5.16")!, ["restore", "-dry-run", "-json", "-o", join(dir, "x.db"), `file://${url}`], { encoding: "utf8", env: goEnv() }));
      expect(plan.files.map((f: { level: number }) => f.level)).toEqual([9]);
    });
  }
});
