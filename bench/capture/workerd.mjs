#!/usr/bin/env node
// bench/capture in workerd (miniflare): the Node bench's workload (shared.mjs: an update of a random
// row and an insert of a 100-byte row per transaction, on a database of MIB MiB) in sqlite-wasm
//   off    sqlite-wasm's in-memory database (memdb, C)
//   jsvfs  a plain in-memory JavaScript VFS (shared.mjs): the uncaptured baseline of the 0.9x target
//   vfs    the capture VFS over MemoryVfsStorage, synced and shipped to a memory replica every
//          BATCH transactions
// workerd's clocks stand still while JavaScript runs, so each rate is timed from Node around whole
// requests: the time of a request with N transactions minus the same request with none (which
// builds or loads the database, opens it and, for vfs, restores and ships the first snapshot).
// Interleaved rounds (each round runs every variant); ratios are the median (min-max) of the
// per-round ratios.
//   node bench/capture/workerd.mjs [--tx 2000] [--runs 3] [--batch 1,100] [--mib 16]
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const require = createRequire(import.meta.url);
const arg = (n, d) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const N = Number(arg("tx", 2000));
const RUNS = Number(arg("runs", 3));
const MIB = Number(arg("mib", 16));
const batches = String(arg("batch", "1,100")).split(",").map(Number);

const { rolldown } = await import("rolldown");
const build = await rolldown({ input: join(here, "worker.ts"), platform: "browser", external: [/\.wasm$/], resolve: { conditionNames: ["import", "browser", "default"] }, logLevel: "silent" });
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
});
async function timed(mode, n, batch) {
  const t = performance.now();
  const r = await mf.dispatchFetch("http://worker/", { method: "POST", body: JSON.stringify({ mode, n, batch, mib: MIB }) });
  const text = await r.text();
  if (r.status !== 200) throw new Error(text);
  return { ms: performance.now() - t, out: JSON.parse(text) };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load0 = loadavg();
try {
  await timed("off", 10, 1); // warm: sqlite-wasm start-up and the database image
  const raw = {};
  for (let r = 0; r < RUNS; r++) {
    for (const batch of batches) {
      for (const mode of ["off", "jsvfs", "vfs"]) {
        const base = await timed(mode, 0, batch);
        const full = await timed(mode, N, batch);
        (raw[`${mode}/${batch}`] ??= []).push({ tps: (N * 1000) / Math.max(1e-3, full.ms - base.ms), shippedPerTx: (full.out.shipped ?? 0) / N });
      }
    }
  }
  const load1 = loadavg();
  const ratio = (a, b, batch) => {
    const xs = raw[`${a}/${batch}`].map((x, i) => x.tps / raw[`${b}/${batch}`][i].tps);
    return `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
  };
  console.log(`workerd (miniflare ${require("miniflare/package.json").version}), ${MIB} MiB database, ${N} transactions (update one row + insert one 100-byte row), ${RUNS} interleaved rounds`);
  console.log(`load average ${load0.map((x) => x.toFixed(1)).join(" ")} at start, ${load1.map((x) => x.toFixed(1)).join(" ")} at end`);
  console.log("variant  batch    tx/s   vs jsvfs            vs off              L0 bytes/tx");
  for (const batch of batches) {
    for (const mode of ["off", "jsvfs", "vfs"]) {
      const rs = raw[`${mode}/${batch}`];
      const tps = median(rs.map((x) => x.tps));
      console.log(`${mode.padEnd(7)}  ${String(batch).padStart(5)}  ${tps.toFixed(0).padStart(6)}   ${ratio(mode, "jsvfs", batch).padEnd(18)}  ${ratio(mode, "off", batch).padEnd(18)}  ${mode === "vfs" ? median(rs.map((x) => x.shippedPerTx)).toFixed(0).padStart(11) : ""}`);
    }
  }
} finally {
  await mf.dispose();
}
