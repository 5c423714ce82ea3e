// A writer of the lease test (conformance/lease.test.ts), run by Node against dist/: it writes
// transactions to its own SQLite database in a loop while replicate() ships them to a replica
// shared with the other writers, with a short lease TTL. It prints one line per event:
//   LEASE <state> <holder|-> <generation|-> <ms since epoch>   (lease events)
//   UP <min hex> <max hex> <ms>                                 (L0 files that reached the replica)
//   ACK <txid hex> <ms>                                         (a sync() that resolved)
//   ERR <code> <message>                                        (error events)
// argv: <db> <replica URL> <ttl ms>
import { replicate } from "../../dist/adapters/replicate.js";
import { openSqlite } from "../../dist/adapters/sqlite-open.js";

const [db, url, ttlArg] = process.argv.slice(2);
const out = (s) => process.stdout.write(s + "\n");
const hex = (t) => t.toString(16).padStart(16, "0");

const open = await openSqlite();
const app = open(db);
app.query("PRAGMA journal_mode = wal");
app.query("PRAGMA wal_autocheckpoint = 0");
app.exec("PRAGMA busy_timeout = 5000");
app.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, who INTEGER, v TEXT)");

const h = await replicate(db, url, {
  lease: { ttl: Number(ttlArg) },
  monitorInterval: 50,
  syncInterval: 50,
  // L1 compaction every second exercises the ladder's writes too; L0 files stay for the checks.
  compaction: { levels: [1000], l0Retention: 3_600_000, snapshotInterval: 3_600_000, snapshotRetention: 3_600_000 },
  retries: { initialDelay: 50, maxDelay: 200 },
});
h.addEventListener("lease", (e) => out(`LEASE ${e.detail.state} ${e.detail.holder ?? "-"} ${e.detail.generation ?? "-"} ${Date.now()}`));
h.addEventListener("upload", (e) => out(`UP ${hex(e.detail.minTXID)} ${hex(e.detail.maxTXID)} ${Date.now()}`));
h.addEventListener("error", (e) => out(`ERR ${e.detail.error?.code ?? "?"} ${String(e.detail.error?.message ?? e.detail.error).replace(/\n/g, " ")}`));
out(`READY ${process.pid}`);

for (;;) {
  app.query("INSERT INTO t (who, v) VALUES (?, ?)", [process.pid, "x".repeat(100 + Math.floor(Math.random() * 400))]);
  try {
    const txid = await h.sync({ timeout: 2000 });
    out(`ACK ${hex(txid)} ${Date.now()}`);
  } catch {
    await new Promise((r) => setTimeout(r, 200));
  }
  await new Promise((r) => setTimeout(r, 20));
}
