#!/usr/bin/env node
// bench/replicate: one write workload (better-sqlite3, WAL mode, small transactions at a fixed rate,
// then a burst) replicated by Go `litestream replicate` v0.5.16 and by ltxkit in the same run, at
// the same intervals (monitor-interval 1s, sync-interval 1s, levels 10s/5m/1h), to a file replica
// and to S3 on Ceph RGW, for 1 and for 100 databases in one process. Variants:
//   off    the application alone (baseline: commit rate, CPU and RSS of the application)
//   go     litestream replicate -config (a sidecar process)
//   cli    ltxkit replicate -config, the same config file (a sidecar process)
//   lib    replicate() inside the application process (CPU and RSS: minus `off` of the same round)
//   event  as lib, with eventDriven: true (captures as soon as the WAL changes)
//   wlib   as lib, with worker: true (the replication in a worker thread of the application)
//   wevent as event, with worker: true
// Each replicator gets its own database files. Rounds run the variants interleaved, alternating
// the order (go first, then ltxkit first), and the table shows the median [min–max] over rounds.
//
// Commit-to-durable lag is observed the same way for every variant: the bench polls the replica
// (readdir of ltx/0/ for a file replica, LIST of <prefix>/0000/ straight to RGW for S3, every --poll
// ms, from the last name already read on) and reads each new L0 file's header, 8 at a time (WAL
// offset + size and salts); a commit counts as durable when the first file covering its WAL frame
// is seen. The application records, after each COMMIT
// returns, the wal-index position (mxFrame and salts from the -shm header). A commit whose WAL
// generation was checkpointed before it was captured is covered by the next file of a later
// generation (a snapshot), or, when the application never committed in that generation, by a file
// whose LTX timestamp is after the commit. The polling ends with one complete pass after the
// replicator stopped. A commit no file covers, a replica that does not restore to the rows the
// application committed (ltxkit restore of each sampled replica), or a failed close is an error:
// printed, and the exit code is 1. BENCH_DUMP=DIR writes the records and files of such a run.
// S3 requests are counted by a proxy between the replicator and RGW (bench/replicate/proxy.mjs),
// under load (load + drain) and idle (no writes, after the first level-1 compaction), per hour.
//
//   npm run build && eval "$(cat /tmp/rgw.env)" && node bench/replicate/run.mjs
//   flags: --quick | --runs 2 --dbs 1,100 --targets file,s3 --variants off,go,cli,lib,event
//          --rate 50 (commits/s, all databases together) --steady 8 --burst 3 --idle 12 (seconds)
//          --sample 4 (databases observed for lag) --poll 20 (ms; S3: 2x) --json FILE --dist DIR (ltxkit build) --prof DIR (CPU profiles of the cli sidecar and of the lib/event application;
//            the profiler's signals cut SQLite's busy-handler sleeps short, so a busy_timeout of 5 s
//            runs out in about 70 ms: with a worker variant the application can then fail with
//            SQLITE_BUSY at a checkpoint, which says nothing of the replication)
//          --compress-l0 false (lib/event: L0 pages stored, not LZ4-compressed)
//          --event-interval MS (event/wevent: eventInterval, default 0)
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, openSync, readSync, closeSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { startProxy } from "./proxy.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const arg = (n, d) => (argv.includes(`--${n}`) ? argv[argv.indexOf(`--${n}`) + 1] : d);
const runs = Number(arg("runs", quick ? 1 : 2));
const dbCounts = arg("dbs", "1,100").split(",").map(Number);
const targetsWanted = arg("targets", "file,s3").split(",");
const variantsWanted = arg("variants", "off,go,cli,lib,event").split(",");
const rate = Number(arg("rate", 50));
const steadyMs = Number(arg("steady", quick ? 4 : 8)) * 1000;
const burstMs = Number(arg("burst", quick ? 2 : 3)) * 1000;
const idleMs = Number(arg("idle", quick ? 6 : 12)) * 1000;
const sampleN = Number(arg("sample", 4));
const pollMs = Number(arg("poll", 20));
const jsonOut = arg("json", null);
const inApp = (v) => v === "lib" || v === "event" || v === "wlib" || v === "wevent"; // replicate() inside the application
const eventInterval = arg("event-interval", null); // event/wevent: ReplicatorOptions.eventInterval (default 0)
const compressL0 = arg("compress-l0", null); // "false": lib and event store L0 pages uncompressed
const L1_MS = 10_000;
const LEVELS = [L1_MS, 300_000, 3_600_000];

