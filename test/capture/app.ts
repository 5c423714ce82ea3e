/** Test helpers: an application's content as a comparable value, and restores of the local replica. */
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileSink } from "../../lib/adapters/fs-sink.ts";
import type { SqliteConnection } from "../../lib/capture/sqlite.ts";
import { restore } from "../../lib/replica/restore.ts";
import type { Replica } from "../../lib/replica/url.ts";
import { open } from "./driver.ts";

function norm(v: unknown): unknown {
  if (v instanceof Uint8Array) return "x:" + Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("hex");
  if (typeof v === "bigint") return v.toString();
  return v;
}

/** A hash of the schema and every row of every table (the Litestream tables excluded), in rowid order. */
export function contentHash(c: SqliteConnection): string {
  const h = createHash("sha256");
  const tables = c.query("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_litestream_%' AND name NOT LIKE 'sqlite_%' ORDER BY name");
  for (const t of tables) {
    h.update(`${String(t.name)}\n${String(t.sql)}\n`);
    for (const r of c.query(`SELECT * FROM "${String(t.name)}" ORDER BY rowid`)) h.update(JSON.stringify(Object.values(r).map(norm)) + "\n");
  }
  return h.digest("hex");
}

/** Restores `replica` (at `txid`, default latest) to a fresh file; returns its path, content hash and integrity result. */
export async function restoreAndCheck(replica: Replica, txid?: bigint): Promise<{ path: string; hash: string; integrity: string; bytes: Uint8Array }> {
  const out = join(mkdtempSync(join(tmpdir(), "ltxkit-restored-")), "db");
  await restore(replica, txid === undefined ? { sink: new FileSink(out) } : { sink: new FileSink(out), txid });
  const bytes = new Uint8Array(readFileSync(out));
  const c = open(out);
  try {
    const integrity = c.query("PRAGMA integrity_check").map((r) => String(Object.values(r)[0])).join("; ");
    return { path: out, hash: contentHash(c), integrity, bytes };
  } finally {
    c.close();
  }
}

/**
 * One step of the one-shot-runs workload: a few hundred single-row transactions (inserts, some
 * updates, deletes and overflow blobs), about one frame each at page size 1024, so the default
 * 1000-page auto-checkpoint fires every few steps and the runs between stop short of the old WAL
 * end (a frame of the previous generation still sits before the last position after a restart).
 */
export function onceWorkloadStep(app: SqliteConnection, step: number, state: { n: number }): void {
  for (let i = 0; i < 350; i++, state.n++) {
    const n = state.n;
    app.query("INSERT INTO t (v, b) VALUES (?, ?)", [`step ${step} row ${n}`, n % 97 === 0 ? new Uint8Array(3000).fill(n & 0xff) : null]);
    if (n % 11 === 0) app.query("UPDATE t SET v = v || '!' WHERE id = ?", [Math.floor(n / 2) + 1]);
    if (n % 29 === 0) app.query("DELETE FROM t WHERE id = ?", [n - 5]);
  }
}

/** Steps of the one-shot-runs workload. */
export const ONCE_STEPS = 12;

/** The steps of a mixed application workload: inserts with overflow blobs, updates, deletes, VACUUM, a checkpoint of its own. */
export function mixedWorkload(app: SqliteConnection): Array<{ name: string; run: () => void }> {
  let n = 0;
  const insert = (k: number) => {
    for (let i = 0; i < k; i++, n++) app.query("INSERT INTO t (v, b) VALUES (?, ?)", [`v${n} `.repeat(1 + (n % 30)), n % 7 === 0 ? new Uint8Array(9000 + (n % 5) * 3000).fill(n & 0xff) : null]);
  };
  return [
    { name: "create", run: () => app.exec("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT, b BLOB); CREATE INDEX IF NOT EXISTS tv ON t (v)") },
    { name: "inserts with overflow blobs", run: () => insert(300) },
    { name: "updates", run: () => void app.query("UPDATE t SET v = v || '+', b = CASE WHEN id % 5 = 0 THEN randomblob(4000) ELSE b END WHERE id % 3 = 0") },
    { name: "deletes", run: () => void app.query("DELETE FROM t WHERE id % 4 = 1") },
    { name: "more inserts in one transaction", run: () => { app.exec("BEGIN"); insert(400); app.exec("COMMIT"); } },
    { name: "VACUUM", run: () => app.exec("VACUUM") },
    { name: "application checkpoint", run: () => { insert(20); app.query("PRAGMA wal_checkpoint(PASSIVE)"); } },
    { name: "inserts after the checkpoint", run: () => insert(50) },
    { name: "drop most rows", run: () => void app.query("DELETE FROM t WHERE id > 100") },
    { name: "VACUUM after the shrink", run: () => app.exec("VACUUM") },
    { name: "last inserts", run: () => insert(10) },
  ];
}
