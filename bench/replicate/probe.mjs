#!/usr/bin/env node
// bench/replicate/probe.mjs: where the commit-to-durable time of `replicate()` goes, one database,
// in the application's process (as the `lib`/`event` variants of run.mjs). The application
// (better-sqlite3, WAL mode, 150-byte inserts) commits at --rate per second for --steady s, then
// bursts for --burst s (yielding every 20 commits). The ltxkit build (--dist) is instrumented from
// outside: each capture (WalSource.sync), each store put (local L0 and replica), each fsync, each
// checkpoint and each watch callback is timed. A commit counts as captured by the first capture
// whose WAL read started after it returned, and durable when that capture's first file is uploaded
// ("upload" event). Prints, for the steady and the burst phase, the lag p50/p99/max and its parts:
//   wait     commit returned → the capture covering it starts
//   capture  that capture (WAL read, encode, local L0 write with its fsyncs, checkpoint policy;
//            its first file is reported written, and uploaded, before the checkpoint)
//   queue    capture end → upload of its first file starts (negative: started during the capture)
//   upload   that upload (read of the local file, put to the replica with its fsyncs)
// plus per-capture / per-upload averages of fsync time, the number of watch callbacks, and the
// event-loop delay. Not a benchmark of record (no Go side): a diagnostic.
//
//   npm run build && node bench/replicate/probe.mjs [--event] [--target file|s3] [--rate 50]
//          [--steady 4] [--burst 3] [--event-interval MS] [--dist DIR]
import { mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setImmediate as yieldLoop } from "node:timers/promises";
import { promises as fsp } from "node:fs";
import Database from "better-sqlite3";

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const arg = (n, d) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1] : d);
const dist = arg("dist", join(here, "..", "..", "dist"));
const event = argv.includes("--event");
const target = arg("target", "file");
const rate = Number(arg("rate", 50));
const steadyMs = Number(arg("steady", 4)) * 1000;
const burstMs = Number(arg("burst", 3)) * 1000;
const now = () => performance.timeOrigin + performance.now();

// ---- instrumentation (before the modules are used)
const spans = []; // { kind, t0, t1, ...}
const span = (kind, extra = {}) => {
  const s = { kind, t0: now(), t1: NaN, ...extra };
  spans.push(s);
  return (more) => {
    s.t1 = now();
    if (more) Object.assign(s, more);
  };
};
const fh = await fsp.open(here, "r");
const FH = Object.getPrototypeOf(fh);
await fh.close();
const origSync = FH.sync;
FH.sync = async function () {
  const end = span("fsync");
  try {
    return await origSync.call(this);
  } finally {
    end();
  }
};
const { FsStore } = await import(join(dist, "adapters", "fs-store.js"));
const origPut = FsStore.prototype.put;
FsStore.prototype.put = async function (key, body, opts) {
  const end = span("put", { root: this.root, key });
  let r;
  try {
    return (r = await origPut.call(this, key, body, opts));
  } finally {
    end({ size: r?.size });
  }
};
const { S3Store } = await import(join(dist, "store", "s3.js"));
const origS3Put = S3Store.prototype.put;
S3Store.prototype.put = async function (key, body, opts) {
  const end = span("put", { root: "s3", key });
  try {
    return await origS3Put.call(this, key, body, opts);
  } finally {
    end();
  }
};
const { LitestreamConnections } = await import(join(dist, "capture", "litestream-conn.js"));
const origCk = LitestreamConnections.prototype.checkpoint;
LitestreamConnections.prototype.checkpoint = function (mode) {
  const end = span("checkpoint", { mode });
  try {
    return origCk.call(this, mode);
  } finally {
    end();
  }
};
const { nodeFileAccess } = await import(join(dist, "adapters", "fs-random.js"));
const origWatch = nodeFileAccess.watch;
let watchCalls = 0;
nodeFileAccess.watch = function (path, on) {
  return origWatch.call(this, path, () => {
    watchCalls++;
    on();
  });
};
const { replicate } = await import(join(dist, "adapters", "node.js"));

