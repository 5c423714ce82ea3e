/**
 * better-sqlite3 behind `SqliteConnection`, loaded with a dynamic import so the library never
 * depends on it (an optional peer dependency for Node 20, which has no node:sqlite).
 */
import { LtxError } from "../errors.ts";
import type { SqliteConnection, SqliteOpener } from "../capture/sqlite.ts";

interface BetterStatement {
  readonly reader: boolean;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): unknown;
}
interface BetterDatabase {
  exec(sql: string): unknown;
  prepare(sql: string): BetterStatement;
  close(): unknown;
}
type BetterCtor = new (path: string) => BetterDatabase;

/**
 * Wraps an open better-sqlite3 database. Statements are prepared once per SQL text and kept: a
 * statement prepared per call holds its native memory until V8 collects a small wrapper object, which
 * with a hundred databases syncing every second grew the C heap by ~1 MiB per database.
 */
export function wrapBetterSqlite(db: BetterDatabase): SqliteConnection {
  const statements = new Map<string, BetterStatement>();
  return {
    exec: (sql) => void db.exec(sql),
    query(sql, params = []) {
      let st = statements.get(sql);
      if (!st) statements.set(sql, (st = db.prepare(sql)));
      if (st.reader) return st.all(...params) as Record<string, unknown>[];
      st.run(...params);
      return [];
    },
    close() {
      statements.clear();
      db.close();
    },
  };
}

/** Loads better-sqlite3; null when it is not installed. */
export async function loadBetterSqlite(): Promise<SqliteOpener | null> {
  const name = "better-sqlite3";
  let mod: { default?: BetterCtor };
  try {
    mod = (await import(name)) as { default?: BetterCtor };
  } catch {
    return null;
  }
  const Ctor = mod.default;
  if (typeof Ctor !== "function") throw new LtxError("UNSUPPORTED", "better-sqlite3 loaded but exports no Database class");
  return (path) => wrapBetterSqlite(new Ctor(path));
}
