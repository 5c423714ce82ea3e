// Capture of sqlite-wasm databases: transactions per second of one workload of small transactions
// on a database of --mib MiB, in sqlite-wasm (Node):
//   off      no capture (sqlite-wasm's in-memory database, journal_mode=MEMORY)
//   unix     no capture, through sqlite-wasm's default VFS on Emscripten's in-memory file system
//            (a VFS in JavaScript, as the capture VFS is)
//   vfs      the capture VFS (openCapturedDatabase, MemoryVfsStorage, a memory replica), synced and
//            shipped every --batch transactions
//   diff     today's whole-image capture: sqlite3_js_db_export + captureL0 every --batch transactions
// plus the memory each adds (RSS and ArrayBuffers above the uncaptured run, peak of the queued L0
// bytes) and the L0 bytes shipped per transaction. There is no Go counterpart (Go Litestream does
// not run in sqlite-wasm), so the ratios are against the uncaptured run and the image diff.
//   npm run build && node bench/capture/run.mjs [--mib 64] [--tx 2000] [--batch 1,100] [--runs 3]
// Each variant runs in a child process of its own (clean memory figures); medians of --runs runs.
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
  let t0, t1, base;
  if (variant === "off") {
    const db = loadMemdb(sqlite3, image);
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx(); // warm up
    base = mem();
    t0 = performance.now();
    for (let i = 0; i < txs; i++) {
      w.tx();
      if ((i + 1) % batch === 0) await null; // a yield per batch, as the others
    }
    t1 = performance.now();
    w.finalize();
    db.close();
  } else if (variant === "unix") {
    sqlite3.capi.sqlite3_js_posix_create_file("/bench.db", image);
    const db = new sqlite3.oo1.DB("/bench.db", "w");
    db.exec("PRAGMA journal_mode=MEMORY");
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx();
    base = mem();
    t0 = performance.now();
    for (let i = 0; i < txs; i++) {
      w.tx();
      if ((i + 1) % batch === 0) await null;
    }
    t1 = performance.now();
    w.finalize();
    db.close();
  } else if (variant === "vfs") {
    const { openCapturedDatabase, MemoryVfsStorage } = await import(join(root, "dist", "capture", "mod.js"));
    const { memoryReplica } = await import(join(root, "dist", "replica", "mod.js"));
    const { MemoryStore } = await import(join(root, "dist", "store", "mod.js"));
    // Start from the same database: restored into the storage from a replica holding its snapshot.
    const seed = memoryReplica(new MemoryStore());
    const { captureL0 } = await import(join(root, "dist", "capture", "mod.js"));
    const { writeLtxFile } = await import(join(root, "dist", "replica", "mod.js"));
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
    w.finalize();
    await h3.close();
  } else if (variant === "diff") {
    const { captureL0 } = await import(join(root, "dist", "capture", "mod.js"));
    const db = loadMemdb(sqlite3, image);
    const w = workload(db, rows, 1);
    for (let i = 0; i < 50; i++) w.tx();
    let prev = sqlite3.capi.sqlite3_js_db_export(db.pointer);
    let txid = 2n;
    base = mem();
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
    w.finalize();
    db.close();
  }
  const after = mem();
  process.stdout.write(JSON.stringify({ variant, batch, ms: t1 - t0, tps: txs / ((t1 - t0) / 1000), rss: after.rss - base.rss, ab: after.ab - base.ab, peakRss: after.rss, shippedPerTx: shipped / txs, peakQueue }) + "\n");
}

if (child) {
  await runChild(child, Number(arg("b", "1")));
  process.exit(0);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
for (const batch of batches) {
  for (const variant of ["off", "unix", "vfs", "diff"]) {
    const rs = [];
    for (let r = 0; r < runs; r++) {
      const out = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--child", variant, "--b", String(batch), "--mib", String(mib), "--tx", String(variant === "diff" && batch === 1 ? Math.min(txs, 50) : txs)], { encoding: "utf8", maxBuffer: 1 << 26 });
      if (out.status !== 0) {
        console.error(out.stderr);
        process.exit(1);
      }
      rs.push(JSON.parse(out.stdout.trim().split("\n").pop()));
    }
    results[`${variant}/${batch}`] = { tps: median(rs.map((x) => x.tps)), rss: median(rs.map((x) => x.peakRss)), grow: median(rs.map((x) => x.rss)), ab: median(rs.map((x) => x.ab)), shippedPerTx: median(rs.map((x) => x.shippedPerTx)), peakQueue: median(rs.map((x) => x.peakQueue)) };
  }
}
const f = (n) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
console.log(`capture of a ${mib} MiB sqlite-wasm database, ${txs} transactions (update one row + insert one 100-byte row), Node ${process.version}, median of ${runs}`);
console.log("batch = transactions per sync (an L0 file, or an export + diff); the diff at batch 1 runs 50 transactions; RSS growth = during the timed run");
console.log("variant       batch   tx/s      vs off   vs unix   vfs vs diff   peak RSS MiB   RSS growth MiB   L0 bytes/tx   peak queue KiB");
for (const batch of batches) {
  const off = results[`off/${batch}`];
  const unix = results[`unix/${batch}`];
  const vfs = results[`vfs/${batch}`];
  for (const v of ["off", "unix", "vfs", "diff"]) {
    const r = results[`${v}/${batch}`];
    const vsOff = (r.tps / off.tps).toFixed(3);
    const vsUnix = (r.tps / unix.tps).toFixed(3);
    const vsDiff = v === "diff" ? (vfs.tps / r.tps).toFixed(1) + "x" : "";
    console.log(`${v.padEnd(12)}  ${String(batch).padStart(5)}   ${f(r.tps).padStart(7)}   ${vsOff.padStart(6)}   ${vsUnix.padStart(7)}   ${vsDiff.padStart(11)}   ${(r.rss / 1048576).toFixed(0).padStart(12)}   ${(r.grow / 1048576).toFixed(1).padStart(14)}   ${v === "off" || v === "unix" ? "".padStart(11) : f(r.shippedPerTx).padStart(11)}   ${v === "vfs" ? (r.peakQueue / 1024).toFixed(1).padStart(14) : ""}`);
  }
}