// ---- the database and the replication
const dir = join(tmpdir(), `ltxkit-probe-${process.pid}`);
mkdirSync(dir, { recursive: true });
const path = join(dir, "db.db");
const c = new Database(path);
c.pragma("journal_mode = WAL");
c.pragma("synchronous = NORMAL");
c.pragma("wal_autocheckpoint = 0");
c.pragma("busy_timeout = 5000");
c.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
const ins = c.prepare("INSERT INTO t (v) VALUES (?)");
let url = `file://${join(dir, "replica")}`;
let env = process.env;
const prefix = `ltxkit-probe-${process.pid}-${Date.now().toString(36)}`;
if (target === "s3") {
  if (!process.env.LTXKIT_S3_ENDPOINT) throw new Error('S3: eval "$(cat /tmp/rgw.env)"');
  url = `s3://${process.env.LTXKIT_S3_BUCKET}/${prefix}?endpoint=${process.env.LTXKIT_S3_ENDPOINT}&region=${process.env.AWS_REGION || "us-east-1"}&forcePathStyle=true`;
  env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
}
const h = await replicate(path, url, { monitorInterval: 1000, syncInterval: 1000, compaction: { levels: [10_000, 300_000, 3_600_000] }, eventDriven: event, env, ...(arg("event-interval", null) !== null ? { eventInterval: Number(arg("event-interval")) } : {}) });
const captures = []; // { t0, t1, txid }
const src = h.source;
const origSrcSync = src.sync.bind(src);
src.sync = () => {
  const s = { t0: now(), t1: NaN, txid: 0n };
  captures.push(s);
  return origSrcSync().then((txid) => {
    s.t1 = now();
    s.txid = txid;
    return txid;
  });
};
const uploads = new Map(); // txid -> time the upload of it ended
h.addEventListener("upload", (e) => {
  for (let t = e.detail.minTXID; t <= e.detail.maxTXID; t++) uploads.set(t, now());
});
h.addEventListener("error", (e) => console.error("error", e.detail.error?.message));
await h.sync();
const put0 = spans.length;