const go = join(process.env.LTXKIT_TOOLS ?? join(homedir(), ".cache", "ltxkit-tools"), "bin", "litestream-v0.5.16");
if (!existsSync(go)) throw new Error(`missing ${go}: run bash conformance/install-go-tools.sh`);
const dist = arg("dist", join(root, "dist"));
const cli = join(dist, "cli", "main.js");
if (!existsSync(cli)) throw new Error("dist/ missing: npm run build");
const env = { ...process.env };
delete env.AWS_CA_BUNDLE;
const s3 = env.LTXKIT_S3_ENDPOINT ? { endpoint: env.LTXKIT_S3_ENDPOINT, bucket: env.LTXKIT_S3_BUCKET, region: env.AWS_REGION || "us-east-1" } : null;
const targets = targetsWanted.filter((t) => t === "file" || (t === "s3" && s3));
if (targetsWanted.includes("s3") && !s3) console.error("S3 skipped: LTXKIT_S3_ENDPOINT not set (eval \"$(cat /tmp/rgw.env)\")");
const { S3Store } = s3 ? await import(join(dist, "s3.js")) : {};
const direct = s3 ? new S3Store({ bucket: s3.bucket, endpoint: s3.endpoint, region: s3.region, accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }) : null;
const proxy = s3 ? await startProxy(s3.endpoint) : null;
const runId = `bench-replicate-${process.pid}-${Date.now().toString(36)}`;
const work = join(tmpdir(), runId);
mkdirSync(work, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();
const TICK = 100; // USER_HZ on Linux
function cpu(pid) {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / TICK; // utime, stime (fields 14, 15)
  } catch {
    return NaN;
  }
}
function hwm(pid) {
  try {
    return Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;
  } catch {
    return NaN;
  }
}

// ---- replicas and the observer

function replicaOf(target, dir, i, prefix) {
  if (target === "file") return { url: `file://${join(dir, `replica-${i}`)}`, file: join(dir, `replica-${i}`, "ltx", "0") };
  const key = `${prefix}/db-${i}`;
  // `restoreUrl` goes straight to RGW: the restore runs under spawnSync, which blocks this process
  // and with it the counting proxy (a restore through the proxy waits forever for its first LIST).
  const q = `region=${s3.region}&forcePathStyle=true`;
  return { url: `s3://${s3.bucket}/${key}?endpoint=${proxy.endpoint}&${q}`, restoreUrl: `s3://${s3.bucket}/${key}?endpoint=${s3.endpoint}&${q}`, key: `${key}/0000/` }; // S3 layout: <prefix>/<level, 4 hex digits>/
}
const L0_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.ltx$/;
function parseHeader(b) {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // LTX header: MaxTXID at 24, Timestamp (ms) at 32, WALOffset at 48, WALSize at 56, salts at 64.
  return { salt: Buffer.from(b.subarray(64, 72)).toString("hex"), end: Number(v.getBigInt64(48) + v.getBigInt64(56)), ts: Number(v.getBigInt64(process.env.BENCH_OLD_TS ? 24 : 32)) };
}
async function listL0(r, startAfter) {
  if (r.file) {
    try {
      return readdirSync(r.file).filter((n) => L0_NAME.test(n) && !(startAfter && n <= startAfter)).sort();
    } catch {
      return [];
    }
  }
  const out = [];
  for await (const b of direct.list(r.key, startAfter ? { startAfter: r.key + startAfter } : {})) {
    const n = b.key.slice(r.key.length);
    if (L0_NAME.test(n)) out.push(n);
  }
  return out;
}
async function header(r, name) {
  if (r.file) {
    const fd = openSync(join(r.file, name), "r");
    try {
      const b = new Uint8Array(100);
      return readSync(fd, b, 0, 100, 0) === 100 ? parseHeader(b) : null;
    } finally {
      closeSync(fd);
    }
  }
  const b = await direct.get(r.key + name, { offset: 0, length: 100 });
  return b && b.length === 100 ? parseHeader(b) : null;
}
/**
 * Polls the sampled replicas; `files[i]` collects { txid, seenAt, salt, end } per new L0 file.
 * `stop()` ends the polling with one last complete pass, so files written by a replicator's
 * shutdown flush (after the previous pass began) are seen too.
 */
