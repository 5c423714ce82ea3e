// The application of bench/replicate: better-sqlite3 in WAL mode writing small transactions to N
// database files, at a fixed rate and then in a burst; optionally replicating them in-process with
// ltxkit's replicate() (library mode). Driven by run.mjs; prints phase lines on stdout:
//   ready <t>        databases open (and, in library mode, the first sync of each done)
//   load-end <t> <steadyCommits> <burstCommits> <burstMs>
//   idle-start <t>   idle-end <t>
// and writes the commit records of the sampled databases as JSON to `out`:
//   [db, t (ms epoch, float), salt (hex of the wal-index salts), mxFrame] per commit.
import { closeSync, openSync, readSync, writeFileSync } from "node:fs";
import { setImmediate as yieldLoop } from "node:timers/promises";
import Database from "better-sqlite3";

const cfg = JSON.parse(process.argv[2]);
const { dbs, sampled, rate, steadyMs, burstMs, drainMs, idleMs, autocheckpoint, out, mode, replicaUrls, options, dist } = cfg;
const now = () => performance.timeOrigin + performance.now();
const conns = dbs.map((path) => {
  const c = new Database(path);
  c.pragma("journal_mode = WAL");
  c.pragma("synchronous = NORMAL");
  c.pragma(`wal_autocheckpoint = ${autocheckpoint}`);
  c.pragma("busy_timeout = 5000");
  return { c, ins: c.prepare("INSERT INTO t (v) VALUES (?)") };
});

let handles = [];
if (mode === "lib") {
  const { replicate } = await import(`${dist}/adapters/node.js`);
  handles = await Promise.all(dbs.map((p, i) => replicate(p, replicaUrls[i], options)));
  // Replication errors are reported to the bench (they are also what delays a commit's lag).
  handles.forEach((h, i) => h.addEventListener("error", (e) => console.log(`error ${now()} db-${i}: ${String(e.detail.error?.message ?? e.detail.error).replace(/\n/g, " ")}`)));
  await Promise.all(handles.map((h) => h.sync()));
}

// The wal-index header (the -shm file's first 48 bytes, native byte order): mxFrame at 16, salts at
// 32. SQLite keeps two copies of it (bytes 0..47 and 48..95) and writes the second first: a sidecar
// writing the header while it is read here (a WAL restart) can leave a torn first copy, so the
// read is repeated until both copies agree, as SQLite's readers do.
const shm = new Map(sampled.map((i) => [i, openSync(`${dbs[i]}-shm`, "r")]));
const both = new Uint8Array(96);
const hdr = both.subarray(0, 48);
const hdrView = new DataView(both.buffer, 0, 48);
function readHeader(fd) {
  for (let k = 0; k < 1000; k++) {
    readSync(fd, both, 0, 96, 0);
    let same = true;
    for (let j = 0; j < 48 && same; j++) same = both[j] === both[48 + j];
    if (same) return;
  }
  throw new Error("wal-index header copies never agree");
}
const records = [];
const payload = "x".repeat(150);
let seq = 0;
function commit(i) {
  const { ins } = conns[i];
  ins.run(`${seq++} ${payload}`); // autocommit: one transaction
  const t = now();
  const fd = shm.get(i);
  if (fd !== undefined) {
    readHeader(fd);
    records.push([i, t, Buffer.from(hdr.subarray(32, 40)).toString("hex"), hdrView.getUint32(16, true)]);
  }
}

console.log(`ready ${now()}`);
// Fixed rate: commit k is due at start + k / rate, round robin over the databases.
const start = now();
let k = 0;
while (now() - start < steadyMs) {
  const due = start + (k * 1000) / rate;
  const wait = due - now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  commit(k % dbs.length);
  k++;
}
const steady = k;
// Burst: as fast as one thread commits, yielding to the event loop every 20 commits.
const b0 = now();
console.log(`burst-start ${b0}`);
let burst = 0;
while (now() - b0 < burstMs) {
  for (let j = 0; j < 20; j++) commit((k + burst++) % dbs.length);
  await yieldLoop();
}
const burstTook = now() - b0;
console.log(`load-end ${now()} ${steady} ${burst} ${burstTook}`);
// Drain past the next level-1 compaction (windows aligned to the epoch), so idle starts idle.
const tEnd = now();
await new Promise((r) => setTimeout(r, Math.max(drainMs, Math.ceil(tEnd / cfg.l1Ms) * cfg.l1Ms + 2000 - tEnd)));
console.log(`idle-start ${now()}`);
await new Promise((r) => setTimeout(r, idleMs));
console.log(`idle-end ${now()}`);
writeFileSync(out, JSON.stringify(records));
for (const fd of shm.values()) closeSync(fd);
// Wait for the parent to read CPU and RSS, then close.
await new Promise((r) => process.stdin.once("data", r));
await Promise.all(handles.map((h) => h.close()));
console.log(`closed ${now()}`);
for (const { c } of conns) c.close();
process.exit(0);
