#!/usr/bin/env node
// bench/fuzz: mutation fuzzing of the parsers that take untrusted input (test/fuzz/harness.mjs: the
// LTX decoder in v3 (both page encodings), v2 and v1, LZ4 block and frame, the page index, the WAL
// reader, the replica URL parser, the YAML config loader), on the built dist/. Not part of CI; a
// small corpus replays there (test/fuzz-corpus.test.ts).
//
//   npm run build
//   nice -n 19 node bench/fuzz/run.mjs [--n 1000000] [--targets ltx-v3,wal] [--jobs 2] [--shards 2]
//       [--seconds S] [--seed 1] [--budget-ms 2000] [--max-alloc-mib 64] [--hang-s 20]
//       [--dist DIR] [--corpus DIR]
//
// Inputs. Each target runs --n inputs (default 1e6), each a mutant (1-4 byte-level mutations, one
// in eight mutated twice) of a seed: the Go-written LTX vectors and fixtures under conformance/,
// the committed corpus, and the harness's own seeds (WALs, URLs, configs, LZ4 blocks and frames).
// Where a format has checksums, the input's first byte says whether the harness repairs them after
// the mutation (the LTX file checksum, the WAL checksum chain), so that a share of the inputs gets
// past them to the checks behind; for LTX it also picks strict mode, a chunked stream instead of
// one buffer, and verifyLtx instead of the Decoder (see harness.mjs).
//
// Outcomes. Every input ends as one of: ok (decoded or parsed), a typed LtxError (counted by code;
// for the LTX targets also by the stage it reached: header, pages, trailer, or verify), or a
// failure: untyped (anything but an LtxError with a known code), crash (the worker died: an uncaught
// error, an unhandled rejection, out of memory under a 1 GiB heap, an abort), hang (no progress for
// --hang-s seconds; the worker is killed and restarted), slow (one input over --budget-ms) or alloc
// (ArrayBuffer memory grew by more than --max-alloc-mib during one input). Every distinct failure
// is written to <corpus>/<target>/<sha256>.bin (default test/fuzz-corpus/), to be fixed and
// committed as a regression input; the run exits 1 if there was any.
//
// Running. A target's inputs are split into --shards (each with its own seed) run by up to --jobs
// worker threads at once; targets run one after another in that pool. --seconds S stops a target
// after S seconds, short of --n (the count printed is what ran). The final table gives per target:
// inputs, wall seconds, inputs/s, and the outcome counts by kind and by code, with the load average.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { getHeapStatistics } from "node:v8";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const MAX_INPUT = 1 << 20;
/** Outcomes that fail a run; any other outcome is "ok", a typed error code, or a "skipped …" reason. */
const FAILURE_KINDS = ["untyped", "crash", "hang", "slow", "alloc"];

if (isMainThread) await main();
else await worker(workerData);