function observe(replicas, sampled, every) {
  const files = new Map(sampled.map((i) => [i, []]));
  const seen = new Map(sampled.map((i) => [i, new Set()]));
  // L0 names sort by TXID (fixed-width hex): each pass lists only the names after the last one of
  // the run of names already read, so a pass costs the same with 10 files as with 10,000, and the
  // new files' headers are read 8 at a time. A replicator writing a file per commit would else
  // outrun a poll that lists everything and reads one header after another: the lag measured
  // would be the poll's.
  const cursor = new Map(sampled.map((i) => [i, undefined]));
  let stop = false;
  const pass = () => Promise.all(sampled.map(async (i) => {
    const names = await listL0(replicas[i], cursor.get(i));
    const seenAt = now();
    const fresh = names.filter((n) => !seen.get(i).has(n));
    for (let k = 0; k < fresh.length; k += 8) {
      await Promise.all(fresh.slice(k, k + 8).map(async (n) => {
        const h = await header(replicas[i], n).catch(() => null);
        if (!h) return; // not complete yet: next poll
        seen.get(i).add(n);
        files.get(i).push({ txid: BigInt(`0x${L0_NAME.exec(n)[2]}`), seenAt, ...h });
      }));
    }
    let c = cursor.get(i);
    for (const n of names) {
      if (!seen.get(i).has(n)) break;
      c = n;
    }
    cursor.set(i, c);
  }));
  const done = (async () => {
    while (!stop) {
      const t0 = now();
      await pass();
      await sleep(Math.max(0, every - (now() - t0)));
    }
    await pass();
  })();
  return { files, stop: () => ((stop = true), done) };
}
async function waitFirstL0(replicas, timeout = 400_000) {
  const t0 = now();
  let pending = replicas.map((_, i) => i);
  while (pending.length) {
    const left = [];
    for (const i of pending) if ((await listL0(replicas[i])).length === 0) left.push(i);
    pending = left;
    if (!pending.length) return;
    if (now() - t0 > timeout) throw new Error(`no first L0 file in ${pending.length} replicas after ${timeout} ms`);
    await sleep(200);
  }
}
/** Lag of each commit record: time from COMMIT returning to the first covering file being seen. */
function lags(records, files, pageSize = 4096, lateAfter = Infinity) {
  const out = [];
  let late = 0;
  let byUnknown = 0; // covered only by a file of a WAL generation the application never committed in
  let uncovered = 0;
  const missing = [];
  for (const [i, fs] of files) {
    const cs = records.filter((r) => r[0] === i);
    const epoch = new Map();
    for (const c of cs) if (!epoch.has(c[2])) epoch.set(c[2], epoch.size);
    const sorted = fs.slice().sort((a, b) => (a.txid < b.txid ? -1 : 1));
    const suf = new Array(sorted.length);
    for (let j = sorted.length - 1, m = Infinity; j >= 0; j--) suf[j] = m = Math.min(m, sorted[j].seenAt);
    for (const [, t, salt, mx] of cs) {
      const end = 32 + mx * (pageSize + 24), e = epoch.get(salt);
      // Covered by a file of the same WAL generation reaching its frame, or by any file of a later
      // generation (the chain has no gaps: a generation left behind was captured in full, or a
      // snapshot followed). A generation without commits of the application (a checkpoint's
      // restart, a snapshot) is later when the file was made after the commit returned.
      const j = sorted.findIndex((f) => (f.salt === salt && f.end >= end) || (epoch.has(f.salt) ? epoch.get(f.salt) > e : f.ts > t));
      if (j >= 0 && !sorted.some((f) => (f.salt === salt && f.end >= end) || (epoch.has(f.salt) && epoch.get(f.salt) > e))) byUnknown++;
      if (j < 0) {
        uncovered++;
        if (missing.length < 3) {
          const mine = sorted.filter((f) => f.salt === salt);
          missing.push(`db-${i} commit at ${new Date(t).toISOString()} wal ${salt} frame ${mx}: ${mine.length} files of its generation, the newest ends at frame ${mine.length ? (mine[mine.length - 1].end - 32) / (pageSize + 24) : "–"}; ${sorted.length} files, generations of the files ${[...new Set(sorted.map((f) => f.salt))].map((x) => (epoch.has(x) ? epoch.get(x) : "?")).join(",")}, of this commit ${e}`);
        }
      } else {
        out.push(suf[j] - t);
        if (suf[j] > lateAfter) late++;
      }
    }
  }
  return { lags: out.sort((a, b) => a - b), uncovered, missing, late, byUnknown };
}
const pct = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] : NaN);

