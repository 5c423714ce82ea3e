// A/B harness (not a reported benchmark): the plain JS VFS and the capture VFS in one process,
// alternating blocks of transactions, so JIT state and machine load hit both alike; prints µs per
// transaction of each and of the capture's sync alone.
// The sync column splits into the capture log's sync (the L0 encode) and its commit (the VFS's
// per-transaction storage batch). For finding costs; the reported numbers come from run.mjs.
//   npm run build && node --expose-gc bench/capture/ab.mjs [--mib 64] [--batch 100] [--blocks 20] [--block 200]
//     [--only-capture] (skip the plain VFS) [--profile out.cpuprofile] (profile the timed blocks)
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { buildImage, installPlainVfs, workload } from "./shared.mjs";
const here = dirname(fileURLToPath(import.meta.url));
const arg = (n, d) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const dist = arg("dist", join(here, "..", "..", "dist"));
const mib = Number(arg("mib", 64)), batch = Number(arg("batch", 100)), blocks = Number(arg("blocks", 20)), block = Number(arg("block", 200));
const sqlite3 = await (await import("@sqlite.org/sqlite-wasm")).default({ print: () => {}, printErr: () => {} });
const { image, rows } = buildImage(sqlite3, mib);
installPlainVfs(sqlite3, image, "ab-plain");
const pdb = new sqlite3.oo1.DB({ filename: "/plain.db", vfs: "ab-plain" });
pdb.exec("PRAGMA journal_mode=MEMORY");
const { openCapturedDatabase, MemoryVfsStorage, captureL0 } = await import(join(dist, "capture", "mod.js"));
const { memoryReplica, writeLtxFile } = await import(join(dist, "replica", "mod.js"));
const { MemoryStore } = await import(join(dist, "store", "mod.js"));
const seed = memoryReplica(new MemoryStore());
await writeLtxFile(seed, 0, 1n, 1n, captureL0(null, image, { txid: 1n, timestamp: Date.now() }), Date.now());
const storage = new MemoryVfsStorage();
const h2 = await openCapturedDatabase(sqlite3, { storage, replicas: [seed], start: false });
await h2.sync();
await h2.close();
const h = await openCapturedDatabase(sqlite3, { storage, replicas: [memoryReplica(new MemoryStore())], start: false });
await h.sync();
let logMs = 0, commitMs = 0;
{
  const log = h.vfs.log;
  const o = log.sync.bind(log);
  log.sync = () => { const s = performance.now(); try { return o(); } finally { logMs += performance.now() - s; } };
  const c = log.commit.bind(log);
  log.commit = (x) => { const s = performance.now(); try { return c(x); } finally { commitMs += performance.now() - s; } };
}
const wp = workload(pdb, rows, 1), wc = workload(h.db, rows, 1);
let syncMs = 0;
const run = async (w, cap) => {
  const t0 = performance.now();
  for (let i = 0; i < block; i++) {
    w.tx();
    if ((i + 1) % batch === 0) {
      if (cap) {
        const s = performance.now();
        await h.sync();
        syncMs += performance.now() - s;
      } else await null;
    }
  }
  return performance.now() - t0;
};
for (let i = 0; i < 3; i++) (await run(wp, false), await run(wc, true));
syncMs = 0; logMs = 0; commitMs = 0;
const prof = arg("profile", null);
let session;
if (prof) {
  const { Session } = await import("node:inspector/promises");
  session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
}
const P = [], C = [];
for (let b = 0; b < blocks; b++) {
  if (!process.argv.includes("--only-capture")) P.push(await run(wp, false));
  C.push(await run(wc, true));
}
if (session) {
  const { profile } = await session.post("Profiler.stop");
  (await import("node:fs")).writeFileSync(prof, JSON.stringify(profile));
}
if (!P.length) P.push(1);
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const us = (ms) => ((ms * 1000) / block).toFixed(1);
console.log(`batch ${batch}: plain ${us(med(P))} µs/tx, capture ${us(med(C))} µs/tx (median blocks), ratio ${(med(P) / med(C)).toFixed(2)}; total ratio ${(sum(P) / sum(C)).toFixed(2)}; sync ${((syncMs * 1000) / (blocks * block)).toFixed(1)} µs/tx (log.sync ${((logMs * 1000) / (blocks * block)).toFixed(1)}, log.commit ${((commitMs * 1000) / (blocks * block)).toFixed(1)}); load ${(await import("node:os")).loadavg()[0].toFixed(1)}`);
wp.finalize();
wc.finalize();
pdb.close();
await h.close();
