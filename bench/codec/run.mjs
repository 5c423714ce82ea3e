#!/usr/bin/env node
// bench/codec: ltxkit vs the Go LTX library (superfly/ltx v0.5.2) in the same run, on a realistic
// SQLite database of ~72 MiB at 4 KiB and 64 KiB pages, ltxkit both with its WebAssembly kernels
// (the default) and with the pure-TypeScript loops (`useWasmKernels(false)`).
//
// Each measurement is one process running one kernel: once to warm up (not counted), then again
// and again for --seconds (default 3) of kernel time, so start-up and JIT warm-up do not weigh in.
// A round runs Go and every ltxkit variant once each, in alternating order; --runs rounds (default
// 5). Each round gives one time ratio per variant (ltxkit seconds per byte / Go seconds per byte of
// the same round), by wall time and by CPU time of the process (all threads: steadier when other
// work shares the machine); printed are the median ratio with the min–max of the rounds, medians
// of MB/s (wall) and peak RSS. --baseline DIST adds the pure-TypeScript loops of another build (a dist/ directory,
// e.g. of an older commit) to every row, measured in the same rounds. --only REGEX runs the rows
// whose label matches; --variants REGEX the ltxkit variants whose name matches ("ltxkit", "pure TS",
// "base TS").
//   npm run build && node bench/codec/run.mjs [--runs 5] [--seconds 3] [--baseline DIR] [--only decode] [--variants TS]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const runs = Number(arg("--runs", "5")) || 5;
const seconds = Number(arg("--seconds", "3"));
const baseline = arg("--baseline", null);
const only = new RegExp(arg("--only", ""));
const pick = new RegExp(arg("--variants", ""));
const cache = process.env.LTXKIT_BENCH_CACHE ?? join(homedir(), ".cache", "ltxkit-bench");
mkdirSync(cache, { recursive: true });
const db4 = join(cache, "app-4096.db"), db64 = join(cache, "app-65536.db");
if (!existsSync(db4) || !existsSync(db64)) {
  console.error("generating the benchmark databases (once)…");
  execFileSync("python3", [join(here, "gen-db.py"), db4, db64], { stdio: "inherit" });
}
const gobin = join(cache, "ltxbench");
execFileSync("go", ["build", "-o", gobin, "."], { cwd: join(here, "go"), stdio: "inherit", env: { ...process.env, GOFLAGS: "-mod=mod" } });
if (baseline && !existsSync(join(baseline, "mod.js"))) throw new Error(`--baseline ${baseline}: no mod.js there (a dist/ directory of another build)`);

const last = (out) => JSON.parse(out.trim().split("\n").pop());
const benchEnv = { ...process.env, LTXKIT_BENCH_SECONDS: String(seconds) };
const tsWith = (kernels, dist) => (...a) => last(execFileSync(process.execPath, [join(here, "kernel.mjs"), ...a], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: { ...benchEnv, LTXKIT_BENCH_KERNELS: kernels, ...(dist ? { LTXKIT_BENCH_DIST: resolve(dist) } : {}) } }));
const ts = tsWith("wasm"), pureTs = tsWith("ts");
const go = (...a) => last(execFileSync(gobin, a, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: benchEnv }));
const sorted = (xs) => [...xs].sort((a, b) => a - b);
const median = (xs) => {
  const s = sorted(xs), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const perByte = (r) => r.seconds / r.bytes;
const cpuPerByte = (r) => r.cpu_seconds / r.bytes;
const spread = (xs) => {
  const s = sorted(xs);
  return `${median(xs).toFixed(2)} [${s[0].toFixed(2)}–${s[s.length - 1].toFixed(2)}]`;
};
const mbs = (r) => r.bytes / 1e6 / r.seconds;

const variants = [["ltxkit", ts], ["pure TS", pureTs], ...(baseline ? [["base TS", tsWith("ts", baseline)]] : [])].filter(([name]) => pick.test(name));
console.log(`${runs} rounds, ${seconds} s of kernel time per process after one warm-up run${baseline ? `; base TS = pure TS of ${baseline}` : ""}`);
console.log("TS/Go = ltxkit time / Go time per byte: median of the rounds [min–max]; wall time, and CPU time of the process (all threads; steadier on a loaded machine)");

function measure(label, tsArgs, goArgs, which = variants) {
  if (!only.test(label)) return;
  const g = [], t = which.map(() => []);
  for (let i = 0; i < runs; i++) {
    // Alternate the order so neither side always runs first after the other's load.
    const order = [() => g.push(go(...goArgs)), ...which.map(([, run], k) => () => t[k].push(run(...tsArgs)))];
    for (const step of i % 2 ? order.reverse() : order) step();
  }
  const goMBs = median(g.map(mbs)), goRSS = Math.max(...g.map((r) => r.maxrss_kb));
  which.forEach(([name], k) => {
    const ratios = t[k].map((r, i) => perByte(r) / perByte(g[i]));
    const cpuRatios = t[k].map((r, i) => cpuPerByte(r) / cpuPerByte(g[i]));
    const tsRSS = Math.max(...t[k].map((r) => r.maxrss_kb));
    console.log(`${label.padEnd(34)} ${name.padEnd(7)} ${median(t[k].map(mbs)).toFixed(0).padStart(5)} MB/s   Go ${goMBs.toFixed(0).padStart(5)} MB/s   TS/Go ${spread(ratios)}  cpu ${spread(cpuRatios)}   peak RSS ${(tsRSS / 1024).toFixed(0)} / ${(goRSS / 1024).toFixed(0)} MiB   (${t[k][0].lz4}, ${t[k][0].runs} runs/process)`);
  });
}

for (const [name, db] of [["4 KiB", db4], ["64 KiB", db64]]) {
  const goFile = join(cache, `go-${name.replace(" ", "")}.ltx`), tsFile = join(cache, `ts-${name.replace(" ", "")}.ltx`);
  console.log(`\n${name} pages: ${(statSync(db).size / 1048576).toFixed(1)} MiB database`);
  if (!existsSync(goFile)) execFileSync(gobin, ["encode", db, goFile], { stdio: "ignore" });
  measure(`encode (${name})`, ["encode", db, tsFile], ["encode", db, goFile]);
  measure(`decode+verify, Go-written (${name})`, ["decode", goFile], ["decode", goFile]);
  measure(`CRC-64 alone (${name} file)`, ["crc64", goFile], ["crc64", goFile]);
}
if (only.test("streaming decode")) {
  const big = join(cache, "big-1GiB.ltx");
  if (!existsSync(big)) ts("make-big", big, "1024");
  const s = ts("stream-decode", big);
  console.log(`\nstreaming decode of a 1 GiB file: ${mbs(s).toFixed(0)} MB/s, peak RSS ${(s.maxrss_kb / 1024).toFixed(0)} MiB`);
}
