/**
 * `ltxkit demo` (what `npm start` runs): the write path end to end on a local directory replica.
 * An application writes a SQLite database file in steps through the runtime's SQLite driver while
 * `replicate()` tails its WAL; after each step `sync()` gives the TXID, and the application records
 * the time and a hash of its content. Then one forced compaction pass (L1, L2, L3, snapshot), and
 * restores at past TXIDs, at a timestamp and at the latest point, each verified with the same
 * driver: `PRAGMA integrity_check` and the content hash recorded at that step.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, promises as fsp } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FileSink } from "../adapters/fs-sink.ts";
import { FsStore } from "../adapters/fs-store.ts";
import { replicate } from "../adapters/replicate.ts";
import { loadSqliteDriver } from "../adapters/sqlite-open.ts";
import type { SqliteConnection, SqliteOpener } from "../capture/sqlite.ts";
import { LtxError } from "../errors.ts";
import { formatTXID } from "../ltx/txid.ts";
import { compactReplica } from "../replica/compact.ts";
import { fileLayout } from "../replica/layout.ts";
import { listAll } from "../replica/list.ts";
import { restore } from "../replica/restore.ts";
import type { Replica } from "../replica/replica.ts";
import { parseArgs, bool, str } from "./args.ts";
import { printJSON } from "./io.ts";
import type { Command } from "./run.ts";
import { sha256Hex } from "./codec-commands.ts";

interface Step {
  name: string;
  txid: bigint;
  /** Wall-clock time right after sync() acknowledged the step (ms). */
  time: number;
  /** The application's content hash at this step. */
  hash: string;
  pages: number;
  rows: number;
}

const WORKLOAD: [string, (db: SqliteConnection) => void][] = [
  ["create tables", (db) => db.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL); CREATE TABLE events (id INTEGER PRIMARY KEY, account INTEGER, kind TEXT, payload BLOB); CREATE INDEX events_account ON events(account);")],
  ["insert 500 accounts", (db) => insertAccounts(db, 500)],
  ["insert 2000 events", (db) => insertEvents(db, 2000, 1)],
  ["update balances", (db) => db.exec("UPDATE accounts SET balance = balance + id % 97")],
  ["insert 40 overflow blobs (6-20 KiB)", (db) => insertBlobs(db, 40)],
  ["insert 3000 events (growth)", (db) => insertEvents(db, 3000, 2)],
  ["delete a third of the events", (db) => db.exec("DELETE FROM events WHERE id % 3 = 0")],
  ["application PRAGMA wal_checkpoint(PASSIVE)", (db) => { db.exec("UPDATE accounts SET owner = owner || '*' WHERE id % 10 = 0"); db.query("PRAGMA wal_checkpoint(PASSIVE)"); }],
  ["transfer between accounts", (db) => db.exec("BEGIN; UPDATE accounts SET balance = balance - 10 WHERE id % 2 = 0; UPDATE accounts SET balance = balance + 10 WHERE id % 2 = 1; COMMIT")],
  ["insert 6000 events (growth)", (db) => insertEvents(db, 6000, 3)],
  ["VACUUM", (db) => db.exec("VACUUM")],
  ["close half of the accounts", (db) => db.exec("DELETE FROM accounts WHERE id > 250; DELETE FROM events WHERE account > 250")],
];

function insertAccounts(db: SqliteConnection, n: number): void {
  db.exec("BEGIN");
  for (let i = 0; i < n; i++) db.query("INSERT INTO accounts (owner, balance) VALUES (?, ?)", [`owner-${i}`, (i * 7919) % 10000]);
  db.exec("COMMIT");
}

function insertEvents(db: SqliteConnection, n: number, seed: number): void {
  db.exec("BEGIN");
  for (let i = 0; i < n; i++) {
    const payload = new Uint8Array(80 + ((i * seed * 31) % 200)).fill((i + seed) & 0xff);
    db.query("INSERT INTO events (account, kind, payload) VALUES (?, ?, ?)", [(i % 500) + 1, ["deposit", "withdraw", "audit"][i % 3], payload]);
  }
  db.exec("COMMIT");
}

function insertBlobs(db: SqliteConnection, n: number): void {
  db.exec("BEGIN");
  for (let i = 0; i < n; i++) {
    const payload = new Uint8Array(6000 + ((i * 977) % 14000));
    for (let k = 0; k < payload.length; k++) payload[k] = (k * 31 + i) & 0xff;
    db.query("INSERT INTO events (account, kind, payload) VALUES (?, ?, ?)", [(i % 500) + 1, "attachment", payload]);
  }
  db.exec("COMMIT");
}

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/** SHA-256 over the schema and every row of every application table (by name, rows in rowid order). */
export function contentHash(db: SqliteConnection): string {
  const h = createHash("sha256");
  const tables = db.query("SELECT name, sql FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE '_litestream_%' AND name NOT LIKE 'sqlite_%' ORDER BY type, name");
  for (const t of tables) h.update(`${String(t.name)}\n${String(t.sql)}\n`);
  for (const t of db.query("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_litestream_%' AND name NOT LIKE 'sqlite_%' ORDER BY name")) {
    h.update(`table ${String(t.name)}\n`);
    for (const r of db.query(`SELECT * FROM "${String(t.name).replace(/"/g, '""')}" ORDER BY rowid`)) {
      h.update(JSON.stringify(Object.values(r).map((v) => (v instanceof Uint8Array ? `x'${hex(v)}'` : typeof v === "bigint" ? v.toString() : v))) + "\n");
    }
  }
  return h.digest("hex");
}

