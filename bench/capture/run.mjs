// Capture of sqlite-wasm databases: transactions per second of one workload of small transactions
// on a database of --mib MiB, in sqlite-wasm (Node):
//   off      no capture (sqlite-wasm's in-memory database, journal_mode=MEMORY)
//   unix     no capture, through sqlite-wasm's default VFS on Emscripten's in-memory file system
//            (a VFS in JavaScript, as the capture VFS is)
//   jsvfs    no capture, through a plain in-memory VFS in JavaScript (installPlainVfs below): the
//            uncaptured counterpart of the capture VFS, the baseline of the ≥ 0.9x target
//   vfs      the capture VFS (openCapturedDatabase, MemoryVfsStorage, a memory replica), synced and
//            shipped every --batch transactions
//   diff     today's whole-image capture: sqlite3_js_db_export + captureL0 every --batch transactions
// plus the memory each adds (RSS and ArrayBuffers above the uncaptured run, peak of the queued L0
// bytes) and the L0 bytes shipped per transaction. There is no Go counterpart (Go Litestream does
// not run in sqlite-wasm), so the ratios are against the uncaptured run and the image diff.
//   npm run build && node bench/capture/run.mjs [--mib 64] [--tx 2000] [--batch 1,100] [--runs 3]
//     [--variants off,unix,jsvfs,vfs,diff] (off, unix and jsvfs always run: the ratios need them)
// Each variant runs in a child process of its own (clean memory figures); --runs interleaved rounds
// (every variant once per round), medians and the min-max spread of the per-round ratios.
// --child <variant> --b <batch> [--profile out.cpuprofile] runs one variant, profiling the timed loop.
import { spawnSync } from "node:child_process";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { buildImage as buildImageOf, installPlainVfs, workload } from "./shared.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const argv = process.argv;
const arg = (n, d) => {
  const i = argv.indexOf(`--${n}`);
  return i > 0 ? argv[i + 1] : d;
};
const mib = Number(arg("mib", 64));
const txs = Number(arg("tx", 2000));
const batches = String(arg("batch", "1,100")).split(",").map(Number);
const runs = Number(arg("runs", 3));
const child = arg("child", null);
const dist = arg("dist", join(root, "dist")); // the built library to measure (default: this checkout's dist/)
const profOut = arg("profile", null); // child only: write a CPU profile of the timed loop to this file

let session = null;
async function profStart() {
  if (!profOut) return;
  const { Session } = await import("node:inspector/promises");
  session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 }); // µs: enough samples for per-call costs
  await session.post("Profiler.start");
}
async function profStop() {
  if (!session) return;
  const { profile } = await session.post("Profiler.stop");
  const { writeFileSync } = await import("node:fs");
  writeFileSync(profOut, JSON.stringify(profile));
  session.disconnect();
}

async function loadSqlite() {
  const mod = await import("@sqlite.org/sqlite-wasm");
  return mod.default({ print: () => {}, printErr: () => {} });
}

function loadMemdb(sqlite3, image) {
  const db = new sqlite3.oo1.DB(":memory:", "c");
  const p = sqlite3.wasm.allocFromTypedArray(image);
  const rc = sqlite3.capi.sqlite3_deserialize(db.pointer, "main", p, image.length, image.length, sqlite3.capi.SQLITE_DESERIALIZE_FREEONCLOSE | sqlite3.capi.SQLITE_DESERIALIZE_RESIZEABLE);
  if (rc) throw new Error(`deserialize: ${rc}`);
  db.exec("PRAGMA journal_mode=MEMORY");
  return db;
}

function mem() {
  const m = process.memoryUsage();
  return { rss: m.rss, ab: m.arrayBuffers };
}

/**
 * The timed loop every variant shares: `txs` transactions of the workload `w`, `afterBatch` awaited
 * after every `batch` of them (a sync, an export, or a bare yield) and `end` after the last; memory,
 * CPU and wall time around it.
 */
async function timed(w, batch, afterBatch, end = () => null) {
  globalThis.gc?.(); // the set-up's garbage is not the loop's memory
  const base = mem();
  await profStart();
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < txs; i++) {
    w.tx();
    if ((i + 1) % batch === 0) await afterBatch();
  }
  await end();
  const t1 = performance.now();
  const c1 = process.cpuUsage(c0);
  await profStop();
  return { base, t0, t1, c1 };
}