// ---- one run

function yaml(dbs, urls) {
  const lv = LEVELS.map((ms) => `  - interval: ${ms / 1000}s\n`).join("");
  return `levels:\n${lv}dbs:\n${dbs.map((p, i) => `  - path: ${p}\n    monitor-interval: 1s\n    replica:\n      url: "${urls[i]}"\n      sync-interval: 1s\n`).join("")}`;
}
function createDbs(dir, n) {
  const paths = [];
  for (let i = 0; i < n; i++) {
    const p = join(dir, `db-${i}.db`);
    const c = new Database(p);
    c.pragma("journal_mode = WAL");
    c.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    c.close();
    paths.push(p);
  }
  return paths;
}
function lines(stream, on) {
  let buf = "";
  stream.setEncoding("utf8");
  stream.on("data", (d) => {
    buf += d;
    for (let k; (k = buf.indexOf("\n")) >= 0; ) {
      on(buf.slice(0, k));
      buf = buf.slice(k + 1);
    }
  });
}
async function stopProc(p, ms = 45_000) {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM");
  if ((await Promise.race([exited.then(() => true), sleep(ms).then(() => false)])) === false) {
    p.kill("SIGKILL");
    await exited;
  }
}

async function runOne(n, target, variant, round) {
  const dir = join(work, `${n}-${target}-${variant}-${round}`);
  mkdirSync(dir, { recursive: true });
  const dbs = createDbs(dir, n);
  const prefix = `${runId}/${n}-${variant}-${round}`;
  const replicas = dbs.map((_, i) => replicaOf(target, dir, i, prefix));
  const sampled = Array.from({ length: Math.min(sampleN, n) }, (_, k) => Math.floor((k * n) / Math.min(sampleN, n)));
  let side = null;
  let startup = NaN; // sidecar start until every replica holds its first L0 file
  const sideErr = [];
  if (variant === "go" || variant === "cli") {
    const cfg = join(dir, "litestream.yml");
    writeFileSync(cfg, yaml(dbs, replicas.map((r) => r.url)));
    const prof = arg("prof", null); // a directory: CPU profiles of the ltxkit sidecar (node --cpu-prof)
    const [cmd, args] = variant === "go" ? [go, ["replicate", "-config", cfg]] : [process.execPath, [...(prof ? ["--cpu-prof", "--cpu-prof-dir", prof] : []), cli, "replicate", "-config", cfg]];
    side = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    const sideLog = process.env.BENCH_SIDE_LOG ? (await import("node:fs")).createWriteStream(`${process.env.BENCH_SIDE_LOG}.${variant}`) : null;
    lines(side.stderr, (l) => (sideLog?.write(l + "\n"), /level=(ERROR|WARN)|error/i.test(l) && sideErr.push(l)));
    const ts = now();
    await waitFirstL0(replicas);
    startup = now() - ts;
  }
  const obs = observe(replicas, variant === "off" ? [] : sampled, target === "s3" ? pollMs * 2 : pollMs);
  const out = join(dir, "records.json");
  const options = { monitorInterval: 1000, syncInterval: 1000, compaction: { levels: LEVELS }, eventDriven: variant === "event" || variant === "wevent", worker: variant === "wlib" || variant === "wevent", ...(eventInterval !== null ? { eventInterval: Number(eventInterval) } : {}) };
  if (compressL0 !== null) options.compressL0 = compressL0 === "true";
  const cfg = { dbs, sampled, rate, steadyMs, burstMs, drainMs: 3000, idleMs, autocheckpoint: 0, out, mode: inApp(variant) ? "lib" : "none", replicaUrls: replicas.map((r) => r.url), options, dist, l1Ms: L1_MS };
  const appProf = cfg.mode === "lib" && arg("prof", null) ? ["--cpu-prof", "--cpu-prof-dir", arg("prof", null)] : [];
  const app = spawn(process.execPath, [...appProf, join(here, "app.mjs"), JSON.stringify(cfg)], { env, stdio: ["pipe", "pipe", "inherit"] });
  const marks = {};
  let closedAt = NaN;
  const replicator = () => (side ? side.pid : app.pid);
  const exited = new Promise((r) => app.once("exit", r));
  await new Promise((resolve, reject) => {
    app.once("exit", (c) => reject(new Error(`app exited early (${c}) in ${variant}`)));
    lines(app.stdout, (l) => {
      const [what, t, ...rest] = l.split(" ");
      const m = { t: Number(t), cpu: cpu(replicator()), appCpu: cpu(app.pid) };
      if (what === "load-end") Object.assign(m, { steady: Number(rest[0]), burst: Number(rest[1]), burstMs: Number(rest[2]) });
      if (what === "idle-end") Object.assign(m, { rss: hwm(replicator()), appRss: hwm(app.pid) });
      if (what === "error") return void sideErr.push(`${new Date(Number(t)).toISOString()} ${rest.join(" ")}`);
      if (what === "closed") return void (closedAt = Number(t));
      marks[what] = m;
      if (what === "idle-end") resolve();
    });
  });
  app.stdin.end("x");
  const code = await exited;
  if (code !== 0) sideErr.push(`the application exited with ${code} (its close failed)`);
  if (side) await stopProc(side);
  await obs.stop();
  const records = JSON.parse(readFileSync(out, "utf8"));
  // Every sampled replica restores (ltxkit restore) to the rows the application committed.
  if (variant !== "off") {
    for (const i of sampled) {
      const o = join(dir, `restored-${i}.db`);
      const rr = spawnSync(process.execPath, [cli, "restore", "-o", o, replicas[i].restoreUrl ?? replicas[i].url], { env, encoding: "utf8" });
      if (rr.status !== 0) {
        sideErr.push(`restore of replica ${i} failed: ${(rr.stderr || "").trim().slice(0, 300)}`);
        process.exitCode = 1;
        continue;
      }
      const count = (p) => { const c = new Database(p, { readonly: true }); try { return c.prepare("SELECT count(*) AS n FROM t").get().n; } finally { c.close(); } };
      const want = count(dbs[i]), got = count(o);
      if (want !== got) {
        sideErr.push(`replica ${i} restores to ${got} rows, the application committed ${want}`);
        process.exitCode = 1;
      }
    }
  }
  const { lags: ls, uncovered, missing, late, byUnknown } = lags(records, obs.files, 4096, marks["idle-end"].t);
  // Commits first seen durable after the idle phase: only the shutdown flush shipped them.
  if (late) sideErr.push(`${late} commits reached the replica only after the idle phase (at shutdown)`);
  // Every commit must reach the replica: one no L0 file covers is a failed run, not a slow one.
  if (uncovered) {
    process.exitCode = 1;
    sideErr.push(`${uncovered} commits never covered by an L0 file in the replica:`, ...missing);
  }
  if (uncovered && process.env.BENCH_DUMP) writeFileSync(join(process.env.BENCH_DUMP, `${n}-${target}-${variant}-${round}.json`), JSON.stringify({ records, files: [...obs.files].map(([i, fs]) => [i, fs.map((f) => ({ ...f, txid: String(f.txid) }))]) }));
  const steadyLags = lags(records.filter((c) => c[1] < marks["burst-start"].t), obs.files).lags;
  const { ready, "idle-start": is, "idle-end": ie, "load-end": le } = marks;
  const r = {
    n, target, variant, round,
    lagP50: pct(ls, 50), lagP99: pct(ls, 99), steadyP50: pct(steadyLags, 50), steadyP99: pct(steadyLags, 99), lagMax: ls[ls.length - 1], commits: ls.length, uncovered,
    cpuLoad: is.cpu - ready.cpu, cpuIdle: ie.cpu - is.cpu, rss: ie.rss, appRss: ie.appRss, appCpuLoad: is.appCpu - ready.appCpu, appCpuIdle: ie.appCpu - is.appCpu,
    burstRate: le.burst / (le.burstMs / 1000), steadyRate: le.steady / (steadyMs / 1000),
    loadH: (is.t - ready.t) / 3_600_000, idleH: (ie.t - is.t) / 3_600_000,
    errors: sideErr.slice(0, 8), startup, late, byUnknown,
  };
  if (proxy) {
    r.reqLoad = proxy.count(ready.t, is.t);
    r.reqIdle = proxy.count(is.t, ie.t);
    if (process.env.BENCH_DEBUG) for (const x of proxy.log) if (x.t >= is.t && x.t < ie.t) console.error(`  idle: ${x.what}`);
  }
  rmSync(dir, { recursive: true, force: true });
  return r;
}