async function main() {
  const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
  const { TARGETS } = await import(pathToFileURL(join(root, "test", "fuzz", "harness.mjs")).href);
  const n = Number(arg("--n", "1000000"));
  const targets = arg("--targets", TARGETS.join(",")).split(",");
  const jobs = Math.max(1, Number(arg("--jobs", "1")));
  const shards = Math.max(1, Number(arg("--shards", "1")));
  const opts = { budgetMs: Number(arg("--budget-ms", "2000")), maxAllocMiB: Number(arg("--max-alloc-mib", "64")), seed: Number(arg("--seed", "1")), dist: arg("--dist", join(root, "dist")), corpus: arg("--corpus", join(root, "test", "fuzz-corpus")) };
  const hangS = Number(arg("--hang-s", "20"));
  opts.seconds = Number(arg("--seconds", "Infinity"));
  for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t} (targets: ${TARGETS.join(", ")})`);
  console.log(`${n} inputs per target in ${shards} shard(s), ${jobs} worker(s) at a time; budget ${opts.budgetMs} ms and ${opts.maxAllocMiB} MiB per input, hang after ${hangS} s without progress; dist ${opts.dist}; load ${loadavg()}`);
  // A shard is a share of a target's inputs with its own seed; the shards of a target run side by side.
  const queue = targets.flatMap((t) => Array.from({ length: shards }, (_, k) => ({ target: t, shard: k, n: Math.floor(n / shards) + (k < n % shards ? 1 : 0) })));
  const parts = [];
  const started = new Map();
  await Promise.all(Array.from({ length: Math.min(jobs, queue.length) }, async () => {
    while (queue.length) {
      const q = queue.shift();
      if (!started.has(q.target)) started.set(q.target, performance.now());
      const r = await runTarget(q.target, q.n, { ...opts, seed: opts.seed + q.shard * 104729 }, hangS);
      parts.push({ ...r, ended: performance.now() });
    }
  }));
  const results = targets.map((target) => {
    const ps = parts.filter((p) => p.target === target);
    const outcomes = {};
    for (const p of ps) for (const [k, v] of Object.entries(p.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
    return { target, inputs: ps.reduce((a, p) => a + p.inputs, 0), seconds: (Math.max(...ps.map((p) => p.ended)) - started.get(target)) / 1000, cpuSeconds: ps.reduce((a, p) => a + p.seconds, 0), outcomes, failures: ps.flatMap((p) => p.failures) };
  });
  printTable(results);
  console.log(`load ${loadavg()}`);
  if (results.some((r) => r.failures.length)) process.exitCode = 1;
}

/** The final table: per target, inputs, wall seconds, inputs/s, and every input's outcome by kind. */
function printTable(results) {
  console.log("\ntarget         inputs  seconds  inputs/s        ok   typed  untyped  crash  hang  slow  alloc   typed by code");
  for (const r of results) {
    const o = r.outcomes;
    // "ok" and "ok (…)" (an ok outcome with detail) are ok; "skipped …" inputs ran only partly.
    const isOk = (k) => k === "ok" || k.startsWith("ok (");
    const typed = Object.entries(o).filter(([k]) => !isOk(k) && !FAILURE_KINDS.includes(k) && !k.startsWith("skipped")).sort((a, b) => b[1] - a[1]);
    const detail = Object.entries(o).filter(([k]) => k.startsWith("skipped") || k.startsWith("ok ("));
    const ok = Object.entries(o).filter(([k]) => isOk(k)).reduce((a, [, v]) => a + v, 0);
    const cell = (k, w) => String(o[k] ?? 0).padStart(w);
    console.log(
      `${r.target.padEnd(12)} ${String(r.inputs).padStart(8)} ${r.seconds.toFixed(0).padStart(8)} ${(r.inputs / r.seconds).toFixed(0).padStart(9)} ${String(ok).padStart(9)} ${String(typed.reduce((a, [, v]) => a + v, 0)).padStart(7)} ${cell("untyped", 8)} ${cell("crash", 6)} ${cell("hang", 5)} ${cell("slow", 5)} ${cell("alloc", 6)}   ` +
        [...typed, ...detail].map(([k, v]) => `${k} ${v}`).join(", "),
    );
  }
  for (const r of results) for (const f of r.failures) console.log(`FAILURE ${r.target}: ${f.kind} ${f.signature} → ${f.file}`);
}

function loadavg() {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

/** Runs one target to n inputs in a worker, restarting it after a hang or crash; returns the tally. */
async function runTarget(target, n, opts, hangS) {
  const t0 = performance.now();
  const failures = [];
  const seen = new Set();
  const outcomes = {};
  const count = (k, v = 1) => (outcomes[k] = (outcomes[k] ?? 0) + v);
  const record = (f) => {
    if (seen.has(f.signature)) return;
    seen.add(f.signature);
    const dir = join(opts.corpus, target);
    mkdirSync(dir, { recursive: true });
    const input = Buffer.from(f.input);
    const file = join(dir, createHash("sha256").update(input).digest("hex").slice(0, 16) + ".bin");
    writeFileSync(file, input);
    const shown = file.startsWith(root + "/") ? file.slice(root.length + 1) : file;
    failures.push({ ...f, file: shown });
    console.log(`${target}: ${f.kind}: ${f.signature} (${input.length} bytes) → ${shown}`);
  };
  // done: inputs whose outcome is counted. The worker posts its tally in batches; after a hang or
  // crash the inputs of the unposted batch are run again (as new mutants: the seed changes).
  let done = 0;
  let restarts = 0;
  while (done < n) {
    const shared = new SharedArrayBuffer(8 + MAX_INPUT);
    const counter = new Int32Array(shared, 0, 2);
    const deadline = Date.now() + opts.seconds * 1000 - (performance.now() - t0);
    const w = new Worker(fileURLToPath(import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: 1024 }, workerData: { target, from: done, n, deadline, opts: { ...opts, seed: opts.seed + restarts * 7919 }, shared } });
    const finished = new Promise((resolve0) => {
      // One end per worker: a hang (terminated here), a crash (an uncaught error or a non-zero
      // exit: an abort, out of memory), or done.
      let ended = false;
      const resolve = (r) => {
        ended = true;
        clearInterval(timer);
        resolve0(r);
      };
      let last = -1, still = 0;
      const timer = setInterval(() => {
        const c = Atomics.load(counter, 0);
        if (c !== last) return ((last = c), (still = 0));
        if (++still < hangS) return;
        // No progress: the input in the shared buffer is the one running.
        const len = Atomics.load(counter, 1);
        record({ kind: "hang", signature: `no progress for ${hangS} s`, input: new Uint8Array(shared, 8, len).slice() });
        count("hang");
        ended = true;
        clearInterval(timer);
        w.terminate().then(() => resolve({ restart: true }));
      }, 1000);
      w.on("message", (m) => {
        if (m.type === "failure") record(m);
        if (m.type === "tally") {
          for (const [k, v] of Object.entries(m.outcomes)) count(k, v);
          done += m.inputs;
        }
        if (m.type === "progress") process.stdout.write(`${target}: ${m.count} inputs, ${((performance.now() - t0) / 1000).toFixed(0)} s, load ${loadavg()}\n`);
        if (m.type === "done") resolve({ restart: false, stopped: m.stopped });
      });
      w.on("error", (e) => {
        if (ended) return;
        record({ kind: "crash", signature: String(e && e.message).slice(0, 120), input: new Uint8Array(shared, 8, Atomics.load(counter, 1)).slice() });
        count("crash");
        resolve({ restart: true });
      });
      w.on("exit", (code) => {
        if (ended) return;
        if (code !== 0) {
          record({ kind: "crash", signature: `worker exited with code ${code}`, input: new Uint8Array(shared, 8, Atomics.load(counter, 1)).slice() });
          count("crash");
        }
        resolve({ restart: code !== 0 });
      });
    });
    const r = await finished;
    if (r.restart) ((done += 1), restarts++);
    if (r.stopped || Date.now() > deadline) break;
    // A worker that fails before its first input cannot run the target at all (a setup error).
    if (r.restart && Atomics.load(counter, 0) === 0 && Atomics.load(counter, 1) === 0 && done <= restarts) throw new Error(`${target}: the worker failed before its first input: ${failures.at(-1)?.signature}`);
  }
  return { target, inputs: done, seconds: (performance.now() - t0) / 1000, outcomes, failures };
}

/** The worker: mutate, run, report. */
async function worker({ target, from, n, deadline, opts, shared }) {
  const harness = await import(pathToFileURL(join(root, "test", "fuzz", "harness.mjs")).href);
  const dist = pathToFileURL(opts.dist).href;
  const distPath = opts.dist.replace(/\/$/, "") + "/";
  const targets = await harness.makeTargets((p) => import(`${dist}/${p}.js`), seedFiles());
  const t = targets[target];
  const seeds = [...t.seeds, ...corpus(opts.corpus ?? join(root, "test", "fuzz-corpus"), target)].filter((s) => s.length <= MAX_INPUT);
  const next = harness.rng(opts.seed * 2654435761 + from);
  const counter = new Int32Array(shared, 0, 2);
  const inputBuf = new Uint8Array(shared, 8, MAX_INPUT);
  const seen = new Set();
  const maxAlloc = opts.maxAllocMiB * 1048576;
  // Most inputs throw an LtxError; capturing a stack for each costs more than the parse. No stack
  // is captured while fuzzing; an input that fails runs again with stacks on, for its signature.
  Error.stackTraceLimit = 0;
  // A promise rejected with nobody waiting for it shows up only when the worker returns to its event
  // loop: every 64 inputs it does, and on a rejection the last 64 inputs run again one at a time to
  // find the one that left it (a crash: Node ends a process on an unhandled rejection).
  let rejected = null;
  process.on("unhandledRejection", (e) => (rejected ??= e));
  const tick = () => new Promise((r) => setImmediate(r));
  const recent = [];
  const checkRejections = async () => {
    await tick();
    if (!rejected) return;
    const e = rejected;
    let culprit = recent.at(-1);
    rejected = null;
    for (const x of recent) {
      await t.run(x).catch(() => {});
      await tick();
      if (rejected) {
        culprit = x;
        break;
      }
    }
    rejected = null;
    const signature = `unhandled rejection: ${e?.name ?? typeof e}${e?.code ? ` ${e.code}` : ""}: ${String(e?.message ?? e).slice(0, 100).replace(/\d+/g, "N")}`;
    outcomes.crash = (outcomes.crash ?? 0) + 1;
    if (!seen.has(signature)) (seen.add(signature), parentPort.postMessage({ type: "failure", kind: "crash", signature, input: culprit }));
  };
  let outcomes = {};
  let batch = 0;
  const flush = () => {
    parentPort.postMessage({ type: "tally", inputs: batch, outcomes });
    outcomes = {};
    batch = 0;
  };
  for (let i = from; i < n; i++) {
    let input = harness.mutate(seeds[next() % seeds.length], next, seeds, MAX_INPUT);
    if (next() % 8 === 0) input = harness.mutate(input, next, seeds, MAX_INPUT);
    recent.push(input);
    if (recent.length > 64) recent.shift();
    if (recent.length === 64 && i % 64 === 0) await checkRejections();
    inputBuf.set(input);
    Atomics.store(counter, 1, input.length);
    Atomics.store(counter, 0, i);
    const ab0 = getHeapStatistics().external_memory;
    const s0 = performance.now();
    let failure = null;
    let outcome;
    try {
      outcome = await t.run(input);
    } catch (e0) {
      Error.stackTraceLimit = 20;
      let e = e0;
      try {
        await t.run(input);
      } catch (e1) {
        e = e1;
      }
      Error.stackTraceLimit = 0;
      const where = String(e?.stack ?? "").split("\n").find((l) => l.includes(distPath)) ?? "";
      // Digits vary between inputs of one bug: the signature keeps the error and where it was thrown.
      const msg = String(e?.message ?? e).slice(0, 100).replace(/\d+/g, "N");
      failure = { kind: "untyped", signature: `${e?.name ?? typeof e}${e?.code ? ` ${e.code}` : ""}: ${msg} at ${where.trim().replace(/^at /, "").replaceAll(pathToFileURL(distPath).href, "").replaceAll(distPath, "")}` };
    }
    const ms = performance.now() - s0;
    const grew = getHeapStatistics().external_memory - ab0;
    if (!failure && ms > opts.budgetMs) failure = { kind: "slow", signature: `over ${opts.budgetMs} ms` };
    if (!failure && grew > maxAlloc) failure = { kind: "alloc", signature: `ArrayBuffers grew ${(grew / 1048576).toFixed(0)} MiB` };
    const k = failure ? failure.kind : String(outcome);
    outcomes[k] = (outcomes[k] ?? 0) + 1;
    batch++;
    if (failure && !seen.has(failure.signature)) {
      seen.add(failure.signature);
      parentPort.postMessage({ type: "failure", ...failure, input });
    }
    // A failed input may be followed by a crash: its count is posted at once.
    if (batch === 4096 || failure) flush();
    if ((i + 1) % 100000 === 0) parentPort.postMessage({ type: "progress", count: i + 1 });
    if ((i + 1) % 256 === 0 && Date.now() > deadline) {
      await checkRejections();
      flush();
      parentPort.postMessage({ type: "done", stopped: true });
      return;
    }
  }
  await checkRejections();
  flush();
  parentPort.postMessage({ type: "done" });
}

/** LTX seeds from the repository's vectors and fixtures (and LTXKIT_FUZZ_SEEDS, a directory), at most 64 KiB each. */
function seedFiles() {
  const dirs = [join(root, "conformance", "vectors"), join(root, "conformance", "fixtures"), process.env.LTXKIT_FUZZ_SEEDS].filter((d) => d && existsSync(d));
  const all = { ltx: [], "ltx-v3": [], "ltx-v2": [], "ltx-v1": [] };
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ltx") && statSync(p).size <= 64 * 1024) {
        const b = new Uint8Array(readFileSync(p));
        const v = /\/v1\//.test(p) ? "ltx-v1" : /\/v2\//.test(p) ? "ltx-v2" : "ltx-v3";
        all[v].push(b);
        if (v === "ltx-v3") all.ltx.push(b);
      }
    }
  };
  for (const d of dirs) walk(d);
  return all;
}

function corpus(dir, target) {
  const d = join(dir, target);
  if (!existsSync(d)) return [];
  return readdirSync(d).filter((f) => f.endsWith(".bin")).map((f) => new Uint8Array(readFileSync(join(d, f))));
}
