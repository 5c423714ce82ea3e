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

const ROW = 1000; // bytes per row of the initial database

async function loadSqlite() {
  const mod = await import("@sqlite.org/sqlite-wasm");
  return mod.default({ print: () => {}, printErr: () => {} });
}

/** Builds the initial database in memory and returns its image. */
function buildImage(sqlite3) {
  const db = new sqlite3.oo1.DB(":memory:", "c");
  db.exec("PRAGMA page_size=4096; PRAGMA journal_mode=MEMORY; CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, b BLOB)");
  const rows = Math.ceil((mib << 20) / (ROW + 40));
  db.exec(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) INSERT INTO t(n, b) SELECT 0, randomblob(${ROW}) FROM c`);
  const image = sqlite3.capi.sqlite3_js_db_export(db.pointer);
  db.close();
  return { image, rows };
}

function loadMemdb(sqlite3, image) {
  const db = new sqlite3.oo1.DB(":memory:", "c");
  const p = sqlite3.wasm.allocFromTypedArray(image);
  const rc = sqlite3.capi.sqlite3_deserialize(db.pointer, "main", p, image.length, image.length, sqlite3.capi.SQLITE_DESERIALIZE_FREEONCLOSE | sqlite3.capi.SQLITE_DESERIALIZE_RESIZEABLE);
  if (rc) throw new Error(`deserialize: ${rc}`);
  db.exec("PRAGMA journal_mode=MEMORY");
  return db;
}

/**
 * A plain in-memory VFS in JavaScript, the uncaptured counterpart of the capture VFS: the same
 * sqlite-wasm VFS machinery (a JS callback per xRead/xWrite/xLock/...), pages in a Map written in
 * place, one connection (locks always granted), xSync a no-op, other files in memory.
 */
function installPlainVfs(sqlite3, image, name) {
  const { capi, wasm } = sqlite3;
  const ps = 4096;
  const pages = new Map();
  for (let i = 0; i < image.length / ps; i++) pages.set(i + 1, image.slice(i * ps, (i + 1) * ps));
  let size = image.length;
  const files = new Map();
  const io = new capi.sqlite3_io_methods();
  io.$iVersion = 1;
  sqlite3.vfs.installVfs({
    io: {
      struct: io,
      methods: {
        xClose: (p) => (files.delete(p), 0),
        xRead(p, dst, n, off) {
          const f = files.get(p);
          const o = Number(off);
          const h = wasm.heap8u();
          if (f.main) {
            if (n === ps && o % ps === 0) {
              const pg = pages.get(o / ps + 1);
              if (!pg) return (h.fill(0, dst, dst + n), 522);
              h.set(pg, dst);
              return 0;
            }
            const pg = pages.get(Math.floor(o / ps) + 1);
            if (!pg || o + n > size) return (h.fill(0, dst, dst + n), 522);
            h.set(pg.subarray(o % ps, (o % ps) + n), dst);
            return 0;
          }
          const k = Math.max(0, Math.min(n, f.size - o));
          if (k > 0) h.set(f.data.subarray(o, o + k), dst);
          if (k < n) return (h.fill(0, dst + k, dst + n), 522);
          return 0;
        },
        xWrite(p, src, n, off) {
          const f = files.get(p);
          const o = Number(off);
          const h = wasm.heap8u();
          if (f.main) {
            const pgno = o / ps + 1;
            const pg = pages.get(pgno);
            if (pg) pg.set(h.subarray(src, src + n));
            else pages.set(pgno, h.slice(src, src + n));
            if (o + n > size) size = o + n;
            return 0;
          }
          if (o + n > f.data.length) {
            const d = new Uint8Array(Math.max(o + n, f.data.length * 2));
            d.set(f.data.subarray(0, f.size));
            f.data = d;
          }
          f.data.set(h.subarray(src, src + n), o);
          if (o + n > f.size) f.size = o + n;
          return 0;
        },
        xTruncate(p, sz) {
          const f = files.get(p);
          const n = Number(sz);
          if (f.main) {
            for (const k of pages.keys()) if (k > n / ps) pages.delete(k);
            size = Math.min(size, n);
          } else f.size = Math.min(f.size, n);
          return 0;
        },
        xSync: () => 0,
        xFileSize(p, out) {
          const f = files.get(p);
          wasm.poke64(out, BigInt(f.main ? size : f.size));
          return 0;
        },
        xLock: () => 0,
        xUnlock: () => 0,
        xCheckReservedLock: (p, out) => (wasm.poke32(out, 0), 0),
        xFileControl: () => 12,
        xSectorSize: () => 4096,
        xDeviceCharacteristics: () => 0x1000,
      },
    },
  });
  const vfs = new capi.sqlite3_vfs();
  const dflt = new capi.sqlite3_vfs(capi.sqlite3_vfs_find(null));
  vfs.$iVersion = 2;
  vfs.$szOsFile = capi.sqlite3_file.structInfo.sizeof;
  vfs.$mxPathname = 1024;
  vfs.$xRandomness = dflt.$xRandomness;
  vfs.$xSleep = dflt.$xSleep;
  vfs.$xCurrentTime = dflt.$xCurrentTime;
  vfs.$xCurrentTimeInt64 = dflt.$xCurrentTimeInt64;
  sqlite3.vfs.installVfs({
    vfs: {
      struct: vfs,
      name,
      methods: {
        xOpen(_v, zName, pFile, flags, pOut) {
          files.set(pFile, flags & 0x100 ? { main: true } : { main: false, data: new Uint8Array(0), size: 0 });
          const f = new capi.sqlite3_file(pFile);
          f.$pMethods = io.pointer;
          f.dispose();
          if (pOut) wasm.poke32(pOut, flags);
          return 0;
        },
        xDelete: () => 0,
        xAccess(_v, zName, _f, pOut) {
          wasm.poke32(pOut, wasm.cstrToJs(zName) === "/plain.db" ? 1 : 0);
          return 0;
        },
        xFullPathname: (_v, zName, n, pOut) => (wasm.cstrncpy(pOut, zName, n) < n ? 0 : 14),
      },
    },
  });
}

/** One small transaction: an update of a random row and an insert of a 100-byte row. */
function workload(db, rows, seed) {
  let x = seed >>> 0;
  const next = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0), x);
  const upd = db.prepare("UPDATE t SET n = n + 1 WHERE id = ?");
  const ins = db.prepare("INSERT INTO t(n, b) VALUES (?, randomblob(100))");
  return {
    tx() {
      db.exec("BEGIN");
      upd.bind(1, (next() % rows) + 1).stepReset();
      ins.bind(1, next()).stepReset();
      db.exec("COMMIT");
    },
    finalize() {
      upd.finalize();
      ins.finalize();
    },
  };
}

function mem() {
  const m = process.memoryUsage();
  return { rss: m.rss, ab: m.arrayBuffers };
}

async function runChild(variant, batch) {
  const sqlite3 = await loadSqlite();
  const { image, rows } = buildImage(sqlite3);
  globalThis.gc?.();
  let shipped = 0;
  let peakQueue = 0;
  let t0, t1, c0, c1, base;
  if (variant === "off") {
    const db = loadMemdb(sqlite3, image);
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx(); // warm up
    base = mem();
    await profStart();
    c0 = process.cpuUsage();
    t0 = performance.now();
    for (let i = 0; i < txs; i++) {
      w.tx();
      if ((i + 1) % batch === 0) await null; // a yield per batch, as the others
    }
    t1 = performance.now();
    c1 = process.cpuUsage(c0);
    await profStop();
    w.finalize();
    db.close();
  } else if (variant === "unix") {
    sqlite3.capi.sqlite3_js_posix_create_file("/bench.db", image);
    const db = new sqlite3.oo1.DB("/bench.db", "w");
    db.exec("PRAGMA journal_mode=MEMORY");
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx();
    base = mem();
    await profStart();
    c0 = process.cpuUsage();
    t0 = performance.now();
    for (let i = 0; i < txs; i++) {
      w.tx();
      if ((i + 1) % batch === 0) await null;
    }
    t1 = performance.now();
    c1 = process.cpuUsage(c0);
    await profStop();
    w.finalize();
    db.close();
  } else if (variant === "jsvfs") {
    installPlainVfs(sqlite3, image, "bench-plain");
    const db = new sqlite3.oo1.DB({ filename: "/plain.db", vfs: "bench-plain" });
    db.exec("PRAGMA journal_mode=MEMORY");
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx();
    base = mem();
    await profStart();
    c0 = process.cpuUsage();
    t0 = performance.now();
    for (let i = 0; i < txs; i++) {
      w.tx();
      if ((i + 1) % batch === 0) await null;
    }
    t1 = performance.now();
    c1 = process.cpuUsage(c0);
    await profStop();
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
    base = mem();
    await profStart();
    c0 = process.cpuUsage();
    t0 = performance.now();
    for (let i = 0; i < txs; i++) {
      w.tx();
      if ((i + 1) % batch === 0) {
        const q = h3.status().queue.bytes;
        await h3.sync();
        if (q > peakQueue) peakQueue = q;
      }
    }
    await h3.sync();
    t1 = performance.now();
    c1 = process.cpuUsage(c0);
    await profStop();
    w.finalize();
    await h3.close();
  } else if (variant === "diff") {
    const { captureL0 } = await import(join(dist, "capture", "mod.js"));
    const db = loadMemdb(sqlite3, image);
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx();
    let prev = sqlite3.capi.sqlite3_js_db_export(db.pointer);
    let txid = 2n;
    base = mem();
    await profStart();
    c0 = process.cpuUsage();
    t0 = performance.now();
    for (let i = 0; i < txs; i++) {
      w.tx();
      if ((i + 1) % batch === 0) {
        const cur = sqlite3.capi.sqlite3_js_db_export(db.pointer);
        const f = captureL0(prev, cur, { txid: txid++, timestamp: Date.now() });
        if (f) shipped += f.length;
        prev = cur;
        await null;
      }
    }
    t1 = performance.now();
    c1 = process.cpuUsage(c0);
    await profStop();
    w.finalize();
    db.close();
  }
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
console.log("variant  batch    tx/s   vs jsvfs            CPU vs jsvfs        vs unix             vs off              vfs vs diff   peak RSS MiB  RSS growth MiB  L0 bytes/tx  peak queue KiB");
for (const batch of batches) {
  for (const v of VARIANTS) {
    const r = results[`${v}/${batch}`];
    const vsDiff = v === "diff" && raw[`vfs/${batch}`] ? fr(ratio("vfs", "diff", batch)) : "";
    console.log(`${v.padEnd(7)}  ${String(batch).padStart(5)}  ${f(r.tps).padStart(6)}   ${fr(ratio(v, "jsvfs", batch)).padEnd(18)}  ${fr(ratio(v, "jsvfs", batch, "cpuTps")).padEnd(18)}  ${fr(ratio(v, "unix", batch)).padEnd(18)}  ${fr(ratio(v, "off", batch)).padEnd(18)}  ${vsDiff.padEnd(12)}  ${(r.rss / 1048576).toFixed(0).padStart(12)}  ${(r.grow / 1048576).toFixed(1).padStart(14)}  ${v === "vfs" || v === "diff" ? f(r.shippedPerTx).padStart(11) : "".padStart(11)}  ${v === "vfs" ? (r.peakQueue / 1024).toFixed(1).padStart(14) : ""}`);
  }
}
