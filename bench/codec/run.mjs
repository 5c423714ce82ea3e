#!/usr/bin/env node
// bench/codec: ltxkit vs the Go LTX library (superfly/ltx v0.5.2) in the same run, on a realistic
// SQLite database of ~72 MiB at 4 KiB and 64 KiB pages, ltxkit both with its WebAssembly LZ4 kernels
// (the default) and with the pure-TypeScript loops. Each kernel runs in its own process, runs
// are interleaved, medians pooled. Prints MB/s, the time ratio TS/Go and peak RSS.
//   npm run build && node bench/codec/run.mjs [--runs 5]
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const runs = Number(process.argv[process.argv.indexOf("--runs") + 1] || 5) || 5;
const cache = process.env.LTXKIT_BENCH_CACHE ?? join(homedir(), ".cache", "ltxkit-bench");
mkdirSync(cache, { recursive: true });
const db4 = join(cache, "app-4096.db"), db64 = join(cache, "app-65536.db");
if (!existsSync(db4) || !existsSync(db64)) {
  console.error("generating the benchmark databases (once)…");
  execFileSync("python3", [join(here, "gen-db.py"), db4, db64], { stdio: "inherit" });
}
const gobin = join(cache, "ltxbench");
execFileSync("go", ["build", "-o", gobin, "."], { cwd: join(here, "go"), stdio: "inherit", env: { ...process.env, GOFLAGS: "-mod=mod" } });

const tsWith = (kernels) => (...a) => JSON.parse(execFileSync(process.execPath, [join(here, "kernel.mjs"), ...a], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], env: { ...process.env, LTXKIT_BENCH_KERNELS: kernels } }).trim().split("\n").pop());
const ts = tsWith("wasm"), pureTs = tsWith("ts");
const go = (...a) => JSON.parse(execFileSync(gobin, a, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim().split("\n").pop());
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (r) => (r.bytes / 1e6 / r.seconds).toFixed(0);

const rows = [];
// ltxkit with its WebAssembly LZ4 kernels (the default), and with the pure-TypeScript loops, each
// interleaved with Go runs of the same kernel.
function measure(label, tsArgs, goArgs, variants = [["ltxkit", ts], ["pure TS", pureTs]]) {
  const g = [], t = variants.map(() => []);
  for (let i = 0; i < runs; i++) {
    g.push(go(...goArgs));
    variants.forEach(([, run], k) => t[k].push(run(...tsArgs)));
  }
  const gm = median(g.map((r) => r.seconds));
  variants.forEach(([name], k) => {
    const tm = median(t[k].map((r) => r.seconds));
    const row = { label, variant: name, lz4: t[k][0].lz4, tsMBs: (t[k][0].bytes / 1e6 / tm).toFixed(0), goMBs: (g[0].bytes / 1e6 / gm).toFixed(0), ratio: (tm / gm).toFixed(2), tsRSS: Math.max(...t[k].map((r) => r.maxrss_kb)), goRSS: Math.max(...g.map((r) => r.maxrss_kb)) };
    rows.push(row);
    console.log(`${label.padEnd(34)} ${name.padEnd(7)} ${row.tsMBs.padStart(5)} MB/s   Go ${row.goMBs.padStart(5)} MB/s   TS/Go ${row.ratio}   peak RSS ${(row.tsRSS / 1024).toFixed(0)} / ${(row.goRSS / 1024).toFixed(0)} MiB`);
  });
}

for (const [name, db] of [["4 KiB", db4], ["64 KiB", db64]]) {
  const goFile = join(cache, `go-${name.replace(" ", "")}.ltx`), tsFile = join(cache, `ts-${name.replace(" ", "")}.ltx`);
  console.log(`\n${name} pages: ${(statSync(db).size / 1048576).toFixed(1)} MiB database`);
  measure(`encode (${name})`, ["encode", db, tsFile], ["encode", db, goFile]);
  measure(`decode+verify, Go-written (${name})`, ["decode", goFile], ["decode", goFile]);
  measure(`CRC-64 alone (${name} file)`, ["crc64", goFile], ["crc64", goFile], [["ltxkit", ts]]);
}
const big = join(cache, "big-1GiB.ltx");
if (!existsSync(big)) ts("make-big", big, "1024");
const s = ts("stream-decode", big);
console.log(`\nstreaming decode of a 1 GiB file: ${mb(s)} MB/s, peak RSS ${(s.maxrss_kb / 1024).toFixed(0)} MiB`);
