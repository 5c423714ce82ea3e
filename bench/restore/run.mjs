#!/usr/bin/env node
// bench/restore: a database of ≥ 256 MiB replicated by Go Litestream v0.5.16 (file replica and S3 on
// Ceph RGW), restored by `litestream restore` and by ltxkit in the same run. Prints the time ratio
// TS/Go and peak RSS of each (GNU time); every restored database must have the same SHA-256 as
// litestream's, or the run fails. Needs the Go tools (conformance/install-go-tools.sh), and
// for S3 the env of `bash conformance/s3/ceph-rgw.sh start`.
//   npm run build && node bench/restore/run.mjs [--mib 256] [--runs 3]
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const arg = (n, d) => (process.argv.includes(n) ? process.argv[process.argv.indexOf(n) + 1] : d);
const mib = Number(arg("--mib", "256")), runs = Number(arg("--runs", "3"));
const tools = join(process.env.LTXKIT_TOOLS ?? join(homedir(), ".cache", "ltxkit-tools"), "bin");
const ls = join(tools, "litestream-v0.5.16");
if (!existsSync(ls)) throw new Error("litestream-v0.5.16 not installed: bash conformance/install-go-tools.sh");
const env = { ...process.env };
delete env.AWS_CA_BUNDLE;
const work = join(process.env.LTXKIT_BENCH_CACHE ?? join(homedir(), ".cache", "ltxkit-bench"), `restore-${mib}`);
const s3 = env.LTXKIT_S3_ENDPOINT ? `s3://${env.LTXKIT_S3_BUCKET}/bench-restore-${mib}?endpoint=${env.LTXKIT_S3_ENDPOINT}&region=us-east-1&forcePathStyle=true` : null;
const fileURL = `file://${join(work, "replica")}`;

// The S3 side lives in Ceph's memstore, so a restarted RGW has lost it: re-replicate then.
const s3Missing = s3 && existsSync(join(work, "done")) && spawnSync(ls, ["ltx", "-level", "all", "-json", s3], { env, encoding: "utf8" }).stdout.trim() === "[]";
if (!existsSync(join(work, "done")) || s3Missing) {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const targets = [["file.db", fileURL], ...(s3 ? [["s3.db", s3]] : [])];
  const cfg = `snapshot:\n  interval: 1h\n  retention: 24h\ndbs:\n${targets.map(([db, url]) => `  - path: ${join(work, db)}\n    replica:\n      url: "${url}"\n`).join("")}`;
  writeFileSync(join(work, "litestream.yml"), cfg);
  for (const [db] of targets) execFileSync("python3", [join(here, "bulk.py"), join(work, db), "1"]);
  console.error(`replicating a ${mib} MiB database with Go Litestream (once)…`);
  const p = spawn(ls, ["replicate", "-config", join(work, "litestream.yml")], { env, stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 1500));
  await Promise.all(targets.map(([db]) => new Promise((res, rej) => spawn("python3", [join(here, "bulk.py"), join(work, db), String(mib)], { stdio: "inherit" }).on("exit", (c) => (c ? rej(new Error("bulk failed")) : res())))));
  await new Promise((r) => setTimeout(r, 15000));
  p.kill("SIGTERM");
  await new Promise((r) => p.on("exit", r));
  writeFileSync(join(work, "done"), "");
}

function measure(cmd, args) {
  const out = join(work, "out.db");
  rmSync(out, { force: true });
  const t0 = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "MAXRSS=%M", cmd, ...args(out)], { env, encoding: "utf8" });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const rss = Number(/MAXRSS=(\d+)/.exec(r.stderr)?.[1] ?? 0) / 1024;
  return { seconds, rss, size: statSync(out).size, sha256: sha256(out) };
}
/** SHA-256 of a file, read in 1 MiB pieces (after the timed restore). */
function sha256(path) {
  const h = createHash("sha256"), buf = new Uint8Array(1 << 20), fd = openSync(path, "r");
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ltxkit = join(root, "dist", "cli", "main.js");
for (const [name, url] of [["file", fileURL], ...(s3 ? [["s3", s3]] : [])]) {
  const go = [], ts = [];
  for (let i = 0; i < runs; i++) {
    go.push(measure(ls, (o) => ["restore", "-o", o, url]));
    ts.push(measure(process.execPath, (o) => [ltxkit, "restore", "-o", o, url]));
  }
  // Every restore of every run must give the same bytes as the first litestream restore: a fast
  // wrong restore reports no ratio.
  for (const [who, xs] of [["litestream", go], ["ltxkit", ts]]) {
    xs.forEach((x, i) => {
      if (x.size !== go[0].size || x.sha256 !== go[0].sha256) {
        throw new Error(`${name} replica: ${who} restore (run ${i + 1}) differs from litestream's: ${x.size} bytes, sha256 ${x.sha256}; litestream ${go[0].size} bytes, sha256 ${go[0].sha256}`);
      }
    });
  }
  const g = median(go.map((x) => x.seconds)), t = median(ts.map((x) => x.seconds));
  console.log(`${name.padEnd(5)} replica, ${(go[0].size / 1048576).toFixed(0)} MiB database: litestream ${g.toFixed(2)} s, ltxkit ${t.toFixed(2)} s, TS/Go ${(t / g).toFixed(2)} [${Math.min(...ts.map((x, i) => x.seconds / go[i].seconds)).toFixed(2)}–${Math.max(...ts.map((x, i) => x.seconds / go[i].seconds)).toFixed(2)} per run]; sha256 ${go[0].sha256.slice(0, 16)}… equal; peak RSS litestream ${Math.max(...go.map((x) => x.rss)).toFixed(0)} MiB, ltxkit ${Math.max(...ts.map((x) => x.rss)).toFixed(0)} MiB`);
}
