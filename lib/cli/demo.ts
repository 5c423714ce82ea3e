/**
 * `ltxkit demo` (what `npm start` runs): the fullest end-to-end flow on a local directory replica.
 * Writes a SQLite database with sqlite-wasm in steps, captures each step as an L0 LTX file,
 * compacts (L1, L2, L3, snapshot), restores at past TXIDs, at a timestamp and at the latest point,
 * and verifies each restored database against the image recorded at that step.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { openReplicaFromEnv } from "../adapters/replica-node.ts";
import { FileSink } from "../adapters/fs-sink.ts";
import { captureL0 } from "../capture/page-diff.ts";
import { LtxError } from "../errors.ts";
import { formatTXID } from "../ltx/txid.ts";
import { compactReplica } from "../replica/compact.ts";
import { integrityCheck } from "../replica/integrity.ts";
import { loadSqliteWasm } from "../adapters/sqlite-wasm.ts";
import { listAll, writeLtxFile } from "../replica/list.ts";
import { restore } from "../replica/restore.ts";
import { promises as fsp } from "node:fs";
import { parseArgs, bool, str } from "./args.ts";
import { printJSON } from "./io.ts";
import type { Command } from "./run.ts";
import { sha256Hex } from "./codec-commands.ts";

interface Step {
  txid: bigint;
  timestamp: number;
  what: string;
  image: Uint8Array;
  rows: number;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyDb = any;

const WORKLOAD: [string, (db: AnyDb, i: number) => void][] = [
  ["create tables", (db) => db.exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, balance INTEGER NOT NULL); CREATE TABLE events (id INTEGER PRIMARY KEY, account INTEGER, kind TEXT, payload BLOB); CREATE INDEX events_account ON events(account);")],
  ["insert 500 accounts", (db) => insertAccounts(db, 500)],
  ["insert 2000 events", (db) => insertEvents(db, 2000, 1)],
  ["update balances", (db) => db.exec("UPDATE accounts SET balance = balance + id % 97")],
  ["insert 3000 events (growth)", (db) => insertEvents(db, 3000, 2)],
  ["delete a third of the events", (db) => db.exec("DELETE FROM events WHERE id % 3 = 0")],
  ["transfer between accounts", (db) => db.exec("UPDATE accounts SET balance = balance - 10 WHERE id % 2 = 0; UPDATE accounts SET balance = balance + 10 WHERE id % 2 = 1")],
  ["insert 6000 events (growth)", (db) => insertEvents(db, 6000, 3)],
  ["VACUUM", (db) => db.exec("VACUUM")],
  ["close half of the accounts", (db) => db.exec("DELETE FROM accounts WHERE id > 250")],
];

function insertAccounts(db: AnyDb, n: number): void {
  db.exec("BEGIN");
  for (let i = 0; i < n; i++) db.exec({ sql: "INSERT INTO accounts (owner, balance) VALUES (?, ?)", bind: [`owner-${i}`, (i * 7919) % 10000] });
  db.exec("COMMIT");
}

function insertEvents(db: AnyDb, n: number, seed: number): void {
  db.exec("BEGIN");
  for (let i = 0; i < n; i++) {
    const payload = new Uint8Array(80 + ((i * seed * 31) % 200)).fill((i + seed) & 0xff);
    db.exec({ sql: "INSERT INTO events (account, kind, payload) VALUES (?, ?, ?)", bind: [(i % 500) + 1, ["deposit", "withdraw", "audit"][i % 3], payload] });
  }
  db.exec("COMMIT");
}

export const command: Command = {
  summary: "end-to-end demo: write a database, replicate, compact, restore at points in time, verify",
  usage: "usage: ltxkit demo [--dir DIR] [--json]\n\nRuns in a fresh temporary directory unless --dir is given (it must be empty or absent).",
  async run(argv, io) {
    const a = parseArgs(argv, [
      { names: ["dir"], type: "string" },
      { names: ["json"], type: "boolean" },
    ]);
    const dir = str(a, "dir") ? resolve(str(a, "dir")!) : mkdtempSync(join(tmpdir(), "ltxkit-demo-"));
    await fsp.mkdir(dir, { recursive: true });
    if ((await fsp.readdir(dir)).length) throw new LtxError("INVALID_ARGUMENT", `--dir ${dir} is not empty`);
    const say = (s: string) => (bool(a, "json") ? undefined : io.out(s));
    const replicaDir = join(dir, "replica");
    const replica = openReplicaFromEnv(replicaDir);
    say(`ltxkit demo in ${dir}`);

    // 1. Write a database in steps; capture each step as an L0 file.
    const sqlite3: AnyDb = await loadSqliteWasm();
    const db = new sqlite3.oo1.DB(":memory:", "c");
    db.exec("PRAGMA page_size=4096");
    const steps: Step[] = [];
    const base = Date.now() - WORKLOAD.length * 60_000;
    let prev: Uint8Array | null = null;
    for (const [i, [what, fn]] of WORKLOAD.entries()) {
      fn(db, i);
      const image: Uint8Array = sqlite3.capi.sqlite3_js_db_export(db.pointer);
      const txid = BigInt(steps.length + 1);
      const timestamp = base + i * 60_000;
      const ltx = captureL0(prev, image, { txid, timestamp });
      if (!ltx) continue;
      await writeLtxFile(replica, 0, txid, txid, ltx, timestamp);
      const rows = Number(db.selectValue("SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM events)") ?? 0);
      steps.push({ txid, timestamp, what, image, rows });
      prev = image;
      say(`  txid ${formatTXID(txid)}  ${what.padEnd(40)} ${String(image.length / 4096).padStart(5)} pages, L0 file ${ltx.length} bytes`);
    }
    db.close();

    // 2. Compact: L1, L2, L3 and a snapshot, as one pass. Retention stays off here so every step
    //    remains restorable (the steps are dated minutes apart, past the 5-minute L0 retention).
    const rep = await compactReplica(replica, { force: true, retention: false });
    say(`compacted: wrote ${rep.written.map((f) => `L${f.level} ${formatTXID(f.minTXID)}-${formatTXID(f.maxTXID)}`).join(", ")}; retention off`);
    const levels = [...new Set((await listAll(replica)).map((f) => f.level))];

    // 3. Restore at points in time and verify each.
    const mid = steps[Math.floor(steps.length / 2)]!;
    const targets: { label: string; txid?: bigint; timestamp?: Date; want: Step }[] = [
      { label: `TXID ${formatTXID(steps[2]!.txid)}`, txid: steps[2]!.txid, want: steps[2]! },
      { label: `timestamp ${new Date(mid.timestamp + 30_000).toISOString()}`, timestamp: new Date(mid.timestamp + 30_000), want: mid },
      { label: "latest", want: steps[steps.length - 1]! },
    ];
    const results = [];
    for (const [i, t] of targets.entries()) {
      const out = join(dir, `restored-${i}.db`);
      const res = await restore(replica, { txid: t.txid, timestamp: t.timestamp, sink: new FileSink(out) });
      const bytes = new Uint8Array(await fsp.readFile(out));
      const problems = await integrityCheck(bytes, "full", sqlite3);
      const identical = bytes.length === t.want.image.length && bytes.every((b, k) => b === t.want.image[k]);
      const ok = identical && problems.length === 0 && res.txid === t.want.txid;
      results.push({ target: t.label, txid: formatTXID(res.txid), files: res.plan.map((f) => `L${f.level}:${formatTXID(f.minTXID)}-${formatTXID(f.maxTXID)}`), sha256: await sha256Hex(bytes), identical, integrity: problems.length ? problems : "ok", rows: t.want.rows, ok, path: out });
      say(`restore at ${t.label.padEnd(36)} → txid ${formatTXID(res.txid)} from ${res.plan.length} file(s): ${identical ? "identical to the recorded image" : "DIFFERENT"}, integrity ${problems.length ? "FAILED" : "ok"}`);
    }
    const ok = results.every((r) => r.ok) && levels.includes(1) && levels.includes(9);
    if (bool(a, "json")) printJSON(io, { dir, replica: replicaDir, steps: steps.length, levels, restores: results, ok });
    else {
      say(ok ? "all restores verified ✓" : "VERIFICATION FAILED");
      say(`replica: ${replicaDir} (restore it with: npx ltxkit restore -o out.db ${replicaDir}${"  or  litestream restore -o out.db file://" + replicaDir})`);
    }
    return ok ? 0 : 1;
  },
};
