// The application of the kill test (conformance/kill.test.ts), run by Node against dist/: it
// replicates its database to a file or S3 replica and writes transactions in a loop; after each sync()
// resolves it prints `ACK <txid hex> <content hash>`, the hash taken before the sync() call.
// argv: <db> <replica dir or URL> <seed>. The parent kills it with SIGKILL at random points.
import { createHash } from "node:crypto";
import { replicate } from "../../dist/adapters/replicate.js";
import { openSqlite } from "../../dist/adapters/sqlite-open.js";

const [db, replicaUrl, seedArg] = process.argv.slice(2);
let seed = Number(seedArg) >>> 0;
function rand() {
  // mulberry32
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (n) => Math.floor(rand() * n);

function norm(v) {
  if (v instanceof Uint8Array) return "x:" + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex");
  if (typeof v === "bigint") return v.toString();
  return v;
}
// The same definition as test/capture/app.ts contentHash: schema and every row, tables by name, rows by rowid.
function contentHash(c) {
  const h = createHash("sha256");
  const tables = c.query("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_litestream_%' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  for (const t of tables) {
    h.update(`${String(t.name)}\n${String(t.sql)}\n`);
    for (const r of c.query(`SELECT * FROM "${String(t.name)}" ORDER BY rowid`)) h.update(JSON.stringify(Object.values(r).map(norm)) + "\n");
  }
  return h.digest("hex");
}

const open = await openSqlite();
const app = open(db);
app.query("PRAGMA journal_mode = wal");
app.query("PRAGMA wal_autocheckpoint = 0"); // checkpoints are the replication's (Litestream's rule)
app.exec("PRAGMA busy_timeout = 5000");
app.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT, b BLOB); CREATE INDEX IF NOT EXISTS tv ON t (v)");

const h = await replicate(db, replicaUrl, {
  monitorInterval: 50,
  syncInterval: 50,
  minCheckpointPageCount: 40,
  checkpointInterval: 500,
  compaction: { levels: [1000, 3000], snapshotInterval: 4000, snapshotRetention: 3_600_000, l0Retention: 3_600_000 },
  retries: { initialDelay: 50, maxDelay: 500 },
});
h.addEventListener("error", (e) => process.stderr.write(`replication error: ${e.detail.error?.code ?? ""} ${e.detail.error?.message ?? e.detail.error}\n`));

function transaction() {
  const max = Number(app.query("SELECT coalesce(max(id), 0) AS m FROM t")[0].m);
  const count = Number(app.query("SELECT count(*) AS n FROM t")[0].n);
  app.exec("BEGIN IMMEDIATE");
  const ops = 1 + int(20);
  for (let i = 0; i < ops; i++) {
    const r = rand();
    if (r < 0.5 || count < 50) {
      const blob = rand() < 0.15 ? new Uint8Array(500 + int(6000)).fill(int(256)) : null;
      app.query("INSERT INTO t (v, b) VALUES (?, ?)", [`r${int(1e9)} `.repeat(1 + int(20)), blob]);
    } else if (r < 0.8) {
      app.query("UPDATE t SET v = v || ?, b = CASE WHEN ? THEN randomblob(?) ELSE b END WHERE id % ? = ?", [String(int(100)), rand() < 0.1 ? 1 : 0, 100 + int(3000), 7 + int(20), int(7)]);
    } else {
      // keeps the table near a few hundred rows, so the database stays small
      app.query("DELETE FROM t WHERE id IN (SELECT id FROM t ORDER BY random() LIMIT ?)", [count > 400 ? 60 : 1 + int(10)]);
    }
  }
  if (max === 0 && rand() < 0.5) app.query("UPDATE t SET v = 'first' WHERE id = 1");
  app.exec("COMMIT");
}

for (;;) {
  transaction();
  const hash = contentHash(app); // nothing commits between here and sync(): the state the TXID covers
  const txid = await h.sync({ timeout: 60_000 });
  process.stdout.write(`ACK ${txid.toString(16).padStart(16, "0")} ${hash}\n`);
  if (rand() < 0.3) await new Promise((r) => setTimeout(r, int(120)));
}
