// A/B harness (not a reported benchmark): the plain JS VFS and the capture VFS of one or more
// builds in one process, alternating blocks of transactions, so JIT state and machine load hit them
// alike; prints µs per transaction of each, the ratio to the plain VFS, and the capture's sync alone
// split into the capture log's sync (the L0 encode) and its commits (the VFS's per-transaction
// storage batch). For finding costs and comparing builds; the reported numbers come from run.mjs.
//   npm run build && node --expose-gc bench/capture/ab.mjs [--mib 64] [--batch 100] [--blocks 20] [--block 200]
//     [--dist dist,/other/dist] (builds to compare, default this checkout's dist/)
//     [--only-capture] (skip the plain VFS) [--profile out.cpuprofile] (profile the timed blocks)
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { loadavg } from "node:os";
import { buildImage, installPlainVfs, workload } from "./shared.mjs";
const here = dirname(fileURLToPath(import.meta.url));
const arg = (n, d) => {
  const i = process.argv.indexOf(`--${n}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const dists = String(arg("dist", join(here, "..", "..", "dist"))).split(",").map((d) => resolve(d));
const mib = Number(arg("mib", 64)), batch = Number(arg("batch", 100)), blocks = Number(arg("blocks", 20)), block = Number(arg("block", 200));
const onlyCapture = process.argv.includes("--only-capture");
const sqlite3 = await (await import("@sqlite.org/sqlite-wasm")).default({ print: () => {}, printErr: () => {} });
const { image, rows } = buildImage(sqlite3, mib);
installPlainVfs(sqlite3, image, "ab-plain");
const pdb = new sqlite3.oo1.DB({ filename: "/plain.db", vfs: "ab-plain" });
pdb.exec("PRAGMA journal_mode=MEMORY");
const wp = workload(pdb, rows, 1);

/** One capture variant: a captured database of `dist` seeded with the image, with its timers. */
async function captureOf(dist, n) {
  const { openCapturedDatabase, MemoryVfsStorage, captureL0 } = await import(join(dist, "capture", "mod.js"));
  const { memoryReplica, writeLtxFile } = await import(join(dist, "replica", "mod.js"));
  const { MemoryStore } = await import(join(dist, "store", "mod.js"));
  const seed = memoryReplica(new MemoryStore());
  await writeLtxFile(seed, 0, 1n, 1n, captureL0(null, image, { txid: 1n, timestamp: Date.now() }), Date.now());
  const storage = new MemoryVfsStorage();
  const h2 = await openCapturedDatabase(sqlite3, { storage, replicas: [seed], start: false, vfsName: `ab-seed-${n}`, name: `/ab-${n}.db` });
  await h2.sync();
  await h2.close();
  const h = await openCapturedDatabase(sqlite3, { storage, replicas: [memoryReplica(new MemoryStore())], start: false, vfsName: `ab-capture-${n}`, name: `/ab-${n}.db` });
  await h.sync();
  const v = { dist, h, w: workload(h.db, rows, 1), times: [], syncMs: 0, logMs: 0, commitMs: 0 };
  const log = h.vfs.log;
  const o = log.sync.bind(log);
  log.sync = (...a) => {
    const s = performance.now();
    try {
      return o(...a);
    } finally {
      v.logMs += performance.now() - s;
    }
  };
  const c = log.commit.bind(log);
  log.commit = (...a) => {
    const s = performance.now();
    try {
      return c(...a);
    } finally {
      v.commitMs += performance.now() - s;
    }
  };
  return v;
}
const caps = [];
for (const [i, d] of dists.entries()) caps.push(await captureOf(d, i));

const run = async (w, v) => {
  const t0 = performance.now();
  for (let i = 0; i < block; i++) {
    w.tx();
    if ((i + 1) % batch === 0) {
      if (v) {
        const s = performance.now();
        await v.h.sync();
        v.syncMs += performance.now() - s;
      } else await null;
    }
  }
  return performance.now() - t0;
};
for (let i = 0; i < 3; i++) {
  await run(wp, null);
  for (const v of caps) await run(v.w, v);
}
for (const v of caps) v.syncMs = v.logMs = v.commitMs = 0;
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
const P = [];
const load0 = loadavg()[0];
for (let b = 0; b < blocks; b++) {
  if (!onlyCapture) P.push(await run(wp, null));
  for (const v of caps) v.times.push(await run(v.w, v));
}
if (session) {
  const { profile } = await session.post("Profiler.stop");
  (await import("node:fs")).writeFileSync(prof, JSON.stringify(profile));
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const us = (ms) => ((ms * 1000) / block).toFixed(1);
const per = (ms) => ((ms * 1000) / (blocks * block)).toFixed(1);
console.log(`batch ${batch}, ${blocks} blocks of ${block} transactions, load ${load0.toFixed(1)}-${loadavg()[0].toFixed(1)}${onlyCapture ? "" : `; plain VFS ${us(med(P))} µs/tx`}`);
for (const v of caps) {
  const ratios = P.length ? P.map((p, i) => p / v.times[i]) : [];
  console.log(`  ${v.dist}: ${us(med(v.times))} µs/tx${ratios.length ? `, vs plain ${med(ratios).toFixed(2)} (blocks ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})` : ""}; sync ${per(v.syncMs)} µs/tx (log.sync ${per(v.logMs)}, log.commit ${per(v.commitMs)})`);
}
wp.finalize();
pdb.close();
for (const v of caps) {
  v.w.finalize();
  await v.h.close();
}
