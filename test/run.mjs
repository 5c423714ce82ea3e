#!/usr/bin/env node
// `npm test`: runs the suite under Node (vitest), Bun and Deno, then prints one summary line
// `N passed, N failed, N skipped`. Suites that need Go tools or an S3 server skip visibly when those are
// absent, unless LTXKIT_REQUIRE_GO=1 / LTXKIT_REQUIRE_S3=1 (CI), where absence fails.
//
// Environment: LTXKIT_RUNTIMES=node,bun,deno (default all three); extra args are passed to vitest.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
const extra = process.argv.slice(2);
const runtimes = (process.env.LTXKIT_RUNTIMES ?? "node,bun,deno").split(",").map((s) => s.trim()).filter(Boolean);
const work = mkdtempSync(join(tmpdir(), "ltxkit-test-"));

// Node runs everything; Bun and Deno run test/ (codec, stores, replica logic, CLI) and the
// conformance checks that need no Go — the Go cross-checks spawn the same Go binaries whatever
// runtime drives them.
const portable = extra.length ? extra : ["test/", "conformance/vectors.test.ts", "conformance/go-fixtures.test.ts", "conformance/litestream-fixture.test.ts"];
const plans = {
  node: { cmd: process.execPath, args: [vitest, "run", ...extra] },
  bun: { cmd: bin("bun"), args: ["--bun", vitest, "run", "--pool=threads", ...portable] },
  deno: { cmd: bin("deno"), args: ["run", "-A", vitest, "run", "--pool=forks", ...portable] },
};

let passed = 0, failed = 0, skipped = 0, broken = 0;
for (const rt of runtimes) {
  const plan = plans[rt];
  if (!plan) {
    console.error(`unknown runtime ${rt}`);
    broken++;
    continue;
  }
  if (rt !== "node" && !existsSync(plan.cmd)) {
    console.error(`[${rt}] not installed (${plan.cmd}); run npm install`);
    broken++;
    continue;
  }
  const out = join(work, `${rt}.json`);
  console.log(`\n=== ${rt}: ${[plan.cmd, ...plan.args].map((a) => a.replace(root + "/", "")).join(" ")}`);
  const t0 = Date.now();
  const r = spawnSync(plan.cmd, [...plan.args, "--reporter=default", "--reporter=json", `--outputFile.json=${out}`], {
    cwd: root,
    stdio: "inherit",
    env: { ...process.env, LTXKIT_TEST_RUNTIME: rt },
  });
  let res = null;
  try {
    res = JSON.parse(readFileSync(out, "utf8"));
  } catch {
    // no report: the runner itself failed
  }
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  if (!res) {
    console.log(`[${rt}] runner failed (exit ${r.status}, signal ${r.signal}) after ${secs}s, no report`);
    broken++;
    continue;
  }
  const p = res.numPassedTests ?? 0, f = res.numFailedTests ?? 0, s = (res.numPendingTests ?? 0) + (res.numTodoTests ?? 0);
  // A suite that fails to load counts as a failure even when no test inside it ran.
  const suiteErrors = (res.testResults ?? []).filter((t) => t.status === "failed" && (t.assertionResults ?? []).every((a) => a.status !== "failed")).length;
  passed += p;
  failed += f + suiteErrors;
  skipped += s;
  console.log(`[${rt}] ${p} passed, ${f + suiteErrors} failed, ${s} skipped in ${secs}s (exit ${r.status})`);
  if (r.status !== 0 && f + suiteErrors === 0) broken++;
}
rmSync(work, { recursive: true, force: true });
failed += broken;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