// ---- the workload
const commits = []; // [t, phase]
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
let seq = 0;
const payload = "x".repeat(150);
const start = now();
for (let k = 0; now() - start < steadyMs; k++) {
  const wait = start + (k * 1000) / rate - now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  ins.run(`${seq++} ${payload}`);
  commits.push([now(), 0]);
}
const b0 = now();
const steadyLoop = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
loop.reset();
while (now() - b0 < burstMs) {
  for (let j = 0; j < 20; j++) {
    ins.run(`${seq++} ${payload}`);
    commits.push([now(), 1]);
  }
  await yieldLoop();
}
const burstLoop = { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
const burstRate = commits.filter((x) => x[1] === 1).length / ((now() - b0) / 1000);
await h.sync();
await new Promise((r) => setTimeout(r, 300));
loop.disable();

// ---- attribution
const done = captures.filter((s) => s.txid > 0n).sort((a, b) => a.t0 - b.t0);
const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : NaN);
const uploadStart = (txid) => {
  // the replica put of this TXID's file
  const name = `${txid.toString(16).padStart(16, "0")}-${txid.toString(16).padStart(16, "0")}.ltx`;
  return spans.find((s) => s.kind === "put" && !s.root.includes("-litestream") && s.key?.endsWith(name));
};
const out = [];
for (const phase of [0, 1]) {
  const rows = [];
  for (const [t, ph] of commits) {
    if (ph !== phase) continue;
    // the first capture that started after the commit and wrote a file: its first file covers it
    const ci = done.findIndex((s, i) => s.t0 >= t && s.txid > (done[i - 1]?.txid ?? 0n));
    if (ci < 0) continue;
    const cap = done[ci];
    const txid = (done[ci - 1]?.txid ?? 0n) + 1n;
    const dur = uploads.get(txid);
    if (dur === undefined) continue;
    const up = uploadStart(txid);
    const upT0 = up ? up.t0 : dur;
    rows.push({ lag: dur - t, wait: cap.t0 - t, capture: cap.t1 - cap.t0, queue: upT0 - cap.t1, upload: dur - upT0 });
  }
  rows.sort((a, b) => a.lag - b.lag);
  const p99row = rows[Math.min(rows.length - 1, Math.floor(0.99 * rows.length))];
  const partP = (k, p) => pct(rows.map((r) => r[k]).sort((a, b) => a - b), p);
  out.push({ phase: phase ? "burst" : "steady", n: rows.length, lag: [partP("lag", 50), partP("lag", 99), rows.at(-1)?.lag], parts: Object.fromEntries(["wait", "capture", "queue", "upload"].map((k) => [k, [partP(k, 50), partP(k, 99)]])), p99row });
}
const inRange = (s, a, b) => s.t0 >= a && s.t0 < b;
const phaseStats = (a, b) => {
  const caps = done.filter((s) => inRange(s, a, b));
  const fs = spans.slice(put0).filter((s) => s.kind === "fsync" && inRange(s, a, b));
  const puts = spans.slice(put0).filter((s) => s.kind === "put" && inRange(s, a, b));
  const ck = spans.slice(put0).filter((s) => s.kind === "checkpoint" && inRange(s, a, b));
  const avg = (xs) => (xs.length ? xs.reduce((x, y) => x + y, 0) / xs.length : NaN);
  const local = puts.filter((s) => s.root.includes("-litestream")), remote = puts.filter((s) => !s.root.includes("-litestream"));
  return {
    captures: caps.length,
    captureMs: avg(caps.map((s) => s.t1 - s.t0)),
    localPutMs: avg(local.map((s) => s.t1 - s.t0)),
    remotePutMs: avg(remote.map((s) => s.t1 - s.t0)),
    remotePuts: remote.length,
    fsyncs: fs.length,
    fsyncMs: avg(fs.map((s) => s.t1 - s.t0)),
    fsyncMaxMs: Math.max(...fs.map((s) => s.t1 - s.t0)),
    checkpoints: ck.length,
    checkpointMs: avg(ck.map((s) => s.t1 - s.t0)),
  };
};
const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : "–");
console.log(`probe: ${event ? "eventDriven" : "interval"} to ${target}; ${rate}/s for ${steadyMs / 1000} s, then a ${burstMs / 1000} s burst at ${burstRate.toFixed(0)} commits/s; watch callbacks ${watchCalls}; load ${(await fsp.readFile("/proc/loadavg", "utf8").catch(() => "?")).trim()}`);
for (const o of out) {
  console.log(`${o.phase}: ${o.n} commits, lag p50/p99/max ${f(o.lag[0])}/${f(o.lag[1])}/${f(o.lag[2])} ms; p50/p99 of ${Object.entries(o.parts).map(([k, v]) => `${k} ${f(v[0])}/${f(v[1])}`).join(", ")}`);
  if (o.p99row) console.log(`  the p99 commit: ${Object.entries(o.p99row).map(([k, v]) => `${k} ${f(v)}`).join(", ")}`);
}
for (const [name, a, b, lp] of [["steady", start, b0, steadyLoop], ["burst", b0, now(), burstLoop]]) {
  const s = phaseStats(a, b);
  console.log(`${name}: ${s.captures} captures of ${f(s.captureMs)} ms (local put ${f(s.localPutMs)} ms), ${s.remotePuts} uploads (put ${f(s.remotePutMs)} ms), ${s.fsyncs} fsyncs of ${f(s.fsyncMs)} ms (max ${f(s.fsyncMaxMs)}), ${s.checkpoints} checkpoints of ${f(s.checkpointMs)} ms; event-loop delay p99/max ${f(lp.p99)}/${f(lp.max)} ms`);
}
if (argv.includes("--timeline")) {
  for (const s of spans.slice(put0).filter((s) => s.kind === "put" && s.root.includes("-litestream") && s.t0 >= b0 - 200)) console.log(`  local put ${f(s.t0 - b0)}..${f(s.t1 - b0)} ${s.key} ${s.size} bytes`);
  for (const s of spans.slice(put0).filter((s) => s.kind === "checkpoint" && s.t0 >= b0 - 200)) console.log(`  checkpoint ${s.mode} ${f(s.t0 - b0)}..${f(s.t1 - b0)}`);
  for (const s of done.filter((s) => s.t0 >= b0 - 200)) console.log(`  capture ${f(s.t0 - b0)}..${f(s.t1 - b0)} txid ${s.txid} uploaded ${f((uploads.get(s.txid) ?? NaN) - b0)}`);
}
await h.close();
c.close();
rmSync(dir, { recursive: true, force: true });
if (target === "s3") {
  // remove what the run wrote to the bucket
  const e = process.env;
  const st = new S3Store({ bucket: e.LTXKIT_S3_BUCKET, endpoint: e.LTXKIT_S3_ENDPOINT, region: e.AWS_REGION || "us-east-1", accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY });
  const keys = [];
  for await (const b of st.list(`${prefix}/`)) keys.push(b.key);
  for (let i = 0; i < keys.length; i += 1000) await st.delete(keys.slice(i, i + 1000));
}