function one(db: SqliteConnection, sql: string): unknown {
  return Object.values(db.query(sql)[0] ?? {})[0];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Opens a restored file with the application's driver: integrity_check and content hash. */
function check(open: SqliteOpener, path: string): { integrity: string; hash: string } {
  const c = open(path);
  try {
    const integrity = c.query("PRAGMA integrity_check").map((r) => String(Object.values(r)[0])).join("; ");
    return { integrity, hash: contentHash(c) };
  } finally {
    c.close();
  }
}

/**
 * The application: its own connection (WAL mode, auto-checkpoint off: Litestream checkpoints) runs
 * the workload while replicate() ships it; each step is recorded once sync() acknowledged it.
 */
async function runApplication(open: SqliteOpener, dbPath: string, replicaDir: string, replica: Replica, started: number, say: (s: string) => void): Promise<{ steps: Step[]; errors: string[]; ladderLevels: number[] }> {
  const app = open(dbPath);
  const steps: Step[] = [];
  const errors: string[] = [];
  let ladderLevels: number[] = [];
  try {
    app.exec("PRAGMA page_size = 4096");
    app.query("PRAGMA journal_mode = wal");
    app.query("PRAGMA wal_autocheckpoint = 0");
    app.exec("PRAGMA busy_timeout = 5000");
    app.exec("CREATE TABLE IF NOT EXISTS settings (k TEXT PRIMARY KEY, v TEXT)");
    app.query("INSERT INTO settings VALUES ('created', ?)", [new Date(started).toISOString()]);
    const h = await replicate(dbPath, replicaDir, {
      open,
      monitorInterval: 50,
      syncInterval: 50,
      // L0 files stay an hour, so every step remains restorable in the demo.
      compaction: { l0Retention: 3_600_000 },
    });
    h.addEventListener("error", (e) => errors.push(`${e.detail.url ?? "capture"}: ${e.detail.error.message}`));
    try {
      for (const [name, fn] of WORKLOAD) {
        const t0 = Date.now();
        fn(app);
        const txid = await h.sync();
        const step: Step = { name, txid, time: Date.now(), hash: contentHash(app), pages: Number(one(app, "PRAGMA page_count")), rows: Number(one(app, "SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM events)")) };
        steps.push(step);
        say(`  txid ${formatTXID(txid)}  ${name.padEnd(44)} ${String(step.pages).padStart(5)} pages  content ${step.hash.slice(0, 12)}  ${step.time - t0} ms`);
        await sleep(5); // the next step's L0 file gets a later timestamp than this step's recorded time
      }
      const st = h.status();
      if (st.replicas.some((r) => r.remoteTXID !== steps[steps.length - 1]!.txid)) errors.push(`replica behind after the last sync: ${st.replicas.map((r) => formatTXID(r.remoteTXID)).join(", ")}`);
    } finally {
      await h.close();
    }
    ladderLevels = [...new Set((await listAll(replica)).map((f) => f.level))].sort((x, y) => x - y);
  } finally {
    app.close();
  }
  return { steps, errors, ladderLevels };
}

/** Restores at past TXIDs, at a timestamp and at latest; checks each against the step it should be. */
async function restoreAndVerify(replica: Replica, steps: Step[], dir: string, open: SqliteOpener, say: (s: string) => void) {
  const at = (i: number) => steps[Math.min(Math.max(i, 0), steps.length - 1)]!;
  const ckpt = steps.findIndex((s) => s.name.includes("wal_checkpoint"));
  const mid = at(Math.floor(steps.length / 2) + 1);
  const tsTarget = new Date(mid.time + 1);
  const targets: { label: string; txid?: bigint; timestamp?: Date; want: Step }[] = [
    ...[at(1), at(4), at(ckpt - 1), at(ckpt), at(steps.length - 2)].filter((s, i, all) => all.indexOf(s) === i).map((s) => ({ label: `TXID ${formatTXID(s.txid)}`, txid: s.txid, want: s })),
    { label: `timestamp ${tsTarget.toISOString()}`, timestamp: tsTarget, want: mid },
    { label: "latest", want: steps[steps.length - 1]! },
  ];
  const restores = [];
  for (const [i, t] of targets.entries()) {
    const out = join(dir, `restored-${i}.db`);
    const res = await restore(replica, { txid: t.txid, timestamp: t.timestamp, sink: new FileSink(out) });
    const fileSha256 = await sha256Hex(new Uint8Array(await fsp.readFile(out))); // before SQLite opens it
    const { integrity, hash } = check(open, out);
    const ok = integrity === "ok" && hash === t.want.hash && res.txid === t.want.txid;
    restores.push({ target: t.label, step: t.want.name, txid: formatTXID(res.txid), expectedTXID: formatTXID(t.want.txid), files: res.plan.map((f) => `L${f.level}:${formatTXID(f.minTXID)}-${formatTXID(f.maxTXID)}`), integrity, contentHash: hash, expectedHash: t.want.hash, fileSha256, ok, path: out });
    say(`restore at ${t.label.padEnd(34)} → txid ${formatTXID(res.txid)} from ${res.plan.length} file(s): integrity ${integrity === "ok" ? "ok" : "FAILED"}, content ${hash === t.want.hash ? "matches" : "DIFFERS from"} step "${t.want.name}"${res.txid === t.want.txid ? "" : ` (expected txid ${formatTXID(t.want.txid)})`}`);
  }
  return restores;
}

export const command: Command = {
  summary: "end-to-end demo: an application writes a database while replicate() runs; compact, restore at points in time, verify",
  usage:
    "usage: ltxkit demo [--dir DIR] [--json]\n\n" +
    "Runs in a fresh temporary directory unless --dir is given (it must be empty or absent).\n" +
    "Uses the runtime's SQLite driver (bun:sqlite, node:sqlite, else better-sqlite3).",
  async run(argv, io) {
    const a = parseArgs(argv, [
      { names: ["dir"], type: "string" },
      { names: ["json"], type: "boolean" },
    ]);
    const started = Date.now();
    const driver = await loadSqliteDriver(); // UNSUPPORTED when the runtime has no SQLite driver
    const dir = str(a, "dir") ? resolve(str(a, "dir")!) : mkdtempSync(join(tmpdir(), "ltxkit-demo-"));
    await fsp.mkdir(dir, { recursive: true });
    if ((await fsp.readdir(dir)).length) throw new LtxError("INVALID_ARGUMENT", `--dir ${dir} is not empty`);
    const say = (s: string) => (bool(a, "json") ? undefined : io.out(s));
    const dbPath = join(dir, "app.db");
    const replicaDir = join(dir, "replica");
    const replica: Replica = { url: replicaDir, kind: "file", store: new FsStore(replicaDir), layout: fileLayout, timestampFromMetadata: false };
    say(`ltxkit demo in ${dir} (SQLite driver: ${driver.name})`);

    // 1. The application writes while replicate() runs.
    const { steps, errors, ladderLevels } = await runApplication(driver.open, dbPath, replicaDir, replica, started, say);
    say(`replication closed; the replicator's ladder had written levels ${ladderLevels.join(", ")}`);

    // 2. One forced compaction pass: L1, L2, L3 and a snapshot. Retention off: every step stays restorable.
    const rep = await compactReplica(replica, { force: true, retention: false });
    say(`compacted: wrote ${rep.written.map((f) => `L${f.level} ${formatTXID(f.minTXID)}-${formatTXID(f.maxTXID)}`).join(", ") || "nothing"}; retention off`);
    const levels = [...new Set((await listAll(replica)).map((f) => f.level))].sort((x, y) => x - y);

    // 3. Restore at points in time; verify each with the application's driver.
    const restores = await restoreAndVerify(replica, steps, dir, driver.open, say);
    const missing = [0, 1, 2, 3, 9].filter((l) => !levels.includes(l));
    const ok = errors.length === 0 && missing.length === 0 && restores.every((r) => r.ok);
    const durationMs = Date.now() - started;
    if (bool(a, "json")) {
      printJSON(io, {
        driver: driver.name,
        dir,
        db: dbPath,
        replica: replicaDir,
        steps: steps.map((s) => ({ name: s.name, txid: formatTXID(s.txid), time: new Date(s.time).toISOString(), contentHash: s.hash, pages: s.pages, rows: s.rows })),
        ladderLevels,
        compacted: rep.written.map((f) => ({ level: f.level, minTXID: formatTXID(f.minTXID), maxTXID: formatTXID(f.maxTXID) })),
        levels,
        restores,
        errors,
        durationMs,
        ok,
      });
    } else {
      for (const e of errors) say(`error: ${e}`);
      if (missing.length) say(`missing levels: ${missing.join(", ")}`);
      say(ok ? `all ${restores.length} restores verified ✓ (${(durationMs / 1000).toFixed(1)} s, ${driver.name})` : "VERIFICATION FAILED");
      say(`replica: ${replicaDir} (restore it with: npx ltxkit restore -o out.db ${replicaDir}  or  litestream restore -o out.db file://${replicaDir})`);
    }
    return ok ? 0 : 1;
  },
};
