/**
 * Regenerates conformance/fixtures/litestream-file-replica from a real `litestream replicate`
 * v0.5.16 run, with oracle.json of the Go CLI's outputs.   npx deno run -A conformance/litestream/make-fixture.ts
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mustGoTool } from "../go-tools.ts";
import { goEnv, runLitestreamReplicate } from "./replicate.ts";
import { FIXTURE, loadReplicaFixture } from "./fixture.ts";

const ls = mustGoTool("litestream-v0.5.16");
const work = mkdtempSync(join(tmpdir(), "ltxkit-mkfix-"));
const run = await runLitestreamReplicate({ litestream: ls, workDir: work, targets: [{ db: join(work, "app.db"), url: `file://${join(work, "replica")}` }], steps: 10, pause: 0.4, settle: 7 });
rmSync(join(FIXTURE, "replica"), { recursive: true, force: true });
cpSync(join(work, "replica"), join(FIXTURE, "replica"), { recursive: true });
// The oracle runs on a loaded copy (mtimes from headers), exactly what the test will see.
const dir = loadReplicaFixture();
const url = `file://${dir}`;
const go = (args: string[]) => execFileSync(ls, args, { encoding: "utf8", env: goEnv() });
const listing = JSON.parse(go(["ltx", "-level", "all", "-json", url]));
const maxes = [...new Set(listing.map((f: { max_txid: string }) => f.max_txid))].sort() as string[];
const targets: string[][] = [[], ["-txid", maxes[1]!], ["-txid", maxes[Math.floor(maxes.length / 2)]!], ["-timestamp", new Date(run.workload[5]!.time_ms).toISOString().replace(/\.\d+Z$/, "Z")]];
const plans = [];
for (const t of targets) {
  const out = join(work, `r-${plans.length}.db`);
  const plan = JSON.parse(go(["restore", "-dry-run", "-json", "-o", "/restored.db", ...t, url]));
  go(["restore", "-o", out, ...t, url]);
  plans.push({ args: t, plan: { ...plan, source: undefined }, sha256: createHash("sha256").update(readFileSync(out)).digest("hex") });
}
writeFileSync(join(FIXTURE, "oracle.json"), JSON.stringify({ litestream: "v0.5.16", listing, plans }, null, 1) + "\n");
console.log(`fixture: ${listing.length} files, ${plans.length} plans`);
