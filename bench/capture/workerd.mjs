#!/usr/bin/env node
// Capture transactions per second in workerd (miniflare): N small insert transactions in sqlite-wasm
// without capture (a plain in-memory database) and through the capture VFS (memory storage, an R2
// replica; the session's close ships the queued transactions as one L0 file). workerd's clocks stand
// still while JavaScript runs, so each rate is timed from Node around whole requests:
// rate = N / (t(N) - t(0)), the median of RUNS runs, t(0) the same request with no transactions.
//   node bench/capture/workerd.mjs [N=2000] [RUNS=3]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);
const N = Number(process.argv[2] ?? 2000);
const RUNS = Number(process.argv[3] ?? 3);

const { rolldown } = await import("rolldown");
const build = await rolldown({ input: join(root, "conformance", "workerd", "capture-worker.ts"), platform: "browser", external: [/\.wasm$/], resolve: { conditionNames: ["import", "browser", "default"] }, logLevel: "silent" });
const code = (await build.generate({ format: "esm" })).output[0].code;
await build.close();
const { Miniflare } = await import("miniflare");
const sqliteWasm = join(dirname(require.resolve("@sqlite.org/sqlite-wasm/package.json")), "dist", "sqlite3.wasm");
const mf = new Miniflare({
  modules: [
    { type: "ESModule", path: "worker.mjs", contents: code },
    { type: "CompiledWasm", path: "sqlite3.wasm", contents: readFileSync(sqliteWasm) },
    { type: "CompiledWasm", path: "sqlite-trampolines.wasm", contents: readFileSync(join(root, "lib", "adapters", "wasm", "sqlite-trampolines.wasm")) },
  ],
  compatibilityDate: "2026-07-01",
  r2Buckets: ["BUCKET"],
  durableObjects: { DBO: { className: "CaptureDO", useSQLite: true } },
});
let seq = 0;
async function timed(mode, n) {
  const body = { prefix: `bench-${++seq}`, s3: false, steps: ["CREATE TABLE IF NOT EXISTS bench(id INTEGER PRIMARY KEY, v BLOB)"], bench: n, mode };
  const t = performance.now();
  const r = await mf.dispatchFetch("http://worker/w/session", { method: "POST", body: JSON.stringify(body) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(text);
  return performance.now() - t;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  await timed("off", 10); // warm: sqlite-wasm start-up
  const rate = {};
  for (const mode of ["off", "on"]) {
    const base = [], full = [];
    for (let i = 0; i < RUNS; i++) {
      base.push(await timed(mode, 0));
      full.push(await timed(mode, N));
    }
    rate[mode] = (N * 1000) / Math.max(1e-3, median(full) - median(base));
  }
  console.log(`workerd (miniflare ${require("miniflare/package.json").version}), ${N} insert transactions of 100 bytes, median of ${RUNS}:`);
  console.log(`  capture off: ${rate.off.toFixed(0)} tx/s`);
  console.log(`  capture on:  ${rate.on.toFixed(0)} tx/s  (ratio on/off ${(rate.on / rate.off).toFixed(2)})`);
} finally {
  await mf.dispose();
}
