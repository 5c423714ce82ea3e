// Capture of a live WAL into L0 files: ltxkit's WalSource against Go `litestream replicate -once`
// v0.5.16 on copies of the same database and WAL (Python writes them, autocheckpoint off).
//   npm run build && node bench/wal/run.mjs [--mib 64] [--runs 3]
// Prints per tool the median time of a first sync (a full snapshot: every page) and of an
// incremental sync of the whole WAL after an existing position, and the ratios ltxkit / Go.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const mib = arg("mib", 64), runs = arg("runs", 3);
const go = join(process.env.LTXKIT_TOOLS ?? join(homedir(), ".cache", "ltxkit-tools"), "bin", "litestream-v0.5.16");
if (!existsSync(go)) { console.error(`missing ${go}: run bash conformance/install-go-tools.sh`); process.exit(1); }
const { openWalSource } = await import(join(root, "dist", "adapters", "node.js"));

const work = mkdtempSync(join(tmpdir(), "ltxkit-bench-wal-"));
const base = join(work, "base");
execFileSync("mkdir", ["-p", base]);
const gen = `import sqlite3,sys,random
c=sqlite3.connect(sys.argv[1],isolation_level=None)
c.execute("PRAGMA journal_mode=WAL");c.execute("PRAGMA wal_autocheckpoint=0")
c.execute("CREATE TABLE IF NOT EXISTS d (id INTEGER PRIMARY KEY, b BLOB)")
r=random.Random(int(sys.argv[3]))
while c.execute("PRAGMA page_count").fetchone()[0]*4096 < int(sys.argv[2])<<20:
  c.execute("BEGIN")
  for _ in range(500): c.execute("INSERT INTO d (b) VALUES (?)",(r.randbytes(r.randrange(100,3000)),))
  c.execute("COMMIT")
import os; os._exit(0)  # keep the WAL (no checkpoint on close)
`;
const db0 = join(base, "app.db");
execFileSync("python3", ["-c", gen, db0, String(mib), "1"]);

function copy(name) {
  const d = join(work, name);
  rmSync(d, { recursive: true, force: true });
  cpSync(base, d, { recursive: true });
  return join(d, "app.db");
}
const median = (a) => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
function goOnce(db) {
  const t = performance.now();
  const r = spawnSync(go, ["replicate", "-once", db, `file://${db}.remote`], { stdio: "pipe" });
  if (r.status !== 0) throw new Error(String(r.stderr));
  return performance.now() - t;
}
async function tsOnce(db) {
  const t = performance.now();
  const s = await openWalSource(db, { minCheckpointPageCount: 1e9, checkpointInterval: 0 });
  await s.sync();
  await s.close();
  return performance.now() - t;
}
const res = { go: { snap: [], inc: [] }, ts: { snap: [], inc: [] } };
for (let i = 0; i < runs; i++) {
  for (const [name, fn] of [["go", goOnce], ["ts", tsOnce]]) {
    const db = copy(name);
    res[name].snap.push(await fn(db));
    // grow the WAL by the same amount again, then sync incrementally from the position
    execFileSync("python3", ["-c", gen, db, String(mib * 2), String(2 + i)]);
    res[name].inc.push(await fn(db));
  }
}
const f = (ms) => `${ms.toFixed(0)} ms (${(mib / (ms / 1000)).toFixed(0)} MiB/s)`;
for (const k of ["snap", "inc"]) {
  const g = median(res.go[k]), t = median(res.ts[k]);
  console.log(`${k === "snap" ? "first sync (snapshot)" : "incremental sync"} of ~${mib} MiB: ltxkit ${f(t)}, Go ${f(g)}, ratio ltxkit/Go ${(t / g).toFixed(2)}`);
}
rmSync(work, { recursive: true, force: true });