// ---- rounds and the table

const results = [];
const median = (xs) => { const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b); const m = (s.length - 1) / 2; return s.length ? (s[Math.floor(m)] + s[Math.ceil(m)]) / 2 : NaN; };
const spread = (xs, f) => { const s = xs.filter((x) => Number.isFinite(x)); return s.length > 1 ? ` [${f(Math.min(...s))}–${f(Math.max(...s))}]` : ""; };
const fmt = (xs, f) => `${f(median(xs))}${spread(xs, f)}`;
const ms = (x) => (Number.isFinite(x) ? `${x.toFixed(0)}` : "–");
const s2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : "–");
const r0 = (x) => (Number.isFinite(x) ? x.toFixed(0) : "–");
const KINDS = ["PUT", "GET", "LIST", "DELETE", "HEAD", "POST"];
const perHour = (c, h) => Object.fromEntries(KINDS.map((k) => [k, (c?.[k] ?? 0) / h]));
const reqStr = (rs, which) => KINDS.map((k) => `${k} ${r0(median(rs.map((r) => perHour(r[which], which === "reqLoad" ? r.loadH : r.idleH)[k])))}`).filter((s) => !s.endsWith(" 0")).join(", ") || "0";
const reqTotal = (r, which) => Object.values(perHour(r[which], which === "reqLoad" ? r.loadH : r.idleH)).reduce((a, b) => a + b, 0);