async function runChild(variant, batch) {
  const sqlite3 = await loadSqlite();
  const { image, rows } = buildImageOf(sqlite3, mib);
  globalThis.gc?.();
  let shipped = 0;
  let peakQueue = 0;
  let t0, t1, c1, base;
  if (variant === "off") {
    const db = loadMemdb(sqlite3, image);
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx(); // warm up
    ({ base, t0, t1, c1 } = await timed(w, batch, () => null)); // a yield per batch, as the others
    w.finalize();
    db.close();
  } else if (variant === "unix") {
    sqlite3.capi.sqlite3_js_posix_create_file("/bench.db", image);
    const db = new sqlite3.oo1.DB("/bench.db", "w");
    db.exec("PRAGMA journal_mode=MEMORY");
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx();
    ({ base, t0, t1, c1 } = await timed(w, batch, () => null));
    w.finalize();
    db.close();
  } else if (variant === "jsvfs") {
    installPlainVfs(sqlite3, image, "bench-plain");
    const db = new sqlite3.oo1.DB({ filename: "/plain.db", vfs: "bench-plain" });
    db.exec("PRAGMA journal_mode=MEMORY");
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx();
    ({ base, t0, t1, c1 } = await timed(w, batch, () => null));
    w.finalize();
    db.close();
  } else if (variant === "vfs") {
    const { openCapturedDatabase, MemoryVfsStorage } = await import(join(dist, "capture", "mod.js"));
    const { memoryReplica } = await import(join(dist, "replica", "mod.js"));
    const { MemoryStore } = await import(join(dist, "store", "mod.js"));
    // Start from the same database: restored into the storage from a replica holding its snapshot.
    const seed = memoryReplica(new MemoryStore());
    const { captureL0 } = await import(join(dist, "capture", "mod.js"));
    const { writeLtxFile } = await import(join(dist, "replica", "mod.js"));
    await writeLtxFile(seed, 0, 1n, 1n, captureL0(null, image, { txid: 1n, timestamp: Date.now() }), Date.now());
    const store = new MemoryStore();
    const origPut = store.put.bind(store);
    store.put = async (key, body, o) => {
      const r = await origPut(key, body, o);
      if (key.includes("/0/")) shipped += r.size;
      return r;
    };
    const replica = memoryReplica(store);
    const storage = new MemoryVfsStorage();
    const h2 = await openCapturedDatabase(sqlite3, { storage, replicas: [seed], start: false });
    await h2.sync();
    await h2.close();
    const h3 = await openCapturedDatabase(sqlite3, { storage, replicas: [replica], start: false });
    await h3.sync(); // the first sync ships every page once (the replica is empty): not timed
    shipped = 0;
    const w = workload(h3.db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx();
    await h3.sync();
    shipped = 0;
    ({ base, t0, t1, c1 } = await timed(w, batch, async () => {
      const q = h3.status().queue.bytes;
      await h3.sync();
      if (q > peakQueue) peakQueue = q;
    }, () => h3.sync()));
    w.finalize();
    await h3.close();
  } else if (variant === "diff") {
    const { captureL0 } = await import(join(dist, "capture", "mod.js"));
    const db = loadMemdb(sqlite3, image);
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx();
    let prev = sqlite3.capi.sqlite3_js_db_export(db.pointer);
    let txid = 2n;
    ({ base, t0, t1, c1 } = await timed(w, batch, () => {
      const cur = sqlite3.capi.sqlite3_js_db_export(db.pointer);
      const f = captureL0(prev, cur, { txid: txid++, timestamp: Date.now() });
      if (f) shipped += f.length;
      prev = cur;
      return null;
    }));
    w.finalize();
    db.close();
  }
  globalThis.gc?.(); // what stays, not garbage not yet collected
  const after = mem();
  process.stdout.write(JSON.stringify({ variant, batch, ms: t1 - t0, tps: txs / ((t1 - t0) / 1000), cpuTps: txs / ((c1.user + c1.system) / 1e6), rss: after.rss - base.rss, ab: after.ab - base.ab, peakRss: after.rss, shippedPerTx: shipped / txs, peakQueue }) + "\n");
}

if (child) {
  await runChild(child, Number(arg("b", "1")));
  process.exit(0);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const wanted = String(arg("variants", "off,unix,jsvfs,vfs,diff")).split(",");
// off, unix and jsvfs always run: every ratio is against them.
const VARIANTS = ["off", "unix", "jsvfs", "vfs", "diff"].filter((v) => ["off", "unix", "jsvfs"].includes(v) || wanted.includes(v));
const { loadavg } = await import("node:os");
const load0 = loadavg();
// Interleaved rounds: each round runs every variant once, so a change of the machine's load hits
// all variants alike; the spread (min-max over rounds) of the ratios shows how much it moved them.
const raw = {};
for (let r = 0; r < runs; r++) {
  for (const batch of batches) {
    for (const variant of VARIANTS) {
      const out = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--child", variant, "--b", String(batch), "--mib", String(mib), "--dist", dist, "--tx", String(variant === "diff" && batch === 1 ? Math.min(txs, 50) : txs)], { encoding: "utf8", maxBuffer: 1 << 26 });
      if (out.status !== 0) {
        console.error(out.stderr);
        process.exit(1);
      }
      (raw[`${variant}/${batch}`] ??= []).push(JSON.parse(out.stdout.trim().split("\n").pop()));
    }
  }
}
const load1 = loadavg();
const results = {};
for (const [k, rs] of Object.entries(raw)) results[k] = { tps: median(rs.map((x) => x.tps)), rss: median(rs.map((x) => x.peakRss)), grow: median(rs.map((x) => x.rss)), ab: median(rs.map((x) => x.ab)), shippedPerTx: median(rs.map((x) => x.shippedPerTx)), peakQueue: median(rs.map((x) => x.peakQueue)), all: rs.map((x) => x.tps) };
/** Per-round ratio of variant a to variant b (same round, same batch): median and min-max. */
const ratio = (a, b, batch, field = "tps") => {
  const xs = raw[`${a}/${batch}`].map((x, i) => x[field] / raw[`${b}/${batch}`][i][field]);
  return { med: median(xs), min: Math.min(...xs), max: Math.max(...xs) };
};
const f = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
const fr = (r) => `${r.med.toFixed(2)} (${r.min.toFixed(2)}-${r.max.toFixed(2)})`;
console.log(`capture of a ${mib} MiB sqlite-wasm database, ${txs} transactions (update one row + insert one 100-byte row), Node ${process.version}, ${runs} interleaved rounds`);
console.log(`load average ${load0.map((x) => x.toFixed(1)).join(" ")} at start, ${load1.map((x) => x.toFixed(1)).join(" ")} at end, ${(await import("node:os")).cpus().length} cores`);
console.log("all variants: page size 4096, journal_mode=MEMORY, default synchronous (FULL) and cache_size; off = memdb (C), unix = sqlite-wasm's unix VFS on Emscripten's MEMFS, jsvfs = a plain in-memory JavaScript VFS (pages in a Map, written in place), vfs = the capture VFS + sync + ship to a memory replica every batch");
console.log("batch = transactions per sync (an L0 file, or an export + diff); the diff at batch 1 runs 50 transactions; ratios: median (min-max) of the per-round ratios");
console.log("tx/s and the vs columns are wall time; 'CPU' is transactions per CPU second of the process (user + system, every thread), less moved by other processes on a shared machine");
console.log("variant  batch    tx/s   vs jsvfs            CPU vs jsvfs        vs unix             vs off              vfs vs diff   peak RSS MiB  RSS growth MiB  ArrayBuffers MiB  L0 bytes/tx  peak queue KiB");
for (const batch of batches) {
  for (const v of VARIANTS) {
    const r = results[`${v}/${batch}`];
    const vsDiff = v === "diff" && raw[`vfs/${batch}`] ? fr(ratio("vfs", "diff", batch)) : "";
    console.log(`${v.padEnd(7)}  ${String(batch).padStart(5)}  ${f(r.tps).padStart(6)}   ${fr(ratio(v, "jsvfs", batch)).padEnd(18)}  ${fr(ratio(v, "jsvfs", batch, "cpuTps")).padEnd(18)}  ${fr(ratio(v, "unix", batch)).padEnd(18)}  ${fr(ratio(v, "off", batch)).padEnd(18)}  ${vsDiff.padEnd(12)}  ${(r.rss / 1048576).toFixed(0).padStart(12)}  ${(r.grow / 1048576).toFixed(1).padStart(14)}  ${(r.ab / 1048576).toFixed(1).padStart(16)}  ${v === "vfs" || v === "diff" ? f(r.shippedPerTx).padStart(11) : "".padStart(11)}  ${v === "vfs" ? (r.peakQueue / 1024).toFixed(1).padStart(14) : ""}`);
  }
}
