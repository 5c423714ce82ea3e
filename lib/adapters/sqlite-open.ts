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

export interface SqliteDriverCandidate {
  name: SqliteDriverName;
  load(): Promise<SqliteOpener | null>;
}

const LOADERS: Record<SqliteDriverName, () => Promise<SqliteOpener | null>> = {
  "bun:sqlite": loadBunSqlite,
  "node:sqlite": loadNodeSqlite,
  "better-sqlite3": loadBetterSqlite,
};

/** The first candidate that loads; UNSUPPORTED naming the alternatives when none does. */
export async function pickSqliteDriver(candidates: readonly SqliteDriverCandidate[]): Promise<{ name: SqliteDriverName; open: SqliteOpener }> {
  for (const c of candidates) {
    const open = await c.load();
    if (open) return { name: c.name, open };
  }
  throw new LtxError(
    "UNSUPPORTED",
    candidates.length === 1
      ? `SQLite driver ${candidates[0]!.name} is not available in this runtime`
      : "no SQLite driver in this runtime: use Node >= 22.13 (node:sqlite), Deno (node:sqlite) or Bun (bun:sqlite), or install better-sqlite3 (npm install better-sqlite3)",
  );
}

/** The driver `openSqlite()` picks: `prefer`, else bun:sqlite in Bun, else node:sqlite, else better-sqlite3. */
export function loadSqliteDriver(prefer?: SqliteDriverName): Promise<{ name: SqliteDriverName; open: SqliteOpener }> {
  const names: SqliteDriverName[] = prefer ? [prefer] : "Bun" in globalThis ? ["bun:sqlite"] : ["node:sqlite", "better-sqlite3"];
  return pickSqliteDriver(names.map((name) => ({ name, load: LOADERS[name] })));
}

/** An opener for SQLite connections through the runtime's driver (see `loadSqliteDriver`). */
export async function openSqlite(prefer?: SqliteDriverName): Promise<SqliteOpener> {
  return (await loadSqliteDriver(prefer)).open;
}
