/**
 * Picks the SQLite driver of the running runtime: bun:sqlite in Bun, node:sqlite in Deno and in
 * Node >= 22.13, else better-sqlite3 when it is installed.
 */
import { LtxError } from "../errors.ts";
import type { SqliteOpener } from "../capture/sqlite.ts";
import { loadBetterSqlite } from "./sqlite-better.ts";
import { loadBunSqlite } from "./sqlite-bun.ts";
import { loadNodeSqlite } from "./sqlite-node.ts";

export type SqliteDriverName = "bun:sqlite" | "node:sqlite" | "better-sqlite3";

/** The driver `openSqlite()` would pick, and its opener. */
export async function loadSqliteDriver(prefer?: SqliteDriverName): Promise<{ name: SqliteDriverName; open: SqliteOpener }> {
  const order: SqliteDriverName[] = prefer ? [prefer] : "Bun" in globalThis ? ["bun:sqlite"] : ["node:sqlite", "better-sqlite3"];
  for (const name of order) {
    const open = name === "bun:sqlite" ? await loadBunSqlite() : name === "node:sqlite" ? await loadNodeSqlite() : await loadBetterSqlite();
    if (open) return { name, open };
  }
  throw new LtxError(
    "UNSUPPORTED",
    prefer
      ? `SQLite driver ${prefer} is not available in this runtime`
      : "no SQLite driver in this runtime: use Node >= 22.13 (node:sqlite), Deno or Bun, or install better-sqlite3 (npm install better-sqlite3)",
  );
}

/** An opener for SQLite connections through the runtime's driver (see `loadSqliteDriver`). */
export async function openSqlite(prefer?: SqliteDriverName): Promise<SqliteOpener> {
  return (await loadSqliteDriver(prefer)).open;
}
