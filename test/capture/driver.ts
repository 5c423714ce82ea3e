/** The SQLite driver of the runtime running the tests (better-sqlite3 on Node 20, node:sqlite, bun:sqlite). */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadSqliteDriver } from "../../lib/adapters/sqlite-open.ts";
import type { SqliteConnection } from "../../lib/capture/sqlite.ts";

export const driver = await loadSqliteDriver();
export const open = driver.open;

/** An application connection: WAL mode with the given page size and autocheckpoint. */
export function openApp(path: string, o: { pageSize?: number; autocheckpoint?: number } = {}): SqliteConnection {
  const c = open(path);
  if (o.pageSize) c.exec(`PRAGMA page_size = ${o.pageSize}`);
  c.query("PRAGMA journal_mode = wal");
  if (o.autocheckpoint !== undefined) c.query(`PRAGMA wal_autocheckpoint = ${o.autocheckpoint}`);
  c.exec("PRAGMA busy_timeout = 5000");
  return c;
}

/**
 * A fresh database in WAL mode (1 KiB pages, no auto-checkpoint) with a table `t`, and `write(k)`
 * that inserts k rows of text `row <n> ` repeated 1 + n % spread times.
 */
export function appWithTable(prefix: string, spread: number) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const path = join(dir, "app.db");
  const app = openApp(path, { pageSize: 1024, autocheckpoint: 0 });
  app.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  let n = 0;
  const write = (k: number) => {
    for (let i = 0; i < k; i++, n++) app.query("INSERT INTO t (v) VALUES (?)", [`row ${n} `.repeat(1 + (n % spread))]);
  };
  return { dir, path, app, write };
}

export const hasPython = spawnSync("python3", ["-c", "import sqlite3"]).status === 0;

/** Runs a Python snippet (argv after the script); returns stdout. */
export function python(code: string, ...args: string[]): string {
  const r = spawnSync("python3", ["-c", code, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`python failed: ${r.stderr}`);
  return r.stdout;
}