const t0 = now();
for (const n of dbCounts) {
  for (const target of targets) {
    for (let round = 0; round < runs; round++) {
      const order = variantsWanted.filter((v) => v !== "off");
      const ltx = order.filter((v) => v !== "go");
      const seq = ["off", ...(round % 2 === 0 ? ["go", ...ltx] : [...ltx, "go"])].filter((v) => variantsWanted.includes(v));
      for (const v of seq) {
        process.stderr.write(`[${((now() - t0) / 1000).toFixed(0)} s] ${n} db, ${target}, ${v}, round ${round + 1}/${runs}… `);
        const r = await runOne(n, target, v, round);
        process.stderr.write(`lag p50/p99 ${ms(r.lagP50)}/${ms(r.lagP99)} ms (steady ${ms(r.steadyP50)}/${ms(r.steadyP99)}), cpu ${s2(r.cpuLoad)} s${Number.isFinite(r.startup) ? `, startup ${(r.startup / 1000).toFixed(1)} s` : ""}, burst ${r0(r.burstRate)}/s${r.byUnknown ? `, ${r.byUnknown} commits covered only by a file of a later WAL generation without commits of the application` : ""}${r.uncovered ? `, ${r.uncovered} commits never seen durable` : ""}${r.errors.length ? `\n  ${r.errors.join("\n  ")}` : ""}\n`);
        results.push(r);
      }
    }
  }
}

console.log(`\nbench/replicate: ${runs} round(s); ${rate} commits/s for ${steadyMs / 1000} s then a ${burstMs / 1000} s burst, idle ${idleMs / 1000} s; intervals monitor 1s, sync 1s, levels ${LEVELS.map((x) => x / 1000 + "s").join("/")}`);
console.log("lag: commit returned → first covering L0 file seen in the replica (polled the same way for every variant)");
console.log("lib/event/wlib/wevent CPU and RSS: the application process minus the `off` run of the same round\n");
for (const n of dbCounts) {
  for (const target of targets) {
    const of = (v) => results.filter((r) => r.n === n && r.target === target && r.variant === v);
    const off = of("off");
    const offBy = (round) => off.find((r) => r.round === round);
    const cpuOf = (r, k) => (inApp(r.variant) ? r[k === "load" ? "appCpuLoad" : "appCpuIdle"] - (offBy(r.round)?.[k === "load" ? "appCpuLoad" : "appCpuIdle"] ?? NaN) : r[k === "load" ? "cpuLoad" : "cpuIdle"]);
    const rssOf = (r) => (inApp(r.variant) ? r.appRss - (offBy(r.round)?.appRss ?? NaN) : r.rss);
    const rateRatio = (r) => r.burstRate / (offBy(r.round)?.burstRate ?? NaN);
    console.log(`## ${n} database${n > 1 ? "s" : ""}, ${target} replica`);
    console.log("| variant | lag p50 ms | lag p99 ms | CPU load s | CPU idle s | peak RSS MiB | startup s | burst commits/s (on/off) | req/h under load | req/h idle |");
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|---|---|");
    for (const v of variantsWanted) {
      const rs = of(v);
      if (!rs.length) continue;
      const rssNote = inApp(v) ? ` (+${fmt(rs.map((r) => r.appRss), r0)} app)` : "";
      console.log(`| ${v} | ${v === "off" ? "–" : fmt(rs.map((r) => r.lagP50), ms)} | ${v === "off" ? "–" : fmt(rs.map((r) => r.lagP99), ms)} | ${v === "off" ? `app ${fmt(rs.map((r) => r.appCpuLoad), s2)}` : fmt(rs.map((r) => cpuOf(r, "load")), s2)} | ${v === "off" ? `app ${fmt(rs.map((r) => r.appCpuIdle), s2)}` : fmt(rs.map((r) => cpuOf(r, "idle")), s2)} | ${v === "off" ? `app ${fmt(rs.map((r) => r.appRss), r0)}` : fmt(rs.map(rssOf), r0) + (inApp(v) ? " (delta)" : "")} | ${v === "go" || v === "cli" ? fmt(rs.map((r) => r.startup / 1000), (x) => x.toFixed(1)) : "–"} | ${fmt(rs.map((r) => r.burstRate), r0)}${v === "off" ? "" : ` (${fmt(rs.map(rateRatio), s2)})`} | ${target === "s3" && v !== "off" ? reqStr(rs, "reqLoad") : "–"} | ${target === "s3" && v !== "off" ? reqStr(rs, "reqIdle") : "–"} |`);
    }
    const g = of("go");
    if (g.length) {
      const ratio = (rs, f) => { const xs = rs.map((r) => { const gr = g.find((x) => x.round === r.round); return gr ? f(r) / f(gr) : NaN; }); return fmt(xs, s2); };
      for (const v of ["cli", "lib", "event", "wlib", "wevent"]) {
        const rs = of(v);
        if (!rs.length) continue;
        const parts = [`lag p99 ${ratio(rs, (r) => r.lagP99)}`, `lag p50 ${ratio(rs, (r) => r.lagP50)}`, `CPU load ${ratio(rs, (r) => cpuOf(r, "load"))}`, `RSS ${ratio(rs, rssOf)}`];
        if (target === "s3") parts.push(`req/h load ${ratio(rs, (r) => reqTotal(r, "reqLoad"))}`, `req/h idle ${ratio(rs, (r) => reqTotal(r, "reqIdle") || 0)}`);
        console.log(`ltxkit ${v} / Go: ${parts.join(", ")}`);
      }
    }
    const unc = results.filter((r) => r.n === n && r.target === target && r.uncovered);
    if (unc.length) console.log(`commits never seen durable: ${unc.map((r) => `${r.variant} round ${r.round + 1}: ${r.uncovered}`).join("; ")}`);
    console.log("");
  }
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 1));
if (proxy) await proxy.close();
if (direct) {
  // remove what the run wrote to the bucket
  const keys = [];
  for await (const b of direct.list(`${runId}/`)) keys.push(b.key);
  for (let i = 0; i < keys.length; i += 1000) await direct.delete(keys.slice(i, i + 1000));
}
rmSync(work, { recursive: true, force: true });
